"""The merge rule: overlapping spans resolve to one span per character.

Detectors disagree: a URL holds an e-mail address, NER tags a phone number as a person,
two chunks both find the entity in their overlap. The rule, applied to every source of
spans (patterns, NER, cloud) alike:

0. Overlapping spans of **one type** are one entity (a street address and the NER place
   inside it): they become their union, with the higher score.
1. Spans are taken in order of **score** (highest first), then **length** (longest
   first), then start, then the order their detectors ran in.
2. Each span claims the characters no earlier span has claimed. A span whose characters
   are all claimed is dropped; one that is partly claimed keeps only its unclaimed
   pieces that hold a letter or digit, with its own type and score, without the spaces
   and punctuation at their edges (``12 High Street, London`` with ``London`` taken
   keeps ``12 High Street``, so the comma stays between the two replacements).

So every character of every detection is still covered (nothing is let through because
two detectors disagreed) and no character is replaced twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from streamer.redaction.spans import Span


def _has_word_char(text: str | None, start: int, end: int) -> bool:
    if text is None:
        return True
    return any(char.isalnum() for char in text[start:end])


_start = attrgetter("start")


def resolve_overlaps(spans: Iterable[Span], text: str | None = None) -> list[Span]:
    """Apply the merge rule; the result is sorted by start and never overlaps.

    ``text`` lets the rule drop leftover pieces that are only spaces or punctuation.
    """
    spans = list(spans)
    by_start = sorted(spans, key=_start)
    if _disjoint(by_start):  # the common case: the rule keeps each span that holds a word
        return [s for s in by_start if _has_word_char(text, s.start, s.end)]
    ranked = sorted(
        enumerate(_same_type_unions(spans)),
        key=lambda item: (-item[1].score, -len(item[1]), item[1].start, item[0]),
    )
    # One byte per character, 1 once claimed: a span's unclaimed pieces are found by
    # bytearray.find, so a text with tens of thousands of spans merges in linear time.
    claimed = bytearray(max(span.end for span in spans))
    result: list[Span] = []
    for _, span in ranked:
        pieces = _unclaimed(span.start, span.end, claimed)
        if text is not None and pieces != [(span.start, span.end)]:
            pieces = [_inner(text, start, end) for start, end in pieces]
        for start, end in pieces:
            if end > start and _has_word_char(text, start, end):
                result.append(
                    span
                    if (start, end) == (span.start, span.end)
                    else Span(start, end, span.entity_type, span.score, span.detector)
                )
        for start, end in pieces:
            if end > start:
                _claim(claimed, start, end)
    result.sort(key=lambda s: s.start)
    return result


def _disjoint(by_start: list[Span]) -> bool:
    """Whether spans sorted by start are all non-empty and never overlap."""
    end = 0
    for span in by_start:
        if span.start < end or span.end <= span.start:
            return False
        end = span.end
    return True


def _same_type_unions(spans: Iterable[Span]) -> list[Span]:
    """``spans`` with each run of overlapping spans of one type replaced by its union (the
    order of the rest is kept, so ties still go to the detector that ran first)."""
    spans = list(spans)
    by_type: dict[str, list[int]] = {}
    for index, span in enumerate(spans):
        by_type.setdefault(span.entity_type, []).append(index)
    if len(by_type) == len(spans):
        return spans
    merged: dict[int, Span | None] = {}
    for indices in by_type.values():
        if len(indices) < 2:
            continue
        indices.sort(key=lambda i: (spans[i].start, -spans[i].end))
        first = indices[0]
        current = spans[first]
        for index in indices[1:]:
            span = spans[index]
            if span.start < current.end:  # overlaps: one entity
                best = current if current.score >= span.score else span
                current = Span(
                    current.start,
                    max(current.end, span.end),
                    current.entity_type,
                    best.score,
                    best.detector,
                )
                merged[first], merged[index] = current, None
            else:
                first, current = index, span
    if not merged:
        return spans
    kept = (merged.get(index, span) for index, span in enumerate(spans))
    return [span for span in kept if span is not None]


def _inner(text: str, start: int, end: int) -> tuple[int, int]:
    """``start, end`` without the spaces and punctuation at its edges."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def _unclaimed(start: int, end: int, claimed: bytearray) -> list[tuple[int, int]]:
    pieces = []
    cursor = start
    while cursor < end:
        taken = claimed.find(1, cursor, end)
        if taken < 0:
            pieces.append((cursor, end))
            break
        if taken > cursor:
            pieces.append((cursor, taken))
        cursor = claimed.find(0, taken, end)
        if cursor < 0:
            break
    return pieces


def _claim(claimed: bytearray, start: int, end: int) -> None:
    claimed[start:end] = b"\x01" * (end - start)
