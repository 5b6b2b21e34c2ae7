"""What both emulators share: the server, fault injection, statistics and detection.

An emulator is a small aiohttp server that answers like the real service, well enough for
the official SDK to work against it unmodified, and finds entities with the local
engine. Faults are set through :class:`EmulatorSettings` (in process, or over HTTP at
``POST /_emulator/settings``), in the order a request meets them:

1. ``outage``: every request fails (``outage_mode``: ``unavailable`` = 503, ``hang`` =
   no answer while the outage lasts, ``reset`` = the connection is dropped);
2. ``throttle_next`` / ``throttle_rate``: 429 with ``Retry-After: retry_after_seconds``;
3. ``fail_next`` / ``error_rate``: 500;
4. ``latency_seconds`` added before a normal answer.

:class:`EmulatorStats` (``GET /_emulator/stats``) counts requests, documents,
characters and faults, and records the most requests ever in flight at once, so tests can
check the client's semaphore from the server's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import orjson

from streamer.redaction.engine import RedactionEngine, resolve_detectors
from streamer.redaction.keys import LocalKeyring
from streamer.redaction.policy import Policy
from streamer.redaction.spans import Span
from streamer.settings import StreamerSettings

log = logging.getLogger(__name__)

OutageMode = Literal["unavailable", "hang", "reset"]


@dataclass
class EmulatorSettings:
    """Behaviour of an emulator; change it while it runs (``emulator.settings.x = ...``)."""

    latency_seconds: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after_seconds: float = 1.0
    outage: bool = False
    outage_mode: OutageMode = "unavailable"
    throttle_next: int = 0
    fail_next: int = 0
    #: Azure: the accepted ``Ocp-Apim-Subscription-Key``; AWS: the accepted access key id.
    #: ``None`` accepts any.
    api_key: str | None = None
    seed: int | None = None

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes``; unknown names raise ``ValueError`` naming the valid ones."""
        valid = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            raise ValueError(f"unknown emulator settings {unknown}; valid: {sorted(valid)}")
        for name, value in changes.items():
            setattr(self, name, value)


@dataclass
class EmulatorStats:
    """What an emulator has seen since it started (or was reset)."""

    requests: int = 0
    answered: int = 0
    documents: int = 0
    characters: int = 0
    throttled: int = 0
    failed: int = 0
    rejected: int = 0
    unauthorized: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    #: ``time.monotonic()`` of each request's arrival and of each 429 sent (bounded).
    arrivals: list[float] = field(default_factory=list)
    throttle_times: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["arrivals"] = self.arrivals[-1000:]
        data["throttle_times"] = self.throttle_times[-1000:]
        return data


