"""International bank account numbers (IBAN), checked by length and mod 97."""

from __future__ import annotations

import re

from streamer.redaction.detector import VALIDATED_SCORE, PatternDetector
from streamer.redaction.patterns import JOINING
from streamer.redaction.spans import Span
from streamer.redaction.validators import IBAN_LENGTHS, mod97

# The first ``length`` letters and digits of a candidate, with the separators between.
_FIRST_CHARS = {
    length: re.compile(rf"[A-Za-z0-9](?:[ -]?[A-Za-z0-9]){{{length - 1}}}")
    for length in set(IBAN_LENGTHS.values())
}


# A letter or digit right after the country's length makes the candidate part of a word
# (not kana or a CJK ideograph: 口座はDE89370400440532013000です).
_JOINED = re.compile(JOINING)


class IbanDetector(PatternDetector):
    """``IBAN_CODE``: country code, check digits and the account, spaces allowed.

    The candidate is cut at the length the country registers, so a word that follows
    an IBAN (``DE89 3704 0044 0532 0130 00 FROM``) does not spoil the checksum.
    """

    name = "iban"
    entity_type = "IBAN_CODE"
    pattern = rf"(?<!{JOINING})[A-Za-z]{{2}}\d{{2}}(?:[ -]?[A-Za-z0-9]){{10,32}}"
    min_digits = 8
    shape_pattern = rb"aa00(?<![a0_]aa00)(?:[ -]?[a0]){10,32}"
    score = VALIDATED_SCORE

    def find(self, text: str, context: str = "") -> list[Span]:
        first = self.first_start(text)
        if first < 0:
            return []
        spans = []
        search = self._regex.search
        position = first
        # A candidate runs on over the words after it ("... 1234 and DE89 ..."), so the
        # next one is searched for from where this one was cut, or right after its start.
        while (match := search(text, position)) is not None:
            start = match.start()
            position = start + 1
            length = IBAN_LENGTHS.get(text[start : start + 2].upper())
            if length is None:
                continue
            cut = _FIRST_CHARS[length].match(text, start, match.end())
            if cut is None:
                continue  # fewer letters and digits than the country's length
            end = cut.end()
            if end < len(text) and text[end].isalnum() and _JOINED.match(text, end):
                continue
            if mod97(text[start:end]):
                spans.append(Span(start, end, self.entity_type, self.score, self.name))
                position = end
        return spans
