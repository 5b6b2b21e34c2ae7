"""The strict accuracy scorer: no word of an entity may survive."""

from __future__ import annotations

import pytest

from streamer.testing.accuracy import LabelledEntity, LabelledRecord, score

SKIP = ["street", "the", "of", "mr."]


def _record(text: str, *entities: tuple[str, str]) -> LabelledRecord:
    labelled = []
    for value, label in entities:
        start = text.index(value)
        labelled.append(LabelledEntity(start, start + len(value), label))
    return LabelledRecord(text, tuple(labelled))


def _range(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return (start, start + len(value))


def test_an_entity_is_caught_only_if_no_word_survives() -> None:
    text = "Jane Doe lives at 12 Oak Street, Springfield"
    record = _record(text, ("Jane Doe", "PERSON"), ("12 Oak Street, Springfield", "STREET_ADDRESS"))
    partial = score([record], [[_range(text, "Jane Doe"), _range(text, "Springfield")]], SKIP)
    assert partial.recall_of("PERSON") == 1.0
    assert partial.recall_of("STREET_ADDRESS") == 0.0  # the street leaked
    assert partial.misses[0].leaked == ["12", "Oak"]
    whole = score([record], [[_range(text, "Jane Doe"), _range(text, "12 Oak")],
                             [][:0] or [_range(text, "Springfield")]][:1], SKIP)  # fmt: skip
    assert whole.recall_of("STREET_ADDRESS") == 0.0  # 'Springfield' not covered in this one
    full = score([record], [[_range(text, "Jane Doe"), _range(text, "12 Oak Street, Springfield")]])
    assert full.recall == 1.0


def test_skip_words_may_survive_and_half_covered_words_leak() -> None:
    text = "Ask Mr. Smith of the Oak Street office"
    record = _record(text, ("Mr. Smith", "PERSON"), ("Oak Street", "STREET_ADDRESS"))
    result = score([record], [[_range(text, "Smith"), _range(text, "Oak")]], SKIP)
    assert result.recall == 1.0
    half = score([record], [[_range(text, "Smi"), _range(text, "Oak")]], SKIP)
    assert half.recall_of("PERSON") == 0.0


def test_precision_counts_ranges_that_touch_no_label() -> None:
    text = "Jane met Bob at noon in Paris"
    record = _record(text, ("Jane", "PERSON"), ("Paris", "GPE"))
    result = score(
        [record], [[_range(text, "Jane"), _range(text, "noon"), _range(text, "Paris")]], SKIP
    )
    assert result.true_positives == 2 and result.false_positives == 1
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == 1.0


def test_overall_recall_covers_scored_groups_only() -> None:
    text = "Born 1990, Jane lives in Paris"
    record = _record(text, ("1990", "DATE_TIME"), ("Jane", "PERSON"), ("Paris", "GPE"))
    result = score([record], [[_range(text, "Jane")]], SKIP)
    assert result.group_recall("PERSON") == 1.0
    assert result.group_recall("LOCATION") == 0.0
    assert result.recall == 0.5  # the date is reported but not in the overall figure
    assert result.recall_of("DATE_TIME") == 0.0


def test_default_skip_words_let_missing_value_markers_survive() -> None:
    text = "056 Mjovattnet 43, HAUGESUND, nan 12610"
    record = _record(text, (text, "STREET_ADDRESS"))
    ranges = [_range(text, "056 Mjovattnet 43, HAUGESUND"), _range(text, "12610")]
    assert score([record], [ranges]).recall == 1.0  # presidio-evaluator's words + "nan"
    assert score([record], [ranges], skip_words=[]).recall == 0.0


def test_partial_coverage_of_a_structured_value_is_a_miss() -> None:
    text = "mail jane@example.com"
    record = LabelledRecord(text, (LabelledEntity(5, 21, "EMAIL_ADDRESS"),))
    assert score([record], [[(5, 21)]], skip_words=()).recall == 1.0
    assert score([record], [[(5, 20)]], skip_words=()).recall == 0.0  # "com" half covered
    assert score([record], [[(5, 9), (10, 21)]], skip_words=()).recall == 1.0  # "@" may stay
    assert score([record], [[(0, 4)]], skip_words=()).false_positives == 1


def test_touching_ranges_are_one_region_for_precision() -> None:
    text = "Call Jane Doe now, or see Tom"
    record = _record(text, ("Jane Doe", "PERSON"))
    result = score([record], [[_range(text, "Jane"), _range(text, " Doe"), _range(text, "Tom")]])
    assert (result.true_positives, result.false_positives) == (1, 1)
    assert result.false_detections == [(0, *_range(text, "Tom"))]


def test_names_without_a_letter_are_not_scored_and_not_false_detections() -> None:
    text = "I work for 174097 and Acme Corp"
    record = _record(text, ("174097", "ORGANIZATION"), ("Acme Corp", "ORGANIZATION"))
    result = score([record], [[_range(text, "174097")]], SKIP)
    assert result.unscorable["ORGANIZATION"] == 1
    assert result.total["ORGANIZATION"] == 1 and result.recall == 0.0
    assert result.false_positives == 0


def test_clean_records_count_false_detections_per_100() -> None:
    records = [LabelledRecord("version 1.2.3"), LabelledRecord("nothing here")]
    result = score(records, [[(8, 13)], []], skip_words=())
    assert result.false_detections_per_100_records == 50.0
    assert result.recall == 1.0  # nothing labelled, nothing missed


def test_default_skip_words_let_every_courtesy_title_survive() -> None:
    text = "Ask Ms. Jane Doe or Dr. Li"
    record = _record(text, ("Ms. Jane Doe", "PERSON"), ("Dr. Li", "PERSON"))
    ranges = [_range(text, "Jane Doe"), _range(text, "Li")]
    assert score([record], [ranges]).recall == 1.0
    assert score([record], [ranges], skip_words=[]).recall == 0.0


def test_word_precision_counts_redacted_words_outside_labels() -> None:
    text = "Call Jane Doe now please"
    record = _record(text, ("Jane Doe", "PERSON"))
    exact = score([record], [[_range(text, "Jane Doe")]])
    grown = score([record], [[_range(text, "Call Jane Doe now")]])
    assert exact.word_precision == 1.0 and exact.redacted_words == 2
    assert grown.precision == 1.0  # one region, and it covers the name
    assert grown.word_precision == 0.5  # but half its words are no one's
