"""Fitting texts to a service's limits: chunking long ones, packing short ones.

Cloud services take documents of bounded size in requests of bounded count, and bill
per document (Azure: a text record per started 1,000 characters of each document) or
per request (Comprehend: at least 300 characters each). Stream events hold many short
strings, so sending each as its own document wastes requests and money.

So texts become *segments* of *documents*:

- a text longer than the document limit is cut into overlapping chunks
  (:func:`streamer.redaction.chunking.chunk_bounds`), each chunk a document of its own;
- shorter texts are packed, in order, into documents up to the limit, joined by a blank
  line (``SEPARATOR``) so the service sees separate paragraphs;
- documents are grouped into requests of at most the service's documents per request.

Entities come back with offsets into documents; :meth:`Document.map_back` turns them
into spans of the original texts. An entity the service found across a separator is
cut at it, and each piece is kept: redacting a little too much is safe, too little not.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from streamer.redaction.chunking import chunk_bounds
from streamer.redaction.spans import Span

SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Segment:
    """Characters ``[text_start, text_start + length)`` of text ``text_index``, placed at
    ``doc_start`` in a document."""

    text_index: int
    text_start: int
    doc_start: int
    length: int

    @property
    def doc_end(self) -> int:
        return self.doc_start + self.length


@dataclass(frozen=True, slots=True)
class Document:
    """One document sent to a service and where each of its parts came from."""

    text: str
    segments: tuple[Segment, ...]

    def __len__(self) -> int:
        return len(self.text)

    @property
    def text_indices(self) -> set[int]:
        return {segment.text_index for segment in self.segments}

    def map_back(
        self, start: int, end: int, entity_type: str, score: float, detector: str
    ) -> Iterator[tuple[int, Span]]:
        """``(text index, span)`` for each text the document range ``[start, end)`` covers."""
        start, end = max(0, start), min(end, len(self.text))
        if start >= end:
            return
        segments = self.segments
        position = max(0, bisect_right([s.doc_start for s in segments], start) - 1)
        for segment in segments[position:]:
            if segment.doc_start >= end:
                break
            piece_start, piece_end = max(start, segment.doc_start), min(end, segment.doc_end)
            if piece_start < piece_end:
                offset = segment.text_start - segment.doc_start
                yield (
                    segment.text_index,
                    Span(piece_start + offset, piece_end + offset, entity_type, score, detector),
                )


def plan_documents(
    texts: Sequence[str],
    indices: Sequence[int],
    *,
    max_chars: int,
    overlap: int,
    pack: bool = True,
) -> list[Document]:
    """Documents holding ``texts[i]`` for each ``i`` in ``indices``, none over ``max_chars``."""
    documents: list[Document] = []
    parts: list[str] = []
    segments: list[Segment] = []
    size = 0

    def flush() -> None:
        nonlocal parts, segments, size
        if segments:
            documents.append(Document("".join(parts), tuple(segments)))
        parts, segments, size = [], [], 0

    for index in indices:
        text = texts[index]
        if len(text) > max_chars:
            for start, end in chunk_bounds(len(text), max_chars, overlap, text):
                documents.append(
                    Document(text[start:end], (Segment(index, start, 0, end - start),))
                )
            continue
        joint = len(SEPARATOR) if segments else 0
        if not pack or size + joint + len(text) > max_chars:
            flush()
            joint = 0
        if joint:
            parts.append(SEPARATOR)
        segments.append(Segment(index, 0, size + joint, len(text)))
        parts.append(text)
        size += joint + len(text)
    flush()
    return documents


def plan_requests(documents: Sequence[Document], max_documents: int) -> list[list[Document]]:
    """Documents grouped into requests of at most ``max_documents`` each."""
    return [list(documents[i : i + max_documents]) for i in range(0, len(documents), max_documents)]
