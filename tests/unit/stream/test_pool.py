"""The worker pool: batches run on real worker processes; a record that kills its worker
is found, dead-lettered, and does not stop the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import subprocess
import sys
import threading
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
from streamer.testing import find_canaries
from streamer.testing.detectors import CrashingDetector, SlowDetector

KEYRING = LocalKeyring(bytes(range(32)))


def spec(tmp_path: Path, *detectors: object, policy: Policy | None = None) -> ProcessorSpec:
    settings = StreamerSettings(data_dir=tmp_path)
    return ProcessorSpec(
        EngineSpec(policy or Policy(), ("email", *detectors), KEYRING, settings)  # type: ignore[arg-type]
    )


def executor_threads() -> list[threading.Thread]:
    """The threads that run process pools' bookkeeping (one per live pool)."""
    return [t for t in threading.enumerate() if type(t).__name__ == "_ExecutorManagerThread"]


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


async def test_pool_load_counts_batches_in_the_pool_and_busy_time(tmp_path: Path) -> None:
    pool = RedactionPool(spec(tmp_path, SlowDetector(0.05)), workers=1)
    assert not pool.up
    await pool.start()
    try:
        assert pool.up
        batches = [[orjson.dumps({"m": f"text {b}.{i}"}) for i in range(4)] for b in range(3)]
        running = [asyncio.create_task(pool.process(batch(texts))) for texts in batches]
        await asyncio.sleep(0.05)
        assert pool.load.pending == 3
        assert pool.load.busy == 1 and pool.load.queue_depth == 2
        await asyncio.gather(*running)
        assert pool.load.pending == 0 and pool.load.queue_depth == 0
        # Three batches of four texts, each sleeping 50 ms: the one worker was busy
        # for at least 0.6 s (a lower bound set by the sleeps, not a speed).
        assert pool.load.busy_seconds() >= 0.6
    finally:
        pool.close()
    assert not pool.up


WORKER_LOG_SCRIPT = """
import asyncio, orjson
from pathlib import Path
from streamer.observability import configure_logging
from streamer.redaction.keys import LocalKeyring
from streamer.redaction.policy import Policy
from streamer.redaction.service import EngineSpec
from streamer.settings import StreamerSettings
from streamer.stream.pool import RedactionPool
from streamer.stream.processor import ProcessorSpec, RecordBatch
from streamer.testing import CANARY_TEXT
from streamer.testing.detectors import LoggingDetector

configure_logging("INFO", "json")
spec = ProcessorSpec(EngineSpec(Policy(), ("email", LoggingDetector()),
                     LocalKeyring(bytes(range(32))), StreamerSettings(data_dir=Path({data!r}))))

async def main():
    pool = RedactionPool(spec, workers=1)
    await pool.start()
    try:
        await pool.process(RecordBatch("raw", 0, [0], [0], [None],
                                       [orjson.dumps({{"m": CANARY_TEXT}})]))
    finally:
        pool.close()

asyncio.run(main())
"""


def test_worker_processes_log_through_the_redacting_filter(tmp_path: Path) -> None:
    """A third-party log line in a worker quoting a record reaches stderr redacted (the
    whole stderr of a separate process is captured: workers included)."""
    script = WORKER_LOG_SCRIPT.format(data=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in done.stderr.decode().splitlines() if line]
    [logged] = [line for line in lines if line["logger"] == "third.party.detector"]
    assert logged["message"].startswith("looking at Canary record: write to <EMAIL_ADDRESS>")
    assert find_canaries(done.stderr) == []


async def test_a_worker_dying_after_its_callers_were_cancelled_breaks_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second signal cancels the callers of queued batches, then kills the workers. The
    executor used to hold the cancelled futures; on the dead worker its manager thread
    failed on them (InvalidStateError), printing a traceback and leaving the rest pending."""
    thread_errors: list[object] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_type))
    pool = RedactionPool(spec(tmp_path, SlowDetector(0.3)), workers=1)
    await pool.start()
    try:
        payloads = [orjson.dumps({"m": f"slow {i}"}) for i in range(3)]
        callers = [asyncio.create_task(pool.process(batch(payloads))) for _ in range(6)]
        await asyncio.sleep(0.2)  # one batch on the worker, the others queued
        for caller in callers:
            caller.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
        (manager,) = executor_threads()
        (pid,) = pool.worker_pids()
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(manager.join, 30)  # it fails the batches it held, and ends
        assert not manager.is_alive()
        assert thread_errors == []
    finally:
        pool.close(abandon=True)


def test_a_script_without_a_main_guard_is_told_how_to_fix_it(tmp_path: Path) -> None:
    # The README's StreamRuntime and run_replay examples run the pool from a script.
    # Workers start by forkserver and import __main__ again, so an unguarded script
    # kills them as they start: the error must name the guard, not only memory.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import asyncio\n"
        "from pathlib import Path\n"
        "from streamer.redaction.keys import LocalKeyring\n"
        "from streamer.redaction.policy import Policy\n"
        "from streamer.redaction.service import EngineSpec\n"
        "from streamer.settings import StreamerSettings\n"
        "from streamer.stream.pool import RedactionPool\n"
        "from streamer.stream.processor import ProcessorSpec\n"
        f"settings = StreamerSettings(data_dir=Path({str(tmp_path)!r}))\n"
        "keyring = LocalKeyring(bytes(range(32)))\n"
        "spec = ProcessorSpec(EngineSpec(Policy(), ('email',), keyring, settings))\n"
        "pool = RedactionPool(spec, workers=1)\n"
        "asyncio.run(pool.start())\n"
        "pool.close()\n"
    )
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode != 0
    prefix = "streamer.stream.exceptions.StreamError: "
    error = [line for line in run.stderr.splitlines() if line.startswith(prefix)]
    assert len(error) == 1, run.stderr[-2000:]
    assert 'if __name__ == "__main__":' in error[0]


async def test_abandoning_returns_when_a_worker_was_killed_in_the_middle_of_a_result(
    tmp_path: Path,
) -> None:
    """A second Ctrl-C kills the workers, maybe while one writes a batch's result: the
    executor's manager thread then waited for the rest of it, and closing the pool (so
    streamer run) hung for good."""
    pool = RedactionPool(spec(tmp_path), workers=1)
    await pool.start()
    (manager,) = executor_threads()
    # What a worker killed mid-write leaves in the result pipe: a length, then less.
    results = pool._executor._result_queue  # type: ignore[union-attr]
    os.write(results._writer.fileno(), struct.pack("!i", 1_000) + b"part of a result")
    while results._reader.poll():  # until the manager thread read it and waits for more
        await asyncio.sleep(0.01)
    closing = threading.Thread(target=pool.close, kwargs={"abandon": True}, daemon=True)
    closing.start()
    await asyncio.to_thread(closing.join, 60)  # a guard against hanging the suite, not a timing
    assert not closing.is_alive()
    assert not manager.is_alive()
