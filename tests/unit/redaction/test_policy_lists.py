"""Allow list, deny list and languages in the policy, with the pattern detectors only."""

from __future__ import annotations

from typing import Any

import pytest

from streamer.redaction.exceptions import PolicyError
from streamer.redaction.policy import Policy
from streamer.redaction.service import RedactionService


def _service(settings: Any, **policy: Any) -> RedactionService:
    return RedactionService(policy, settings=settings, detectors=["email", "phone"])


def test_deny_list_values_are_always_redacted(settings: Any) -> None:
    with _service(settings, deny_list={"PROJECT": ["Falcon"], "PERSON": ["Jo Bloggs"]}) as svc:
        result = svc.redact("Project falcon is run by JO BLOGGS; falconry is not.")
    kinds = sorted(t.metadata["entity_type"] for t in result.tokens)
    assert kinds == ["PERSON", "PROJECT"]
    assert "falconry" in result.redacted_text
    assert svc.unmask(result.redacted_text, result.tokens).startswith("Project falcon")


def test_allow_list_values_are_never_redacted(settings: Any) -> None:
    with _service(settings, allow_list=["support@example.com"]) as svc:
        result = svc.redact("Write to support@example.com or jane@example.com")
    assert "support@example.com" in result.redacted_text
    assert "jane@example.com" not in result.redacted_text


def test_languages_are_normalised_and_validated() -> None:
    assert Policy.from_dict({"languages": ["en-US", "EN", "de_DE"]}).languages == ["en", "de"]
    with pytest.raises(PolicyError, match="languages"):
        Policy.from_dict({"languages": ["not a language"]})
    with pytest.raises(PolicyError, match="deny_list"):
        Policy.from_dict({"deny_list": {"lower case": ["x"]}})


def test_unknown_record_language_fails_only_that_record(settings: Any) -> None:
    with _service(settings) as svc:
        outcomes = svc.redact_payloads(
            [b'{"m": "mail a@example.com"}'] * 2, languages=["en", "\u00fc\u00fc<script>"]
        )
    assert outcomes[0].failure is None
    assert outcomes[1].failure is not None
    assert outcomes[1].failure.code == "unsupported_language"
    assert "script" not in outcomes[1].failure.message


def test_a_single_payload_that_fails_comes_back_as_a_failure(settings: Any) -> None:
    with _service(settings) as svc:
        by_header = svc.redact_payloads([b'{"m": "a@example.com"}'], languages=["fr"])
        by_field = svc.redact_payloads([b'{"lang": "de", "m": "x"}'], language_field="lang")
    for [outcome] in (by_header, by_field):
        assert outcome.value is None
        assert outcome.failure is not None
        assert outcome.failure.code == "unsupported_language"
