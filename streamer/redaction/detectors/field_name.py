"""Values whose JSON field name says what they are: a first name, a surname, a login, a
street, a postcode."""

from __future__ import annotations

import re
from functools import lru_cache

from streamer.redaction.detector import Detector
from streamer.redaction.spans import Span

# Field names compare with case and separators dropped: firstName, first_name and
# First-Name are all "firstname".
_SEPARATORS = re.compile(r"[\W_]+")

# A person's name, whatever comes before it (billingFirstName, contact_surname).
_NAME_PARTS = frozenset(
    {
        "firstname", "lastname", "middlename", "fullname", "givenname", "familyname",
        "surname", "forename", "maidenname", "legalname", "birthname", "preferredname",
        "nameoncard", "cardholdername", "accountholdername", "vorname", "nachname",
        "familienname", "prenom", "prénom", "apellido", "apellidos", "cognome", "sobrenome",
        "voornaam", "achternaam", "nombrecompleto", "nomecompleto", "nomcomplet",
        "nomdefamille", "geburtsname", "imie", "imię", "nazwisko", "fornamn", "förnamn",
        "efternamn", "fornavn", "efternavn", "etternavn", "namekana", "namekanji",
        "furigana", "氏名", "姓名", "フリガナ", "ふりがな", "имя", "фамилия", "отчество",
    }
)  # fmt: skip
# A person's name when a name field belongs to someone (customer_name, patientName);
# alone, "name" may name anything (a product, a file, an event).
_PEOPLE = frozenset(
    {
        "customer", "client", "patient", "contact", "person", "employee", "member",
        "applicant", "tenant", "guest", "passenger", "student", "recipient", "sender",
        "payee", "payer", "beneficiary", "guardian", "spouse", "mother", "father",
        "parent", "cardholder", "holder", "accountholder", "driver", "traveler",
        "traveller", "subscriber", "buyer", "seller", "emergencycontact", "nextofkin",
        "doctor", "physician", "nurse",
        # payments, HR, insurance: {"debtor": {"name": ...}}, creditor_name, personal.name
        "debtor", "creditor", "remitter", "originator", "owner", "personal", "insured",
        "policyholder", "claimant", "guarantor", "borrower", "signatory", "landlord",
        "resident", "attendee", "participant", "manager", "supervisor", "staff", "worker",
        # posts and tickets: {"author": {"name": ...}}, assignee_name
        "author", "assignee", "reporter", "requester",
        # whom an order is billed and shipped to: Stripe's billing_details.name, Shopify's
        # shipping_address.name, an ERP's bill_to_name and ship_to.name
        "billingdetails", "shippingdetails", "billingaddress", "shippingaddress",
        "deliveryaddress", "mailingaddress", "billto", "shipto",
        # the same in the languages of _NAME_WORDS: cliente.nombre, kunde.name, klant_naam
        "cliente", "kunde", "klant", "paciente", "paziente", "usuario", "utente",
        "utilisateur", "gebruiker", "titular", "titulaire", "empleado", "mitarbeiter",
        "dipendente", "medewerker", "contacto", "contatto",
    }
)  # fmt: skip
# The same owning a list of them: passengers[].name, attendees[].first, beneficiaries.name.
_PEOPLE_OWNERS = _PEOPLE | frozenset(
    ["people", *(f"{word[:-1]}ies" if word.endswith("y") else f"{word}s" for word in _PEOPLE)]
)
# "Name" in English, Spanish, Italian and Portuguese, French, Dutch: a person's with an owner.
_NAME_WORDS = ("name", "nombre", "nome", "nom", "naam")
# The parts of a name: {"name": {"given": [...], "family": ...}} (FHIR), customer.first.
_NAME_OWNED = frozenset({"first", "last", "given", "family", "middle"})
# A street, an address line or a town; alone or owned (billing_street, homeCity).
_PLACES = frozenset(
    {
        "street", "streetname", "streetaddress", "street1", "street2", "address", "address1",
        "address2", "address3", "addressline", "addressline1", "addressline2",
        "addressline3", "city", "town", "cityname", "hometown", "birthplace",
        "placeofbirth", "cityofbirth", "strasse", "ort", "ville", "rue", "calle", "ciudad",
        "adresse", "adres", "direccion", "dirección", "endereco", "endereço", "indirizzo",
        "straat", "rua", "woonplaats", "wohnort", "stadt", "cidade", "citta", "città",
        "localidad", "localidade", "anschrift", "ulica", "miejscowosc", "miejscowość",
        "miasto", "gatuadress", "postort", "住所", "地址", "адрес",
    }
)  # fmt: skip
# A postcode (billing_zip, postalCode, PLZ); alone or owned, as a place.
_POSTCODES = frozenset(
    {
        "zip", "zipcode", "postcode", "postalcode", "postleitzahl", "plz", "codepostal",
        "codigopostal", "cep", "kodpocztowy", "postnummer", "郵便番号", "邮编",
    }
)  # fmt: skip
_PLACE_OWNERS = frozenset(
    {
        "home", "billing", "shipping", "mailing", "postal", "delivery", "residential",
        "residence", "permanent", "physical", "current", "previous", "customer", "user",
        "contact", "patient", "employee", "member",
    }
)  # fmt: skip

