"""The field name detector: a JSON field named for a person's name or a place says what
its value is, where the value alone (one first name) gives detectors nothing to go on."""

from __future__ import annotations

import orjson
import pytest

from streamer.redaction.detectors import DETECTORS, PATTERN_DETECTOR_NAMES, FieldNameDetector
from streamer.redaction.detectors.field_name import field_entity, names_a_product, names_a_thing
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings


@pytest.mark.parametrize(
    ("field", "entity"),
    [
        ("first_name", "PERSON"),
        ("firstName", "PERSON"),
        ("Last-Name", "PERSON"),
        ("surname", "PERSON"),
        ("billing_first_name", "PERSON"),
        ("customerFullName", "PERSON"),
        ("customer_name", "PERSON"),
        ("customer.name", "PERSON"),
        ("patientName", "PERSON"),
        ("name.given", "PERSON"),
        ("name.family", "PERSON"),
        ("cardholder_name", "PERSON"),
        ("Vorname", "PERSON"),
        # other languages' name, address and town fields
        ("voornaam", "PERSON"),
        ("achternaam", "PERSON"),
        ("nombre_completo", "PERSON"),
        ("cliente.nombre", "PERSON"),
        ("klant.naam", "PERSON"),
        ("kunde.name", "PERSON"),
        ("adresse", "LOCATION"),
        ("direccion", "LOCATION"),
        ("endereco", "LOCATION"),
        ("indirizzo", "LOCATION"),
        ("woonplaats", "LOCATION"),
        ("cidade", "LOCATION"),
        # Polish, Swedish, Japanese (romanised and in kanji), Russian
        ("imie", "PERSON"),
        ("nazwisko", "PERSON"),
        ("förnamn", "PERSON"),
        ("efternamn", "PERSON"),
        ("name_kana", "PERSON"),
        ("顧客.氏名", "PERSON"),
        ("Фамилия", "PERSON"),
        ("anschrift", "LOCATION"),
        ("ulica", "LOCATION"),
        ("kod_pocztowy", "LOCATION"),
        ("postnummer", "LOCATION"),
        ("postort", "LOCATION"),
        ("住所", "LOCATION"),
        ("郵便番号", "LOCATION"),
        # payments and HR records name the people in them by role
        ("debtor_name", "PERSON"),
        ("creditor.name", "PERSON"),
        ("personal.name", "PERSON"),
        ("owner.name", "PERSON"),
        # whom an order is billed or shipped to
        ("billing_details.name", "PERSON"),
        ("shipping_address.name", "PERSON"),
        ("bill_to_name", "PERSON"),
        ("shipTo.name", "PERSON"),
        ("address.line1", "LOCATION"),
        # a list of people owns its items' names: passengers[].name, people[].first
        ("passengers.name", "PERSON"),
        ("attendees.name", "PERSON"),
        ("beneficiaries.name", "PERSON"),
        ("people.first", "PERSON"),
        ("shipping_address.line2", "LOCATION"),
        # a person's login identifies them as well as their name does
        ("username", "PERSON"),
        ("admin_user_name", "PERSON"),
        ("login", "PERSON"),
        ("screen_name", "PERSON"),
        ("user", "PERSON"),
        ("handle", "PERSON"),
        # a social site's handle, and who wrote or was given a post or a ticket
        ("twitter", "PERSON"),
        ("instagram_handle", "PERSON"),
        ("author", "PERSON"),
        ("author.name", "PERSON"),
        ("assignee", "PERSON"),
        ("created_by", "PERSON"),
        ("street", "LOCATION"),
        ("address_line1", "LOCATION"),
        ("billing_city", "LOCATION"),
        ("homeAddress", "LOCATION"),
        ("city", "LOCATION"),
        ("postal_code", "LOCATION"),
        ("billingZip", "LOCATION"),
        ("postcode", "LOCATION"),
        ("zip_code", "LOCATION"),
        ("PLZ", "LOCATION"),
        # Names of things, handles and look-alike endings are not people or places.
        ("name", None),
        ("product_name", None),
        ("product.name", None),
        ("file_name", None),
        ("user_agent", None),
        ("user_id", None),
        ("superuser", None),
        ("file_handle", None),
        ("authority", None),
        ("last_login", None),
        ("hostname", None),
        ("ethnicity", None),
        ("capacity", None),
        ("email_address", None),
        ("ip_address", None),
        ("port", None),
        ("gzip", None),
        ("order_zip", None),
        ("", None),
        ("nombre", None),  # alone, like "name"
        ("product.nome", None),
        ("e-mailadres", None),
        ("synonym", None),
        ("line1", None),  # a line of anything, without an address owning it
        ("items.name", None),
        ("stages.name", None),
        ("items.line1", None),
        ("shipping.name", None),  # a shipping method's, as often as a person's
    ],
)
def test_field_names_say_what_their_values_are(field: str, entity: str | None) -> None:
    assert field_entity(field) == entity


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("product.name", True),
        ("items.name", True),
        ("line_items.name", True),
        ("productTitle", True),
        ("item_name", True),
        ("brand", True),
        ("customer.name", False),
        ("name", False),
        ("title", False),
        ("order.name", False),
        ("product.description", True),
        ("items.description", True),
        ("product_description", True),
        ("description", False),
        ("file_name", False),
    ],
)
def test_fields_naming_a_product(field: str, expected: bool) -> None:
    assert names_a_product(field) is expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("os", True),
        ("osVersion", True),
        ("OSVersion", True),
        ("device.model", True),
        ("device_model", True),
        ("currency_code", True),
        ("bic", True),
        # one of a set of values: "status": "DECLINED", "riskDecision": "REVIEW"
        ("payment.status", True),
        ("riskDecision", True),
        ("ticket_priority", True),
        ("card_type", True),
        # a job's title or an occupation is a role
        ("job_title", True),
        ("jobTitle", True),
        ("job.title", True),
        ("occupation", True),
        ("title", False),
        ("ticket.title", False),
        ("conversion", False),
        ("statuses_url", False),
        ("photos", False),
        ("customer.name", False),
        ("note", False),
    ],
)
def test_fields_naming_a_code_version_or_model(field: str, expected: bool) -> None:
    assert names_a_thing(field) is expected


