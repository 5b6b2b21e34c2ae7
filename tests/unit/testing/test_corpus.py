"""The labelled corpora: reproducible, and labels that point at their values."""

from __future__ import annotations

import pytest

from streamer.testing.corpus import (
    PERSON_TABLE_LOCALES,
    faker_person_table,
    presidio_evaluator_corpus,
)


@pytest.mark.parametrize("people", ["bundled", "faker"])
def test_generated_corpus_is_reproducible_and_labels_point_at_values(people: str) -> None:
    records = presidio_evaluator_corpus(40, seed=3, people=people)  # type: ignore[arg-type]
    again = presidio_evaluator_corpus(40, seed=3, people=people)  # type: ignore[arg-type]
    assert len(records) == 40
    assert [r.entities for r in records] == [r.entities for r in again]
    labelled = [e for r in records for e in r.entities]
    assert any(e.entity_type == "PERSON" for e in labelled)
    for record in records:
        for entity in record.entities:
            assert 0 <= entity.start < entity.end <= len(record.text)
            assert record.text[entity.start : entity.end].strip()


def test_faker_people_come_from_many_locales() -> None:
    table = faker_person_table(seed=5, rows=300)
    countries = {row["country"] for row in table}
    assert len(countries) > len(PERSON_TABLE_LOCALES) // 2
    assert all(row["person"] == f"{row['first_name']} {row['last_name']}" for row in table)
    assert faker_person_table(seed=5, rows=300) == table
