"""Labelled corpora for measuring detection, scored by :func:`streamer.testing.accuracy.score`.

- :func:`labelled_records`: texts with the structured types (e-mail, phone, SSN, card,
  IBAN, IP, URL) placed in templates, built with Faker, and the exact spans of each;
- :func:`clean_records`: texts with no personal data, full of the look-alikes detectors
  must leave alone (versions, order numbers, timestamps, ISBNs, invalid card numbers,
  hashes, UUIDs);
- :func:`presidio_evaluator_corpus`: sentences from presidio-evaluator's generator and
  its bundled templates, labelled with people, places, organisations and the
  structured types.

All three are lists of :class:`~streamer.testing.accuracy.LabelledRecord` (a clean
record has no entities), so one scorer serves them all.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import random
import string
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal

from streamer.errors import DependencyMissingError
from streamer.testing.accuracy import LabelledEntity, LabelledRecord

STRUCTURED_TYPES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
)


_TEMPLATES = (
    "Please contact me at {EMAIL_ADDRESS} regarding my refund.",
    "Customer called from {PHONE_NUMBER} and asked for a callback.",
    "My SSN is {US_SSN}, please update my tax file.",
    "Charge the card {CREDIT_CARD} for the annual plan.",
    "Wire the money to {IBAN_CODE} by Friday.",
    "Login attempt from {IP_ADDRESS} was blocked.",
    "See my profile at {URL} for details.",
    "Reach me on {PHONE_NUMBER} or by mail: {EMAIL_ADDRESS}",
    "{EMAIL_ADDRESS} wrote: the card ending {CREDIT_CARD} was declined twice.",
    "Refund to IBAN {IBAN_CODE}; confirmation goes to {EMAIL_ADDRESS}.",
    "Request from {IP_ADDRESS} for user {EMAIL_ADDRESS} failed with 403.",
    "social security number: {US_SSN}\nphone: {PHONE_NUMBER}",
    "Hi team, the client ({EMAIL_ADDRESS}, {PHONE_NUMBER}) wants an update.",
    "payment method {CREDIT_CARD} exp 09/29, billing mail {EMAIL_ADDRESS}",
    "Our records show SSN {US_SSN} and account {IBAN_CODE}.",
    "Forwarded from {URL} by {IP_ADDRESS}",
    "tel. {PHONE_NUMBER} (mobile)",
    'Contact: "{NAME}" <{EMAIL_ADDRESS}>',
    "I tried {URL} but it said my IP {IP_ADDRESS} is banned.",
    "{PHONE_NUMBER}",
    "{EMAIL_ADDRESS}",
    "Card: {CREDIT_CARD}. SSN: {US_SSN}. Phone: {PHONE_NUMBER}. IBAN: {IBAN_CODE}.",
)

_CLEAN_TEMPLATES = (
    "Upgraded the agent to version {version} and restarted the service.",
    "Order #{order} shipped on {date} and will arrive in 3-5 days.",
    "Build {build} finished at {timestamp} in {seconds} seconds.",
    "The book has ISBN {isbn} and costs ${price}.",
    "Reference number {bad_card} could not be matched to an invoice.",
    "Commit {sha} fixed the regression in release {version}.",
    "Request id {uuid} returned HTTP {status} after {millis} ms.",
    "Part no. {part} is out of stock; expected back {date}.",
    "Invoice {invoice} total: {price} EUR, due {date}.",
    "Disk usage at {percent}% on node-{node}; {gigabytes} GB free.",
    "Ticket T-{ticket} was merged into T-{ticket2} at {time}.",
    "The meeting moved to {time} on {date}, room {room}.",
    "SHA-256 checksum {sha256} verified for artifact {artifact}.",
    "Tracking code {tracking} is in transit.",
    "Temperature was {celsius} degrees at {time}, humidity {percent}%.",
    "Release {version}-beta.{build} is available for testing.",
    "We processed {count} events in {seconds} s ({rate} per second).",
    "Serial SN{serial} registered to warehouse {room}.",
    "Timestamp {epoch} is before the cutoff {epoch2}.",
    "Coordinates 48.{coord}, 11.{coord2} are near the depot.",
)


def _require_faker(seed: int, locale: str = "en_US") -> Any:
    try:
        from faker import Faker
    except ImportError:
        raise DependencyMissingError("the test corpus", "faker", "dev") from None
    faker = Faker(locale)
    faker.seed_instance(seed)
    return faker


def _group(digits: str, sizes: Iterable[int], separator: str) -> str:
    parts, index = [], 0
    for size in sizes:
        parts.append(digits[index : index + size])
        index += size
    if index < len(digits):
        parts.append(digits[index:])
    return separator.join(p for p in parts if p)


class _ValueFactory:
    """Values of each structured type, in the formats people write them in."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faker = _require_faker(seed)
        self.locales = {loc: _require_faker(seed, loc) for loc in ("en_GB", "de_DE", "fr_FR")}

    def value(self, entity_type: str) -> str:
        return getattr(self, entity_type.lower())()

    def name(self) -> str:
        return str(self.faker.name())

    def email_address(self) -> str:
        f, rng = self.faker, self.rng
        choice = rng.randrange(5)
        if choice == 0:
            return str(f.email())
        if choice == 1:
            user, domain = f.free_email().split("@")
            return f"{user}+{f.word()}@{domain}"
        if choice == 2:
            local = f"{f.first_name().lower()}.{f.last_name().lower()}"
            return f"{local}@{f.domain_word()}.{f.domain_name()}"
        if choice == 3:
            return str(f.company_email()).upper() if rng.random() < 0.3 else str(f.company_email())
        return f"{f.user_name()}{rng.randint(1, 99)}@{f.free_email_domain()}"

    def phone_number(self) -> str:
        """A number valid in its region's numbering plan, as a real customer's would be,
        in a format of that region (Faker's) or an international one."""
        import phonenumbers

        rng = self.rng
        for _ in range(50):
            choice = rng.randrange(6)
            if choice <= 2:
                value, region = str(self.faker.phone_number()), "US"
            elif choice == 3:
                value, region = str(self.locales["en_GB"].phone_number()), "GB"
            elif choice == 4:
                value, region = str(self.locales["de_DE"].phone_number()), "DE"
            else:
                # International formats of real-shaped US numbers: +1 (415) 555-0132 and
                # German numbers written with 00: 0049 30 123456.
                area = rng.choice((212, 213, 303, 312, 415, 512, 617, 646, 702, 718))
                if rng.random() < 0.5:
                    value = f"+1 ({area}) 555-01{rng.randint(0, 99):02d}"
                else:
                    value = f"0049 30 {rng.randint(100000, 99999999)}"
                region = "US" if value.startswith("+1") else "DE"
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return value
        raise RuntimeError("could not generate a valid phone number")

    def us_ssn(self) -> str:
        ssn = str(self.faker.ssn())
        return ssn.replace("-", " ") if self.rng.random() < 0.15 else ssn

    def credit_card(self) -> str:
        rng = self.rng
        card_type = rng.choice(("visa16", "mastercard", "amex", "discover", "jcb16", "visa13"))
        digits = str(self.faker.credit_card_number(card_type=card_type))
        style = rng.randrange(3)
        if style == 0:
            return digits
        separator = " " if style == 1 else "-"
        sizes = (4, 6, 5) if len(digits) == 15 else (4, 4, 4, 4, 3)
        return _group(digits, sizes, separator)

    def iban_code(self) -> str:
        faker = self.rng.choice([self.faker, *self.locales.values()])
        iban = str(faker.iban())
        return _group(iban, [4] * 9, " ") if self.rng.random() < 0.5 else iban

    def ip_address(self) -> str:
        f, rng = self.faker, self.rng
        choice = rng.randrange(4)
        if choice == 0:
            return str(f.ipv4_public())
        if choice == 1:
            return str(f.ipv4_private())
        if choice == 2:
            return str(f.ipv6())
        address = ipaddress.IPv6Address(f.ipv6())
        packed = bytearray(address.packed)
        packed[4:12] = bytes(8)  # zero groups in the middle, so it compresses to '::'
        return ipaddress.IPv6Address(bytes(packed)).compressed

    def url(self) -> str:
        f, rng = self.faker, self.rng
        choice = rng.randrange(3)
        if choice == 0:
            return str(f.url())
        if choice == 1:
            return str(f.uri())
        return f"{f.url()}account?user={f.user_name()}&id={rng.randint(1, 99999)}"


