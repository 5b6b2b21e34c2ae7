"""National ids outside the US whose shape, prefix rules or check characters make them
precise: UK National Insurance numbers, Spanish DNI and NIE, Brazilian CPF."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.validators import br_cpf, es_nif

_NOT_AN_ID = ("order", "invoice", "ref", "tracking", "serial", "part", "sku", "po")


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
    (``X1234567L``)."""

    name = "es_nif"
    entity_type = "ES_NIF"
    pattern = r"(?<![\w.-])(?:\d{8}|\d\d\.\d{3}\.\d{3}|[XYZxyz]-?\d{7})-?[A-Za-z](?![\w-])"
    validator = staticmethod(es_nif)
    context_words = ("dni", "nif", "nie", "documento", "identidad", "extranjero")
    negative_context = _NOT_AN_ID
    min_digits = 7
    shape_pattern = rb"(?:00000000|00\.000\.000|a-?0000000)-?a(?![a0_-])"


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