# Things sold, whose names and titles are brand and product names (Calvin Klein Boxer
# Briefs, Hoodie Classic), never a person's: product.name, items[].name, product_title.
_PRODUCTS = frozenset(
    {
        "product", "products", "item", "items", "lineitem", "lineitems", "variant", "sku",
        "article", "brand", "merchandise", "listing",
    }
)  # fmt: skip
_PRODUCT_LABELS = ("name", "title", "brand", "description")
# A person's login: {"username": "jsmith"}, login, screen_name, handle, a social site's
# handle (twitter, instagram_handle), and who wrote or was given a post or a ticket
# (author, assignee, created_by). "user", "login" and "handle" count alone only; the
# longer words with any owner (admin_username).
_LOGIN_WORDS = frozenset({"username", "loginname", "screenname", "accountname", "nickname"})
_LOGIN_ALONE = frozenset(
    {
        "user", "login", "handle", "userhandle", "author", "assignee", "reporter", "createdby",
        "updatedby", "modifiedby", "twitter", "instagram", "tiktok", "telegram", "snapchat",
        "twitterhandle", "instagramhandle", "tiktokhandle", "telegramhandle", "socialhandle",
    }
)  # fmt: skip
# One token of a login (jsmith, j.smith, priya_r, CORP\kwalker, @jsmith: the handle
# after the @), with a letter.
_LOGIN = re.compile(r"@?((?=[\w.\\-]*[^\W\d_])[\w.\\-]{2,64})")
# Accounts of systems and services, not of a person, and what a login status says.
_NOT_A_LOGIN = frozenset(
    {
        "root", "admin", "administrator", "system", "nobody", "daemon", "guest", "service",
        "www-data", "postgres", "mysql", "nginx", "apache", "ubuntu", "ec2-user", "sa", "dbo",
        "localsystem", "true", "false", "yes", "no", "ok", "success", "succeeded", "failed",
        "failure", "error", "denied", "locked", "active", "inactive", "enabled", "disabled",
        "pending", "required", "optional",
        # what a sentence goes on with after "username is": not one
        "invalid", "incorrect", "wrong", "taken", "missing", "empty", "blank", "correct",
        "valid", "available", "unavailable", "unknown", "not", "the", "my", "your", "same",
        "different", "case-sensitive", "changed", "below", "above", "attached", "here",
        "too", "successful", "successfully",
    }
)  # fmt: skip
# A name: one to six words of letters (O'Brien, Jean-Luc, J., María José, "Doe, Jane").
_WORD = r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]*)*"
_NAME = re.compile(rf"{_WORD}(?:,?\s+{_WORD}){{0,5}}")
# A postcode: letters, digits, one space or hyphen between (94043, SW1A 2AA, 1015 CJ,
# H3G 1P1, 150-0002, 01304-001), with a digit.
_POSTCODE = re.compile(r"(?=[A-Za-z]*\d)[A-Za-z\d]{2,8}(?:[ -][A-Za-z\d]{2,4})?")
_PLACEHOLDERS = frozenset(
    {"unknown", "none", "null", "nil", "undefined", "anonymous", "redacted", "tbd", "test"}
)
_MAX_CHARS = 200
# A field written into a line of text: key=value, key="value", "key":"value" (JSON in a
# log line, escaped or not), 'key': 'value' (a Python dict). A value after ":" is quoted,
# so "Name: value" labels are left to NER's cues; an unquoted value after "=" is one token.
_EMBEDDED_FIELD = re.compile(
    r"""(?<![\w.-])\\?["']?([A-Za-z][\w.-]{0,60}?)\\?["']?[ \t]*(?:=|:[ \t]*(?=\\?["']))[ \t]*"""
    r"""(?:\\?"((?:[^"\\]|\\[^"])*)\\?"|'([^'\\]*)'|(?<==)([^\s"',;&|{}\[\]()<>]+))"""
)
# A login in a line of an auth or access log, where no field name says it is one: sshd's
# "Accepted password for jsmith from" and "Failed password for invalid user mwilson",
# pam's "session opened for user root by kwalker(uid=1001)", a quoted "user 'pgarcia'",
# "User jdoe logged in", the user of a Common Log Format line (10.1.2.3 - alice.w
# [11/Mar/2025:08:12:44 ...), and a login someone writes down in a ticket or a chat ("my
# username is mbrennan", "Login: tjackson"), and the nick of a line of a chat log ("[12:01]
# <kitty_k> lol"). A login ends before a full stop.
_LOG_LOGIN = re.compile(
    r"(?:(?:Accepted|Failed) [\w/-]+ for (?:invalid user )?"
    r"|(?i:\b(?:invalid|illegal|unknown) user )"
    r"|session (?:opened|closed) for user "
    r"|(?i:\buser) (?=['\"]|[\w.\\-]+ logged (?:in|out|on|off)\b)"
    r"|^[^\s\[\]]+ \S+ (?=\S+ \[\d{1,2}/\w{3}/\d{4}:)"
    r"|\bby (?=[\w.\\-]+\(uid=)"
    r"|^\[?\d{1,2}:\d{2}(?::\d{2})?\]?[ \t]+<(?=[\w.\\-]+> )"
    r"|(?i:(?<!last )\b(?:(?:user[ _-]?name|log[ -]?in[ _-]?(?:name|id))(?: is:?|:)"
    r"|log[ -]?in:)[ \t]+))"
    r"(?P<quote>['\"]?)(?P<login>[\w.\\-]{1,63}[\w\\-])(?P=quote)(?![\w\\-]|\.\w)",
    re.MULTILINE,
)

