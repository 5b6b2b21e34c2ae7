"""A Ctrl-C that ``streamer replay`` or ``streamer demo`` does not take over itself
(while the command loads, the range is planned, the workers start, the sample events are
made): one line saying what happened, exit code 130 (as for a Ctrl-C later), no
traceback, no client left open. They exited 130 without a word, and the demo warned of
an unclosed AIOKafkaProducer.

Each case sends the signal at one moment, deterministically: a ``sitecustomize`` hook in
the command's own process sends it to itself when the command first imports a given
module (nothing of the command is replaced).
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import yaml

from streamer.broker import free_port
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.testing.cli import cli_environment, streamer
from streamer.testing.kafka import create_topics, produce_values

pytestmark = pytest.mark.e2e

SIGNAL_ON_IMPORT = """
import builtins, os, signal, sys

_module, _command = os.environ["QA_SIGNAL_ON_IMPORT"].split(":")
_main = os.getpid()
_import = builtins.__import__


def _signal_on_import(name, *args, **kwargs):
    global _module
    if name == _module and sys.argv[1:2] == [_command] and os.getpid() == _main:
        _module = None
        os.kill(os.getpid(), signal.SIGINT)
    return _import(name, *args, **kwargs)


builtins.__import__ = _signal_on_import
"""

#: The first use of asyncio's thread pool in a replay: opening the keys as its runtime is
#: built, after the range was planned (and saved), before the runtime handles Ctrl-C.
AFTER_THE_PLAN = "thread"
#: The workers starting: the runtime handles Ctrl-C by then (it drains and saves).
WORKERS_STARTING = "multiprocessing.synchronize"


def interrupted(
    module: str, *args: str, tmp_path: Path, bootstrap: str | None = None
) -> subprocess.CompletedProcess[str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SIGNAL_ON_IMPORT)
    env = cli_environment(
        tmp_path / "data",
        PYTHONPATH=str(hooks),
        QA_SIGNAL_ON_IMPORT=f"{module}:{args[0]}",
        **({"STREAMER_BOOTSTRAP_SERVERS": bootstrap} if bootstrap else {}),
    )
    return streamer(*args, env=env, text=True, timeout=120)


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "Unclosed" not in done.stderr, done.stderr[-3000:]
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "module",
    [
        "typer",  # loading the command
        "faker",  # making the sample events, before they are produced
    ],
)
def test_ctrl_c_in_demo_says_interrupted_and_exits_130(module: str, tmp_path: Path) -> None:
    done = interrupted(module, "demo", "--events", "50", "--workers", "1", tmp_path=tmp_path)
    assert done.returncode == 130, done.stderr[-3000:]
    assert last_line(done) == "interrupted"


@pytest.fixture(scope="module")
def orders(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A topology over ``orders`` (30 events), with the pattern detectors (NER is slow
    to load)."""
    asyncio.run(create_topics(bootstrap, {"orders": 1, "orders.tokens": 1, "orders.dlq": 1}))
    asyncio.run(
        produce_values(bootstrap, "orders", [b'{"note": "mail a%d@example.com"}' % n
                                             for n in range(30)])
    )  # fmt: skip
    topology = tmp_path_factory.mktemp("orders") / "orders.yaml"
    detectors = list(PATTERN_DETECTOR_NAMES)
    topology.write_text(yaml.safe_dump({"inputs": ["orders"], "policy": {"detectors": detectors}}))
    return topology


def replay(replay_id: str, topology: Path, *flags: str) -> tuple[str, ...]:
    return ("replay", "--topology", str(topology), "--output-topic", f"{replay_id}.clean",
            "--replay-id", replay_id, "--workers", "1", *flags)  # fmt: skip


@pytest.mark.parametrize(
    "module",
    [
        "typer",  # loading the command
        "streamer.stream.replay",  # loading the replay
        AFTER_THE_PLAN,  # planned and saved: the unstarted replay is discarded
    ],
)
def test_ctrl_c_while_a_replay_starts_says_nothing_was_replayed(
    module: str, orders: Path, bootstrap: str, tmp_path: Path
) -> None:
    args = replay("starting", orders, "--from-offset", "0")
    done = interrupted(module, *args, tmp_path=tmp_path, bootstrap=bootstrap)
    assert done.returncode == 130, done.stderr[-3000:]
    assert last_line(done) == "interrupted while starting: nothing was replayed"
    assert not (tmp_path / "data" / "replays" / "starting.json").exists()


def test_ctrl_c_while_a_resumed_replay_starts_says_how_to_resume_it(
    orders: Path, bootstrap: str, tmp_path: Path
) -> None:
    args = replay("resumed", orders, "--from-offset", "0")
    first = interrupted(WORKERS_STARTING, *args, tmp_path=tmp_path, bootstrap=bootstrap)
    assert first.returncode == 130, first.stderr[-3000:]
    saved = tmp_path / "data" / "replays" / "resumed.json"
    said = (
        f"interrupted: 0 records replayed this run; progress saved in {saved}. Run the same "
        "command with --resume to continue."
    )
    assert " ".join(first.stderr.split()).endswith(said)

    again = interrupted(AFTER_THE_PLAN, *args, "--resume", tmp_path=tmp_path,
                        bootstrap=bootstrap)  # fmt: skip
    assert again.returncode == 130, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert " ".join(again.stderr.split()).endswith(said)
    assert saved.exists()


def test_a_replay_that_cannot_start_is_not_affected(tmp_path: Path) -> None:
    """Without a Ctrl-C, an error is still its own line and exit code."""
    env = cli_environment(tmp_path, STREAMER_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    done = streamer("replay", "--input-topic", "orders", "--from-offset", "0", env=env,
                    text=True)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: --output-topic is missing")
