"""``streamer run`` when its Kafka goes away under it: it stops in bounded time with a
one-line error and exit code 4, not a hang or a traceback."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from streamer.broker import EmbeddedBroker, free_port
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.testing.cli import REPOSITORY_ROOT, STREAMER_COMMAND, cli_environment
from streamer.testing.kafka import create_topics, produce_values, read_all

pytestmark = pytest.mark.e2e

RECORDS = 20
TOPICS = ("orders", "orders.clean", "orders.tokens", "orders.dlq")


def tickets(first: int) -> list[bytes]:
    return [
        b'{"note": "mail jane.doe@example.com, ticket %d"}' % n
        for n in range(first, first + RECORDS)
    ]


class Run:
    """``streamer run`` on ``orders`` with the pattern detectors (NER is slow to load),
    logging to a file (a pipe nobody reads while it runs would fill up and block it)."""

    def __init__(self, tmp_path: Path, bootstrap: str, **environment: str) -> None:
        topology = tmp_path / "orders.yaml"
        topology.write_text(
            yaml.safe_dump(
                {
                    "inputs": ["orders"],
                    "group_id": "orders-gone",
                    "policy": {"detectors": list(PATTERN_DETECTOR_NAMES)},
                }
            )
        )
        self.log = tmp_path / "run.log"
        with self.log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*STREAMER_COMMAND, "run", "--bootstrap-servers", bootstrap,
                 "--topology", str(topology), "--workers", "1", "--shutdown-timeout", "5"],
                env=cli_environment(tmp_path, **environment), cwd=REPOSITORY_ROOT,
                stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit code and what it wrote on stderr."""
        self.process.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=90)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return code, self.log.read_text()


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A broker of the test's own on a port it keeps, to stop and start again."""
    broker = EmbeddedBroker(port=free_port()).start()
    try:
        yield broker
    finally:
        broker.stop()


def started_run(tmp_path: Path, broker: EmbeddedBroker, **environment: str) -> Run:
    """A run that has published the first tickets."""
    bootstrap = broker.bootstrap_servers
    asyncio.run(create_topics(bootstrap, dict.fromkeys(TOPICS, 1)))
    asyncio.run(produce_values(bootstrap, "orders", tickets(0)))
    run = Run(tmp_path, bootstrap, **environment)
    try:
        clean = asyncio.run(read_all(bootstrap, "orders.clean", expected=RECORDS, timeout=60))
    except BaseException:
        run.process.kill()
        raise
    assert len(clean) == RECORDS
    return run


def test_run_stops_with_exit_4_and_one_line_when_kafka_stays_away(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    # Nothing is committed before the signal, so the stop has offsets to commit, and no
    # broker to commit them to: aiokafka retries such a commit forever (the stop took the
    # whole shutdown timeout and exited 1), then re-raised a cancelled fetch (a traceback).
    run = started_run(tmp_path, broker, STREAMER_COMMIT_INTERVAL_MS="3600000")
    broker.stop()
    code, log = run.stop()
    assert code == 4, log[-3000:]
    assert "Traceback" not in log
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, log[-3000:]
    assert "could not commit offsets" in errors[0]
    assert broker.bootstrap_servers in errors[0]
