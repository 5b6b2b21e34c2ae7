"""``streamer serve``: the HTTP detokenize endpoint.

``POST /v1/detokenize`` with ``Authorization: Bearer <token>`` and a JSON body holding
one of ``tokens`` (a list), ``text`` or ``event`` (any JSON), and optionally
``"partial": true`` to get what can be restored instead of an error. Answers:

=====  =============================================================
200    ``{"values": {token: original}}``, ``{"text": ...}`` or ``{"event": ...}``
400    the body is not one of the shapes above
401    no bearer token, or an unknown one
403    a token belongs to a key scope the caller is not allowed
404    a token is not in the token topic
410    a token's key was shredded
413    more tokens than ``max_tokens_per_request``
422    a ciphertext failed authentication or names a key this vault lacks
429    the caller's rate limit is exhausted (``Retry-After`` says when to retry)
503    the audit topic, the token topic or the key provider is unavailable
=====  =============================================================

Errors are ``{"error": code, "message": ...}``; they never hold an original value.
``GET /healthz`` needs no token. Every request that reaches the vault, and every
failed authentication, writes an audit record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from aiohttp import web

from streamer.errors import ConfigurationError, StreamerError
from streamer.redaction.keys import Keyring
from streamer.settings import StreamerSettings
from streamer.vault.api_clients import ApiClients
from streamer.vault.audit import Actor, AuditEvent, KafkaAuditLog
from streamer.vault.exceptions import (
    AuditUnavailableError,
    AuthenticationError,
    KeyProviderError,
    KeyShreddedError,
    RateLimitedError,
    ScopeNotAllowedError,
    TamperedCiphertextError,
    TopicUnavailableError,
    UnknownTokenError,
    UnmaskError,
    WrongKeyError,
)
from streamer.vault.key_topic import KeyTopicSync
from streamer.vault.keyring import following_key_sync
from streamer.vault.rate_limit import RateLimiter
from streamer.vault.reidentify import Caller, Reidentifier
from streamer.vault.store import TokenIndex
from streamer.vault.token_topic import TokenTopicReader

log = logging.getLogger(__name__)


class BadRequestError(ConfigurationError):
    """The request body is not a detokenize request."""

    code = "bad_request"


class RequestTooLargeError(BadRequestError):
    """The request holds more tokens or bytes than allowed."""

    code = "request_too_large"


#: HTTP status per error class; the first match in this order wins.
HTTP_STATUS: tuple[tuple[type[StreamerError], int], ...] = (
    (RequestTooLargeError, 413),
    (BadRequestError, 400),
    (AuthenticationError, 401),
    (ScopeNotAllowedError, 403),
    (UnknownTokenError, 404),
    (KeyShreddedError, 410),
    (WrongKeyError, 422),
    (TamperedCiphertextError, 422),
    (RateLimitedError, 429),
    (AuditUnavailableError, 503),
    (KeyProviderError, 503),
    (TopicUnavailableError, 503),
    (UnmaskError, 422),
)


def _status(error: StreamerError) -> int:
    for kind, status in HTTP_STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_response(error: StreamerError) -> web.Response:
    status = _status(error)
    headers = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="pii-streamer"'
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return web.json_response(
        {"error": error.code, "message": str(error)}, status=status, headers=headers
    )


class DetokenizeApp:
    """The endpoint's handlers; :meth:`application` builds the aiohttp application."""

    def __init__(
        self,
        reidentifier: Reidentifier,
        clients: ApiClients,
        limiter: RateLimiter,
        *,
        max_tokens: int = 1000,
        max_body_bytes: int = 1_048_576,
    ) -> None:
        self.reidentifier = reidentifier
        self.clients = clients
        self.limiter = limiter
        self.max_tokens = max_tokens
        self.max_body_bytes = max_body_bytes

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post("/v1/detokenize", self.detokenize)
        app.router.add_get("/healthz", self.health)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "indexed_tokens": len(self.reidentifier.index)})

    async def detokenize(self, request: web.Request) -> web.Response:
        address = request.remote
        try:
            client = self.clients.authenticate(request.headers.get("Authorization"))
        except AuthenticationError as exc:
            return await self._refuse_unauthenticated(exc, address)
        try:
            self.limiter.acquire(f"client:{client.name}")
            caller = Caller(Actor(client.name, "http", address), tuple(client.scopes))
            body = await self._body(request)
            partial = bool(body.get("partial", False))
            if "tokens" in body:
                restoration = await self.reidentifier.unmask_tokens(
                    body["tokens"], caller, strict=not partial
                )
                answer: dict[str, Any] = {"values": restoration.originals}
            elif "text" in body:
                text, restoration = await self.reidentifier.restore_text(
                    body["text"], caller, strict=not partial
                )
                answer = {"text": text}
            else:
                event, restoration = await self.reidentifier.restore_event(
                    body["event"], caller, strict=not partial
                )
                answer = {"event": event}
            if restoration.failures:  # only with "partial": the rest, and why
                answer["errors"] = {
                    token: {"error": e.code, "message": str(e)}
                    for token, e in restoration.failures.items()
                }
            return web.json_response(answer)
        except StreamerError as exc:
            if _status(exc) >= 500:
                log.error("detokenize failed", extra={"error": exc.code})
            return error_response(exc)

    async def _refuse_unauthenticated(
        self, error: AuthenticationError, address: str | None
    ) -> web.Response:
        try:
            self.limiter.acquire(f"address:{address}")
        except RateLimitedError as limited:
            return error_response(limited)
        try:
            await self.reidentifier.audit.write(
                AuditEvent(
                    actor=Actor("anonymous", "http", address),
                    action="unmask.tokens",
                    allowed_scopes=(),
                    scopes=(),
                    tokens=(),
                    restored=0,
                    outcome="unauthenticated",
                    errors={error.code: 1},
                )
            )
        except AuditUnavailableError as exc:
            return error_response(exc)
        return error_response(error)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequestError("the body must be JSON") from None
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLargeError(
                f"the body may be at most {self.max_body_bytes} bytes"
            ) from None
        if not isinstance(body, dict):
            raise BadRequestError('the body must be a JSON object like {"tokens": [...]}')
        shapes = [key for key in ("tokens", "text", "event") if key in body]
        if len(shapes) != 1:
            raise BadRequestError('the body needs exactly one of "tokens", "text", "event"')
        unknown = sorted(set(body) - {"tokens", "text", "event", "partial"})
        if unknown:
            raise BadRequestError(f"unknown field(s) in the body: {', '.join(unknown)}")
        if "tokens" in body:
            tokens = body["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                raise BadRequestError('"tokens" must be a list of strings')
            if len(tokens) > self.max_tokens:
                raise RequestTooLargeError(f"a request may hold at most {self.max_tokens} tokens")
        if "text" in body and not isinstance(body["text"], str):
            raise BadRequestError('"text" must be a string')
        if "partial" in body and not isinstance(body["partial"], bool):
            raise BadRequestError('"partial" must be true or false')
        return body


class DetokenizeServer:
    """The endpoint with everything it needs: token index kept caught up with the token
    topic, audit log, HTTP listener. ``async with`` it, or call ``start``/``stop``."""

    def __init__(
        self,
        settings: StreamerSettings,
        keyring: Keyring,
        *,
        clients: ApiClients | None = None,
        host: str | None = None,
        port: int | None = None,
        rebuild_index: bool = False,
        **client_options: Any,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.clients = clients or ApiClients.from_settings(settings)
        self.host = host or settings.serve_host
        self.port = port if port is not None else settings.serve_port
        self.rebuild_index = rebuild_index
        self._client_options = client_options
        self._runner: web.AppRunner | None = None
        self._follow: asyncio.Task[None] | None = None
        self._key_sync: KeyTopicSync | None = None
        self._index: TokenIndex | None = None
        self._reader: TokenTopicReader | None = None
        self._audit: KafkaAuditLog | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        settings = self.settings
        self._index = TokenIndex(settings.resolved_vault_index(), settings.token_topic)
        if self.rebuild_index:
            self._index.clear()
        self._reader = TokenTopicReader(
            self._index, settings.bootstrap_servers, **self._client_options
        )
        self._audit = KafkaAuditLog(
            settings.bootstrap_servers, settings.audit_topic, **self._client_options
        )
        await self._reader.start()
        await self._audit.start()
        await self._reader.catch_up(require_topic=False)
        self._follow = asyncio.create_task(self._reader.follow(), name="token-topic-follow")
        # rotations and shreds made on other hosts
        self._key_sync = await following_key_sync(settings, **self._client_options)
        reidentifier = Reidentifier(self.keyring, self._index, self._audit, reader=self._reader)
        handlers = DetokenizeApp(
            reidentifier,
            self.clients,
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            max_tokens=settings.max_tokens_per_request,
            max_body_bytes=settings.max_record_bytes + 65_536,
        )
        self._runner = web.AppRunner(handlers.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); pick "
                "another --port (STREAMER_SERVE_PORT) or --host, or stop what uses it"
            ) from None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
            self._follow = None
        if self._key_sync is not None:
            await self._key_sync.stop()
            self._key_sync = None
        if self._reader is not None:
            await self._reader.stop()
        if self._audit is not None:
            await self._audit.stop()
        if self._index is not None:
            self._index.close()

    async def __aenter__(self) -> DetokenizeServer:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
