"""National ids outside the US whose shape, prefix rules or check characters make them
precise: UK National Insurance numbers, Spanish DNI and NIE, Brazilian CPF and CNPJ,
German tax ids, French NIR, Italian codici fiscali, Dutch BSN, Indian Aadhaar and PAN,
Australian tax file and Medicare numbers, Mexican CURP, Polish PESEL, Swedish
personnummer.

The ids made only of digits count only with a word naming them nearby or in the field
name (``{"bsn": "111222333"}``): their checks pass for one in ten to one in a few
hundred runs of digits of their length. These detectors have no shape prefilter: the
engine's one search for context words, shared by all detectors, rules out nearly every
text before their pattern runs, which costs less than a shape search per detector."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.spans import Span
from streamer.redaction.validators import (
    au_medicare,
    au_tfn,
    br_cnpj,
    br_cpf,
    de_tax_id,
    es_nif,
    fr_nir,
    in_aadhaar,
    it_fiscal_code,
    mx_curp,
    nl_bsn,
    pl_pesel,
    se_personnummer,
)

_NOT_AN_ID = ("order", "invoice", "ref", "tracking", "serial", "part", "sku", "po")
# Where a run of digits ends, and (after its first character) where it starts: not inside
# a longer number, a decimal, a date or a path (1.86095742719, 86095742719/2). A pattern
# that begins with a character class rather than a lookbehind lets ``re`` skip ahead.
_DIGITS_START = r"(?<![\w.,/+-].)"
_DIGITS_END = r"(?![\w-]|[.,/]\d)"


class UkNinoDetector(PatternDetector):
    """``UK_NINO``: ``QQ 12 34 56 C`` or ``AB123456C``, with HMRC's prefix rules.

    Neither prefix letter is D, F, I, Q, U or V, the second is not O, and BG, GB, KN,
    NK, NT, TN and ZZ are never issued; the suffix is A to D. HMRC's specimen ``QQ 12 34
    56 C`` is never issued either: like the SSN examples, it counts with a word such as
    "NI number" or "National Insurance" nearby (or in the field name), and so does a
    number written in lower case (``ab123456c``).
    """

    name = "uk_nino"
    entity_type = "UK_NINO"
    pattern = (
        r"(?i)(?<![\w-])(?:(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]|QQ)"
        r" ?\d\d ?\d\d ?\d\d ?[A-D](?![\w-])"
    )
    context_words = ("ni", "nino", "nin", "national insurance", "insurance", "hmrc", "paye")
    negative_context = _NOT_AN_ID
    min_digits = 6
    shape_pattern = rb"aa(?<![a0_-]aa) ?00 ?00 ?00 ?a(?![a0_-])"
    score = 0.85
    context_boost = 0.15

    def stands_alone(self, candidate: str) -> bool:
        return candidate.isupper() and not candidate.startswith("QQ")


class EsNifDetector(PatternDetector):
    """``ES_NIF``: a Spanish tax id with its check letter: a DNI, eight digits
    (``12345678Z``, ``12.345.678-Z``), or a foreigner's NIE, X, Y or Z and seven digits
    (``X1234567L``). Written with spaces (``12345678 Z``, ``Y 1234567 X``) it counts
    with a word such as "DNI" nearby: an eight-digit number and a one-letter word pass the
    check letter one time in 23."""

    name = "es_nif"
    entity_type = "ES_NIF"
    pattern = r"(?<![\w.-])(?:\d{8}|\d\d\.\d{3}\.\d{3}|[XYZxyz][ -]?\d{7})[ -]?[A-Za-z](?![\w-])"
    validator = staticmethod(es_nif)
    context_words = ("dni", "nif", "nie", "documento", "identidad", "extranjero")
    negative_context = _NOT_AN_ID
    min_digits = 7
    shape_pattern = rb"(?:00000000|00\.000\.000|a[ -]?0000000)[ -]?a(?![a0_-])"

    def stands_alone(self, candidate: str) -> bool:
        return " " not in candidate


class BrCpfDetector(PatternDetector):
    """``BR_CPF``: a Brazilian taxpayer number with its two check digits; written
    ``123.456.789-09`` it counts on its own, as a bare run of eleven digits only with a
    word such as "CPF" nearby."""

    name = "br_cpf"
    entity_type = "BR_CPF"
    pattern = r"(?<![\w.-])(?:\d{3}\.\d{3}\.\d{3}-?\d\d|\d{11})(?![\w-]|\.\d)"
    context_words = ("cpf", "cadastro", "contribuinte")
    negative_context = _NOT_AN_ID
    min_digits = 11
    shape_pattern = rb"000(?<![a0_.-]000)(?:\.000\.000-?00|00000000)(?![a0_-]|\.0)"
    score = 0.85
    context_boost = 0.15

    def validate(self, candidate: str) -> bool | None:
        return None if br_cpf(candidate) else False

    def stands_alone(self, candidate: str) -> bool:
        return not candidate.isdigit()


class BrCnpjDetector(PatternDetector):
    """``BR_CNPJ``: a Brazilian company's (or sole trader's) tax number with its two check
    digits (``11.222.333/0001-81``, ``11222333000181``), next to a word such as "CNPJ"."""

    name = "br_cnpj"
    entity_type = "BR_CNPJ"
    pattern = r"\d(?<![\w.-]\d)(?:\d\.\d{3}\.\d{3}/\d{4}-?\d\d|\d{13})" + _DIGITS_END
    validator = staticmethod(br_cnpj)
    context_words = (
        "cnpj", "cadastro", "empresa", "ltda", "mei", "eireli", "razão social", "razao social",
        "razão_social", "razao_social",
    )  # fmt: skip
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 14


class DeTaxIdDetector(PatternDetector):
    """``DE_TAX_ID``: a German Steuer-ID (``86095742719``, ``86 095 742 719``), with its
    digit rule and check digit, next to a word such as "Steuer-ID" or "IdNr"."""

    name = "de_tax_id"
    entity_type = "DE_TAX_ID"
    pattern = r"[1-9]" + _DIGITS_START + r"\d(?: ?\d{3}){3}" + _DIGITS_END
    validator = staticmethod(de_tax_id)
    context_words = (
        "steuer", "steuerid", "steuernummer", "steueridentifikationsnummer",
        "identifikationsnummer", "idnr", "tin", "tax", "taxid",
    )  # fmt: skip
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 11


class FrNirDetector(PatternDetector):
    """``FR_NIR``: a French social security number with its key, Corsica's 2A and 2B too
    (``1 85 05 78 006 084 91``, ``185057800608491``, ``1-85-05-78-006-084-91``), next to
    a word such as "NIR", "sécurité sociale" or "carte Vitale"."""

    name = "fr_nir"
    entity_type = "FR_NIR"
    pattern = (
        r"[1-478]"
        + _DIGITS_START
        + r"([ .-]?)\d\d\1\d\d\1(?:\d\d|2[ABab])\1\d{3}\1\d{3}[ .-]?\d\d"
        + _DIGITS_END
    )
    validator = staticmethod(fr_nir)
    context_words = (
        "nir", "insee", "sécurité sociale", "securite sociale", "sécurité_sociale",
        "securite_sociale", "sécu", "secu", "vitale", "nss",
    )  # fmt: skip
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 13


class ItFiscalCodeDetector(PatternDetector):
    """``IT_FISCAL_CODE``: an Italian codice fiscale (``RSSMRA85T10A562S``) with its
    check letter, letters for the place's digits where two people would share one
    (omocodia); in lower case only with a word such as "codice fiscale" nearby."""

    name = "it_fiscal_code"
    entity_type = "IT_FISCAL_CODE"
    pattern = (
        r"(?i)(?<![\w-])[A-Z]{6}[\dLMNP-V]{2}[ABCDEHLMPRST][\dLMNP-V]{2}[A-Z][\dLMNP-V]{3}"
        r"[A-Z](?![\w-])"
    )
    validator = staticmethod(it_fiscal_code)
    context_words = ("codice fiscale", "codicefiscale", "fiscale", "fiscal", "cf")
    negative_context = _NOT_AN_ID
    min_digits = 2
    shape_pattern = rb"aaaaaa00a00a"  # a literal: re skips through texts without it

    def stands_alone(self, candidate: str) -> bool:
        return candidate.isupper()


class NlBsnDetector(PatternDetector):
    """``NL_BSN``: a Dutch citizen service number passing the eleven test
    (``111222333``, ``1112.22.333``, ``111.222.333``), next to a word such as "BSN"."""

    name = "nl_bsn"
    entity_type = "NL_BSN"
    pattern = (
        r"\d"
        + _DIGITS_START
        + r"(?:\d{8}|\d{3}([. ])\d\d\1\d{3}|\d\d([. ])\d{3}\2\d{3})"
        + _DIGITS_END
    )
    validator = staticmethod(nl_bsn)
    context_words = (
        "bsn", "burgerservicenummer", "sofinummer", "sofi", "citizen service number",
        "citizen_service_number",
    )  # fmt: skip
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 9


class InAadhaarDetector(PatternDetector):
    """``IN_AADHAAR``: an Indian Aadhaar number (``2341 2341 2346``) with its Verhoeff
    check digit, next to a word such as "Aadhaar" or "UID"."""

    name = "in_aadhaar"
    entity_type = "IN_AADHAAR"
    pattern = r"[2-9]" + _DIGITS_START + r"\d{3}([ -]?)\d{4}\1\d{4}" + _DIGITS_END
    validator = staticmethod(in_aadhaar)
    context_words = ("aadhaar", "aadhar", "adhaar", "uidai", "uid")
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 12


class InPanDetector(PatternDetector):
    """``IN_PAN``: an Indian Permanent Account Number (``ABCPE1234F``); a person's (the
    fourth letter P) counts alone, a company's or trust's, and one written in lower case
    (``abcpe1234f``), with a word such as "PAN" nearby. It has no check character."""

    name = "in_pan"
    entity_type = "IN_PAN"
    pattern = r"(?i)(?<![\w-])[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z](?![\w-])"
    context_words = (
        "pan", "permanent account number", "permanent_account_number", "income tax",
        "income_tax",
    )  # fmt: skip
    negative_context = _NOT_AN_ID
    min_digits = 4
    shape_pattern = rb"aaaaa0000a"
    score = 0.6

    def stands_alone(self, candidate: str) -> bool:
        return candidate[3] == "P" and candidate.isupper()


class AuTfnDetector(PatternDetector):
    """``AU_TFN``: an Australian tax file number (``123 456 782``) passing its weighted
    check, next to a word such as "TFN" or "tax file"."""

    name = "au_tfn"
    entity_type = "AU_TFN"
    pattern = r"\d" + _DIGITS_START + r"\d\d([ -]?)\d{3}\1\d{3}" + _DIGITS_END
    validator = staticmethod(au_tfn)
    context_words = ("tfn", "tax file", "tax_file", "taxfile")
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 9


class AuMedicareDetector(PatternDetector):
    """``AU_MEDICARE``: an Australian Medicare card number (``2123 45670 1``, with the
    person's number after it or not) passing its check digit, next to "Medicare"."""

    name = "au_medicare"
    entity_type = "AU_MEDICARE"
    pattern = r"[2-6]" + _DIGITS_START + r"\d{3}([ -]?)\d{5}\1\d(?:[ /-]?\d)?" + _DIGITS_END
    validator = staticmethod(au_medicare)
    context_words = ("medicare",)
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 10


class PlPeselDetector(PatternDetector):
    """``PL_PESEL``: a Polish national id number (``44051401359``) with its birth date and
    check digit, next to the word "PESEL"."""

    name = "pl_pesel"
    entity_type = "PL_PESEL"
    pattern = r"\d" + _DIGITS_START + r"\d{10}" + _DIGITS_END
    validator = staticmethod(pl_pesel)
    context_words = ("pesel",)
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 11


class SePersonnummerDetector(PatternDetector):
    """``SE_PERSONNUMMER``: a Swedish personal identity or co-ordination number
    (``811218-9876``, ``19811218-9876``, ``8112189876``) with its birth date and Luhn
    check, next to a word such as "personnummer"."""

    name = "se_personnummer"
    entity_type = "SE_PERSONNUMMER"
    pattern = r"\d" + _DIGITS_START + r"\d{5}(?:\d\d)?[-+]?\d{4}" + _DIGITS_END
    validator = staticmethod(se_personnummer)
    context_words = (
        "personnummer", "personnr", "pers.nr", "pnr", "samordningsnummer",
        "personal identity number", "personal_identity_number",
    )  # fmt: skip
    context_required = True
    negative_context = _NOT_AN_ID
    min_digits = 10


_MX_STATES = (
    "AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ"
    "|YN|ZS|NE"
)


class MxCurpDetector(PatternDetector):
    """``MX_CURP``: a Mexican population registry key (``HEGG560427MVZRRL04``): name
    letters, birth date, sex, state, consonants and its check digit; in lower case only
    with "CURP" nearby."""

    name = "mx_curp"
    entity_type = "MX_CURP"
    pattern = (
        r"(?i)(?<![\w-])[A-Z][AEIOUX][A-Z]{2}\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[HMX]"
        rf"(?:{_MX_STATES})[B-DF-HJ-NP-TV-Z]{{3}}[A-Z\d]\d(?![\w-])"
    )
    validator = staticmethod(mx_curp)
    context_words = ("curp",)
    negative_context = _NOT_AN_ID
    min_digits = 7
    shape_pattern = rb"aaaa000000aaaaaa"  # a literal: re skips through texts without it

    def stands_alone(self, candidate: str) -> bool:
        return candidate.isupper()


class NationalIdsDetector(PatternDetector):
    """The ids of digits that need a word naming them (``BR_CNPJ``, ``DE_TAX_ID``,
    ``FR_NIR``, ``NL_BSN``, ``IN_AADHAAR``, ``AU_TFN``, ``AU_MEDICARE``, ``PL_PESEL``,
    ``SE_PERSONNUMMER``) as one detector.

    The engine's prefilter costs about the same per detector whatever it rules out; as
    one, the texts holding none of their words (nearly all) are ruled out once, not nine
    times. It is a pattern detector needing context, so the engine's shared context-word
    search knows its words; its own pattern is unused, ``find`` asks each part. Each part
    is also registered alone by its name, for a policy that wants only one.
    """

    name = "national_ids"
    entity_type = "NATIONAL_ID"
    pattern = r"\d"  # unused: the parts find the candidates
    context_required = True

    def __init__(self) -> None:
        parts = tuple(cls() for cls in NATIONAL_IDS_BY_WORD)
        super().__init__(
            context_words=tuple(word for part in parts for word in part.context_words),
            min_digits=min(part.min_digits for part in parts),
        )
        self.parts = parts
        self.entities = tuple(part.entity_type for part in parts)

    def find(self, text: str, context: str = "") -> list[Span]:
        spans: list[Span] = []
        for part in self.parts:
            if part.applies_to(text, context):
                spans.extend(part.find(text, context))
        return spans


#: The detectors :class:`NationalIdsDetector` runs, in order.
NATIONAL_IDS_BY_WORD: tuple[type[PatternDetector], ...] = (
    BrCnpjDetector,
    DeTaxIdDetector,
    FrNirDetector,
    NlBsnDetector,
    InAadhaarDetector,
    AuTfnDetector,
    AuMedicareDetector,
    PlPeselDetector,
    SePersonnummerDetector,
)
