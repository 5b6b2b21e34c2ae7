"""The merge rule: one span per character, by score then length."""

from __future__ import annotations

import itertools
import sys

from hypothesis import given
from hypothesis import strategies as st

from streamer.redaction.merge import resolve_overlaps
from streamer.redaction.spans import Span


def span(start: int, end: int, entity: str = "X", score: float = 0.5, detector: str = "d") -> Span:
    return Span(start, end, entity, score, detector)


def test_when_spans_disjoint_then_all_kept_in_order() -> None:
    assert resolve_overlaps([span(10, 12), span(0, 3)]) == [span(0, 3), span(10, 12)]


def test_when_contained_then_higher_score_wins() -> None:
    url = span(0, 40, "URL", 0.6)
    email = span(10, 25, "EMAIL_ADDRESS", 1.0)
    text = "https://x.example/?mail=jane@example.com&x=1"[:40]
    merged = resolve_overlaps([url, email], text)
    assert email in merged
    # the URL keeps the characters the e-mail did not claim, so nothing leaks
    assert [(s.start, s.end, s.entity_type) for s in merged] == [
        (0, 9, "URL"),  # its piece without the "." at the edge
        (10, 25, "EMAIL_ADDRESS"),
        (25, 40, "URL"),
    ]


def test_when_equal_score_then_longer_wins() -> None:
    short, long = span(0, 4, "PERSON", 0.8), span(0, 10, "PERSON", 0.8)
    assert resolve_overlaps([short, long]) == [long]


def test_when_partial_overlap_then_loser_trimmed_to_unclaimed_part() -> None:
    winner, loser = span(0, 10, "A", 0.9), span(5, 15, "B", 0.5)
    assert resolve_overlaps([loser, winner]) == [winner, span(10, 15, "B", 0.5)]


def test_when_leftover_is_only_punctuation_then_dropped() -> None:
    text = "abc-def"
    assert resolve_overlaps([span(0, 3, "A", 0.9), span(0, 4, "B", 0.5)], text) == [
        span(0, 3, "A", 0.9)
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(1, 20), st.sampled_from([0.3, 0.5, 0.8, 1.0])),
        max_size=12,
    )
)
def test_merged_spans_never_overlap_and_cover_every_detected_character(items) -> None:
    spans = [
        span(start, start + length, f"T{i}", score)
        for i, (start, length, score) in enumerate(items)
    ]
    merged = resolve_overlaps(spans)
    for left, right in itertools.pairwise(merged):
        assert left.end <= right.start
    detected = {i for s in spans for i in range(s.start, s.end)}
    covered = {i for s in merged for i in range(s.start, s.end)}
    assert covered == detected


def test_a_partly_claimed_span_leaves_the_separators_at_its_edges() -> None:
    text = "12 High Street, London"
    street = span(0, 22, "LOCATION", 0.8)
    city = span(16, 22, "ORGANIZATION", 0.85)
    merged = resolve_overlaps([street, city], text)
    assert [text[s.start : s.end] for s in merged] == ["12 High Street", "London"]


def test_overlapping_spans_of_one_type_are_one_entity() -> None:
    text = "at 86010 Wayne River Apt. 089, Stephentown, OH 98149."
    address = span(3, 52, "LOCATION", 0.8, "street_address")
    places = [span(9, 24, "LOCATION", 0.85, "ner"), span(31, 52, "LOCATION", 0.85, "ner")]
    [merged] = resolve_overlaps([address, *places], text)
    assert (merged.start, merged.end, merged.score, merged.detector) == (3, 52, 0.85, "ner")
    apart = [span(0, 3, "LOCATION"), span(3, 5, "LOCATION")]
    assert resolve_overlaps(apart, text) == apart  # touching is not overlapping


def _steps_to_merge(entities: int) -> int:
    """Lines of merge.py run to merge a text of ``entities`` e-mail addresses and phone
    numbers, each address found twice (as by two chunks in their overlap): a count of
    steps, not a time, so the machine's load does not change it."""
    spans = []
    for n in range(entities):
        spans += [span(50 * n, 50 * n + 20, "EMAIL_ADDRESS", 1.0)] * 2
        spans.append(span(50 * n + 25, 50 * n + 40, "PHONE_NUMBER", 0.8))
    module = resolve_overlaps.__code__.co_filename
    steps = 0

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal steps
        if frame.f_code.co_filename != module:
            return None
        steps += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        merged = resolve_overlaps(spans)
    finally:
        sys.settrace(previous)
    assert len(merged) == 2 * entities
    return steps


def test_merging_grows_linearly_with_the_spans_of_a_text() -> None:
    # Each span walked the list of the spans claimed before it: a record near the 1 MB
    # limit with tens of thousands of entities took minutes in one worker and stalled
    # every partition behind it.
    assert _steps_to_merge(2000) < 5 * _steps_to_merge(500)
