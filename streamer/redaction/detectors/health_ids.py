"""Numbers that identify a patient: medical record numbers and health plan member ids."""

from __future__ import annotations

import re

from streamer.redaction.detector import PatternDetector

# A date (2026-11-01) has the digits of an id and is left to the date detectors.
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")


class HealthIdDetector(PatternDetector):
    """``HEALTH_ID``: a medical record number (``MRN: 00483921``) or the member,
    subscriber or policy id of a health plan or insurance (``member ID W284736195``,
    ``{"subscriber_id": "98765432101"}``), next to one of those words or in such a field.

    Their shapes are any run of letters and digits, so the word is required: one token of
    five or more letters, digits and inner hyphens holding at least four digits
    (``XJH123456789``, ``MEM-12345``, ``HMO-88213-04``); not a date or an amount.
    """

    name = "health_id"
    entity_type = "HEALTH_ID"
    pattern = (
        r"(?<![\w-])(?=(?:[A-Za-z-]*\d){4})[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){4,24}"
        r"(?![\w-]|\.\d)"
    )
    context_words = (
        "mrn", "mrn#", "medical record", "medical record number", "medical_record",
        "medical_record_number", "patient record", "member id", "member_id", "memberid",
        "member number", "member_number", "member no", "member #", "subscriber id",
        "subscriber_id", "subscriberid", "subscriber number", "subscriber_number",
        "insurance id", "insurance_id", "insurance number", "insurance_number",
        "policy number", "policy_number", "policy no", "policy_no", "policy #",
        "beneficiary id", "beneficiary_id", "health plan", "health_plan", "medicare",
        "medicaid", "mbi", "hicn",
    )  # fmt: skip
    negative_context = ("order", "invoice", "tracking", "phone", "tel", "group", "npi")
    context_required = True
    min_digits = 4
    score = 0.3
    context_boost = 0.6

    def validate(self, candidate: str) -> bool | None:
        return False if _DATE.fullmatch(candidate) else None
