"""Issue 2: the engine with pattern detectors, on one worker and on all cores, against
Presidio's AnalyzerEngine + AnonymizerEngine on the same generated texts."""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from bench.presidio_baseline import presidio_engines, presidio_redact
from bench.report import ratio, result
from streamer import RedactionService
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.settings import StreamerSettings
from streamer.testing.corpus import clean_records, labelled_records

TEXTS = 6000
PRESIDIO_TEXTS = 300


def generated_texts() -> list[str]:
    texts = [r.text for r in labelled_records(TEXTS * 4 // 5, seed=101)]
    texts += clean_records(TEXTS // 5, seed=102)
    random.Random(103).shuffle(texts)
    return texts


def timed(run, count: int) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def main() -> None:
    texts = generated_texts()
    warm_up = [r.text for r in labelled_records(200, seed=104)]
    settings = StreamerSettings(data_dir=Path(tempfile.mkdtemp(prefix="bench-engine-")))
    detectors = list(PATTERN_DETECTOR_NAMES)

    with RedactionService(settings=settings, detectors=detectors) as one:
        one.batch_redact(warm_up)
        one_worker = timed(lambda: one.batch_redact(texts), len(texts))
    result("engine_patterns_1_worker", one_worker, texts=len(texts))

    workers = os.cpu_count() or 1
    with RedactionService(
        settings=settings, detectors=detectors, parallel=True, max_workers=workers
    ) as pool:
        pool.batch_redact(warm_up * workers)
        all_cores = timed(lambda: pool.batch_redact(texts), len(texts))
    result(f"engine_patterns_{workers}_workers", all_cores, texts=len(texts))

    presidio_engines()
    presidio_redact(warm_up[0])
    sample = texts[:PRESIDIO_TEXTS]
    presidio = timed(lambda: [presidio_redact(text) for text in sample], len(sample))
    result("presidio_analyzer_anonymizer", presidio, texts=len(sample))

    ratio("engine_to_presidio", one_worker / presidio)
    ratio("engine_all_cores_to_presidio", all_cores / presidio)
