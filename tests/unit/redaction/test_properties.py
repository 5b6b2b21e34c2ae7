"""Properties over arbitrary input: redaction never raises and unmask inverts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer import RedactionService
from streamer.settings import StreamerSettings

PII = st.sampled_from(
    [
        "jane.doe+x@corp.example.com",
        "+1 (415) 555-0132",
        "4111 1111 1111 1111",
        "536-22-1234",
        "DE89 3704 0044 0532 0130 00",
        "2001:db8::1",
        "10.0.0.1",
        "https://example.com/a?b=c",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=40), PII), max_size=8).map(" ".join)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30), PII),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> RedactionService:
    return RedactionService(settings=StreamerSettings(data_dir=tmp_path_factory.mktemp("keys")))


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=st.text())
def test_redaction_never_raises_on_arbitrary_unicode(service: RedactionService, text: str) -> None:
    result = service.redact(text)
    assert isinstance(result.redacted_text, str)


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=TEXT)
def test_unmask_inverts_redact(service: RedactionService, text: str) -> None:
    result = service.redact(text)
    assert service.unmask(result.redacted_text, result.tokens) == text


@settings(
    max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(event=JSON)
def test_json_round_trip(service: RedactionService, event: object) -> None:
    result = service.redact_event(event)
    assert service.unmask_event(result.event, result.tokens) == event


@settings(
    max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(payload=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(service: RedactionService, payload: bytes) -> None:
    for event_format in ("json", "text"):
        [outcome] = service.redact_payloads([payload], event_format)
        assert outcome.ok or outcome.failure is not None


def test_tokens_identical_across_services_with_same_key(tmp_path: Path) -> None:
    text = "jane@example.com and 536-22-1234"
    one = RedactionService(settings=StreamerSettings(data_dir=tmp_path)).redact(text)
    two = RedactionService(settings=StreamerSettings(data_dir=tmp_path)).redact(text)
    assert [t.token_id for t in one.tokens] == [t.token_id for t in two.tokens]
