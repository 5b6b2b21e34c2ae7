"""Chunking and packing texts into documents, and mapping entities back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.cloud.packing import SEPARATOR, plan_documents, plan_requests


def test_short_texts_are_packed_in_order_up_to_the_limit() -> None:
    texts = ["a" * 40, "b" * 40, "c" * 40]
    documents = plan_documents(texts, [0, 1, 2], max_chars=100, overlap=10)
    assert [d.text for d in documents] == ["a" * 40 + SEPARATOR + "b" * 40, "c" * 40]
    assert all(len(d) <= 100 for d in documents)


def test_without_packing_each_text_is_a_document() -> None:
    documents = plan_documents(["x", "y"], [0, 1], max_chars=100, overlap=10, pack=False)
    assert [d.text for d in documents] == ["x", "y"]


def test_only_the_given_indices_are_planned() -> None:
    documents = plan_documents(["x", "y", "z"], [2, 0], max_chars=100, overlap=10)
    assert documents[0].text == "z" + SEPARATOR + "x"
    assert [s.text_index for s in documents[0].segments] == [2, 0]


def test_long_texts_are_chunked_with_overlap_and_map_back_to_the_text() -> None:
    text = " ".join(f"word{i}" for i in range(300))  # ~2,000 characters
    documents = plan_documents([text], [0], max_chars=500, overlap=50)
    assert len(documents) > 3
    assert all(len(d) <= 500 for d in documents)
    covered = set()
    for document in documents:
        (segment,) = document.segments
        assert document.text == text[segment.text_start : segment.text_start + segment.length]
        covered.update(range(segment.text_start, segment.text_start + segment.length))
    assert covered == set(range(len(text)))
    # an entity found in the third chunk maps to the same characters of the text
    third = documents[2]
    start = third.text.index("word")
    end = third.text.index(" ", start)
    ((index, span),) = list(third.map_back(start, end, "THING", 0.9, "test"))
    assert index == 0
    assert text[span.start : span.end] == third.text[start:end]


def test_an_entity_across_a_separator_is_cut_and_both_pieces_kept() -> None:
    texts = ["call John", "Smith now"]
    (document,) = plan_documents(texts, [0, 1], max_chars=100, overlap=10)
    start = document.text.index("John")
    end = document.text.index("Smith") + len("Smith")
    pieces = list(document.map_back(start, end, "PERSON", 0.8, "azure"))
    assert [(i, texts[i][s.start : s.end]) for i, s in pieces] == [(0, "John"), (1, "Smith")]


def test_out_of_range_entities_are_clipped_or_dropped() -> None:
    (document,) = plan_documents(["abc"], [0], max_chars=100, overlap=10)
    assert list(document.map_back(5, 9, "X", 1.0, "t")) == []
    ((_, span),) = list(document.map_back(-2, 2, "X", 1.0, "t"))
    assert (span.start, span.end) == (0, 2)


def test_requests_hold_at_most_the_documents_per_request() -> None:
    documents = plan_documents(["x"] * 12, list(range(12)), max_chars=1, overlap=0)
    requests = plan_requests(documents, 5)
    assert [len(r) for r in requests] == [5, 5, 2]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=20),
    max_chars=st.integers(min_value=50, max_value=400),
    pack=st.booleans(),
)
def test_every_document_range_maps_to_the_same_characters(
    texts: list[str], max_chars: int, pack: bool
) -> None:
    documents = plan_documents(
        texts, list(range(len(texts))), max_chars=max_chars, overlap=20, pack=pack
    )
    seen = set()
    for document in documents:
        assert len(document) <= max_chars
        for segment in document.segments:
            seen.add(segment.text_index)
            start, end = segment.doc_start, segment.doc_end
            for index, span in document.map_back(start, end, "X", 1.0, "t"):
                assert index == segment.text_index
                assert texts[index][span.start : span.end] == document.text[start:end]
    assert seen == set(range(len(texts)))
