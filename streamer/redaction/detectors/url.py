"""URLs with a scheme or a ``www.`` prefix."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span

_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


class UrlDetector(PatternDetector):
    """``URL``: ``http(s)://``, ``ftp://`` or ``www.`` up to whitespace or a delimiter.

    Sentence punctuation after a URL is not part of it, and a closing bracket is kept
    only when the URL opened it (``(see https://x.example/a_(b))``).
    """

    name = "url"
    entity_type = "URL"
    pattern = r"(?i)(?<![\w@.])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^]+"
    triggers = ("://", "www.", "WWW.")
    score = 0.6

    def find(self, text: str, context: str = "") -> list[Span]:
        spans = []
        for span in super().find(text, context):
            end = span.end
            while end > span.start:
                char = text[end - 1]
                if char in _TRAILING:
                    end -= 1
                elif char in _CLOSERS:
                    value = text[span.start : end]
                    if value.count(_CLOSERS[char]) >= value.count(char):
                        break
                    end -= 1
                else:
                    break
            if end - span.start > 7:
                spans.append(Span(span.start, end, span.entity_type, span.score, span.detector))
        return spans
