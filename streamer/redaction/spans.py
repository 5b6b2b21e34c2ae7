"""Entity spans: what a detector found, where, and how sure it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` holding an entity of ``entity_type``.

    The text itself is not stored, so a span can be logged or counted without carrying
    personal data; slice the source text to get it. ``score`` is in ``[0, 1]`` and decides
    overlaps (see :mod:`streamer.redaction.merge`).
    """

    start: int
    end: int
    entity_type: str
    score: float
    detector: str

    def __len__(self) -> int:
        return self.end - self.start

    def shifted(self, offset: int) -> Span:
        """The same span ``offset`` characters later (mapping chunk offsets back)."""
        return Span(
            self.start + offset, self.end + offset, self.entity_type, self.score, self.detector
        )

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end
