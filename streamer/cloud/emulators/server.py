"""Running an emulator: in the foreground (``streamer emulate``) or as a child process.

:class:`EmulatorProcess` starts ``python -m streamer emulate ...`` in a process of its
own, so the emulator's detection does not compete with the client's event loop (the
benchmark, tests that want that), and talks to its control endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

from streamer.cloud.emulators.base import Emulator

READY_PREFIX = "emulator listening on "


async def serve_until_stopped(emulator: Emulator, ready: Callable[[Emulator], None]) -> None:
    """Serve until SIGINT/SIGTERM; ``ready`` is called once the port is bound."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with emulator.running():
        ready(emulator)
        await stop.wait()


class EmulatorProcess:
    """An emulator in a child process: ``with EmulatorProcess("aws", latency_ms=50) as e:``."""

    def __init__(self, service: str, *, startup_timeout: float = 60.0, **options: Any) -> None:
        self.service = service
        self.options = options
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "streamer", "emulate", self.service, "--port", "0"]
        for name, value in self.options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                command.append(flag)
            elif isinstance(value, list | tuple):  # a repeatable option
                for item in value:
                    command.extend([flag, str(item)])
            elif value not in (None, False):
                command.extend([flag, str(value)])
        return command

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].split()[0]
                return
        self.stop()
        raise RuntimeError(f"the {self.service} emulator exited before it was ready")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _call(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"Content-Type": "application/json"},
            method="POST" if data is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change the emulator's :class:`EmulatorSettings` while it runs."""
        return self._call("/_emulator/settings", settings)

    def stats(self) -> dict[str, Any]:
        return self._call("/_emulator/stats")

    def reset(self) -> None:
        self._call("/_emulator/reset", {})

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
