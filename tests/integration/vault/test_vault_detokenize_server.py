"""``streamer serve``'s detokenize endpoint over real HTTP, on the embedded broker:
bearer-token auth (401), per-tenant scopes (403), rate limiting (429), and audit."""

from __future__ import annotations

import hashlib
import uuid

import aiohttp
import orjson
import pytest

from streamer.broker import free_port
from streamer.redaction.service import RedactionService
from streamer.settings import ApiClient, StreamerSettings
from streamer.testing import CANARIES, find_canaries
from streamer.testing.kafka import read_topic
from streamer.testing.token_topic import publish_redacted
from streamer.vault import keyring_from_settings
from streamer.vault.server import DetokenizeServer

pytestmark = pytest.mark.integration

ALICE, BOB = "alice-token-" + uuid.uuid4().hex, "bob-token-" + uuid.uuid4().hex


def server_settings(base: StreamerSettings, **changes: object) -> StreamerSettings:
    clients = [
        ApiClient(name="alice", token=ALICE, scopes=["tenant-a"]),
        ApiClient(name="bob", token_sha256=hashlib.sha256(BOB.encode()).hexdigest(), scopes=["*"]),
    ]
    return base.model_copy(update={"api_clients": clients, "serve_port": free_port(), **changes})


async def seed(settings: StreamerSettings) -> tuple[str, str]:
    """One email token in tenant-a and one in tenant-b."""
    with RedactionService(settings=settings, keyring=keyring_from_settings(settings)) as service:
        batch = await publish_redacted(
            service,
            [orjson.dumps({"m": CANARIES["EMAIL_ADDRESS"]})] * 2,
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
            token_topic=settings.token_topic,
            scopes=["tenant-a", "tenant-b"],
        )
    token_a, token_b = (orjson.loads(v)["m"] for v in batch.clean_values)
    return token_a, token_b


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_detokenize_checks_tokens_scopes_and_audits_every_request(
    vault_settings: StreamerSettings,
) -> None:
    settings = server_settings(vault_settings)
    token_a, token_b = await seed(settings)
    email = CANARIES["EMAIL_ADDRESS"]
    async with DetokenizeServer(settings, keyring_from_settings(settings)) as server:
        url = f"{server.url}/v1/detokenize"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"tokens": [token_a]}) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            async with http.post(url, json={"tokens": [token_a]}, headers=bearer("nope")) as r:
                assert r.status == 401
            async with http.post(url, json={"tokens": [token_a]}, headers=bearer(ALICE)) as r:
                assert r.status == 200
                assert await r.json() == {"values": {token_a: email}}
            body = {"tokens": [token_a, token_b]}
            async with http.post(url, json=body, headers=bearer(ALICE)) as r:
                assert r.status == 403
                answer = await r.json()
                assert answer["error"] == "scope_not_allowed"
                assert not find_canaries(orjson.dumps(answer))
            async with http.post(url, json={**body, "partial": True}, headers=bearer(ALICE)) as r:
                answer = await r.json()
                assert r.status == 200
                assert answer["values"] == {token_a: email}
                assert answer["errors"][token_b]["error"] == "scope_not_allowed"
            text = {"text": f"a {token_a} b {token_b}"}
            async with http.post(url, json=text, headers=bearer(BOB)) as r:
                assert (await r.json()) == {"text": f"a {email} b {email}"}
            event = {"event": {"who": [token_b], "n": 1}}
            async with http.post(url, json=event, headers=bearer(BOB)) as r:
                assert (await r.json()) == {"event": {"who": [email], "n": 1}}
            unknown = {"tokens": ["[EMAIL_ADDRESS_00000000000000ff]"]}
            async with http.post(url, json=unknown, headers=bearer(BOB)) as r:
                assert r.status == 404
            async with http.post(url, data=b"[1, 2", headers=bearer(BOB)) as r:
                assert r.status == 400
            too_many = {"tokens": [token_a] * (settings.max_tokens_per_request + 1)}
            async with http.post(url, json=too_many, headers=bearer(BOB)) as r:
                assert r.status == 413
            async with http.get(f"{server.url}/healthz") as r:
                assert (await r.json())["indexed_tokens"] == 2

    audit = [orjson.loads(r.value) for r in await read_topic(
        settings.bootstrap_servers, settings.audit_topic)]  # fmt: skip
    by_actor: dict[str, list[dict]] = {}
    for record in audit:  # keyed by actor: in order per actor
        by_actor.setdefault(record["actor"]["name"], []).append(record)
    assert {name: [a["outcome"] for a in records] for name, records in by_actor.items()} == {
        "anonymous": ["unauthenticated", "unauthenticated"],
        "alice": ["allowed", "denied", "partial"],
        "bob": ["allowed", "allowed", "failed"],
    }
    assert all(a["actor"]["channel"] == "http" and a["actor"]["address"] for a in audit)
    assert by_actor["alice"][1]["tokens"] == [token_a, token_b]
    assert not find_canaries(b"".join(r.value for r in await read_topic(
        settings.bootstrap_servers, settings.audit_topic)))  # fmt: skip


async def test_callers_over_their_rate_limit_get_429_with_retry_after(
    vault_settings: StreamerSettings,
) -> None:
    settings = server_settings(vault_settings, rate_limit_per_second=0.01, rate_limit_burst=3)
    token_a, _ = await seed(settings)
    async with DetokenizeServer(settings, keyring_from_settings(settings)) as server:
        url = f"{server.url}/v1/detokenize"
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(5):
                async with http.post(url, json={"tokens": [token_a]}, headers=bearer(ALICE)) as r:
                    statuses.append(r.status)
                    if r.status == 429:
                        assert int(r.headers["Retry-After"]) >= 1
            assert statuses == [200, 200, 200, 429, 429]
            # another client has its own bucket
            async with http.post(url, json={"tokens": [token_a]}, headers=bearer(BOB)) as r:
                assert r.status == 200
            # failed authentications are limited per address
            failures = []
            for _ in range(5):
                async with http.post(url, json={}, headers=bearer("guess")) as r:
                    failures.append(r.status)
            assert failures == [401, 401, 401, 429, 429]


async def test_partial_text_and_event_report_what_was_left_as_tokens(
    vault_settings: StreamerSettings,
) -> None:
    settings = server_settings(vault_settings)
    token_a, token_b = await seed(settings)
    email = CANARIES["EMAIL_ADDRESS"]
    async with DetokenizeServer(settings, keyring_from_settings(settings)) as server:
        url = f"{server.url}/v1/detokenize"
        async with aiohttp.ClientSession() as http:
            body = {"text": f"a {token_a} b {token_b}", "partial": True}
            async with http.post(url, json=body, headers=bearer(ALICE)) as r:
                assert r.status == 200
                answer = await r.json()
            assert answer["text"] == f"a {email} b {token_b}"
            assert answer["errors"][token_b]["error"] == "scope_not_allowed"
            body = {"event": {"who": [token_a, token_b]}, "partial": True}
            async with http.post(url, json=body, headers=bearer(ALICE)) as r:
                answer = await r.json()
            assert answer["event"] == {"who": [email, token_b]}
            assert list(answer["errors"]) == [token_b]
            async with http.post(url, json={"text": f"a {token_a}"}, headers=bearer(ALICE)) as r:
                assert await r.json() == {"text": f"a {email}"}, "no errors key when all is well"
    assert not find_canaries(orjson.dumps(answer["errors"]))
