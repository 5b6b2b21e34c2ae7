"""Splitting long texts into overlapping chunks, so detectors see bounded input.

Neighbouring chunks share ``overlap`` characters, so an entity that crosses a chunk
boundary is whole in at least one of them as long as it is shorter than the overlap.
Chunks end at whitespace where possible, so words are not cut.
"""

from __future__ import annotations


def chunk_bounds(
    length: int, size: int, overlap: int, text: str | None = None
) -> list[tuple[int, int]]:
    """``(start, end)`` of each chunk of a text of ``length`` characters."""
    if length <= size:
        return [(0, length)]
    overlap = min(overlap, size // 2)
    bounds = []
    start = 0
    while True:
        end = min(start + size, length)
        if end < length and text is not None:
            # Prefer to end at whitespace in the last quarter of the chunk.
            cut = text.rfind(" ", start + size * 3 // 4, end)
            if cut > start:
                end = cut
        bounds.append((start, end))
        if end >= length:
            return bounds
        start = max(end - overlap, start + 1)