@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        ("Priya", "first_name", [("PERSON", "Priya")]),
        ("  O'Neil-Smith ", "lastName", [("PERSON", "O'Neil-Smith")]),
        ("Doe, Jane", "customer_name", [("PERSON", "Doe, Jane")]),
        ("María José", "nombre_y_apellidos", [("PERSON", "María José")]),
        ("Springfield", "billing_city", [("LOCATION", "Springfield")]),
        ("Flat 2, 10 Downing St", "address_line1", [("LOCATION", "Flat 2, 10 Downing St")]),
        ("80331", "postal_code", [("LOCATION", "80331")]),
        ("SW1A 2AA", "postcode", [("LOCATION", "SW1A 2AA")]),
        ("H3G 1P1", "shipping_zip", [("LOCATION", "H3G 1P1")]),
        ("01304-001", "cep", [("LOCATION", "01304-001")]),
        ("archive.zip", "zip", []),
        ("N/A", "zipCode", []),
        ("none", "postcode", []),
        # Placeholders, codes and values of another kind stay for the other detectors.
        ("unknown", "first_name", []),
        ("N/A", "surname", []),
        ("user42", "first_name", []),
        ("jane@example.com", "address", []),
        ("12345", "city", []),
        ("Priya", "name", []),
        ("Priya", "", []),
        # a login: one token with a letter, or the person's name; not a system account
        ("jsmith", "username", [("PERSON", "jsmith")]),
        ("j.smith-2", "login", [("PERSON", "j.smith-2")]),
        ("CORP\\kwalker", "user", [("PERSON", "CORP\\kwalker")]),
        ("Maria Garcia", "user", [("PERSON", "Maria Garcia")]),
        ("root", "user", []),
        ("www-data", "username", []),
        ("failed", "login", []),
        ("2026-11-24T10:40:03Z", "login", []),
        ("12345", "user", []),
        ("jane@example.com", "username", []),
        # a handle written with its @: the handle after it
        ("@rachelgreen_nyc", "handle", [("PERSON", "rachelgreen_nyc")]),
        ("@kmoss", "screen_name", [("PERSON", "kmoss")]),
        ("dwight.schrute", "author", [("PERSON", "dwight.schrute")]),
        ("@root", "user", []),
        ("@", "handle", []),
    ],
)
def test_values_that_look_like_their_field(
    text: str, context: str, expected: list[tuple[str, str]]
) -> None:
    detector = FieldNameDetector()
    found = detector.detect(text, context) if detector.applies_to(text, context) else []
    assert [(s.entity_type, text[s.start : s.end]) for s in found] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "INFO signup first_name=Priya last_name=Raman plan=pro",
            [("PERSON", "Priya"), ("PERSON", "Raman")],
        ),
        (
            '{"ts":"2026-11-24T10:40:03Z","user":{"login":"mw","full_name":"Mark Wilson"}}',
            [("PERSON", "mw"), ("PERSON", "Mark Wilson")],
        ),
        ('payload={\\"firstName\\":\\"Jonas\\"}', [("PERSON", "Jonas")]),
        ("{'first_name': 'Priya', 'plan': 'pro'}", [("PERSON", "Priya")]),
        (
            'shipped city=Leeds street="Kirkstall Road"',
            [("LOCATION", "Leeds"), ("LOCATION", "Kirkstall Road")],
        ),
        ("GET /signup?last_name=Raman&zip=90210", [("PERSON", "Raman"), ("LOCATION", "90210")]),
        ("sshd: session opened user=mwilson USER=root uid=0", [("PERSON", "mwilson")]),
        # logins in the lines of auth and access logs, where no field name says so
        (
            "sshd[1234]: Accepted password for jsmith from 203.0.113.5 port 52144 ssh2",
            [("PERSON", "jsmith")],
        ),
        ("Failed password for invalid user mwilson from 203.0.113.5", [("PERSON", "mwilson")]),
        ("session opened for user root by kwalker(uid=1001)", [("PERSON", "kwalker")]),
        (
            '10.1.2.3 - alice.w [11/Mar/2025:08:12:44 +0000] "GET / HTTP/1.1" 200',
            [("PERSON", "alice.w")],
        ),
        ("login failed for user 'pgarcia'", [("PERSON", "pgarcia")]),
        ("User jdoe logged in from 198.51.100.7", [("PERSON", "jdoe")]),
        # a login someone writes down in a ticket or a chat
        ("Hi, I'm locked out. Username is mbrennan, my zip...", [("PERSON", "mbrennan")]),
        ("my user name is: j.smith.", [("PERSON", "j.smith")]),
        ("Login: tjackson (reset requested)", [("PERSON", "tjackson")]),
        ("UserName: kdavis77", [("PERSON", "kdavis77")]),
        # the nick of a line of a chat log (IRC, chat exports), not an HTML tag
        ("[12:01] <bob_marley84> send me your number?", [("PERSON", "bob_marley84")]),
        ("12:02:09 <kitty_k> lol\n12:03 <root> reboot", [("PERSON", "kitty_k")]),
        ("<div> hello </div>", []),
        # what a sentence says about a username or a login is no login
        ("username is invalid", []),
        ("your username is the same as before", []),
        ("the login is broken", []),
        ("login: successful", []),
        ("Last login: Tue Nov 24 10:15:32 2026 from 198.51.100.7", []),
        # system accounts, no user, and a user that is no login
        ("Failed password for invalid user admin from 203.0.113.5 port 22", []),
        ('10.1.2.3 - - [11/Mar/2025:08:12:44 +0000] "GET / HTTP/1.1" 200', []),
        ("the user said thanks for the help [see ticket]", []),
        # Fields of other kinds, placeholders, system accounts, paths and memory addresses.
        ('hostname=web01 filename="Report Final" lastname=null user=root', []),
        ('address=0x7ffe5a3c address="/var/run/app.sock" zip=true city_id=12', []),
        ("surname: Okonkwo", []),  # a label, left to NER's cues
    ],
)
def test_fields_written_into_a_line_of_text(text: str, expected: list[tuple[str, str]]) -> None:
    detector = FieldNameDetector()
    found = detector.detect(text) if detector.applies_to(text) else []
    assert [(s.entity_type, text[s.start : s.end]) for s in found] == expected


