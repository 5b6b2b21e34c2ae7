"""Pattern detectors defined in a policy (``custom_detectors``), under a time limit.

A user's regular expression can backtrack catastrophically on some text: ``(a|aa)+$``
takes exponential time on a long run of ``a``. Python's ``re`` cannot be interrupted, so
one such record would hang its worker and block its partition. These patterns run on the
``regex`` module instead (``re``'s syntax, with a timeout): a search over the time limit
fails that record as ``detector_failed``, which is retried and then dead-lettered.
"""

from __future__ import annotations

import re
from typing import Any, cast

import regex

from streamer.redaction.detector import PatternDetector
from streamer.redaction.exceptions import DetectorError
from streamer.redaction.spans import Span

#: Longest one pattern may search one text. Texts are cut into chunks (``chunk_chars``,
#: 20,000 characters by default), which a sound pattern scans in about a millisecond.
SEARCH_TIMEOUT_S = 1.0


class CustomPatternDetector(PatternDetector):
    """A :class:`PatternDetector` whose pattern is searched with a time limit."""

    def __init__(self, **overrides: Any) -> None:
        super().__init__(**overrides)  # compiles with ``re`` too: its errors name the problem
        self._limited = regex.compile(self.pattern, self.flags)

    def find(self, text: str, context: str = "") -> list[Span]:
        try:
            matches = list(self._limited.finditer(text, timeout=SEARCH_TIMEOUT_S))
        except TimeoutError:
            raise DetectorError(
                f"custom detector {self.name!r} searched one text for over "
                f"{SEARCH_TIMEOUT_S:g} s; its pattern probably backtracks catastrophically "
                "(nested or overlapping repeats such as (a+)+ or (a|aa)+): rewrite it in "
                "policy.custom_detectors"
            ) from None
        return self._scored(text, context, cast(list[re.Match[str]], matches))