def labelled_records(count: int, seed: int = 1) -> list[LabelledRecord]:
    """``count`` texts with personal data of the structured types, and where it is."""
    values = _ValueFactory(seed)
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        template = rng.choice(_TEMPLATES)
        text_parts: list[str] = []
        spans: list[LabelledEntity] = []
        position = 0
        for literal, slot, _, _ in string.Formatter().parse(template):
            text_parts.append(literal)
            position += len(literal)
            if slot is None:
                continue
            value = values.name() if slot == "NAME" else values.value(slot)
            if slot != "NAME":
                spans.append(LabelledEntity(position, position + len(value), slot))
            text_parts.append(value)
            position += len(value)
        records.append(LabelledRecord("".join(text_parts), tuple(spans)))
    return records


def _isbn13(rng: random.Random) -> str:
    digits = [9, 7, 8] + [rng.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    body = "".join(map(str, [*digits, check]))
    return f"{body[:3]}-{body[3]}-{body[4:7]}-{body[7:12]}-{body[12]}"


def _invalid_luhn_card(rng: random.Random) -> str:
    from streamer.redaction.validators import luhn

    while True:
        digits = "4" + "".join(str(rng.randrange(10)) for _ in range(15))
        if not luhn(digits):
            return digits


def clean_records(count: int, seed: int = 2) -> list[str]:
    """``count`` texts without personal data, full of numbers that look like it (as
    records: ``[LabelledRecord(text) for text in clean_records(n)]``)."""
    rng = random.Random(seed)
    faker = _require_faker(seed)
    slots: dict[str, Callable[[], object]] = {
        "version": lambda: f"{rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "order": lambda: rng.randint(10_000, 99_999_999),
        "date": lambda: faker.date_between("-1y", "+1y").isoformat(),
        "build": lambda: rng.randint(1000, 99999),
        "timestamp": lambda: faker.date_time_this_year().isoformat(),
        "seconds": lambda: round(rng.uniform(0.1, 900), 2),
        "isbn": lambda: _isbn13(rng),
        "price": lambda: f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
        "bad_card": lambda: _invalid_luhn_card(rng),
        "sha": lambda: faker.sha1()[: rng.choice((7, 12, 40))],
        "uuid": lambda: faker.uuid4(),
        "status": lambda: rng.choice((200, 201, 204, 301, 400, 403, 404, 500, 503)),
        "millis": lambda: rng.randint(1, 30_000),
        "part": lambda: f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-{rng.randint(100, 999)}",
        "invoice": lambda: f"INV-{rng.randint(2020, 2026)}-{rng.randint(1, 999999):06d}",
        "percent": lambda: rng.randint(0, 100),
        "node": lambda: rng.randint(1, 64),
        "gigabytes": lambda: rng.randint(1, 4096),
        "ticket": lambda: rng.randint(100000, 9999999),
        "ticket2": lambda: rng.randint(100000, 9999999),
        "time": lambda: faker.time()[:5],
        "room": lambda: f"{rng.choice('ABC')}{rng.randint(100, 999)}",
        "sha256": lambda: faker.sha256(),
        "artifact": lambda: f"app-{rng.randint(1, 9)}.{rng.randint(0, 9)}.tar.gz",
        "tracking": lambda: f"1Z{rng.randint(10**15, 10**16 - 1)}",
        "celsius": lambda: round(rng.uniform(-10, 40), 1),
        "count": lambda: rng.randint(1000, 10_000_000),
        "rate": lambda: rng.randint(100, 100_000),
        "serial": lambda: rng.randint(10**7, 10**9),
        "epoch": lambda: rng.randint(1_600_000_000, 1_800_000_000),
        "epoch2": lambda: rng.randint(1_600_000_000, 1_800_000_000),
        "coord": lambda: rng.randint(100000, 999999),
        "coord2": lambda: rng.randint(100000, 999999),
    }
    records = []
    for _ in range(count):
        template = rng.choice(_CLEAN_TEMPLATES)
        records.append(template.format(**{k: v() for k, v in slots.items() if "{" + k in template}))
    return records


#: Faker locales (and their country names) for :func:`faker_person_table`.
PERSON_TABLE_LOCALES: dict[str, str] = {
    "de_DE": "Germany", "fr_FR": "France", "it_IT": "Italy", "es_ES": "Spain",
    "nl_NL": "Netherlands", "pl_PL": "Poland", "sv_SE": "Sweden", "da_DK": "Denmark",
    "en_GB": "United Kingdom", "pt_BR": "Brazil", "cs_CZ": "Czech Republic",
    "fi_FI": "Finland", "hu_HU": "Hungary", "en_IE": "Ireland", "no_NO": "Norway",
    "en_US": "United States", "en_AU": "Australia", "en_CA": "Canada", "tr_TR": "Turkey",
    "ro_RO": "Romania",
}  # fmt: skip


def faker_person_table(seed: int, rows: int = 3000) -> list[dict[str, str]]:
    """People with names, addresses, phones and e-mails from Faker's locales
    (:data:`PERSON_TABLE_LOCALES`): a stand-in for the generator's bundled table of 3000
    people, so a corpus can hold names and addresses no rule was tuned on."""
    rng = random.Random(seed)
    locales = list(PERSON_TABLE_LOCALES)
    fakers = {locale: _require_faker(seed + i, locale) for i, locale in enumerate(locales)}

    def value(faker: Any, provider: str) -> str:
        method = getattr(faker, provider, None)  # a locale may lack a provider
        return str(method()) if method is not None else ""

    table = []
    for _ in range(rows):
        locale = rng.choice(locales)
        faker = fakers[locale]
        female = rng.random() < 0.5
        first = value(faker, "first_name_female" if female else "first_name_male")
        last = value(faker, "last_name")
        prefix = value(faker, "prefix_female" if female else "prefix_male")
        person = f"{first} {last}"
        table.append(
            {
                "first_name": first, "last_name": last, "person": person, "name": person,
                "prefix": prefix,
                "first_name_female": first if female else "",
                "first_name_male": "" if female else first,
                "last_name_female": last if female else "",
                "last_name_male": "" if female else last,
                "prefix_female": prefix if female else "",
                "prefix_male": "" if female else prefix,
                "city": value(faker, "city"), "country": PERSON_TABLE_LOCALES[locale],
                "street_name": value(faker, "street_name"),
                "building_number": value(faker, "building_number"),
                "postcode": value(faker, "postcode"), "zipcode": value(faker, "postcode"),
                "state": value(faker, "administrative_unit"),
                "state_abbr": value(faker, "state_abbr"),
                "phone_number": value(faker, "phone_number"), "email": value(faker, "email"),
                "job": value(faker, "job"),
            }
        )  # fmt: skip
    return table


def presidio_evaluator_corpus(
    count: int, seed: int = 42, people: Literal["bundled", "faker"] = "bundled"
) -> list[LabelledRecord]:
    """``count`` labelled records from presidio-evaluator's generator and bundled templates.

    ``people`` chooses whose names, addresses and phone numbers fill the templates: the
    generator's bundled table of 3000 people (the default), or
    :func:`faker_person_table` (values of other locales and shapes). Seeded fully
    (Python's, NumPy's and Faker's generators, before the generator builds its person
    table), so the same seed gives the same records, except for the time-of-day of
    generated timestamps. Its hospital provider, which queries Wikidata, is left out: no
    template uses it.
    """
    try:
        import numpy as np
        import pandas as pd
        from faker import Faker
        from presidio_evaluator.data_generator import PresidioSentenceFaker
        from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
        from presidio_evaluator.data_generator.presidio_sentence_faker import (
            presidio_additional_entity_providers,
        )
    except ImportError:
        raise DependencyMissingError("the labelled corpus", "presidio-evaluator", "dev") from None
    random.seed(seed)
    np.random.seed(seed)
    Faker.seed(seed)
    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    base_records = pd.DataFrame(faker_person_table(seed)) if people == "faker" else None
    quiet = io.StringIO()
    with (
        contextlib.redirect_stdout(quiet),
        contextlib.redirect_stderr(quiet),
        warnings.catch_warnings(),
    ):
        # presidio-evaluator opens its data files without closing them
        warnings.simplefilter("ignore", ResourceWarning)
        generator = PresidioSentenceFaker(
            locale="en_US",
            lower_case_ratio=0.05,
            random_seed=seed,
            entity_providers=providers,
            base_records=base_records,
        )
        samples = generator.generate_new_fake_sentences(count)
    return [
        LabelledRecord(
            sample.full_text,
            tuple(
                LabelledEntity(span.start_position, span.end_position, span.entity_type)
                for span in sorted(sample.spans, key=lambda s: s.start_position)
            ),
        )
        for sample in samples
    ]
