"""Detection quality on generated labelled corpora (Faker values in templates), scored by
the one strict scorer of :mod:`streamer.testing.accuracy`."""

from __future__ import annotations

import pytest

from streamer import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing.accuracy import LabelledRecord, score
from streamer.testing.corpus import STRUCTURED_TYPES, clean_records, labelled_records


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> RedactionService:
    return RedactionService(
        settings=StreamerSettings(data_dir=tmp_path_factory.mktemp("keys")), detectors=None
    )


def detected(service: RedactionService, texts: list[str]) -> list[list[tuple[int, int]]]:
    return [
        [(t.position, t.metadata["end"]) for t in r.tokens] for r in service.batch_redact(texts)
    ]


def test_structured_types_recall_at_least_99_percent(service: RedactionService) -> None:
    records = labelled_records(3000, seed=20261123)
    # No skip words: every word of every value (each digit group, each part of an
    # address) must be replaced.
    result = score(records, detected(service, [r.text for r in records]), skip_words=())
    for entity_type in STRUCTURED_TYPES:
        assert result.total[entity_type] > 200, entity_type
        assert result.recall_of(entity_type) >= 0.99, (entity_type, result.recall_of(entity_type))


def test_texts_without_personal_data_get_under_5_false_detections_per_100(
    service: RedactionService,
) -> None:
    records = [LabelledRecord(text) for text in clean_records(2000, seed=7)]
    result = score(records, detected(service, [r.text for r in records]), skip_words=())
    assert result.records == 2000 and result.true_positives == 0
    assert result.false_detections_per_100_records < 5
