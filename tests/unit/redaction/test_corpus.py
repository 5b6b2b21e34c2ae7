"""Detection quality on a generated labelled corpus (Faker values in templates)."""

from __future__ import annotations

import pytest

from streamer import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing.corpus import (
    STRUCTURED_TYPES,
    LabelledRecord,
    LabelledSpan,
    clean_records,
    labelled_records,
    score,
)


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
    result = score(records, detected(service, [r.text for r in records]))
    for entity_type in STRUCTURED_TYPES:
        assert result.total[entity_type] > 200, entity_type
        assert result.recall(entity_type) >= 0.99, (entity_type, result.recall(entity_type))


def test_texts_without_personal_data_get_under_5_false_detections_per_100(
    service: RedactionService,
) -> None:
    texts = clean_records(2000, seed=7)
    false_detections = sum(len(spans) for spans in detected(service, texts))
    assert false_detections / len(texts) * 100 < 5


def test_scorer_counts_partial_coverage_as_a_miss() -> None:
    record = LabelledRecord("mail jane@example.com", (LabelledSpan(5, 21, "EMAIL_ADDRESS"),))
    assert score([record], [[(5, 21)]]).recall() == 1.0
    assert score([record], [[(5, 20)]]).recall() == 0.0
    assert score([record], [[(0, 4)]]).false_detections == 1
