"""Accuracy on a labelled corpus: this engine (patterns + NER) next to plain Presidio.

The corpus comes from presidio-evaluator's generator with its bundled templates and a
fixed seed; scoring is :mod:`streamer.testing.accuracy` (an entity is caught only if no
word of it survives). Prints ``ACCURACY name=<name> recall=<r> precision=<p>`` per
system, then ``ACCURACY_DETAIL`` lines with recall per group and per label.
"""

from __future__ import annotations

import time

from bench.presidio_baseline import presidio_engines
from streamer.redaction.engine import RedactionEngine
from streamer.testing.accuracy import (
    SCORED_GROUPS,
    AccuracyReport,
    LabelledRecord,
    score,
)
from streamer.testing.corpus import presidio_evaluator_corpus

RECORDS = 1500
SEED = 42
#: A second corpus, never looked at while tuning, to show the rules generalise.
HELD_OUT_SEED = 7


def engine_ranges(records: list[LabelledRecord]) -> list[list[tuple[int, int]]]:
    engine = RedactionEngine.build()
    spans = engine.analyze([r.text for r in records])
    engine.close()
    return [[(s.start, s.end) for s in found] for found in spans]


def presidio_ranges(records: list[LabelledRecord]) -> list[list[tuple[int, int]]]:
    analyzer, _ = presidio_engines()
    return [
        [(r.start, r.end) for r in analyzer.analyze(rec.text, language="en")] for rec in records
    ]


def report(name: str, result: AccuracyReport, seconds: float, seed: int = SEED) -> None:
    print(
        f"ACCURACY name={name} recall={result.recall:.3f} precision={result.precision:.3f} "
        f"records={RECORDS} seed={seed} seconds={seconds:.1f}",
        flush=True,
    )
    for group in SCORED_GROUPS:
        _, total = result.group_counts(group)
        print(f"ACCURACY_DETAIL name={name} group={group} recall={result.group_recall(group):.3f} "
              f"entities={total}")  # fmt: skip
    for label in sorted(result.total):
        print(f"ACCURACY_DETAIL name={name} label={label} recall={result.recall_of(label):.3f} "
              f"entities={result.total[label]}")  # fmt: skip


def main() -> None:
    records = presidio_evaluator_corpus(RECORDS, SEED)
    for name, detect in (("pii_streamer", engine_ranges), ("presidio", presidio_ranges)):
        started = time.perf_counter()
        ranges = detect(records)
        report(name, score(records, ranges), time.perf_counter() - started)
    held_out = presidio_evaluator_corpus(RECORDS, HELD_OUT_SEED)
    started = time.perf_counter()
    result = score(held_out, engine_ranges(held_out))
    print(
        f"ACCURACY name=pii_streamer_held_out recall={result.recall:.3f} "
        f"precision={result.precision:.3f} records={RECORDS} seed={HELD_OUT_SEED} "
        f"seconds={time.perf_counter() - started:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
