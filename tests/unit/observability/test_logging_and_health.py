"""Logs never carry personal data; the health server answers probes and scrapes."""

from __future__ import annotations

import io
import logging

import aiohttp
import orjson

from streamer.observability import HealthServer, StreamMetrics, configure_logging
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries


def test_canaries_in_messages_extras_and_tracebacks_are_redacted() -> None:
    out = io.StringIO()
    handler = configure_logging("DEBUG", "json", out)
    try:
        log = logging.getLogger("third.party")
        log.warning("failed to parse %s", CANARY_TEXT, extra={"record_value": CANARIES["US_SSN"]})
        try:
            raise ValueError(f"bad value {CANARIES['EMAIL_ADDRESS']}")
        except ValueError:
            log.exception("boom")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["warning", "error"]
    assert lines[0]["message"].startswith("failed to parse Canary record: write to <EMAIL_ADDRESS>")
    assert lines[0]["record_value"] == "<US_SSN>"
    assert "ValueError" in lines[1]["exception"]
    assert find_canaries(out.getvalue()) == []


async def test_health_server_serves_metrics_liveness_and_readiness() -> None:
    metrics = StreamMetrics()
    metrics.events_consumed.labels(topic="raw").inc(3)
    ready = {"partitions_assigned": False}
    server = HealthServer(metrics.registry, port=0, host="127.0.0.1")
    server.add_check("partitions_assigned", lambda: ready["partitions_assigned"])
    async with server, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{server.port}"
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
            assert 'streamer_events_consumed_total{topic="raw"} 3.0' in text
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["failing"] == ["partitions_assigned"]
        ready["partitions_assigned"] = True
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 200
