"""Starting the stream runtime: Kafka is reached before anything slow starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from streamer.broker import free_port
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.exceptions import KafkaUnavailableError


async def test_an_unreachable_cluster_fails_before_the_workers_start(tmp_path: Path) -> None:
    """The workers load their models for seconds (NER for many); a wrong bootstrap
    address should not wait for that to be reported. Nothing listens on the port."""
    settings = StreamerSettings(
        bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=tmp_path, workers=1
    )
    runtime = StreamRuntime(
        Topology(name="orders", inputs=["orders"]), settings, detectors=PATTERN_DETECTOR_NAMES
    )
    with pytest.raises(KafkaUnavailableError, match="cannot reach Kafka"):
        await runtime.run()
    assert runtime.pool.detector_names == ()  # set once the workers have started
    assert runtime.pool.worker_pids() == []


def test_an_unreachable_keys_topic_is_kafka_unavailable(tmp_path: Path) -> None:
    """With STREAMER_KEYS_TOPIC the keyring is caught up with the topic before anything
    else: the cluster being down is the same error (exit code 4) as for the inputs."""
    settings = StreamerSettings(
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        data_dir=tmp_path,
        keys_topic="pii.keys",
        key_provider="env",
        kek=SecretStr("3c" * 32),
    )
    with pytest.raises(KafkaUnavailableError, match=r"keys topic 'pii\.keys'") as caught:
        StreamRuntime(Topology(name="orders", inputs=["orders"]), settings)
    assert caught.value.exit_code == 4
