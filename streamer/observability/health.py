"""The HTTP endpoint operators scrape and probe: ``/metrics``, ``/healthz``, ``/readyz``.

``/healthz`` (liveness) answers 200 while the event loop runs and every liveness check
passes; ``/readyz`` answers 200 only when every readiness check passes (partitions
assigned, broker reachable, workers up). Both answer 503 otherwise, with the failing
checks' names: ``{"status": "not ready", "failing": ["partitions_assigned"]}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], bool | Awaitable[bool]]
ReadinessCheck = Check  # the earlier name


class HealthServer:
    """Serves metrics and probes on ``host:port``; ``port=0`` picks a free port.

    ``before_scrape`` runs before each ``/metrics`` answer, for figures that need the
    event loop to refresh (consumer positions, say).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int = 9400,
        host: str = "0.0.0.0",
        checks: dict[str, Check] | None = None,
        *,
        live_checks: dict[str, Check] | None = None,
        before_scrape: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.checks: dict[str, Check] = dict(checks or {})
        self.live_checks: dict[str, Check] = dict(live_checks or {})
        self.before_scrape = before_scrape
        self._runner: web.AppRunner | None = None

    def add_check(self, name: str, check: Check, *, liveness: bool = False) -> None:
        """Add a readiness check (or, with ``liveness``, a liveness check)."""
        (self.live_checks if liveness else self.checks)[name] = check

    async def start(self) -> HealthServer:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.before_scrape is not None:
            await self.before_scrape()
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return await self._answer(self.live_checks, "ok", "unhealthy")

    async def _readyz(self, request: web.Request) -> web.Response:
        return await self._answer(self.checks, "ready", "not ready")

    @staticmethod
    async def _answer(checks: dict[str, Check], good: str, bad: str) -> web.Response:
        failing = []
        for name, check in checks.items():
            try:
                outcome: Any = check()
                if hasattr(outcome, "__await__"):
                    outcome = await outcome
            except Exception:  # a check that raises is a failing check, by name only
                outcome = False
            if not outcome:
                failing.append(name)
        status = 503 if failing else 200
        return web.json_response(
            {"status": bad if failing else good, "failing": failing}, status=status
        )

    async def __aenter__(self) -> HealthServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
