"""The HTTP endpoint operators scrape and probe: ``/metrics``, ``/healthz``, ``/readyz``.

``/healthz`` answers 200 while the event loop runs (liveness). ``/readyz`` answers 200
only when every readiness check passes (partitions assigned, broker reachable, workers
up) and 503 with the failing checks' names otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], bool | Awaitable[bool]]


class HealthServer:
    """Serves metrics and probes on ``host:port``; ``port=0`` picks a free port."""

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int = 9400,
        host: str = "0.0.0.0",
        checks: dict[str, ReadinessCheck] | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.checks: dict[str, ReadinessCheck] = dict(checks or {})
        self._runner: web.AppRunner | None = None

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    async def start(self) -> HealthServer:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        failing = []
        for name, check in self.checks.items():
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
            {"status": "ready" if not failing else "not ready", "failing": failing}, status=status
        )

    async def __aenter__(self) -> HealthServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