# What a street, town or postcode value written into a line holds: words, numbers and
# punctuation of addresses, and a letter; not a path, a URL or a memory address (0x7ffe).
_EMBEDDED_PLACE = re.compile(r"(?!0x)[^\W_][\w .,'#-]*")


def field_entity(field: str) -> str | None:
    """The entity type the field name ``field`` says its values are, or ``None``."""
    kind = _field_kind(field)
    return None if kind is None else _entity_of(kind)


def _entity_of(kind: str) -> str:
    """The entity type of a field kind's values: a name's or login's, else a place's."""
    return "PERSON" if kind in ("name", "login") else "LOCATION"


@lru_cache(maxsize=4096)
def _field_kind(field: str) -> str | None:
    """``"name"``, ``"login"``, ``"place"`` or ``"postcode"``: what the field ``field``
    holds."""
    key = _SEPARATORS.sub("", field.casefold())
    if any(key.endswith(part) for part in _NAME_PARTS):
        return "name"
    if key in _LOGIN_ALONE or any(key.endswith(word) for word in _LOGIN_WORDS):
        return "login"
    for word in _NAME_WORDS:  # customer_name, cliente.nombre
        if key.endswith(word) and key[: -len(word)] in _PEOPLE_OWNERS:
            return "name"
    for part in _NAME_OWNED:  # name.given, name.family, customer.first
        if key.endswith(part) and (
            key[: -len(part)] == "name" or key[: -len(part)] in _PEOPLE_OWNERS
        ):
            return "name"
    for place in _PLACES:
        if key.endswith(place) and (key == place or key[: -len(place)] in _PLACE_OWNERS):
            return "place"
    for postcode in _POSTCODES:
        if key.endswith(postcode) and (key == postcode or key[: -len(postcode)] in _PLACE_OWNERS):
            return "postcode"
    return None


@lru_cache(maxsize=4096)
def names_a_product(field: str) -> bool:
    """Whether the field ``field`` holds a product's or brand's name (``product.name``,
    ``items.name``, ``productTitle``, ``brand``), which NER would take for a person's."""
    key = _SEPARATORS.sub("", field.casefold())
    return key in ("brand", "brandname") or any(
        key.endswith(label) and key[: -len(label)] in _PRODUCTS for label in _PRODUCT_LABELS
    )


# The last word of a field name that holds a code, a version, a model or one of a set of
# values (a status, a type), never anyone's name: os, osVersion, device_model, firmware,
# currency, error_code, bic, payment_status, decision, ticket_priority.
_THING_WORDS = frozenset(
    {
        "os", "model", "version", "firmware", "platform", "browser", "currency", "ccy",
        "code", "sku", "bic", "swift", "isin", "ticker", "build", "status", "decision",
        "outcome", "stage", "phase", "type", "kind", "category", "priority", "severity",
        "tier",
    }
)  # fmt: skip
# A field that holds a job's title or an occupation (job_title, job.title, occupation):
# a role, never a person's name (NER takes "Barista" for a person, "Software Engineer II"
# for an organisation).
_ROLE_FIELDS = ("jobtitle", "occupation", "profession", "designation")
# The words of a field name: os_version, osVersion, OSVersion and os-version are os, version.
_FIELD_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@lru_cache(maxsize=4096)
def names_a_thing(field: str) -> bool:
    """Whether the field ``field`` holds a code, version, model, currency, status or job
    title (``os``, ``osVersion``, ``device_model``, ``currency_code``, ``bic``,
    ``status``, ``job_title``): NER takes such values (``Android 14.0.1``, ``XPS 15``,
    ``EUR``, ``DECLINED``, ``Software Engineer II``) for organisations."""
    words = _FIELD_WORDS.findall(field.rpartition(".")[2])
    return (bool(words) and words[-1].lower() in _THING_WORDS) or _SEPARATORS.sub(
        "", field.casefold()
    ).endswith(_ROLE_FIELDS)