def test_it_runs_by_default_and_with_the_pattern_detectors() -> None:
    assert "field_name" in PATTERN_DETECTOR_NAMES
    assert "field_name" in DETECTORS.default_names()


def test_a_json_event_keeps_no_name_that_only_its_field_gave_away(tmp_path) -> None:
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "user": {"first_name": "Zorabel", "lastName": "Quintrell", "username": "zq7"},
        "product": {"name": "Premium Plan"},
        "shipping": {"street": "Rue Zorabelle", "city": "Vasko", "postal_code": "ZQ9 8XW"},
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    clean = orjson.loads(outcome.value)
    for value in (b"Zorabel", b"Quintrell", b"Vasko", b"ZQ9 8XW"):
        assert value not in outcome.value
    assert clean["user"]["first_name"].startswith("[PERSON_")
    assert clean["user"]["lastName"].startswith("[PERSON_")
    assert clean["shipping"]["city"].startswith("[LOCATION_")
    assert clean["user"]["username"].startswith("[PERSON_")  # a login identifies a person
    assert clean["product"]["name"] == "Premium Plan"


def test_a_name_key_speaks_with_its_owner_in_a_json_event(tmp_path) -> None:
    # {"customer": {"name": ...}} left a two-word name to NER, which missed it; a FHIR
    # patient's name parts (given, family) were left as they were.
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "customer": {"name": "Priya Raghunathan", "id": "C-1"},
        "contact": {"Name": "李伟"},
        "patient": {"name": [{"use": "official", "family": "Chalmers", "given": ["Peter"]}]},
        "profile": {"name": {"first": "Zorabel", "last": "Quintrell"}},
        "product": {"name": "Premium Plan", "family": "Widgets"},
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    for value in ("Priya", "李伟", "Chalmers", "Peter", "Zorabel", "Quintrell"):
        assert value.encode() not in outcome.value
    clean = orjson.loads(outcome.value)
    assert clean["customer"]["name"].startswith("[PERSON_")
    assert clean["patient"]["name"][0]["use"] == "official"
    assert clean["product"] == event["product"]