class Fault(Exception):
    """Raised inside a handler to answer with a service error."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


_MAX_RECORDED = 100_000


def build_engine(
    detectors: Sequence[str] | None = None,
    policy: Policy | None = None,
    settings: StreamerSettings | None = None,
) -> RedactionEngine:
    """The local engine an emulator detects with (a throwaway key; it never redacts)."""
    settings = settings or StreamerSettings()
    policy = policy or Policy()
    return RedactionEngine(
        policy,
        resolve_detectors(list(detectors) if detectors is not None else None, policy, settings),
        LocalKeyring(os.urandom(32)),
        settings,
    )


class Emulator(ABC):
    """A local HTTP server that speaks one cloud service's API."""

    #: The service's name, for logs and the CLI.
    service: str = ""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        engine: RedactionEngine | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: Any | None = None,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.stats = EmulatorStats()
        self.engine = engine or build_engine()
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._rng = random.Random(self.settings.seed)
        self._runner: Any | None = None
        self._outage_released = asyncio.Event()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # --- the server ----------------------------------------------------------------------

    def build_app(self) -> Any:
        from aiohttp import web

        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/_emulator/stats", self._get_stats)
        app.router.add_post("/_emulator/settings", self._post_settings)
        app.router.add_post("/_emulator/reset", self._post_reset)
        self.add_routes(app)
        return app

    async def start(self) -> None:
        from aiohttp import web

        # A client that gives up (timeout, cancelled failover) cancels its request here too,
        # and stopping does not wait for requests held by latency or a hanging outage.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self.ssl_context, backlog=1024
        )
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("%s emulator listening on %s", self.service, self.url)

    async def stop(self) -> None:
        self._outage_released.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Emulator]:
        """``async with emulator.running():`` serves for the block."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def set_outage(self, active: bool) -> None:
        """Start or end an outage (ending it releases requests held by ``hang``)."""
        self.settings.outage = active
        if active:
            self._outage_released = asyncio.Event()
        else:
            self._outage_released.set()

    def reset_stats(self) -> None:
        self.stats = EmulatorStats()

    async def _get_stats(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response(self.stats.to_json())

    async def _post_settings(self, request: Any) -> Any:
        from aiohttp import web

        try:
            changes = await request.json()
            outage = changes.pop("outage", None)
            self.settings.update(changes)
            if outage is not None:
                self.set_outage(bool(outage))
            if "seed" in changes:
                self._rng = random.Random(self.settings.seed)
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.settings))

    async def _post_reset(self, request: Any) -> Any:
        from aiohttp import web

        self.reset_stats()
        return web.json_response({"reset": True})

    # --- requests ------------------------------------------------------------------------

    async def serve(self, request: Any) -> Any:
        """Count the request, apply faults, call :meth:`answer`, render errors."""
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        if len(stats.arrivals) < _MAX_RECORDED:
            stats.arrivals.append(time.monotonic())
        try:
            body = await request.read()
            self.authorize(request)
            await self._inject_faults(request)
            if self.settings.latency_seconds > 0:
                await asyncio.sleep(self.settings.latency_seconds)
            response = await self.answer(request, body)
            stats.answered += 1
            return response
        except Fault as fault:
            if fault.status == 0:  # an outage that drops the connection
                stats.failed += 1
                if request.transport is not None:
                    request.transport.abort()
                return self.json({}, status=503)
            if fault.status == 429:
                stats.throttled += 1
                if len(stats.throttle_times) < _MAX_RECORDED:
                    stats.throttle_times.append(time.monotonic())
            elif fault.status in (401, 403):
                stats.unauthorized += 1
            elif fault.status >= 500:
                stats.failed += 1
            else:
                stats.rejected += 1
            return self.error_response(fault)
        finally:
            stats.in_flight -= 1

    async def _inject_faults(self, request: Any) -> None:
        settings = self.settings
        if settings.outage:
            if settings.outage_mode == "hang":
                await self._outage_released.wait()
            elif settings.outage_mode == "reset":
                raise Fault(0, "ConnectionReset", "connection dropped")
            raise Fault(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        if settings.throttle_next > 0:
            settings.throttle_next -= 1
            raise self.throttled()
        if settings.throttle_rate > 0 and self._rng.random() < settings.throttle_rate:
            raise self.throttled()
        if settings.fail_next > 0:
            settings.fail_next -= 1
            raise Fault(500, "InternalServerError", "An internal error occurred.")
        if settings.error_rate > 0 and self._rng.random() < settings.error_rate:
            raise Fault(500, "InternalServerError", "An internal error occurred.")

    def throttled(self) -> Fault:
        return Fault(
            429,
            "TooManyRequests",
            "Rate limit is exceeded. Try again later.",
            retry_after=self.settings.retry_after_seconds,
        )

    def detect(self, texts: list[str]) -> list[list[Span]]:
        """Entities in each text, by the local engine."""
        self.stats.documents += len(texts)
        self.stats.characters += sum(len(text) for text in texts)
        return self.engine.analyze(texts)

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
        from aiohttp import web

        return web.Response(
            body=orjson.dumps(data),
            status=status,
            headers=headers,
            content_type="application/json",
        )

    # --- the service's part ----------------------------------------------------------------

    @abstractmethod
    def add_routes(self, app: Any) -> None:
        """Add the service's routes, each handled by :meth:`serve`."""

    @abstractmethod
    def authorize(self, request: Any) -> None:
        """Raise a :class:`Fault` (401/403) when the request's credentials are wrong."""

    @abstractmethod
    async def answer(self, request: Any, body: bytes) -> Any:
        """The service's answer to a request that met no fault."""

    @abstractmethod
    def error_response(self, fault: Fault) -> Any:
        """A fault in the service's error format."""


def load_policy(path: Path | None) -> Policy | None:
    return Policy.from_file(path) if path is not None else None


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """``Retry-After`` in whole seconds as HTTP wants it, plus ``retry-after-ms``."""
    if seconds is None:
        return {}
    whole = max(0, round(seconds))
    return {"Retry-After": str(whole), "retry-after-ms": str(int(seconds * 1000))}