class FieldNameDetector(Detector):
    """``PERSON`` for the values of name fields (``first_name``, ``lastName``, ``surname``,
    ``customer_name``) and login fields (``username``, ``login``, ``user``), and
    ``LOCATION`` for street, address line, town and postcode fields (``street``,
    ``address_line1``, ``billing_city``, ``postal_code``, ``zip``), when the value looks
    like one.

    In a JSON event the field name is the best evidence there is: a first name alone
    (``"first_name": "Priya"``) is too short for NER to recognise, and pattern detectors
    have no shape to match. A plain ``name`` field is left to the other detectors, since
    products and files have names too; ``customer.name`` is not. The context the engine
    passes is the nearest key, with its owner's for a key such as ``name``.
    """

    name = "field_name"
    entities = ("PERSON", "LOCATION")
    score = 0.9

    def applies_to(self, text: str, context: str = "") -> bool:
        if context and _field_kind(context) is not None:
            return True
        return _has_fields(text) or _may_name_a_login(text)

    def detect(self, text: str, context: str = "") -> list[Span]:
        kind = _field_kind(context) if context else None
        if kind is None:
            spans = self._embedded(text) if _has_fields(text) else []
            if _may_name_a_login(text):
                spans.extend(self._log_logins(text))
            return spans
        span = self._value(text, kind)
        return [] if span is None else [span]

    def _value(self, text: str, kind: str, offset: int = 0) -> Span | None:
        """The span of the value ``text`` of a field of ``kind``, when it looks like one."""
        stripped = text.strip()
        if not stripped or len(stripped) > _MAX_CHARS or stripped.casefold() in _PLACEHOLDERS:
            return None
        if kind == "login":  # a login, or the person's name a user field may hold
            login = _LOGIN.fullmatch(stripped)
            if login is not None:
                stripped = login.group(1)
            if stripped.casefold() in _NOT_A_LOGIN or (
                login is None and _NAME.fullmatch(stripped) is None
            ):
                return None
        elif kind == "name":
            if _NAME.fullmatch(stripped) is None:
                return None
        elif kind == "postcode":
            if _POSTCODE.fullmatch(stripped) is None:
                return None
        elif not any(c.isalpha() for c in stripped) or "@" in stripped or "://" in stripped:
            return None
        start = offset + text.index(stripped)
        return Span(start, start + len(stripped), _entity_of(kind), self.score, self.name)

    def _log_logins(self, text: str) -> list[Span]:
        """The logins in the lines of an auth or access log (``Accepted password for
        jsmith``, ``10.1.2.3 - alice.w [11/Mar/2025:...]``); not a system's account."""
        spans = []
        for match in _LOG_LOGIN.finditer(text):
            span = self._value(match.group("login"), "login", match.start("login"))
            if span is not None:
                spans.append(span)
        return spans

    def _embedded(self, text: str) -> list[Span]:
        """Values of name, street, town and postcode fields written into a line of text
        (``first_name=Priya``, ``{"full_name":"Mark Wilson"}``), which NER often misses
        among the other fields of a log line."""
        spans = []
        for match in _EMBEDDED_FIELD.finditer(text):
            kind = _field_kind(match.group(1))
            if kind is None:
                continue
            group = next(g for g in (2, 3, 4) if match.group(g) is not None)
            value = match.group(group)
            if kind == "place" and _EMBEDDED_PLACE.fullmatch(value.strip()) is None:
                continue
            span = self._value(value, kind, match.start(group))
            if span is not None:
                spans.append(span)
        return spans


def _has_fields(text: str) -> bool:
    """Whether ``text`` may hold fields written into it (``key=value``, ``"key":``)."""
    return "=" in text or '":' in text or "':" in text


def _may_name_a_login(text: str) -> bool:
    """Whether ``text`` holds what a login in a log line comes after (cheap)."""
    # user, User, invalid user; password for, publickey for; 10.1.2.3 - jsmith [11/Mar/...;
    # username is, UserName:, Login:; [12:01] <kitty_k> lol
    return " " in text and (
        "ser " in text
        or "d for " in text
        or "y for " in text
        or " [" in text
        or "sern" in text
        or "serN" in text
        or "ogin" in text
        or "> " in text
    )
