"""The worker pool: batches run on real worker processes; a record that kills its worker
is found, dead-lettered, and does not stop the rest."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamer.errors import ConfigurationError
from streamer.redaction.keys import LocalKeyring
from streamer.redaction.policy import Policy
from streamer.redaction.service import EngineSpec
from streamer.settings import StreamerSettings
from streamer.stream.pool import RedactionPool
from streamer.stream.processor import ProcessorSpec, RecordBatch
from streamer.testing.detectors import CrashingDetector

KEYRING = LocalKeyring(bytes(range(32)))


def spec(tmp_path: Path, *detectors: object, policy: Policy | None = None) -> ProcessorSpec:
    settings = StreamerSettings(data_dir=tmp_path)
    return ProcessorSpec(
        EngineSpec(policy or Policy(), ("email", *detectors), KEYRING, settings)  # type: ignore[arg-type]
    )


def batch(payloads: list[bytes]) -> RecordBatch:
    count = len(payloads)
    return RecordBatch("raw", 0, list(range(count)), [0] * count, [None] * count, payloads)


async def test_batches_run_on_workers_and_results_keep_their_order(tmp_path: Path) -> None:
    pool = RedactionPool(spec(tmp_path), workers=2)
    await pool.start()
    try:
        assert len(pool.worker_pids()) == 2
        assert pool.detector_names == ("email",)
        payloads = [orjson.dumps({"n": i, "m": f"u{i}@example.com"}) for i in range(50)]
        result = await pool.process(batch(payloads))
        for i, value in enumerate(result.values):
            assert value is not None
            assert orjson.loads(value)["n"] == i
            assert b"@example.com" not in value
    finally:
        pool.close()


async def test_a_record_that_kills_its_worker_is_dead_lettered_alone(tmp_path: Path) -> None:
    pool = RedactionPool(spec(tmp_path, CrashingDetector("KILLER")), workers=1)
    await pool.start()
    try:
        payloads = [orjson.dumps({"m": f"fine {i}"}) for i in range(8)]
        payloads[5] = b'{"m": "KILLER"}'
        result = await pool.process(batch(payloads))
        assert [(i, reason) for i, reason, _ in result.dead_letters] == [(5, "worker_crashed")]
        assert [v is not None for v in result.values] == [True] * 5 + [False] + [True] * 2
        assert pool.restarts >= 2
        # The pool works again afterwards.
        again = await pool.process(batch([b'{"m": "fine"}']))
        assert again.values == [b'{"m":"fine"}']
    finally:
        pool.close()


async def test_a_worker_that_cannot_start_reports_why(tmp_path: Path) -> None:
    broken = spec(tmp_path, "no_such_detector")
    pool = RedactionPool(broken, workers=1)
    with pytest.raises(ConfigurationError, match="unknown detector 'no_such_detector'") as caught:
        await pool.start()
    assert "valid names" in str(caught.value)
    assert pool.worker_pids() == []


async def test_inline_mode_runs_in_this_process(tmp_path: Path) -> None:
    pool = RedactionPool(spec(tmp_path), workers=0)
    await pool.start()
    try:
        result = await pool.process(batch([b'{"m": "a@example.com"}']))
        assert result.values[0] is not None and b"example.com" not in result.values[0]
        assert pool.worker_pids() == []
    finally:
        pool.close()
