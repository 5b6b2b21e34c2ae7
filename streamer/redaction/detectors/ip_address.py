"""IPv4 and IPv6 addresses, validated with :mod:`ipaddress`."""

from __future__ import annotations

import re

from streamer.redaction.detector import PatternDetector
from streamer.redaction.patterns import JOINING
from streamer.redaction.spans import Span
from streamer.redaction.validators import ip_address

_VERSION_WORDS = ("version", "ver", "v", "release", "build", "firmware", "fw", "rev")
#: A product token's name and slash right before the candidate (``Chrome/121.0.0.0`` in a
#: user agent): a version. A word after a slash (``/hosts/10.0.0.1``) is a path, and stays.
_PRODUCT_BEFORE = re.compile(r"(?:^|[\s(\"';,])[A-Za-z][\w.-]{0,30}/$")


class IPv4Detector(PatternDetector):
    """``IP_ADDRESS`` v4: four dotted octets; not a version number (``version 1.2.3.4``,
    ``Chrome/121.0.0.0``)."""

    name = "ip_address"
    entity_type = "IP_ADDRESS"
    pattern = rf"(?<!{JOINING}|[.:])(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?:/\d{{1,2}})?(?!{JOINING}|\.\d)"
    validator = staticmethod(lambda value: ip_address(value.split("/", 1)[0]))
    negative_context = _VERSION_WORDS
    triggers = (".",)
    min_digits = 4
    shape_pattern = rb"0(?<![a0_.:]0)0{0,2}\.(?:0{1,3}\.){2}0{1,3}(?![a0_]|\.0)"
    score = 0.6

    def score_candidate(self, text: str, start: int, end: int, context: str) -> float | None:
        if text[start - 1 : start] == "/" and _PRODUCT_BEFORE.search(
            text, max(0, start - 33), start
        ):
            return None
        return super().score_candidate(text, start, end, context)


class IPv6Detector(PatternDetector):
    """``IP_ADDRESS`` v6, full, compressed (``2001:db8::1``) or with an embedded v4 tail."""

    name = "ipv6_address"
    entity_type = "IP_ADDRESS"
    pattern = (
        r"(?<![\w:.])"
        r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
        r"(?:%[\w.]+)?(?![\w:]|\.\d)"
    )
    triggers = (":",)  # every address holds a colon
    min_digits = 1
    score = 0.6

    def find(self, text: str, context: str = "") -> list[Span]:
        if text.count(":") < 2:
            return []
        spans = []
        for match in self._regex.finditer(text):
            start, end = match.span()
            # "2001:db8::1:" at the end of a clause: drop the trailing colon(s).
            while end - start > 2 and text[end - 1] == ":" and text[end - 2] != ":":
                end -= 1
            value = text[start:end]
            if not any(c.isdigit() for c in value) or not ip_address(value):
                continue
            spans.append(Span(start, end, self.entity_type, 0.9, self.name))
        return spans
