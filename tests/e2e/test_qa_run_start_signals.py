"""A Ctrl-C or SIGTERM in the first seconds of ``streamer run``, before the pipeline
takes the signals over to drain: it stops there with one line and exit 0 (the README's
code for a stop by a signal), no traceback, no process left.

Each case sends the signal at one moment of the start, deterministically: a
``sitecustomize`` hook in the command's own process sends it to itself when the command
first imports a given module (the signal's timing is what cannot be arranged from
outside; nothing of the command is replaced).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker, free_port
from streamer.testing.cli import cli_environment, start_streamer, streamer, tail_json

pytestmark = pytest.mark.e2e

SIGNAL_ON_IMPORT = """
import builtins, os, signal, sys

_module, _signal = os.environ["QA_SIGNAL_ON_IMPORT"].split(":")
_import = builtins.__import__


def _signal_on_import(name, *args, **kwargs):
    global _module
    if name == _module and sys.argv[1:2] == ["run"]:  # not in the worker processes
        _module = None
        os.kill(os.getpid(), getattr(signal, _signal))
    return _import(name, *args, **kwargs)


builtins.__import__ = _signal_on_import
"""


def run_signalled_on_import(
    module: str, signum: signal.Signals, *flags: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SIGNAL_ON_IMPORT)
    env = cli_environment(
        tmp_path / "data",
        PYTHONPATH=str(hooks),
        QA_SIGNAL_ON_IMPORT=f"{module}:{signum.name}",
        STREAMER_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",  # never reached
    )
    return streamer("run", "--input-topic", "orders", "--workers", "1", "--log-format",
                    "text", *flags, env=env, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(
    ("module", "flags"),
    [
        ("typer", ()),  # loading the command (a second or more on a busy machine)
        ("streamer.stream.runtime", ()),  # run: loading the stream runtime
        # in asyncio.run, before the runtime's handlers: asyncio's own Ctrl-C handling
        # cancelled the task (a CancelledError traceback, exit 1)
        ("streamer.observability.health", ("--metrics-port", "0")),
    ],
)
def test_a_signal_while_run_starts_stops_it_with_one_line_and_exit_0(
    module: str, flags: tuple[str, ...], signum: signal.Signals, tmp_path: Path
) -> None:
    done = run_signalled_on_import(module, signum, *flags, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "stopped while starting: nothing was processed"
    assert "cannot reach Kafka" not in done.stderr  # it stopped before connecting


KILL_THE_FORKSERVER = """
import os, signal, sys

if "from multiprocessing.forkserver import main" in " ".join(sys.orig_argv):
    os.kill(os.getpid(), signal.SIGKILL)  # as a Ctrl-C did, before it ignores one
"""


def test_a_forkserver_dying_as_the_workers_start_is_one_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    """The terminal's Ctrl-C reaches the whole process group, and the forkserver that
    starts the workers dies on one that comes before it ignores it. ``streamer run`` said
    "the pipeline stopped on an unexpected EOFError", with a traceback."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KILL_THE_FORKSERVER)
    with EmbeddedBroker() as broker:
        env = cli_environment(tmp_path / "data", PYTHONPATH=str(hooks),
                              STREAMER_BOOTSTRAP_SERVERS=broker.bootstrap_servers)  # fmt: skip
        done = streamer("run", "--input-topic", "orders", "--workers", "1", "--log-format",
                        "text", env=env, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the redaction worker processes could not start"), last


def test_counts_of_one_are_singular_in_what_run_says(tmp_path: Path) -> None:
    """'1 records processed', '1 worker(s)', '1 dead letters' read wrong to a user who
    ran one event through; every count says its noun in the number it has."""
    with EmbeddedBroker() as broker:
        servers = broker.bootstrap_servers
        created = streamer("topics", "--bootstrap-servers", servers, "--input-topic", "one.raw",
                           data_dir=tmp_path)  # fmt: skip
        assert created.returncode == 0, created.stderr.decode()
        event = b'{"note": "mail jane@example.com"}\n'
        produced = streamer("produce", "--bootstrap-servers", servers, "--topic", "one.raw",
                            data_dir=tmp_path, stdin=event)  # fmt: skip
        assert produced.stderr.decode() == "produced 1 record (34 bytes) to one.raw\n"
        runner = start_streamer("run", "--bootstrap-servers", servers, "--input-topic",
                                "one.raw", "--workers", "1", "--log-format", "text",
                                data_dir=tmp_path, stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            while not tail_json(servers, "one.clean", data_dir=tmp_path):
                assert runner.poll() is None, "run stopped before publishing"
            runner.send_signal(signal.SIGTERM)
            _, output = runner.communicate(timeout=120)
        finally:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
                runner.wait()
    text = output.decode()
    assert runner.returncode == 0, text[-2000:]
    assert "pipeline started: group pii-streamer.one.clean, 1 worker\n" in text
    last = text.strip().splitlines()[-1]
    assert last == (
        "stopped: 1 record processed (outputs acknowledged); published 1 clean, "
        "0 dead letters, 1 token mapping"
    ), text[-2000:]
