"""E-mail addresses, with plus tags, subdomains and unicode local parts."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span


class EmailDetector(PatternDetector):
    """``EMAIL_ADDRESS``: a local part, ``@``, and a dotted domain ending in a letter TLD.

    Display names around an address (``"Jane Doe" <jane@corp.example>``) are left to the
    NER detector; the address inside is found here. An address in a URL query or path may
    be percent-encoded (``?email=jane.doe%40corp.example``): ``%40`` stands for the ``@``.

    Two shapes with an ``@`` are no one's address: an image at a pixel density
    (``icon@2x.png``, ``logo@3x.jpg``: an image file's extension is no top-level
    domain), and a message's id (``<CAF=abc123@mail.gmail.com>``) in a ``Message-ID``,
    ``In-Reply-To`` or ``References`` field or header line.

    Japanese puts no space between an address and the words around it: a run of kana
    and kanji ending in hiragana (a particle) before an ASCII local part, or one starting
    with hiragana after an ASCII top-level domain, is those words
    (``メールはtaro@example.co.jpです``), not part of the address. Kanji right against
    it may be a name (``山田taro@...``) and stay in the span.
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
        matches: Iterable[re.Match[str]] = self._matches(text)
        if context and _names_message_ids(context):
            single = not any(c.isspace() for c in text.strip())
            matches = [m for m in matches if not (single or _in_angle_brackets(text, m))]
        elif "<" in text and ":" in text and _MESSAGE_ID_HEADER.search(text) is not None:
            lines = [m.span() for m in _MESSAGE_ID_HEADER.finditer(text)]
            matches = [
                m
                for m in matches
                if not (
                    any(s <= m.start() and m.end() <= e for s, e in lines)
                    and _in_angle_brackets(text, m)
                )
            ]
        spans = [
            span
            for span in self._scored(text, context, matches)
            if not text.endswith(_IMAGE_EXTENSIONS, span.start, span.end)
        ]
        if text.isascii():
            return spans
        return [_without_cjk_words(text, span) for span in spans]

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


#: Kana and kanji ending in hiragana before a local part of ASCII letters and digits.
_CJK_BEFORE = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff]*[\u3040-\u309f](?=[A-Za-z0-9][\w.%+'-]*(?:@|%40))"
)
#: A top-level domain of ASCII letters with hiragana after it: ``.jpです``.
_CJK_AFTER = re.compile(r"\.[A-Za-z]{2,63}(?=[\u3040-\u309f][^.@]*$)")


def _without_cjk_words(text: str, span: Span) -> Span:
    """``span`` without the Japanese or Chinese words written against its address."""
    start, end = span.start, span.end
    before = _CJK_BEFORE.match(text, start, end)
    if before is not None:
        start = before.end()
    after = _CJK_AFTER.search(text, start, end)
    if after is not None:
        end = after.end()
    if (start, end) == (span.start, span.end):
        return span
    return dataclasses.replace(span, start=start, end=end)


#: Image files' extensions, none of them a top-level domain: ``icon@2x.png`` is a file.
_IMAGE_EXTENSIONS = tuple(
    f".{ext}"
    for lower in ("png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico", "tif", "tiff",
                  "avif", "heic")
    for ext in (lower, lower.upper())
)  # fmt: skip
#: The header lines of an e-mail that hold message ids, up to the end of their line.
_MESSAGE_ID_HEADER = re.compile(
    r"(?im)^[ \t]*(?:message-id|in-reply-to|references|resent-message-id):[^\n]*"
)
#: Field names (separators dropped, lower case) whose values are message ids.
_MESSAGE_ID_FIELDS = frozenset(
    {
        "messageid", "msgid", "inreplyto", "references", "internetmessageid",
        "originalmessageid", "resentmessageid", "parentmessageid",
    }
)  # fmt: skip
_FIELD_SEPARATORS = re.compile(r"[\W_]")


@functools.lru_cache(maxsize=4096)
def _names_message_ids(context: str) -> bool:
    """Whether the field ``context`` (its last key) holds message ids (``message_id``,
    ``Message-ID``, ``inReplyTo``)."""
    key = _FIELD_SEPARATORS.sub("", context.rpartition(".")[2].casefold())
    return key in _MESSAGE_ID_FIELDS


def _in_angle_brackets(text: str, match: re.Match[str]) -> bool:
    """Whether ``match`` is in a word written in angle brackets (``<CAF=ab@x.com>``), as
    message ids are."""
    opening = text.rfind("<", 0, match.start())
    return (
        opening >= 0
        and text.startswith(">", match.end())
        and not any(c.isspace() for c in text[opening : match.start()])
    )


def _next_at(text: str, position: int, encoded: bool) -> int:
    """Where the next "@" is in ``text`` from ``position``, or its percent-encoded form
    ``%40`` when ``encoded`` says the text holds one; ``-1`` when there is none."""
    at = text.find("@", position)
    if encoded:
        escaped = text.find("%40", position)
        if escaped >= 0 and (at < 0 or escaped < at):
            return escaped
    return at
