"""The engine on texts, JSON events and raw payloads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamer.redaction.detector import Detector, PatternDetector
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.exceptions import RecordTooLargeError
from streamer.redaction.policy import Policy
from streamer.redaction.spans import Span
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries

ISSUE_TEXT = (
    "Call John at +1 (415) 555-0132 or jane.doe+news@corp.example.com, card "
    "4111-1111-1111-1111, SSN 536-22-1234, IBAN DE89 3704 0044 0532 0130 00, from 2001:db8::1"
)


def engine(tmp_path: Path, policy: dict | None = None, **settings: object) -> RedactionEngine:
    return RedactionEngine.build(
        Policy.from_dict(policy or {}), settings=StreamerSettings(data_dir=tmp_path, **settings)
    )


def test_issue_example_every_value_replaced_and_restored(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    [result] = eng.redact_texts([ISSUE_TEXT])
    for value in ("+1 (415) 555-0132", "jane.doe+news@corp.example.com", "4111-1111-1111-1111",
                  "536-22-1234", "DE89 3704 0044 0532 0130 00", "2001:db8::1"):  # fmt: skip
        assert value not in result.redacted_text
    structured = {
        "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"
    }  # fmt: skip
    if "ner" in eng.detector_names:  # the default when the model is installed
        assert "John" not in result.redacted_text
        assert {t.entity_type for t in result.tokens} == {*structured, "PERSON"}
    else:
        assert {t.entity_type for t in result.tokens} == structured
    assert eng.unmask(result.redacted_text, result.tokens) == ISSUE_TEXT


def test_token_positions_point_into_the_original(tmp_path: Path) -> None:
    [result] = engine(tmp_path).redact_texts([ISSUE_TEXT])
    for token in result.tokens:
        assert ISSUE_TEXT[token.position : token.metadata["end"]] == token.original_value


def test_event_every_string_and_every_key_holding_a_value_scanned(tmp_path: Path) -> None:
    event = {"jane@example.com": "x", "a": {"b": ["call 415-555-0132", {"c": "jane@example.com"}]}}
    [result] = engine(tmp_path).redact_events([event])
    token = result.event["a"]["b"][1]["c"]
    assert list(result.event) == [token, "a"]  # the key is the same value, the same token
    assert list(event) == ["jane@example.com", "a"]
    assert "415-555-0132" not in orjson.dumps(result.event).decode()
    assert result.event["a"]["b"][1]["c"].startswith("[EMAIL_ADDRESS_")
    assert event["a"]["b"][1]["c"] == "jane@example.com"  # the input is not changed


def test_field_rules_force_skip_and_scan(tmp_path: Path) -> None:
    policy = {
        "fields": [
            {"path": "customer.loyalty_id", "action": "tokenize", "entity_type": "LOYALTY_ID"},
            {"path": "debug", "action": "skip"},
            {"path": "$.items[*].sku", "action": "redact", "label": "[SKU]"},
            {"path": "customer.pin", "action": "mask", "keep_last": 0},
        ]
    }
    event = {
        "customer": {"loyalty_id": "L-1", "pin": 1234, "email": "a@example.com"},
        "debug": {"raw": "a@example.com"},
        "items": [{"sku": "harmless"}, {"sku": "x"}],
    }
    [result] = engine(tmp_path, policy).redact_events([event])
    out = result.event
    assert out["customer"]["loyalty_id"].startswith("[LOYALTY_ID_")
    assert out["customer"]["pin"] == "****"
    assert out["customer"]["email"].startswith("[EMAIL_ADDRESS_")
    assert out["debug"] == {"raw": "a@example.com"}
    assert [item["sku"] for item in out["items"]] == ["[SKU]", "[SKU]"]


def test_long_text_chunked_entity_on_boundary_still_found(tmp_path: Path) -> None:
    eng = engine(tmp_path, chunk_chars=1000, chunk_overlap=100)
    for shift in range(0, 60, 7):
        text = "x " * (490 + shift) + "jane.doe@example.com " + "y " * 600
        [result] = eng.redact_texts([text])
        assert "jane.doe@example.com" not in result.redacted_text
        assert len(result.tokens) == 1  # found once, not once per chunk


def test_when_payload_too_large_then_failure_not_exception(tmp_path: Path) -> None:
    eng = engine(tmp_path, max_record_bytes=100)
    outcomes = eng.redact_payloads([b'{"a": "' + b"x" * 200 + b'"}', b'{"a": "ok"}'])
    assert outcomes[0].failure is not None and outcomes[0].failure.code == "too_large"
    assert "STREAMER_MAX_RECORD_BYTES" in outcomes[0].failure.message
    assert outcomes[1].ok and outcomes[1].value == b'{"a":"ok"}'
    with pytest.raises(RecordTooLargeError):
        eng.redact_texts(["x" * 200])


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"a": "\xff\xfe"}',
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate: not UTF-8, though Python's json took it
        b'{"n": 123456789012345678901234567890, "a": "\xed\xa0\x80"}',
        '{"a": "b"}'.encode("utf-16"),
        b'{"a": ',
        b"",
        CANARY_TEXT.encode(),
    ],
)
def test_when_payload_invalid_then_failure_message_holds_no_data(
    tmp_path: Path, payload: bytes
) -> None:
    [outcome] = engine(tmp_path).redact_payloads([payload])
    assert outcome.failure is not None and outcome.failure.code == "invalid_event"
    assert not find_canaries(outcome.failure.message)


def test_text_that_is_not_utf8_is_an_invalid_event_not_passed_on(tmp_path: Path) -> None:
    # Kept with its bytes, Latin-1 or UTF-16 text hid its names from the detectors and
    # went out as it came: "Garc\xeda" was read as "Garc\udced" and left.
    latin1 = "Jos\xe9 Garc\xeda mail jose@example.com".encode("latin-1")
    utf16 = "Call John Smith at 415-555-0132".encode("utf-16-le")
    bad, wide, good = engine(tmp_path).redact_payloads(
        [latin1, utf16, "Jos\xe9 Garc\xeda".encode()], "text"
    )
    assert bad.value is None and bad.failure is not None
    assert bad.failure.code == "invalid_event" and "not UTF-8 text (byte 4)" in bad.failure.message
    assert wide.value is None and wide.failure is not None and "NUL" in wide.failure.message
    assert "Garc" not in bad.failure.message + wide.failure.message
    assert good.failure is None


def test_large_integers_and_numbers_survive(tmp_path: Path) -> None:
    payload = b'{"big": 123456789012345678901234567890, "f": 1.5, "phone": 4155550132}'
    [outcome] = engine(tmp_path).redact_payloads([payload])
    assert outcome.value is not None
    out = orjson.loads(outcome.value.replace(b"123456789012345678901234567890", b"0"))
    assert out["f"] == 1.5 and out["phone"].startswith("[PHONE_NUMBER_")


def test_scope_field_sets_key_scope(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    payloads = [b'{"tenant": "a", "m": "x@example.com"}', b'{"tenant": "b", "m": "x@example.com"}']
    first, second = eng.redact_payloads(payloads, scope_field="tenant")
    assert first.tokens[0].token_id != second.tokens[0].token_id


def test_extra_spans_merge_with_local_ones(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    payloads = [b'{"m": "John Smith, x@example.com"}']
    [texts] = eng.extract_texts(payloads)
    assert texts == [("John Smith, x@example.com", "m")]
    [outcome] = eng.redact_payloads(payloads, extra_spans=[[[Span(0, 10, "PERSON", 0.9, "cloud")]]])
    assert {t.entity_type for t in outcome.tokens} == {"PERSON", "EMAIL_ADDRESS"}
    assert b"John" not in (outcome.value or b"")


def test_a_crashing_detector_fails_only_its_record(tmp_path: Path) -> None:
    from streamer.redaction.detector import Detector

    class Fragile(Detector):
        name = "fragile"

        def detect(self, text: str, context: str = "") -> list[Span]:
            if "boom" in text:
                raise RuntimeError("private detail " + text)
            return []

    eng = RedactionEngine.build(Policy(), detectors=["email", Fragile()],
                                settings=StreamerSettings(data_dir=tmp_path))  # fmt: skip
    ok, bad = eng.redact_payloads([b'{"a": "x@example.com"}', b'{"a": "boom 536-22-1234"}'])
    assert ok.ok and bad.failure is not None
    assert bad.failure.code == "detector_failed" and "fragile" in bad.failure.message
    assert "536-22-1234" not in bad.failure.message


def test_canaries_never_survive(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    [result] = eng.redact_texts([CANARY_TEXT])
    assert find_canaries(result.redacted_text) == []
    assert find_canaries(CANARY_TEXT) == list(CANARIES.values())  # the check itself works


def test_redacting_clean_output_changes_nothing(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    [once] = eng.redact_texts([ISSUE_TEXT])
    [twice] = eng.redact_texts([once.redacted_text])
    assert twice.redacted_text == once.redacted_text and twice.tokens == []


def test_a_value_found_once_in_a_text_is_replaced_wherever_it_recurs(tmp_path: Path) -> None:
    text = "Date of birth 01/18/1942 is wrong, it should be 01/18/1942 (not 01/18/19420)."
    [result] = engine(tmp_path, {"detectors": ["date_of_birth"]}).redact_texts([text])
    assert result.redacted_text.count("01/18/1942") == 1  # only inside 01/18/19420
    assert [t.original_value for t in result.tokens] == ["01/18/1942", "01/18/1942"]
    assert result.redacted_text.endswith("(not 01/18/19420).")  # whole words only


def test_a_name_found_in_one_field_is_replaced_wherever_it_stands_in_the_event(
    tmp_path: Path,
) -> None:
    # The note alone gives a first name away to nothing: neither NER nor a field name.
    event = {
        "customer": {"first": "Anika", "last": "Sørensen", "id": "C-1"},
        "items": [{"gift_message": "Happy birthday Anika! Love, Grandma"}],
        "note": "Anikas order, not Anika's",
    }
    detectors = {"detectors": ["field_name", "email"]}
    [outcome] = engine(tmp_path, detectors).redact_payloads([orjson.dumps(event)])
    clean = orjson.loads(outcome.value)
    first = clean["customer"]["first"]
    assert first.startswith("[PERSON_")
    assert clean["items"][0]["gift_message"] == f"Happy birthday {first}! Love, Grandma"
    assert clean["note"] == f"Anikas order, not {first}'s"  # whole words only
    other = {"customer": {"first": "Anika"}}, {"note": "Happy birthday Anika!"}
    outcomes = engine(tmp_path, detectors).redact_payloads([orjson.dumps(e) for e in other])
    assert orjson.loads(outcomes[1].value) == other[1]  # another event's name stays its own


def test_each_name_of_a_person_found_in_one_field_is_replaced_in_the_others(
    tmp_path: Path,
) -> None:
    # A full name in one field and the first name alone in another ("Love, Tobias",
    # "Sorry Tobias!") left the first name in plain text.
    event = {
        "customer": {"name": "Mr Tobias Greenhalgh"},
        "items": [{"gift_message": "Love, Tobias"}],
        "note": "Sorry Tobias! The Tobiasson order ships Monday, Mr Jones.",
    }
    [outcome] = engine(tmp_path, {"detectors": ["field_name"]}).redact_payloads(
        [orjson.dumps(event)]
    )
    clean = orjson.loads(outcome.value)
    assert clean["customer"]["name"].startswith("[PERSON_")
    first = clean["items"][0]["gift_message"].removeprefix("Love, ")
    assert first.startswith("[PERSON_")
    # whole words only, and not the title
    assert clean["note"] == f"Sorry {first}! The Tobiasson order ships Monday, Mr Jones."


def test_integers_over_64_bits_stay_exact(tmp_path: Path) -> None:
    payload = b'{"account": 12345678901234567890123, "m": "mail jane@example.com"}'
    [outcome] = engine(tmp_path).redact_payloads([payload])
    assert outcome.value is not None
    assert outcome.value.startswith(b'{"account":12345678901234567890123,')
    assert b"jane@example.com" not in outcome.value
    [bad] = engine(tmp_path).redact_payloads([b'{"a": 12345678901234567890123'])
    assert bad.failure is not None and bad.failure.code == "invalid_event"


@pytest.mark.parametrize(
    "number", [b"-9223372036854775809", b"-9999999999999999999", b"18446744073709551616"]
)
def test_integers_just_beyond_64_bits_stay_exact(tmp_path: Path, number: bytes) -> None:
    # Below the smallest 64-bit integer with 19 digits: orjson reads it as a float.
    [outcome] = engine(tmp_path).redact_payloads([b'{"id": ' + number + b', "n": 1}'])
    assert outcome.value == b'{"id":' + number + b',"n":1}'


class _BuggyDetector(Detector):
    """Returns a malformed span for texts holding "boom": a bug the engine did not foresee."""

    name = "buggy"
    entities = ("BUG",)

    def detect(self, text: str, context: str = "") -> list[Span]:
        if "boom" not in text:
            return []
        return [Span(0, 4, "BUG", 1.0, self.name), Span("0", 2, "BUG", 0.9, self.name)]  # type: ignore[arg-type]


def test_an_unforeseen_error_sets_one_record_aside_and_the_batch_goes_on(tmp_path: Path) -> None:
    eng = RedactionEngine.build(
        Policy(), [_BuggyDetector(), "email"], settings=StreamerSettings(data_dir=tmp_path)
    )
    payloads = [b'{"m": "a@b.io"}', b'{"m": "boom jane@example.com"}', b'{"m": "c@d.io"}']
    good, bad, other = eng.redact_payloads(payloads)
    assert good.value is not None and other.value is not None
    assert bad.value is None and bad.failure is not None
    assert bad.failure.code == "redaction_failed" and "TypeError" in bad.failure.message
    assert "jane" not in bad.failure.message and "boom" not in bad.failure.message


class _RecordingIdDetector(PatternDetector):
    """Employee ids (``123-45``), remembering the texts it was given."""

    name = "employee_id"
    entity_type = "EMPLOYEE_ID"
    pattern = r"\b\d{3}-\d{2}\b"
    shape_pattern = rb"000-00"
    min_digits = 5

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def find(self, text: str, context: str = "") -> list[Span]:
        self.seen.append(text)
        return super().find(text, context)


def test_a_detector_sees_only_texts_whose_shape_its_matches_can_have(tmp_path: Path) -> None:
    # The shape check is part of the prefilter the engine runs once per text for all
    # detectors; a non-ASCII text has no shape, so the detector sees it whatever it holds.
    detector = _RecordingIdDetector()
    settings = StreamerSettings(data_dir=tmp_path)
    eng = RedactionEngine.build(Policy(), [detector], settings=settings)
    texts = ["id 123-45 here", "12345 and 6789", "order 12-3456-7", "Zoë 123-45", "Zoë 12345"]
    found = eng.analyze(texts)
    assert detector.seen == ["id 123-45 here", "Zoë 123-45", "Zoë 12345"]
    assert [[t[s.start : s.end] for s in spans] for t, spans in zip(texts, found, strict=True)] == [
        ["123-45"],
        [],
        [],
        ["123-45"],
        [],
    ]
    assert detector.prefilter.admits("id 123-45") and not detector.prefilter.admits("12345 67")
