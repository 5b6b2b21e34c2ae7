"""Logs never carry personal data; the health server answers probes and scrapes."""

from __future__ import annotations

import io
import logging
import time

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter

from streamer.observability import HealthServer, configure_logging
from streamer.observability.logging import RepeatLimiter
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


def test_a_library_repeating_itself_is_shown_once_per_interval_with_a_count() -> None:
    # While Kafka is unreachable aiokafka logs "Unable connect to node" dozens of times a
    # second; our own lines and other libraries' are never held back.
    out = io.StringIO()
    handler = configure_logging("INFO", "json", out)
    limiter = next(f for f in handler.filters if isinstance(f, RepeatLimiter))
    limiter.interval = 0.2
    try:
        kafka = logging.getLogger("aiokafka.conn")
        for attempt in range(50):
            kafka.error("Unable connect to node with id %s: attempt %s", 1, attempt)
            logging.getLogger("streamer.stream").warning("ours %s", attempt)
        kafka.error("Unable to update metadata")
        time.sleep(0.25)
        kafka.error("Unable connect to node with id %s: attempt %s", 1, 50)
    finally:
        logging.getLogger().removeHandler(handler)
    messages = [orjson.loads(line)["message"] for line in out.getvalue().splitlines()]
    assert [m for m in messages if m.startswith("ours")] == [f"ours {n}" for n in range(50)]
    assert [m for m in messages if not m.startswith("ours")] == [
        "Unable connect to node with id 1: attempt 0",
        "Unable to update metadata",
        "Unable connect to node with id 1: attempt 50 (49 more like it in the last 0 s)",
    ]


async def test_health_server_serves_metrics_liveness_and_readiness() -> None:
    registry = CollectorRegistry()
    consumed = Counter("streamer_events_consumed", "Records.", ["topic"], registry=registry)
    consumed.labels(topic="raw").inc(3)
    ready = {"partitions_assigned": False}
    alive = {"consume_loop": True}
    scrapes = []

    async def before_scrape() -> None:
        scrapes.append(1)

    server = HealthServer(registry, port=0, host="127.0.0.1", before_scrape=before_scrape)
    server.add_check("partitions_assigned", lambda: ready["partitions_assigned"])
    server.add_check("consume_loop", lambda: alive["consume_loop"], liveness=True)

    async def broken() -> bool:
        raise RuntimeError("a check that raises fails, by name only")

    async with server, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{server.port}"
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
            assert 'streamer_events_consumed_total{topic="raw"} 3.0' in text
        assert scrapes == [1]
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["failing"] == ["partitions_assigned"]
        ready["partitions_assigned"] = True
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 200
        alive["consume_loop"] = False
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 503
            assert await response.json() == {"status": "unhealthy", "failing": ["consume_loop"]}
        server.add_check("broker_reachable", broken)
        async with http.get(f"{base}/readyz") as response:
            assert (await response.json())["failing"] == ["broker_reachable"]


async def test_a_port_in_use_is_an_os_error_and_leaves_nothing_running() -> None:
    registry = CollectorRegistry()
    async with HealthServer(registry, port=0, host="127.0.0.1") as first:
        second = HealthServer(registry, port=first.port, host="127.0.0.1")
        with pytest.raises(OSError):
            await second.start()
        await second.stop()


def test_an_unexpected_crash_of_streamer_run_is_logged_through_the_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug's exception quoting a record must not reach stderr as a raw traceback."""
    from typer.testing import CliRunner

    import streamer.stream.runtime
    from streamer.cli import app

    async def crash(*args: object, **kwargs: object) -> None:
        raise ValueError(f"unexpected value {CANARY_TEXT}")

    monkeypatch.setattr(streamer.stream.runtime, "run_pipeline", crash)
    try:
        outcome = CliRunner().invoke(
            app, ["run", "--input-topic", "orders", "--log-format", "json", "--workers", "1"]
        )
    finally:
        for handler in list(logging.getLogger().handlers):
            if handler.get_name() == "pii-streamer":
                logging.getLogger().removeHandler(handler)
    assert outcome.exit_code == 1
    assert "the pipeline stopped on an unexpected ValueError" in outcome.output
    assert "unexpected value Canary record: write to <EMAIL_ADDRESS>" in outcome.output
    assert find_canaries(outcome.output) == []


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
def test_presidio_announcing_its_recognizers_is_shown_only_when_debugging(
    level: str, shown: bool
) -> None:
    stream = io.StringIO()
    handler = configure_logging(level, "json", stream)
    try:
        logging.getLogger("presidio-analyzer").info("Loaded recognizer: SpacyRecognizer")
        logging.getLogger("presidio-analyzer").warning("a recognizer failed to load")
        logging.getLogger("streamer.stream.runtime").info("pipeline started")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("presidio-analyzer").setLevel(logging.NOTSET)
    lines = stream.getvalue()
    assert ("Loaded recognizer" in lines) is shown
    assert "a recognizer failed to load" in lines
    assert "pipeline started" in lines
