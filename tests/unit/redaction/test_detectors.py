"""Each built-in detector: values it must find, and look-alikes it must leave alone."""

from __future__ import annotations

import pytest

from streamer.redaction.detectors import DETECTORS
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RedactionEngine:
    settings = StreamerSettings(data_dir=tmp_path_factory.mktemp("keys"))
    return RedactionEngine.build(Policy(), settings=settings)


def found(engine: RedactionEngine, text: str, context: str = "") -> list[tuple[str, str]]:
    """``(entity_type, value)`` for every final span in ``text``."""
    [spans] = engine.analyze([text], [context])
    return [(s.entity_type, text[s.start : s.end]) for s in spans]


POSITIVES = [
    # e-mail: plus tags, subdomains, display names, unicode local parts
    ("mail jane.doe+news@corp.example.com now", "EMAIL_ADDRESS", "jane.doe+news@corp.example.com"),
    ('"Jane Doe" <jane@mail.sub.example.org>', "EMAIL_ADDRESS", "jane@mail.sub.example.org"),
    ("JOHN_SMITH99@EXAMPLE.CO.UK.", "EMAIL_ADDRESS", "JOHN_SMITH99@EXAMPLE.CO.UK"),
    ("write to josé.müller@beispiel.de", "EMAIL_ADDRESS", "josé.müller@beispiel.de"),
    # e-mail: key=value logs, query strings and quotes around it stay outside
    ("login ok user=jane.roe@example.com", "EMAIL_ADDRESS", "jane.roe@example.com"),
    ("GET /unsubscribe?id=7&email=jane@example.com", "EMAIL_ADDRESS", "jane@example.com"),
    ("reply to 'jane@example.com' today", "EMAIL_ADDRESS", "jane@example.com"),
    ("o'brien@example.ie wrote", "EMAIL_ADDRESS", "o'brien@example.ie"),
    # e-mail: Japanese words written against it, with no space, stay out of it; kanji
    # right before it may be a name and stay in
    ("メールはtaro@example.co.jpです", "EMAIL_ADDRESS", "taro@example.co.jp"),
    ("お客様のアドレスはtaro.yamada@example.jpまで", "EMAIL_ADDRESS", "taro.yamada@example.jp"),
    ("連絡先山田taro@example.jpへ", "EMAIL_ADDRESS", "連絡先山田taro@example.jp"),
    ("用户@例子.广告", "EMAIL_ADDRESS", "用户@例子.广告"),
    # phone numbers, US and international
    ("call +1 (415) 555-0132 today", "PHONE_NUMBER", "+1 (415) 555-0132"),
    ("cell 415.555.0132", "PHONE_NUMBER", "415.555.0132"),
    ("London office +44 20 7946 0958", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("Berlin: 0049 30 123456", "PHONE_NUMBER", "0049 30 123456"),
    ("Berlin 0049 30 123456", "PHONE_NUMBER", "0049 30 123456"),
    ("UK mobile 0044 7700 900123", "PHONE_NUMBER", "0044 7700 900123"),
    ("desk (415) 555-0132 ext. 204", "PHONE_NUMBER", "(415) 555-0132 ext. 204"),
    ("fax 212-555-0187x12", "PHONE_NUMBER", "212-555-0187x12"),
    ("Festnetz 030 123456", "PHONE_NUMBER", "030 123456"),
    ("mobile: 4155550132", "PHONE_NUMBER", "4155550132"),
    ("Office,+44 20 7946 0958-Fax", "PHONE_NUMBER", "+44 20 7946 0958"),  # after a comma
    ("fax:\\,+46 (0)8 515 691 54", "PHONE_NUMBER", "+46 (0)8 515 691 54"),
    ("<a href='tel:+1-415-555-0132'>", "PHONE_NUMBER", "+1-415-555-0132"),  # after a colon
    ("email:a@example.com,phone:+442079460958", "PHONE_NUMBER", "+442079460958"),
    ("mobile:4155550132", "PHONE_NUMBER", "4155550132"),
    # a negative word does not rule out a number written with its country code
    ("ticket from +44 20 7946 0958", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("Customer ID 889, +49 30 901820", "PHONE_NUMBER", "+49 30 901820"),
    ("ref: (+33) 1 42 68 53 00", "PHONE_NUMBER", "(+33) 1 42 68 53 00"),
    ("You can call 84 23 30", "PHONE_NUMBER", "84 23 30"),  # six digits, Greenland
    ("not answering at 561 499 051", "PHONE_NUMBER", "561 499 051"),
    ("call me on 555.0132", "PHONE_NUMBER", "555.0132"),  # one dot, local 3-4 groups
    # Japanese, Chinese and Korean write no space between a number and the words around it
    ("電話番号は03-1234-5678です", "PHONE_NUMBER", "03-1234-5678"),
    ("携帯090-1234-5678にご連絡ください", "PHONE_NUMBER", "090-1234-5678"),
    ("我的电话是13812345678\uff0c谢谢", "PHONE_NUMBER", "13812345678"),
    ("전화번호는 010-1234-5678입니다", "PHONE_NUMBER", "010-1234-5678"),
    ("カード番号は4111111111111111です", "CREDIT_CARD", "4111111111111111"),
    ("信用卡号4111 1111 1111 1111", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("口座はDE89370400440532013000です", "IBAN_CODE", "DE89370400440532013000"),
    ("IPアドレスは192.168.10.20です", "IP_ADDRESS", "192.168.10.20"),
    # US SSN
    ("SSN 536-22-1234 on file", "US_SSN", "536-22-1234"),
    ("ssn: 536 22 1234", "US_SSN", "536 22 1234"),
    ("SSN: 123-45-6789", "US_SSN", "123-45-6789"),  # an example number, labelled
    ("my ssn is 078-05-1120", "US_SSN", "078-05-1120"),
    ("social security number 536221234", "US_SSN", "536221234"),
    # US ITIN (area 9xx, which no SSN has; Presidio finds these as US_ITIN)
    ("ITIN 912-70-1234 on the W-7", "US_ITIN", "912-70-1234"),
    ("filed with 958-55-1234 last year", "US_ITIN", "958-55-1234"),
    ("taxpayer number 987 65 4321", "US_ITIN", "987 65 4321"),
    ("my itin is 912701234", "US_ITIN", "912701234"),
    # UK National Insurance numbers: whole, prefix and suffix letters too
    ("My NI number is QQ 12 34 56 C", "UK_NINO", "QQ 12 34 56 C"),  # HMRC's specimen
    ("NINO: AB123456C", "UK_NINO", "AB123456C"),
    ("his is JG 10 37 82 A, hers", "UK_NINO", "JG 10 37 82 A"),
    ("national insurance no. ab123456c", "UK_NINO", "ab123456c"),
    # Spanish DNI and NIE, Brazilian CPF: check letters and digits
    ("DNI 12345678Z", "ES_NIF", "12345678Z"),
    ("envíe el 12.345.678-Z", "ES_NIF", "12.345.678-Z"),
    ("mi NIE es X1234567L.", "ES_NIF", "X1234567L"),
    ("meu CPF 123.456.789-09 obrigado", "BR_CPF", "123.456.789-09"),
    ("cpf: 52998224725", "BR_CPF", "52998224725"),
    ("Cliente 529.982.247-25 pagou", "BR_CPF", "529.982.247-25"),  # dotted: no word needed
    # other national ids by their check characters: alone when the shape is rare, else
    # with a word naming them
    ("CNPJ: 11.222.333/0001-81", "BR_CNPJ", "11.222.333/0001-81"),
    ("Steuer-ID: 86095742719", "DE_TAX_ID", "86095742719"),
    ("Steueridentifikationsnummer 47 151 698 239", "DE_TAX_ID", "47 151 698 239"),
    ("NIR : 1 85 05 78 006 084 91", "FR_NIR", "1 85 05 78 006 084 91"),
    ("numéro de sécurité sociale 185057800608491", "FR_NIR", "185057800608491"),
    ("Codice fiscale: RSSMRA85T10A562S", "IT_FISCAL_CODE", "RSSMRA85T10A562S"),
    ("intestato a RSSMRA85T10A562S grazie", "IT_FISCAL_CODE", "RSSMRA85T10A562S"),
    ("codice fiscale rssmra85t10a562s", "IT_FISCAL_CODE", "rssmra85t10a562s"),
    ("Mijn BSN is 111222333.", "NL_BSN", "111222333"),
    ("burgerservicenummer 1234.56.782", "NL_BSN", "1234.56.782"),
    ("Aadhaar: 2341 2341 2346", "IN_AADHAAR", "2341 2341 2346"),
    ("aadhaar number 499118671232", "IN_AADHAAR", "499118671232"),
    ("please verify ABCPE1234F today", "IN_PAN", "ABCPE1234F"),  # a person's: 4th letter P
    ("company PAN AAACB1234C", "IN_PAN", "AAACB1234C"),
    ("TFN: 123 456 782", "AU_TFN", "123 456 782"),
    ("Medicare card 2123 45670 1", "AU_MEDICARE", "2123 45670 1"),
    ("CURP: HEGG560427MVZRRL04", "MX_CURP", "HEGG560427MVZRRL04"),
    # national ids as people write them: spaces, dots, dashes, lower case, with their word
    ("DNI 12345678 Z", "ES_NIF", "12345678 Z"),
    ("NIE: Y 1234567 X", "ES_NIF", "Y 1234567 X"),
    ("NIR 1-85-05-78-006-084-91", "FR_NIR", "1-85-05-78-006-084-91"),
    ("sécurité sociale 1.85.05.78.006.084.91", "FR_NIR", "1.85.05.78.006.084.91"),
    ("carte vitale 1 85 05 78 006 084-91", "FR_NIR", "1 85 05 78 006 084-91"),
    ("BSN: 111.222.333", "NL_BSN", "111.222.333"),
    ("BSN 1112 22 333", "NL_BSN", "1112 22 333"),
    ("PAN: abcpe1234f", "IN_PAN", "abcpe1234f"),
    ("curp: hegg560427mvzrrl04", "MX_CURP", "hegg560427mvzrrl04"),
    # Polish PESEL and Swedish personnummer: birth date, check digit, their word
    ("PESEL: 44051401359", "PL_PESEL", "44051401359"),
    ("nr PESEL 02270803624, dziękuję", "PL_PESEL", "02270803624"),
    ("Mitt personnummer är 811218-9876.", "SE_PERSONNUMMER", "811218-9876"),
    ("personnummer 19811218-9876", "SE_PERSONNUMMER", "19811218-9876"),
    ("pnr: 8112189876", "SE_PERSONNUMMER", "8112189876"),
    ("registro HEGG560427MVZRRL04 listo", "MX_CURP", "HEGG560427MVZRRL04"),
    # cards: Luhn, spaces and dashes
    ("card 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"),
    ("visa 4111 1111 1111 1111 exp 09/29", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("mc 5555555555554444", "CREDIT_CARD", "5555555555554444"),
    ("Please block card no 501803075628", "CREDIT_CARD", "501803075628"),  # 12-digit Maestro
    # cards: the expiry or security code written right after the number
    ("card 4111 1111 1111 1111 05/27 123", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("visa 4111111111111111 123", "CREDIT_CARD", "4111111111111111"),
    # IBAN: mod 97, spaces
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    ("to GB82WEST12345698765432.", "IBAN_CODE", "GB82WEST12345698765432"),
    ("IBAN DE89 3704 0044 0532 0130 00 FROM ME", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    # IBAN: a second one, after an IBAN or a look-alike whose candidate ran on over it
    ("NL91ABNA0417164300 and ES9121000418450200051332", "IBAN_CODE", "ES9121000418450200051332"),
    (
        "ref AB12 3456 7890 1234 to DE89 3704 0044 0532 0130 00",
        "IBAN_CODE",
        "DE89 3704 0044 0532 0130 00",
    ),
    # IP addresses
    ("from 2001:db8::1", "IP_ADDRESS", "2001:db8::1"),
    ("host 10.20.30.40 responded", "IP_ADDRESS", "10.20.30.40"),
    ("GET /api/hosts/10.20.30.40/status", "IP_ADDRESS", "10.20.30.40"),  # a path, no product
    (
        "full fe80:0000:0000:0000:0202:b3ff:fe1e:8329 ok",
        "IP_ADDRESS",
        "fe80:0000:0000:0000:0202:b3ff:fe1e:8329",
    ),
    ("loopback ::1 and more", "IP_ADDRESS", "::1"),
    ("mapped ::ffff:192.0.2.128 seen", "IP_ADDRESS", "::ffff:192.0.2.128"),
    # URLs
    ("see https://example.com/u/jane?id=7.", "URL", "https://example.com/u/jane?id=7"),
    ("(at www.example.org/profile)", "URL", "www.example.org/profile"),
    # profile links without a scheme or www.: the path names a person
    ("Profile: github.com/lmartin, thanks", "URL", "github.com/lmartin"),
    ("see linkedin.com/in/jane-doe.", "URL", "linkedin.com/in/jane-doe"),
    ("(uk.linkedin.com/in/jane-doe)", "URL", "uk.linkedin.com/in/jane-doe"),
    # context-dependent numbers
    ("bank account number 12345678901", "US_BANK_NUMBER", "12345678901"),
    ("passport no. 912803456", "US_PASSPORT", "912803456"),
    # other countries' passport numbers: Japan, Spain, France, Germany, Canada
    ("Passport number: TR1234567", "US_PASSPORT", "TR1234567"),
    ("passport PAA123456 (Spain)", "US_PASSPORT", "PAA123456"),
    ("passport no 18AB12345, issued in Lyon", "US_PASSPORT", "18AB12345"),
    ("German passport C01X00T47", "US_PASSPORT", "C01X00T47"),
    ("passport: AB123456", "US_PASSPORT", "AB123456"),
    ("driver's license D1234567", "US_DRIVER_LICENSE", "D1234567"),
    ("driver's license: S123-4567-8901", "US_DRIVER_LICENSE", "S123-4567-8901"),
    ("DL S123-456-78-901-0 (FL)", "US_DRIVER_LICENSE", "S123-456-78-901-0"),
    ("date of birth: 03/14/1985", "DATE_TIME", "03/14/1985"),
    ("she was born on March 14, 1985 in Ohio", "DATE_TIME", "March 14, 1985"),
    # spellings the month pattern allows: a long s matches "s" under case folding, and
    # "sep" + "ember" (both were a KeyError that failed the detector)
    ("born \u017fept 3, 1990", "DATE_TIME", "\u017fept 3, 1990"),
    ("born sepember 3, 1990", "DATE_TIME", "sepember 3, 1990"),
    # dates of birth: year first with slashes, day-month-year with dashes, other languages
    ("date of birth 1985/03/14", "DATE_TIME", "1985/03/14"),
    ("DOB 14-Mar-1985", "DATE_TIME", "14-Mar-1985"),
    ("Geburtsdatum: 14.03.1985", "DATE_TIME", "14.03.1985"),
    ("date de naissance : 14/03/1985", "DATE_TIME", "14/03/1985"),
    # a card's security code next to its word
    ("card 4111 1111 1111 1111 exp 09/26 cvv 737", "CREDIT_CARD_CVV", "737"),
    ("CVV2/CVC2: 0123, amount 150.00", "CREDIT_CARD_CVV", "0123"),
    # medical record numbers and health plan member ids, next to their words
    ("MRN: 00483921, seen today", "HEALTH_ID", "00483921"),
    ("Insurance member ID W284736195 (BCBS)", "HEALTH_ID", "W284736195"),
    ("policy number HMO-88213-04 lapsed", "HEALTH_ID", "HMO-88213-04"),
    # @mentions in chat messages and posts: the handle after the @
    ("hey @sarah.k can u send me the deck?", "PERSON", "sarah.k"),
    ("shoutout to @monica_geller for the ride", "PERSON", "monica_geller"),
    ("cc @priya.raman @tom-w pls review", "PERSON", "tom-w"),
    ("RT @jdoe99: big news", "PERSON", "jdoe99"),
]


@pytest.mark.parametrize(("text", "entity_type", "value"), POSITIVES)
def test_when_value_present_then_detected(
    engine: RedactionEngine, text: str, entity_type: str, value: str
) -> None:
    assert (entity_type, value) in found(engine, text)


HARD_NEGATIVES = [
    "upgraded to version 4.1.2.3 and v2.10.1",
    "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",  # product versions in a user agent
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Mobile Safari/537.36",
    "release 1.2.3-beta.4 is out",
    "order #123456789 and order number 4155550132",
    "part no. 12-3456-789, SKU 123-456-7890",
    "created 2026-01-01T10:20:30Z, updated 2026-01-02 08:00:00+01:00",
    "ISBN 978-3-16-148410-0 and 0-306-40615-2",
    "ref 4111111111111112 failed",  # card length, invalid Luhn
    "ids 4111-1111-1111-1111-05 and 1234 5678 9012 3456 7890",  # no card at the start
    "scanned barcode 5901234123457 (ean 5901234123457)",  # a Luhn-valid product barcode
    "number 1234567812345678",  # invalid Luhn
    "sha1 356a192b7913b04c54574d18c28d46e6395428ab",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "request 550e8400-e29b-41d4-a716-446655440000",
    "SSN-like 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567, 123-45-0000",
    "the example 123-45-6789 is never issued",
    "time 10:20:30 and mac 00:1a:2b:3c:4d:5e",
    "at 10:30:4155550132 and 12:4155550132",  # a colon after a digit joins
    "cvv check passed after 3 attempts: code 200 in 123 ms",  # too far from the word
    # numbers near a health plan word that are no member's: a group, a year, an amount
    "member ID on file; group number 00480213, health plan 2025, paid 12345.67",
    # an @ that mentions nobody: package scopes, cron, group mentions, SQL, annotations
    "npm i @types/node@20.11.5 and @angular/core, cron @daily, ping @here",
    "SELECT * FROM users WHERE id = @userId AND org = @__p_0",
    "@Override public void run() at @org.example.Inject(required=true)",
    # keys of ECS/Logstash, Microsoft Graph and JSON-LD documents, scanned as keys that
    # are not only letters
    "@timestamp",
    "@odata.context",
    "@type",
    "routing 021000022 has a bad checksum",  # no routing number, no account either
    # images at a pixel density: an image's extension is no top-level domain
    '<img src="icon@2x.png" srcset="logo@3x.JPG 3x, hero@1.5x.webp">',
    "epoch 1700000000 and count 1234567",
    "meeting on 2026-03-01, due 03/15/2026",  # dates without birth context
    "IBAN DE89 3704 0044 0532 0130 01 is off by one",  # bad checksum
    "price $1,234.56 and 1 234 567 units",
    "total 1,5551234567 units",  # a comma after a digit joins, it does not separate
    "ref 501803075628 and invoice 501803075628",  # 12 digits, Luhn-valid, no card word
    "the scores were 12 34 56 today",  # six digits in groups, no phone word
    "bare 9 digits 536221234 without context",
    "bare 9 digits 912701234 without context, order 912-70-1234",
    "std::vector and a::b",
    "we host on github.com, read box.com/docs and /srv/x.com/logs",  # no profile link
    # national ids: prefixes HMRC never issues, the specimen alone, wrong check characters
    "codes GB123456A, NT 12 34 56 A, AO123456B, DA123456C and AB123456E",
    "the specimen QQ 12 34 56 C alone",
    "lower case ab123456c alone",
    "builds 12345678A and X1234567A",
    "totals 123.456.789-08 and 111.111.111-11, bare 52998224725",
    "already clean: [EMAIL_ADDRESS_9f2c4e1ab37d5c08]",
    "passport photo 1200x1600 px, form DS11 renewed 2026",  # a passport word, no number
    # decimal numbers near a phone word: amounts, durations, coordinates
    "I called about the 1234.56 charge; the call took 1234.567 ms",
    "text me the spot: lat 40.712776 lon 0.127758",
    "passport order 12345678A shipped",
    "注文番号1234567890のお届け、価格は12,345円です",  # an order number and a price
    # spaced or lower-case look-alikes of national ids without their word
    "pedido 12345678 Z listo, llegan 12345678 y 23456789",
    "ordernummer 111.222.333",
    "please verify abcpe1234f and hegg560427mvzrrl04 today",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_when_look_alike_then_untouched(engine: RedactionEngine, text: str) -> None:
    assert found(engine, text) == []


def test_when_field_name_gives_context_then_bare_values_detected(engine: RedactionEngine) -> None:
    assert found(engine, "1985-03-14", "date_of_birth") == [("DATE_TIME", "1985-03-14")]
    assert found(engine, "912803456", "passport_number") == [("US_PASSPORT", "912803456")]
    assert found(engine, "TR1234567", "passengers.passport") == [("US_PASSPORT", "TR1234567")]
    # "text" and "message" are phone words, and the usual names of a free-text field
    assert found(engine, "Paid 1234.56 EUR, balance 12345.67", "message") == []
    assert found(engine, "Lat 40.712776, Lon 0.127758", "text") == []
    assert found(engine, "447700900123", "subscriber.msisdn") == [("PHONE_NUMBER", "447700900123")]
    assert found(engine, "1985-03-14", "due_date") == []
    # a date of birth in the field names of other languages
    for field in ("data_di_nascita", "geboortedatum", "födelsedatum", "data_urodzenia"):
        assert found(engine, "14.03.1985", f"cliente.{field}") == [("DATE_TIME", "14.03.1985")]
    assert found(engine, "1985-03-14", "data_nascimento") == [("DATE_TIME", "1985-03-14")]
    assert found(engine, "1985/03/14", "顧客.生年月日") == [("DATE_TIME", "1985/03/14")]
    assert found(engine, "5901234123457", "product.gtin") == []  # a barcode, Luhn-valid
    assert found(engine, "036000291452", "upc") == []  # a barcode, a valid phone number too
    assert found(engine, "036000291452", "phone") == [("PHONE_NUMBER", "036000291452")]
    # a date serialised as a timestamp at midnight: the timestamp is the birth date
    assert found(engine, "1985-03-14T00:00:00.000Z", "birth_date") == [
        ("DATE_TIME", "1985-03-14T00:00:00.000Z")
    ]
    assert found(engine, "2024-03-14T00:00:00Z", "created_at") == []
    assert found(engine, "1985-03-14T10:22:33Z", "birth_date") == []  # a time of day: an event
    assert found(engine, "ab123456c", "customer.nino") == [("UK_NINO", "ab123456c")]
    assert found(engine, "52998224725", "cliente.cpf") == [("BR_CPF", "52998224725")]
    assert found(engine, "86095742719", "customer.steuer_id") == [("DE_TAX_ID", "86095742719")]
    assert found(engine, "185057800608491", "client.nir") == [("FR_NIR", "185057800608491")]
    assert found(engine, "11222333000181", "empresa.cnpj") == [("BR_CNPJ", "11222333000181")]
    assert found(engine, "111222333", "klant.bsn") == [("NL_BSN", "111222333")]
    assert found(engine, "2341 2341 2346", "kyc.aadhaar") == [("IN_AADHAAR", "2341 2341 2346")]
    assert found(engine, "123 456 782", "employee.tfn") == [("AU_TFN", "123 456 782")]
    assert found(engine, "2123456701", "patient.medicare") == [("AU_MEDICARE", "2123456701")]
    assert found(engine, "111222333", "order_id") == []
    assert found(engine, "44051401359", "klient.pesel") == [("PL_PESEL", "44051401359")]
    assert found(engine, "198112189876", "kund.personnummer") == [
        ("SE_PERSONNUMMER", "198112189876")
    ]
    # a field named in snake_case or camelCase for an id's words
    assert found(engine, "185057800608491", "client.securite_sociale") == [
        ("FR_NIR", "185057800608491")
    ]
    assert found(engine, "185057800608491", "numero_Securite_Sociale") == [
        ("FR_NIR", "185057800608491")
    ]
    assert found(engine, "123456782", "tax_File_Number") == [("AU_TFN", "123456782")]
    assert found(engine, "abcpe1234f", "kyc.pan") == [("IN_PAN", "abcpe1234f")]
    assert found(engine, "hegg560427mvzrrl04", "cliente.curp") == [
        ("MX_CURP", "hegg560427mvzrrl04")
    ]


def test_routing_numbers_are_their_own_type_not_accounts_or_phone_numbers(
    engine: RedactionEngine,
) -> None:
    # "ABA: 026009593" was a phone number and "routing number 322271627" an account
    assert found(engine, "wire to routing 021000021, ABA: 322-271-627, RTN 011 000 015") == [
        ("ABA_ROUTING_NUMBER", "021000021"),
        ("ABA_ROUTING_NUMBER", "322-271-627"),
        ("ABA_ROUTING_NUMBER", "011 000 015"),
    ]
    assert found(engine, "021 000 021", "aba_number") == [("ABA_ROUTING_NUMBER", "021 000 021")]
    assert found(engine, "121000358", "bank_routing_number") == [
        ("ABA_ROUTING_NUMBER", "121000358")
    ]
    assert found(engine, "Please use routing number 322271627 and account 4455667788.") == [
        ("ABA_ROUTING_NUMBER", "322271627"),
        ("US_BANK_NUMBER", "4455667788"),
    ]


def test_message_ids_are_not_addresses(engine: RedactionEngine) -> None:
    # a message id has an address's shape; in its field or header line it is an id
    assert found(engine, "<CAF=abc123@mail.gmail.com>", "message_id") == []
    assert found(engine, "<CAF=abc123@mail.gmail.com>", "Message-ID") == []
    assert found(engine, "20240311.abc@mg.example.com", "message_Id") == []
    assert found(engine, "<a1@x.example> <b2@y.example>", "references") == []
    headers = (
        "Message-ID: <20240311.abc.123@smtp.example.org>\n"
        "In-Reply-To: <CAF=abc@mail.gmail.com>\nFrom: Bob <bob@example.com>"
    )
    assert [v for t, v in found(engine, headers) if t == "EMAIL_ADDRESS"] == ["bob@example.com"]
    # an address written in those fields or lines without brackets is still one
    assert found(engine, "References: ask jane@example.com") == [
        ("EMAIL_ADDRESS", "jane@example.com")
    ]
    assert found(engine, "from jane@example.com", "in_reply_to") == [
        ("EMAIL_ADDRESS", "jane@example.com")
    ]
    assert found(engine, "<jane@example.com>", "reply_to") == [
        ("EMAIL_ADDRESS", "jane@example.com")
    ]


def test_when_field_name_is_camel_case_then_its_words_are_context(
    engine: RedactionEngine,
) -> None:
    # JavaScript, Java and .NET name fields dateOfBirth, accountNumber: the same words as
    # date_of_birth, account_number, so the same values are found (and left alone)
    event = {
        "dateOfBirth": "1985-03-14", "DateOfBirth": "1985-03-14T00:00:00Z",
        "patientDOB": "03/14/1985", "accountNumber": "4401927733",
        "passportNumber": "912803456", "driversLicense": "D1234567", "customerSSN": "123456789",
        "orderNumber": "4155550132", "invoiceNo": "2125551234", "dueDate": "1985-03-14",
    }  # fmt: skip
    [result] = engine.redact_events([event])
    out = result.event
    assert out["dateOfBirth"].startswith("[DATE_TIME_")
    assert out["DateOfBirth"].startswith("[DATE_TIME_")
    assert out["patientDOB"].startswith("[DATE_TIME_")
    assert out["accountNumber"].startswith("[US_BANK_NUMBER_")
    assert out["passportNumber"].startswith("[US_PASSPORT_")
    assert out["driversLicense"].startswith("[US_DRIVER_LICENSE_")
    assert out["customerSSN"].startswith("[US_SSN_")
    # an order's or invoice's number is no phone number, as under order_number
    assert out["orderNumber"] == "4155550132"
    assert out["invoiceNo"] == "2125551234"
    assert out["dueDate"] == "1985-03-14"


def test_when_field_names_a_card_security_code_then_its_value_is_one(
    engine: RedactionEngine,
) -> None:
    event = {"card": {"number": "4111111111111111", "cvc": "0737"}, "securityCode": "999"}
    [result] = engine.redact_events([event])
    assert result.event["card"]["cvc"].startswith("[CREDIT_CARD_CVV_")
    assert result.event["securityCode"].startswith("[CREDIT_CARD_CVV_")


def test_when_field_names_a_health_id_then_its_value_is_one(engine: RedactionEngine) -> None:
    event = {
        "memberId": "XJH123456789", "subscriber_id": "98765432101", "mrn": "483921",
        "insurance": {"policy_number": "HMO-88213-04", "group_number": "00480213"},
    }  # fmt: skip
    [result] = engine.redact_events([event])
    out = result.event
    for value in (out["memberId"], out["subscriber_id"], out["mrn"]):
        assert value.startswith("[HEALTH_ID_")
    assert out["insurance"]["policy_number"].startswith("[HEALTH_ID_")
    assert out["insurance"]["group_number"] == "00480213"  # the employer's plan, no one's


def test_when_regions_configured_then_national_numbers_follow_them(tmp_path) -> None:
    french = StreamerSettings(data_dir=tmp_path, default_regions=["FR"])
    us_only = StreamerSettings(data_dir=tmp_path, default_regions=["US"])
    text = "ce soir au 06 12 34 56 78"  # no phone word: with one, any plan's groups count
    assert DETECTORS.create("phone", french).detect(text)
    assert not DETECTORS.create("phone", us_only).detect(text)


def test_when_unknown_region_then_clear_error(tmp_path) -> None:
    from streamer.redaction.exceptions import PolicyError

    with pytest.raises(PolicyError, match="default_regions"):
        DETECTORS.create("phone", StreamerSettings(data_dir=tmp_path, default_regions=["XX"]))


def test_when_unknown_detector_name_then_error_lists_valid_names() -> None:
    from streamer.redaction.exceptions import UnknownNameError

    with pytest.raises(UnknownNameError, match=r"valid names: .*credit_card"):
        DETECTORS.entry("no_such_detector")


def test_when_custom_detector_configured_then_it_finds_its_entity(tmp_path) -> None:
    policy = Policy.from_dict(
        {
            "custom_detectors": [
                {"name": "employee_id", "entity_type": "EMPLOYEE_ID", "pattern": r"\bEMP-\d{6}\b",
                 "context": ["employee"], "score": 0.6},
                {"name": "loyalty_card", "entity_type": "LOYALTY_CARD", "pattern": r"\b\d{12}\b",
                 "validator": "luhn", "score": 0.4},
            ]
        }
    )  # fmt: skip
    engine = RedactionEngine.build(policy, settings=StreamerSettings(data_dir=tmp_path))
    assert found(engine, "employee EMP-004211 badge") == [("EMPLOYEE_ID", "EMP-004211")]
    assert found(engine, "card 123456789015") == [("LOYALTY_CARD", "123456789015")]
    assert found(engine, "card 123456789012") == []  # fails Luhn


def test_when_detector_written_in_code_then_engine_runs_it(tmp_path) -> None:
    from streamer.redaction.detector import Detector
    from streamer.redaction.spans import Span

    class ShoutedNameDetector(Detector):
        name = "shouted_name"
        entities = ("PERSON",)

        def detect(self, text: str, context: str = "") -> list[Span]:
            index = text.find("BOB")
            return [Span(index, index + 3, "PERSON", 0.9, self.name)] if index >= 0 else []

    engine = RedactionEngine.build(
        Policy(),
        detectors=["email", ShoutedNameDetector()],
        settings=StreamerSettings(data_dir=tmp_path),
    )
    assert found(engine, "BOB at bob@example.com") == [
        ("PERSON", "BOB"),
        ("EMAIL_ADDRESS", "bob@example.com"),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Phone: (+358) 181004186", "(+358) 181004186"),  # country code in brackets
        ("Can someone call me on +34 800243077?", "+34 800243077"),  # long national group
        ("Phone: 67213657", "67213657"),  # a bare number of another plan, labelled
        ("Mobile: 49849120\nDesk", "49849120"),
        ("MSISDN 919876543210", "919876543210"),  # telecom records: the number, no plus
        # national numbers of plans outside the default regions, by a phone word of the
        # text's own language
        ("Vous pouvez me joindre au 01 42 68 53 00.", "01 42 68 53 00"),
        ("mon numéro: 01.42.68.53.00", "01.42.68.53.00"),
        ("llámame al 612345678", "612345678"),
        ("chiamami al 333 123 4567", "333 123 4567"),
        ("Bel me op 06-12345678", "06-12345678"),
        ("me ligue no celular 11 91234-5678", "11 91234-5678"),
        ("電話番号は 03-1234-5678 です。", "03-1234-5678"),  # Tokyo, a CJK phone word
        ("联系电话:010-6552-9988", "010-6552-9988"),
    ],
)
def test_phone_numbers_of_other_plans(engine: RedactionEngine, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in found(engine, text)


def test_bare_numbers_need_a_phone_word_right_before(engine: RedactionEngine) -> None:
    assert found(engine, "Ticket number 12345678 and order 87654321") == []
    assert found(engine, "numéro de commande 01 42 68 53 00") == []
    assert found(engine, "Pedido 612 34 56 78 enviado") == []
    assert found(engine, "Bestellung 0171 2345678 versandt") == []


def test_card_groups_inside_an_iban_are_not_a_card() -> None:
    # The groups after "DE56 " fail as one candidate; the card shape at their start passes
    # Luhn, and is still no card.
    detector = DETECTORS.create("credit_card", StreamerSettings())
    assert detector.detect("Wire the money to DE56 2590 5591 5306 3349 30 by Friday.") == []


def test_a_browser_version_in_a_user_agent_is_not_an_ip_address() -> None:
    # Chrome's user agent has been Chrome/<major>.0.0.0 since 2023: every access log line
    # of a Chrome browser lost its user agent's version to an IP address token.
    detector = DETECTORS.create("ip_address", StreamerSettings())
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/121.0.0.0 Safari/537.36"
    line = f'10.0.0.8 - - "GET / HTTP/1.1" 200 5 "-" "{agent}"'
    assert [line[s.start : s.end] for s in detector.detect(line)] == ["10.0.0.8"]


NATIONAL_IDS = (
    "br_cnpj", "de_tax_id", "fr_nir", "it_fiscal_code", "nl_bsn", "in_aadhaar", "in_pan",
    "au_tfn", "au_medicare", "mx_curp", "pl_pesel", "se_personnummer", "national_ids",
)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        # valid checks, no word naming the id: order, customer and ticket numbers
        "Kundennummer 86095742719, Vertrag 111222333, Ticket 2341 2341 2346",
        "ref 185057800608491 and 1 85 05 78 006 084 91 without a word",
        "paid 11.222.333/0001-81 and 123 456 782, card 2123 45670 1",
        # a word naming the id, a wrong check
        "steuer-id 86095742718 (check digit off by one), bsn 123456789",
        "CNPJ 11.222.333/0001-82, nir 185057800608492",
        "tfn 123 456 789, medicare 2123 45671 1, aadhaar 2341 2341 2345",
        # the word before an order number
        "BSN order 111222333 and TFN invoice 123 456 782",
        # lower case, a wrong check letter, a company's PAN alone
        "batch rssmra85t10a562s and RSSMRA85T10A562T, a company AAACB1234C",
        "CURP HEGG560427MVZRRL05 (wrong check digit), HEGG561327MVZRRL04 (month 13)",
        # PESEL and personnummer: no word, a wrong check digit, no such birth date
        "Zamówienie 44051401359, order 811218-9876, faktura 19811218-9876",
        "PESEL 44051401358, personnummer 811218-9877 (wrong check digits)",
        "PESEL 44133101357, personnummer 811318-9875 (month 13, checks right)",
    ],
)
def test_national_ids_need_their_check_and_word(text: str) -> None:
    settings = StreamerSettings()
    for name in NATIONAL_IDS:
        assert DETECTORS.create(name, settings).detect(text) == [], name
