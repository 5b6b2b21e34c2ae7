"""RedactionService: one code path for sync, async and the worker process pool."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import subprocess
import sys
from pathlib import Path

import pytest

from streamer import RedactionService
from streamer.errors import ConfigurationError
from streamer.redaction.exceptions import InvalidEventError, PolicyError
from streamer.settings import StreamerSettings

TEXTS = [f"user{i}@example.com called from 415-555-01{i % 100:02d}" for i in range(300)]


@pytest.fixture
def settings(tmp_path: Path) -> StreamerSettings:
    return StreamerSettings(data_dir=tmp_path)


def test_sync_async_and_parallel_give_identical_results_in_order(
    settings: StreamerSettings,
) -> None:
    with RedactionService(settings=settings) as inline:
        expected = [r.redacted_text for r in inline.batch_redact(TEXTS)]
        single = inline.redact(TEXTS[5]).redacted_text
        from_async = [r.redacted_text for r in asyncio.run(inline.batch_redact_async(TEXTS))]
    with RedactionService(settings=settings, parallel=True, max_workers=2, batch_size=64) as pool:
        parallel = [r.redacted_text for r in pool.batch_redact(TEXTS)]
        parallel_async = [r.redacted_text for r in asyncio.run(pool.batch_redact_async(TEXTS))]
        one_async = asyncio.run(pool.redact_async(TEXTS[5])).redacted_text
    assert single == expected[5] == one_async
    assert expected == from_async == parallel == parallel_async
    assert all("@example.com" not in text for text in expected)


def test_events_and_payloads_through_the_pool(settings: StreamerSettings) -> None:
    events = [{"id": i, "contact": {"email": f"u{i}@example.com"}} for i in range(50)]
    payloads = [b'{"m": "x@example.com"}', b"{broken", b'{"m": "fine"}']
    with RedactionService(settings=settings, parallel=True, max_workers=2) as pool:
        results = pool.batch_redact_events(events)
        outcomes = pool.redact_payloads(payloads, scopes=["a", "b", "c"])
    assert [r.event["id"] for r in results] == list(range(50))
    assert all(r.event["contact"]["email"].startswith("[EMAIL_ADDRESS_") for r in results)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].failure is not None and outcomes[1].failure.code == "invalid_event"


def test_unmask_restores_text_and_event(settings: StreamerSettings) -> None:
    svc = RedactionService(settings=settings)
    text = "mail jane@example.com or call +44 20 7946 0958"
    result = svc.redact(text)
    assert svc.unmask(result.redacted_text, result.tokens) == text
    event = {"a": [text, {"phone": 4155550132}], "n": None, "ok": True}
    redacted = svc.redact_event(event)
    assert redacted.event != event
    assert svc.unmask_event(redacted.event, redacted.tokens) == event


def test_whole_numbers_written_as_floats_are_scanned_and_restored_as_floats(
    settings: StreamerSettings,
) -> None:
    # pandas writes a column of phone numbers with a gap as 4155550132.0: it passed as it was.
    svc = RedactionService(settings=settings)
    event = {"phone": 4155550132.0, "card": 4111111111111111.0, "ratio": 2500000.0, "x": 1e22}
    redacted = svc.redact_event(event)
    assert redacted.event["phone"].startswith("[PHONE_NUMBER_")
    assert redacted.event["card"].startswith("[CREDIT_CARD_")
    assert redacted.event["ratio"] == 2500000.0 and redacted.event["x"] == 1e22
    assert svc.unmask_event(redacted.event, redacted.tokens) == event
    [outcome] = svc.redact_payloads([b'{"phone": 4155550132.0}'])
    assert outcome.value is not None and b"4155550132" not in outcome.value


@pytest.mark.parametrize(
    "value",
    [
        ("jane@example.com",),
        b"jane@example.com",
        {"jane@example.com"},
        decimal.Decimal("4155550132"),
        datetime.date(1980, 3, 12),
    ],
)
def test_a_value_json_has_not_is_refused_not_passed_on(
    settings: StreamerSettings, value: object
) -> None:
    # A tuple (a namedtuple, a database row), bytes or a set came back as it went in.
    svc = RedactionService(settings=settings)
    with pytest.raises(InvalidEventError, match="which JSON has not") as error:
        svc.redact_event({"customer": {"contact": value}})
    assert "jane" not in str(error.value) and "4155550132" not in str(error.value)


def test_unknown_tokens_stay_and_lookup_fills_in(settings: StreamerSettings) -> None:
    svc = RedactionService(settings=settings)
    result = svc.redact("jane@example.com")
    assert svc.unmask(result.redacted_text) == result.redacted_text
    vault = {t.token_id: t.original_value for t in result.tokens}
    assert svc.unmask(result.redacted_text, lookup=vault.get) == "jane@example.com"


def test_explicit_detectors_select_what_runs(settings: StreamerSettings) -> None:
    svc = RedactionService(settings=settings, detectors=["email"])
    assert svc.engine.detector_names == ("email",)
    assert "415-555-0132" in svc.redact("jane@example.com 415-555-0132").redacted_text


def test_token_repr_hides_original(settings: StreamerSettings) -> None:
    token = RedactionService(settings=settings).redact("jane@example.com").tokens[0]
    assert "jane" not in repr(token)
    assert token.original_value == "jane@example.com"
    assert (token.redaction_type, token.position, token.metadata["entity_type"]) == (
        "tokenize", 0, "EMAIL_ADDRESS"
    )  # fmt: skip


def test_a_worker_runs_numpy_on_one_thread_unless_told_otherwise(
    settings: StreamerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamer.redaction import service as service_module

    for variable in service_module.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "4")  # the operator's choice stands
    monkeypatch.setattr(service_module, "_worker_engine", None)
    spec = service_module.EngineSpec(service_module.Policy(), ("email",), None, settings)
    service_module._init_worker(spec)
    assert service_module.os.environ["OMP_NUM_THREADS"] == "1"
    assert service_module.os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert service_module.os.environ["MKL_NUM_THREADS"] == "4"
    assert service_module._worker_engine is not None
    assert service_module._worker_engine.detector_names == ("email",)


ERROR_PREFIX = "streamer.redaction.exceptions.RedactionError: "


def test_a_script_without_a_main_guard_is_told_how_to_fix_it(tmp_path: Path) -> None:
    # Workers start by forkserver and import __main__ again: an unguarded script kills
    # them as they start. The error must name the fix, not only "retry".
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from streamer import RedactionService\n"
        "with RedactionService(parallel=True, max_workers=1) as svc:\n"
        "    svc.batch_redact(['mail jane@corp.example.com'])\n"
    )
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode != 0
    error = [line for line in run.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(error) == 1, run.stderr[-2000:]
    assert 'if __name__ == "__main__":' in error[0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda svc: svc.redact(None), "text 0 is NoneType, not str"),
        (lambda svc: svc.batch_redact(["ok", b"raw"]), "text 1 is bytes, not str"),
        (lambda svc: svc.batch_redact("one text"), "a list of texts, not one text"),
        (lambda svc: asyncio.run(svc.redact_async(42)), "text 0 is int, not str"),
    ],
)
def test_when_a_text_is_not_a_string_then_one_clear_error(
    settings: StreamerSettings, call: object, message: str
) -> None:
    with (
        RedactionService(settings=settings, detectors=["email"]) as svc,
        pytest.raises(InvalidEventError, match=message),
    ):
        call(svc)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"policy": 42}, PolicyError, "policy is int; pass a Policy, a dict or a YAML"),
        ({"batch_size": 0}, ConfigurationError, "batch_size and max_workers must be at least"),
        ({"max_workers": -1}, ConfigurationError, "batch_size and max_workers must be at least"),
    ],
)
def test_when_an_argument_is_wrong_then_a_streamer_error_names_it(
    settings: StreamerSettings, options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        RedactionService(settings=settings, detectors=["email"], **options)  # type: ignore[arg-type]
