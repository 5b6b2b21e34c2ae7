"""URLs with a scheme or a ``www.`` prefix, and profile links written without either."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span

#: Sites whose links name a person (github.com/lmartin, linkedin.com/in/jane-doe): their
#: links count without a scheme or ``www.``; other bare ``domain/path`` text is left alone.
PROFILE_SITES = (
    "github", "gitlab", "linkedin", "twitter", "x", "facebook", "instagram", "tiktok",
    "youtube", "medium", "reddit", "pinterest", "threads", "behance", "dribbble",
)  # fmt: skip
_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


class UrlDetector(PatternDetector):
    """``URL``: ``http(s)://``, ``ftp://`` or ``www.`` up to whitespace or a delimiter; or a
    link to a profile site (``PROFILE_SITES``) with a path, without either.

    Sentence punctuation after a URL is not part of it, and a closing bracket is kept
    only when the URL opened it (``(see https://x.example/a_(b))``).
    """

    name = "url"
    entity_type = "URL"
    pattern = (
        r"(?i)(?<![\w@.])(?:(?:https?|ftp)://|www\."
        rf"|(?<![/-])(?:[a-z0-9-]+\.)?(?:{'|'.join(PROFILE_SITES)})\.com/(?=[^\s/]))"
        r"[^\s<>\"'`{}|\\^]+"
    )
    triggers = ("://", "www.", "WWW.", ".com/")
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
