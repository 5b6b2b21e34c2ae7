"""Object keys: a value used as a key (``{"jane@example.com": 3}``) is found and replaced
like any other; field names are left as they are."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamer import RedactionService
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.policy import Policy
from streamer.redaction.structured import is_field_name
from streamer.settings import StreamerSettings

EMAIL = "jane.roe@example.com"
PHONE = "+1 415 555 2671"


@pytest.fixture
def settings(tmp_path: Path) -> StreamerSettings:
    return StreamerSettings(data_dir=tmp_path)


def engine_with(settings: StreamerSettings, policy: Policy | None = None) -> RedactionEngine:
    return RedactionEngine.build(
        policy or Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings
    )


@pytest.mark.parametrize(
    ("key", "field_name"),
    [
        ("first_name", True),
        ("ticketId", True),
        ("x-request-id", True),
        (EMAIL, False),
        (PHONE, False),
        ("Jane Doe", False),
        ("address1", False),
        ("prénom", True),
        ("Straße", True),
        ("郵便番号", True),
        ("Фамилия", True),
        ("straße_2", False),
    ],
)
def test_field_names_are_letters_of_any_script_underscores_and_hyphens(
    key: str, field_name: bool
) -> None:
    assert is_field_name(key) is field_name


def test_values_used_as_keys_are_replaced_in_place_with_their_values(
    settings: StreamerSettings,
) -> None:
    event = {
        "campaign": "spring",
        "opens": {EMAIL: 3, "total": 5, PHONE: {"note": f"call {PHONE}"}},
        "list": [{EMAIL: True}],
    }
    [outcome] = engine_with(settings).redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    assert EMAIL.encode() not in outcome.value and b"555 2671" not in outcome.value
    clean = orjson.loads(outcome.value)
    keys = list(clean["opens"])
    assert keys[0].startswith("[EMAIL_ADDRESS_") and keys[1] == "total"
    assert keys[2].startswith("[PHONE_NUMBER_")
    assert clean["opens"][keys[0]] == 3  # the order and the values under the keys stay
    assert clean["opens"][keys[2]]["note"] == f"call {keys[2]}"  # one value, one token
    assert list(clean["list"][0]) == [keys[0]]
    assert list(clean) == ["campaign", "opens", "list"]


def test_a_skipped_field_keeps_its_keys(settings: StreamerSettings) -> None:
    policy = Policy.model_validate({"fields": [{"path": "debug", "action": "skip"}]})
    event = {"debug": {EMAIL: 1}, "seen": {EMAIL: 1}}
    [outcome] = engine_with(settings, policy).redact_payloads([orjson.dumps(event)])
    clean = orjson.loads(outcome.value)
    assert list(clean["debug"]) == [EMAIL]
    assert list(clean["seen"]) != [EMAIL]


def test_keys_that_a_mask_would_merge_dead_letter_the_event_without_the_values(
    settings: StreamerSettings,
) -> None:
    policy = Policy.model_validate({"entities": {"EMAIL_ADDRESS": {"action": "redact"}}})
    event = {"opens": {EMAIL: 3, "john.doe@example.com": 4}}
    [outcome] = engine_with(settings, policy).redact_payloads([orjson.dumps(event)])
    assert outcome.value is None and outcome.failure is not None
    assert outcome.failure.code == "key_collision"
    assert "tokenize" in outcome.failure.message and "example.com" not in outcome.failure.message


def test_unmask_event_restores_keys(settings: StreamerSettings) -> None:
    service = RedactionService(settings=settings, detectors=list(PATTERN_DETECTOR_NAMES))
    event = {"opens": {EMAIL: 3, PHONE: 4155552671}}
    redacted = service.redact_event(event)
    assert EMAIL not in orjson.dumps(redacted.event).decode()
    assert service.unmask_event(redacted.event, redacted.tokens) == event


def test_keys_under_an_address_field_are_field_names_not_places(
    settings: StreamerSettings,
) -> None:
    # A Stripe-shaped address: the field name "address" says what the values are; the
    # keys line1 and line2 stay, and a policy that redacts places does not merge them.
    policy = Policy.model_validate({"entities": {"LOCATION": "redact"}})
    event = {
        "billing_details": {
            "address": {"line1": "12 Rue de la Paix", "line2": "Apt 3", "city": "Paris"}
        },
        "phones": {"4155552671": "home"},
    }
    for engine in (engine_with(settings), engine_with(settings, policy)):
        [outcome] = engine.redact_payloads([orjson.dumps(event)])
        assert outcome.failure is None
        clean = orjson.loads(outcome.value)
        assert list(clean["billing_details"]["address"]) == ["line1", "line2", "city"]
        assert b"Rue de la Paix" not in outcome.value and b"Paris" not in outcome.value
        assert next(iter(clean["phones"])).startswith("[PHONE_NUMBER_")


def test_field_names_in_other_scripts_stay_field_names(
    settings: StreamerSettings, ner_detector: object
) -> None:
    # German and Japanese schemas: NER took the keys Straße and Geburtsort for places and
    # 郵便番号 (postcode) for an organisation, and replaced the field names themselves.
    engine = RedactionEngine.build(
        Policy(), [*PATTERN_DETECTOR_NAMES, ner_detector], settings=settings
    )
    event = {
        "kunde": {"Straße": "Hauptstraße 5", "Geburtsort": "München", "Anrede": "Herr"},
        "顧客": {"郵便番号": "100-0001", "電話番号": "03-1234-5678", "性別": "男性"},
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    clean = orjson.loads(outcome.value)
    assert list(clean["kunde"]) == list(event["kunde"])
    assert list(clean["顧客"]) == list(event["顧客"])
    assert b"Hauptstra" not in outcome.value and b"1234-5678" not in outcome.value
