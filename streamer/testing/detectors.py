"""Misbehaving detectors for testing how a pipeline copes: one that raises, one that kills
its worker process, one that is slow, one that logs what it sees. Each reacts only to texts
holding its ``trigger`` (or to every text when the trigger is empty), so the rest of a
batch stays normal.

They are plain picklable objects: pass instances as ``detectors=[...]`` to
``RedactionService`` or ``StreamRuntime`` and they travel to the worker processes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from streamer.redaction.detector import Detector
from streamer.redaction.spans import Span


class FailingDetector(Detector):
    """Raises on texts holding ``trigger``; after ``failures`` raises (per process) it
    stops raising, so retries can be tested. ``failures=None`` raises forever. With
    ``quote`` its error message quotes the text, as careless third-party code does, to
    test that such messages never reach logs or dead letters."""

    name = "failing"
    entities = ("FAILING",)

    def __init__(self, trigger: str, failures: int | None = None, *, quote: bool = False) -> None:
        self.trigger = trigger
        self.failures = failures
        self.quote = quote
        self.raised = 0

    def detect(self, text: str, context: str = "") -> list[Span]:
        if self.trigger in text and (self.failures is None or self.raised < self.failures):
            self.raised += 1
            raise RuntimeError(
                f"cannot handle {text!r}" if self.quote else "detector failure for testing"
            )
        return []


class CrashingDetector(Detector):
    """Kills the process it runs in (as a segfault or the OOM killer would) on texts
    holding ``trigger``."""

    name = "crashing"
    entities = ("CRASHING",)

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger

    def detect(self, text: str, context: str = "") -> list[Span]:
        if self.trigger in text:
            os._exit(17)
        return []


class SlowDetector(Detector):
    """Sleeps ``seconds_per_text`` for each text it is given: an overloaded pool."""

    name = "slow"
    entities = ("SLOW",)

    def __init__(self, seconds_per_text: float) -> None:
        self.seconds_per_text = seconds_per_text

    def detect(self, text: str, context: str = "") -> list[Span]:
        time.sleep(self.seconds_per_text)
        return []

    def detect_batch(
        self, texts: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[list[Span]]:
        time.sleep(self.seconds_per_text * len(texts))
        return [[] for _ in texts]


class LoggingDetector(Detector):
    """Logs every text it is given at WARNING, as careless third-party code does, to test
    that such log lines are redacted wherever they are written (worker processes too)."""

    name = "logging"
    entities = ("LOGGED",)

    def detect(self, text: str, context: str = "") -> list[Span]:
        logging.getLogger("third.party.detector").warning("looking at %s", text)
        return []
