"""Personal data as it appears in application logs: percent-encoded in URL queries and
paths, next to the status and size of an access log line."""

from __future__ import annotations

import pytest

from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RedactionEngine:
    settings = StreamerSettings(data_dir=tmp_path_factory.mktemp("keys"))
    return RedactionEngine.build(Policy(), detectors=PATTERN_DETECTOR_NAMES, settings=settings)


def found(engine: RedactionEngine, text: str, context: str = "") -> list[tuple[str, str]]:
    """``(entity_type, value)`` for every final span in ``text``."""
    [spans] = engine.analyze([text], [context])
    return [(s.entity_type, text[s.start : s.end]) for s in spans]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("GET /api/users?email=jane.doe%40gmail.com&page=2 HTTP/1.1", "jane.doe%40gmail.com"),
        ("/u/jo%2Bhr%40mail.acme-corp.es/unsubscribe", "jo%2Bhr%40mail.acme-corp.es"),
        ("a@b.example and c%40d.example", "c%40d.example"),
    ],
)  # fmt: skip
def test_percent_encoded_email_is_found(engine: RedactionEngine, text: str, value: str) -> None:
    assert ("EMAIL_ADDRESS", value) in found(engine, text)


@pytest.mark.parametrize("text", ["discount 100%40 off", "ratio%40x", "50%40%"])
def test_percent_forty_without_an_address_is_left_alone(engine: RedactionEngine, text: str) -> None:
    assert found(engine, text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("GET /profile?phone=+34%20612%20345%20678 HTTP/1.1", "+34%20612%20345%20678"),
        ("GET /search?q=jane&tel=%2B44%2020%207946%200958", "%2B44%2020%207946%200958"),
        ("/otp?mobile=%2b14155550132&resend=1", "%2b14155550132"),
    ],
)  # fmt: skip
def test_percent_encoded_phone_number_is_found(
    engine: RedactionEngine, text: str, value: str
) -> None:
    assert ("PHONE_NUMBER", value) in found(engine, text)


def test_percent_encoded_phone_number_keeps_the_text_around_it(engine: RedactionEngine) -> None:
    text = "a%20b phone=%2B44%2020%207946%200958&x=%20y"
    assert found(engine, text) == [("PHONE_NUMBER", "%2B44%2020%207946%200958")]


@pytest.mark.parametrize(
    "text",
    [
        '203.0.113.9 - - [17/May/2024:09:42:13 +0000] "GET /me?phone=1 HTTP/1.1" 200 5123 "-"',
        '"POST /api/call HTTP/2" 201 5550132 "-" "curl/8.5"',
        '"GET /settings/phone HTTP/1.0" 304 187',
    ],
)
def test_access_log_status_and_size_are_not_a_phone_number(
    engine: RedactionEngine, text: str
) -> None:
    assert [entity for entity in found(engine, text) if entity[0] == "PHONE_NUMBER"] == []


def test_phone_number_after_a_url_is_still_found(engine: RedactionEngine) -> None:
    text = "see http://help.example/contact or call 415-555-0132"
    assert ("PHONE_NUMBER", "415-555-0132") in found(engine, text)


def test_reachable_is_a_phone_word(engine: RedactionEngine) -> None:
    text = "Promoted in Q3. Reachable at 070-123 45 67; SSN on file."
    assert ("PHONE_NUMBER", "070-123 45 67") in found(engine, text)
