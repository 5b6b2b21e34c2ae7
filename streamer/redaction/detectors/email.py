"""E-mail addresses, with plus tags, subdomains and unicode local parts."""

from __future__ import annotations

import re
from collections.abc import Iterator

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span


class EmailDetector(PatternDetector):
    """``EMAIL_ADDRESS``: a local part, ``@``, and a dotted domain ending in a letter TLD.

    Display names around an address (``"Jane Doe" <jane@corp.example>``) are left to the
    NER detector; the address inside is found here. An address in a URL query or path may
    be percent-encoded (``?email=jane.doe%40corp.example``): ``%40`` stands for the ``@``.
    """

    name = "email"
    entity_type = "EMAIL_ADDRESS"
    # "=" and "&" end a local part and "'" does not start one, though RFC 5322 allows
    # them: in events they are far likelier ``key=``, ``a=1&email=`` and quotes.
    pattern = (
        r"(?<![\w.%+-])"
        r"[\w%+-][\w%+'-]*(?:\.[\w%+'-]+)*"
        r"(?:@|%40)(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
        r"(?![\w-]|\.[^\W_])"
    )
    triggers = ("@", "%40")
    score = 1.0

    def find(self, text: str, context: str = "") -> list[Span]:
        return self._scored(text, context, self._matches(text))

    def _matches(self, text: str) -> Iterator[re.Match[str]]:
        """The pattern's matches, as ``finditer`` finds them, searching only from the word
        that holds the next "@" (or "%40"): an address holds one "@" and no space."""
        search = self._regex.search
        position = 0
        encoded = "%40" in text
        while (at := _next_at(text, position, encoded)) >= 0:
            match = search(text, max(position, text.rfind(" ", 0, at) + 1))
            if match is None:
                return
            yield match
            position = match.end()


def _next_at(text: str, position: int, encoded: bool) -> int:
    """Where the next "@" is in ``text`` from ``position``, or its percent-encoded form
    ``%40`` when ``encoded`` says the text holds one; ``-1`` when there is none."""
    at = text.find("@", position)
    if encoded:
        escaped = text.find("%40", position)
        if escaped >= 0 and (at < 0 or escaped < at):
            return escaped
    return at
