"""What redaction returns: tokens, results for texts and events, outcomes for payloads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Token:
    """One replaced value: what replaced it, what it was, and where.

    ``token_id`` is the replacement as it appears in the output (a token id for
    ``tokenize``); ``original_value`` is the plaintext and is left out of ``repr`` so a
    token can be logged. ``position`` is the start in the original text (of the field,
    for events); ``metadata`` holds ``entity_type``, ``end``, ``score``, ``detector``
    and, for events, the field ``path``.
    """

    token_id: str
    original_value: str = field(repr=False)
    redaction_type: str
    position: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def entity_type(self) -> str:
        return str(self.metadata.get("entity_type", ""))

    @property
    def reversible(self) -> bool:
        return self.redaction_type in ("tokenize", "encrypt")


def count_entities(tokens: list[Token]) -> dict[str, int]:
    """How many values of each entity type were replaced."""
    return dict(Counter(token.entity_type for token in tokens))


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """A redacted text and the tokens that replaced its values, in text order."""

    redacted_text: str
    tokens: list[Token]

    @property
    def entity_counts(self) -> dict[str, int]:
        return count_entities(self.tokens)


@dataclass(frozen=True, slots=True)
class EventResult:
    """A redacted JSON event (a new object; the input is not changed) and its tokens."""

    event: Any
    tokens: list[Token]

    @property
    def entity_counts(self) -> dict[str, int]:
        return count_entities(self.tokens)


@dataclass(frozen=True, slots=True)
class PayloadFailure:
    """Why a payload could not be redacted: a stable ``code`` and a message free of its data."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PayloadOutcome:
    """The result for one raw payload: clean bytes and tokens, or a failure."""

    value: bytes | None
    tokens: list[Token]
    failure: PayloadFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def entity_counts(self) -> dict[str, int]:
        return count_entities(self.tokens)
