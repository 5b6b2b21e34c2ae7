"""E-mail addresses, with plus tags, subdomains and unicode local parts."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector


class EmailDetector(PatternDetector):
    """``EMAIL_ADDRESS``: a local part, ``@``, and a dotted domain ending in a letter TLD.

    Display names around an address (``"Jane Doe" <jane@corp.example>``) are left to the
    NER detector; the address inside is found here.
    """

    name = "email"
    entity_type = "EMAIL_ADDRESS"
    pattern = (
        r"(?<![\w.%+'&=-])"
        r"[\w%+'&=-]+(?:\.[\w%+'&=-]+)*"
        r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
        r"(?![\w-]|\.[^\W_])"
    )
    triggers = ("@",)
    score = 1.0