def test_name_and_address_fields_in_other_languages_in_a_json_event(tmp_path) -> None:
    # {"cliente": {"nombre": ...}} and a Dutch voornaam/achternaam were left to NER (an
    # English model), which missed these names.
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "cliente": {"nombre": "Ana Hernández", "direccion": "Insurgentes 1602, Col. Crédito"},
        "klant": {"voornaam": "Sanne", "achternaam": "de Vries", "woonplaats": "Utrecht"},
        "producto": {"nombre": "Plan Premium"},
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    for value in ("Ana", "Hernández", "Insurgentes", "Sanne", "Vries", "Utrecht"):
        assert value.encode() not in outcome.value
    assert orjson.loads(outcome.value)["producto"] == event["producto"]


def test_name_and_address_fields_of_polish_swedish_and_japanese_events(tmp_path) -> None:
    # These field names were unknown, and NER (an English model) missed the values.
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "klient": {"imie": "Łukasz", "nazwisko": "Wiśniewski", "kod_pocztowy": "00-624"},
        "kund": {"förnamn": "Åsa", "efternamn": "Öberg", "postnummer": "114 51"},
        "顧客": {
            "氏名": "山田 太郎",
            "name_kana": "ヤマダ タロウ",
            "住所": "東京都千代田区千代田1-1",
        },
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    for value in (
        "Łukasz",
        "Wiśniewski",
        "00-624",
        "Åsa",
        "Öberg",
        "114 51",
        "山田",
        "ヤマダ",
        "千代田",
    ):
        assert value.encode() not in outcome.value, value


def test_whom_an_order_is_billed_and_shipped_to_in_a_json_event(tmp_path) -> None:
    # A Stripe charge's billing_details.name and a Shopify order's shipping_address.name
    # were left to NER, which missed the name alone; an address's line1 and line2 were
    # left to the street detector, which missed "Flat 4, Rose Court" and "Unit 1207".
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "object": "charge",
        "amount": 2000,
        "billing_details": {
            "name": "Wilhelmina Crabtree",
            "address": {"line1": "Flat 4, Rose Court", "line2": "Unit 1207", "country": "US"},
        },
        "shipping_address": {"name": "Zorabel Quintrell", "line2": "Apt 5"},
        "items": [{"sku": "TV-55-OLED", "line1": "Gift wrap 2"}],
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    for value in ("Wilhelmina", "Crabtree", "Rose Court", "Unit 1207", "Zorabel", "Apt 5"):
        assert value.encode() not in outcome.value
    clean = orjson.loads(outcome.value)
    assert clean["billing_details"]["name"].startswith("[PERSON_")
    assert clean["billing_details"]["address"]["line1"].startswith("[LOCATION_")
    assert clean["billing_details"]["address"]["country"] == "US"
    assert clean["items"] == event["items"]
    assert clean["amount"] == 2000


def test_the_names_in_a_list_of_people_in_a_json_event(tmp_path) -> None:
    # {"passengers": [{"name": ...}]}: the list's key is plural, so the name was left to
    # NER, which missed "Wilhelmina Crabtree" alone and found only part of another name.
    settings = StreamerSettings(data_dir=tmp_path)
    engine = RedactionEngine.build(Policy(), list(PATTERN_DETECTOR_NAMES), settings=settings)
    event = {
        "passengers": [{"name": "Wilhelmina Crabtree", "seat": "14C"}, {"first": "Lucius"}],
        "attendees": [{"name": "Zorabel Quintrell"}],
        "stages": [{"name": "Final Review"}],
    }
    [outcome] = engine.redact_payloads([orjson.dumps(event)])
    assert outcome.failure is None
    for value in ("Wilhelmina", "Crabtree", "Lucius", "Zorabel", "Quintrell"):
        assert value.encode() not in outcome.value
    clean = orjson.loads(outcome.value)
    assert clean["passengers"][0]["seat"] == "14C"
    assert clean["stages"] == event["stages"]
