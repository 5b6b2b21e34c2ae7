"""Structured logging without personal data.

pii-streamer's own log lines never include values from events. Third-party libraries
might (an exception message quoting a record, say), so every record also passes through
:class:`RedactingFilter`, which runs the pattern detectors over the message, its string
fields and any traceback, and replaces what they find with ``<ENTITY_TYPE>`` labels.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

# Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "taskName"}
)


class _LabelRedactor:
    """The pattern detectors with the ``redact`` action: cheap, keyless, deterministic."""

    def __init__(self) -> None:
        from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
        from streamer.redaction.engine import RedactionEngine
        from streamer.redaction.keys import LocalKeyring
        from streamer.redaction.policy import Policy
        from streamer.settings import StreamerSettings

        settings = StreamerSettings()
        policy = Policy(default_action="redact")
        self._engine = RedactionEngine.build(
            policy, list(PATTERN_DETECTOR_NAMES), LocalKeyring(os.urandom(32)), settings
        )

    def __call__(self, text: str) -> str:
        if not text:
            return text
        [result] = self._engine.redact_texts([text[:20_000]])
        return result.redacted_text


class RedactingFilter(logging.Filter):
    """Replaces personal data the pattern detectors find in a log record, in place."""

    def __init__(self) -> None:
        super().__init__()
        self._redact: _LabelRedactor | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._redact is None:
            self._redact = _LabelRedactor()
        redact = self._redact
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class RepeatLimiter(logging.Filter):
    """Lets a library's line through once per ``interval`` seconds, then says how many like
    it were held back: while Kafka is unreachable, aiokafka logs the same failure dozens
    of times a second. Lines are alike when their logger and template (before the
    arguments) are."""

    def __init__(self, prefixes: tuple[str, ...] = ("aiokafka",), interval: float = 10.0):
        super().__init__()
        self.prefixes = prefixes
        self.interval = interval
        self._shown: dict[tuple[str, str], tuple[float, int]] = {}  # when shown, held back

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        shown = self._shown.get(key)
        if shown is not None and now - shown[0] < self.interval:
            self._shown[key] = (shown[0], shown[1] + 1)
            return False
        if len(self._shown) >= 1000:  # lines written whole, not from a template
            self._shown.clear()
        self._shown[key] = (now, 0)
        if shown is not None and shown[1]:
            record.msg = record.getMessage()
            record.args = None
            record.msg += f" ({shown[1]} more like it in the last {now - shown[0]:.0f} s)"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                document[key] = value
        if record.exc_text:
            document["exception"] = record.exc_text
        elif record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode()


@dataclass(frozen=True)
class LoggingSetup:
    """What :func:`configure_logging` was called with, so worker processes can repeat it."""

    level: str
    fmt: Literal["json", "text"]


_active: LoggingSetup | None = None

#: Libraries whose INFO lines say nothing to an operator (Presidio announces each
#: recognizer it loads, in every worker); shown from DEBUG on.
QUIET_AT_INFO = ("presidio-analyzer",)


def active_logging() -> LoggingSetup | None:
    """The setup of the last :func:`configure_logging` call to stderr in this process."""
    return _active


def configure_logging(
    level: str = "INFO",
    fmt: Literal["json", "text"] = "json",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send all logging to ``stream`` (stderr) as JSON lines or plain text, through the
    redacting filter; Python warnings go the same way. Replaces handlers installed by an
    earlier call."""
    global _active
    if stream is None:
        _active = LoggingSetup(level, fmt)
    logging.captureWarnings(True)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("pii-streamer")
    handler.addFilter(RepeatLimiter())  # first: it compares templates, before redaction
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "pii-streamer":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.NOTSET if root.level <= logging.DEBUG else max(root.level, logging.WARNING)
    for name in QUIET_AT_INFO:
        logging.getLogger(name).setLevel(quiet)
    return handler
