"""Language tags: what a policy, a record field or a header says, reduced to what models use.

A record may say ``en``, ``en-US``, ``EN_gb`` or ``eng``; NER models are chosen by the
primary language subtag (``en``). Tags that are not of that shape are rejected without
echoing them, since a header is input and may hold anything.
"""

from __future__ import annotations

import re

from streamer.redaction.exceptions import UnsupportedLanguageError

_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


def normalize_language(tag: str, supported: list[str] | tuple[str, ...] = ()) -> str:
    """The primary subtag of ``tag`` in lower case: ``en-US`` -> ``en``.

    With ``supported``, a language not in it raises :class:`UnsupportedLanguageError`.
    """
    match = _TAG.match(tag.strip())
    if match is None:
        raise UnsupportedLanguageError("(not a language tag)", list(supported))
    language = match.group(1).lower()
    if supported and language not in supported:
        raise UnsupportedLanguageError(language, list(supported))
    return language
