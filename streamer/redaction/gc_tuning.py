"""Garbage collection tuned for processes that redact batches.

A batch allocates a few objects per value it scans, and reference counting frees nearly
all of them when the batch is done; what stays are the engine's caches (spans of
repeated values, token ids) and, after start-up, the detectors and models. With
CPython's default thresholds a batch's short-lived objects are promoted to the oldest
generation before the batch ends, and that triggers full collections which walk every
cached entry looking for cycles that are not there: about a fifth of a pattern worker's
CPU on the benchmark's support tickets (123 us per event with the defaults, 86 us with
these thresholds, 89 us with no collector at all).
"""

from __future__ import annotations

import gc

#: Allocations (net of frees) between young-generation collections: above what one batch
#: keeps alive at a time, so a batch's objects die young instead of being promoted.
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, and middle ones per full one.
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 10


def tune_for_batches() -> None:
    """Set the collector for batch work and exempt what start-up built from it.

    Call once, after the engine is built: its detectors and models (spaCy's are large)
    are then never walked again. Cycles are still collected, only less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
