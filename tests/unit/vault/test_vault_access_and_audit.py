"""Pieces of re-identification that need no broker: API clients, the rate limiter, audit
records and their schema, and failing closed when the audit log is down."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from pathlib import Path

import jsonschema
import pytest

from streamer.errors import ConfigurationError
from streamer.redaction.service import RedactionService
from streamer.settings import ApiClient, StreamerSettings
from streamer.testing import CANARIES
from streamer.vault import (
    Actor,
    AuditEvent,
    Caller,
    PartlyRestored,
    Reidentifier,
    TokenIndex,
    TokenMapping,
)
from streamer.vault.api_clients import ApiClients, load_clients_file
from streamer.vault.audit import TOKENS_PER_RECORD
from streamer.vault.exceptions import (
    AuditUnavailableError,
    AuthenticationError,
    RateLimitedError,
    UnmaskError,
)
from streamer.vault.rate_limit import RateLimiter
from streamer.vault.store import TopicRecord

SCHEMA = json.loads(
    (Path(__file__).parents[3] / "schemas" / "audit_record.schema.json").read_text()
)


def validate(record: dict) -> None:
    jsonschema.validate(record, SCHEMA, format_checker=jsonschema.FormatChecker())


# --- API clients ---------------------------------------------------------------------------


def test_bearer_tokens_are_matched_by_digest() -> None:
    clients = ApiClients([
        ApiClient(name="a", token="token-a", scopes=["t-a"]),
        ApiClient(name="b", token_sha256=hashlib.sha256(b"token-b").hexdigest(), scopes=["*"]),
    ])  # fmt: skip
    assert clients.authenticate("Bearer token-a").name == "a"
    assert clients.authenticate("bearer  token-b").name == "b"
    for header in (None, "", "Bearer", "Basic token-a", "Bearer token-c"):
        with pytest.raises(AuthenticationError):
            clients.authenticate(header)


def test_clients_come_from_a_file_and_bad_files_are_explained(tmp_path: Path) -> None:
    good = tmp_path / "clients.yaml"
    good.write_text("clients:\n  - {name: tool, token: s3cret, scopes: [tenant-a, 'tenant-b/*']}\n")
    (client,) = load_clients_file(good)
    assert client.scopes == ["tenant-a", "tenant-b/*"]
    both = tmp_path / "both.json"
    both.write_text(json.dumps([{"name": "x", "scopes": ["a"]}]))
    with pytest.raises(ConfigurationError, match="client 1"):
        load_clients_file(both)
    with pytest.raises(ConfigurationError, match="no API clients"):
        ApiClients.from_settings(StreamerSettings())
    settings = StreamerSettings(api_clients_file=good)
    assert [c.name for c in ApiClients.from_settings(settings).clients] == ["tool"]


def test_clients_from_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "STREAMER_API_CLIENTS", '[{"name": "env-tool", "token": "abc", "scopes": ["*"]}]'
    )
    clients = ApiClients.from_settings(StreamerSettings())
    assert clients.authenticate("Bearer abc").name == "env-tool"


# --- rate limiter --------------------------------------------------------------------------


def test_rate_limiter_allows_bursts_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.acquire("a")
    with pytest.raises(RateLimitedError) as caught:
        limiter.acquire("a")
    assert caught.value.retry_after == pytest.approx(0.5)
    limiter.acquire("b")  # its own bucket
    now[0] = 0.5
    limiter.acquire("a")
    with pytest.raises(RateLimitedError):
        limiter.acquire("a")


# --- audit records -------------------------------------------------------------------------


def event(tokens: tuple[str, ...], **changes: object) -> AuditEvent:
    base = dict(
        actor=Actor("analyst", "cli"), action="unmask.text", allowed_scopes=("tenant-*",),
        scopes=("tenant-a",), tokens=tokens, restored=len(tokens), outcome="allowed",
    )  # fmt: skip
    return AuditEvent(**{**base, **changes})  # type: ignore[arg-type]


def test_audit_records_follow_the_schema_and_split_big_requests() -> None:
    tokens = tuple(f"[EMAIL_ADDRESS_{i:016x}]" for i in range(TOKENS_PER_RECORD + 5))
    records = event(tokens, action="unmask.topic", source_topic="clean",
                    source_partitions={0: (3, 9)}, target_topic="out").records()  # fmt: skip
    assert [(r["part"], r["parts"], len(r["tokens"])) for r in records] == [
        (1, 2, TOKENS_PER_RECORD),
        (2, 2, 5),
    ]
    assert len({r["request_id"] for r in records}) == 1
    assert len({r["audit_id"] for r in records}) == 2
    for record in records:
        validate(record)
        assert record["token_count"] == len(tokens)
        assert record["source"] == {"topic": "clean", "partitions": {"0": [3, 9]}}
    empty = event((), outcome="unauthenticated", errors={"unauthenticated": 1}).records()
    assert len(empty) == 1
    validate(empty[0])


def test_a_cli_user_without_a_login_name_is_audited_by_uid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A container run under an arbitrary uid (OpenShift, runAsUser) has no passwd entry and
    # often no USER: getpass.getuser() raised KeyError and unmask stopped with a traceback.
    # Such a user cannot run here (the interpreter is readable by root only), so
    # getuser is made to fail as it does then.
    assert Actor.os_user() == Actor(getpass.getuser(), "cli")

    def no_passwd_entry() -> str:
        raise KeyError(f"getpwuid(): uid not found: {os.getuid()}")

    monkeypatch.setattr(getpass, "getuser", no_passwd_entry)
    assert Actor.os_user() == Actor(f"uid:{os.getuid()}", "cli")


def test_schema_refuses_a_record_that_carries_a_value() -> None:
    (record,) = event(("[EMAIL_ADDRESS_0000000000000001]",)).records()
    record["tokens"] = [CANARIES["EMAIL_ADDRESS"]]
    with pytest.raises(jsonschema.ValidationError):
        validate(record)
    (record,) = event(()).records()
    record["original"] = CANARIES["US_SSN"]
    with pytest.raises(jsonschema.ValidationError):
        validate(record)


class DownAuditLog:
    async def write(self, event: AuditEvent) -> None:
        raise AuditUnavailableError("audit topic is down (test double)")


class MemoryAuditLog:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def write(self, event: AuditEvent) -> None:
        self.events.append(event)


def indexed(settings: StreamerSettings, tmp_path: Path) -> tuple[Reidentifier, str, object]:
    """A reidentifier over a local index holding one token of tenant-a (no broker)."""
    service = RedactionService(settings=settings)
    result = service.redact(f"mail {CANARIES['EMAIL_ADDRESS']}", scope="tenant-a")
    token = result.tokens[0]
    mapping = TokenMapping.seal(token.token_id, token.entity_type, token.original_value,
                                scope="tenant-a", keyring=service.keyring,
                                policy_version="1")  # fmt: skip
    index = TokenIndex(tmp_path / "index.db", "tokens")
    index.apply([TopicRecord(0, 0, mapping.key(), mapping.to_json())], {0: 1})
    return Reidentifier(service.keyring, index, MemoryAuditLog()), token.token_id, service


async def test_nothing_is_unmasked_when_the_audit_record_cannot_be_written(
    settings: StreamerSettings, tmp_path: Path
) -> None:
    reidentifier, token, _ = indexed(settings, tmp_path)
    caller = Caller(Actor("analyst", "cli"), ("tenant-a",))
    assert await reidentifier.unmask_text(token, caller) == CANARIES["EMAIL_ADDRESS"]
    reidentifier.audit = DownAuditLog()
    with pytest.raises(AuditUnavailableError) as caught:
        await reidentifier.unmask_text(token, caller)
    assert caught.value.exit_code == 9


async def test_inline_ciphertexts_are_restored_and_scope_checked_by_their_key(
    settings: StreamerSettings, tmp_path: Path
) -> None:
    policy = {"entities": {"EMAIL_ADDRESS": {"action": "encrypt"}}}
    with RedactionService(policy, settings=settings) as service:
        text = service.redact(f"to {CANARIES['EMAIL_ADDRESS']}", scope="tenant-b").redacted_text
        keyring = service.keyring
    assert ":enc:" in text
    audit = MemoryAuditLog()
    reidentifier = Reidentifier(keyring, TokenIndex(tmp_path / "i.db", "t"), audit)
    allowed = Caller(Actor("analyst", "cli"), ("tenant-b",))
    assert await reidentifier.unmask_text(text, allowed) == f"to {CANARIES['EMAIL_ADDRESS']}"
    with pytest.raises(UnmaskError):
        await reidentifier.unmask_text(text, Caller(Actor("analyst", "cli"), ("tenant-a",)))
    names = [e.tokens for e in audit.events]
    assert all(":enc:k" in name[0] and len(name[0]) < 60 for name in names)
    for record in audit.events[0].records():
        validate(record)


async def test_a_batch_of_lines_is_one_audit_record_and_fails_line_by_line(
    settings: StreamerSettings, tmp_path: Path
) -> None:
    reidentifier, token, _ = indexed(settings, tmp_path)
    audit = reidentifier.audit
    assert isinstance(audit, MemoryAuditLog)
    caller = Caller(Actor("analyst", "cli"), ("tenant-a",))
    unknown = "[EMAIL_ADDRESS_00000000000000aa]"
    lines = [json.dumps({"to": token}), "not json", json.dumps({"to": [token, unknown]})]
    strict = await reidentifier.unmask_lines(lines, caller, json_events=True)
    assert strict[0] == json.dumps({"to": CANARIES["EMAIL_ADDRESS"]}, separators=(",", ":"))
    assert isinstance(strict[1], UnmaskError) and isinstance(strict[2], UnmaskError)
    assert strict[2].code == "unknown_token"
    partial = await reidentifier.unmask_lines(lines, caller, json_events=True, strict=False)
    assert isinstance(partial[2], PartlyRestored)
    assert json.loads(partial[2].text) == {"to": [CANARIES["EMAIL_ADDRESS"], unknown]}
    assert partial[2].error.code == "unknown_token", "what was left out is still reported"
    assert [e.outcome for e in audit.events] == ["partial", "partial"]
    assert audit.events[0].tokens == (token, unknown)


async def test_a_stateless_token_key_unmasks_tokens_and_inline_ciphertexts(tmp_path: Path) -> None:
    settings = StreamerSettings(data_dir=tmp_path, token_key="ab" * 32)
    policy = {"entities": {"EMAIL_ADDRESS": {"action": "encrypt"}}}
    with (
        RedactionService(policy, settings=settings) as encrypting,
        RedactionService(settings=settings) as tokenizing,
    ):
        inline = encrypting.redact(CANARIES["EMAIL_ADDRESS"], scope="t").redacted_text
        result = tokenizing.redact(CANARIES["US_SSN"], scope="t")
        keyring = tokenizing.keyring
    token = result.tokens[0]
    mapping = TokenMapping.seal(token.token_id, token.entity_type, token.original_value,
                                scope="t", keyring=keyring, policy_version="1")  # fmt: skip
    index = TokenIndex(tmp_path / "index.db", "tokens")
    index.apply([TopicRecord(0, 0, mapping.key(), mapping.to_json())], {0: 1})
    reidentifier = Reidentifier(keyring, index, MemoryAuditLog())
    caller = Caller(Actor("analyst", "cli"), ("other", "t"))
    restored = await reidentifier.unmask_text(f"{inline} {token.token_id}", caller)
    assert restored == f"{CANARIES['EMAIL_ADDRESS']} {CANARIES['US_SSN']}"
    with pytest.raises(UnmaskError):
        await reidentifier.unmask_text(inline, Caller(Actor("analyst", "cli"), ("t*",)))


async def test_tokens_in_object_keys_are_restored(
    settings: StreamerSettings, tmp_path: Path
) -> None:
    reidentifier, token, _ = indexed(settings, tmp_path)
    caller = Caller(Actor("analyst", "cli"), ("tenant-a",))
    event = {"opens": {token: 3, "total": 3}}
    assert await reidentifier.unmask_event(event, caller) == {
        "opens": {CANARIES["EMAIL_ADDRESS"]: 3, "total": 3}
    }
    [line] = await reidentifier.unmask_lines([json.dumps(event)], caller, json_events=True)
    assert json.loads(str(line)) == {"opens": {CANARIES["EMAIL_ADDRESS"]: 3, "total": 3}}
