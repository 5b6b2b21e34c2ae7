"""The root of every error pii-streamer raises on purpose.

Each area keeps its own ``exceptions.py`` whose classes derive from these. Messages name
the cause and the fix, never a value taken from an event: they end up in logs and on the
dead-letter topic. The CLI turns any ``StreamerError`` into one line and ``exit_code``.
"""

from __future__ import annotations


class StreamerError(Exception):
    """Base of all pii-streamer errors.

    ``exit_code`` is what the CLI exits with; ``retriable`` tells callers (the stream
    runtime, the cloud guard) whether trying the same thing again may succeed.
    """

    exit_code: int = 1
    retriable: bool = False
    #: A short stable name for the failure, used as the dead-letter reason and in metrics.
    code: str = "error"


class ConfigurationError(StreamerError):
    """A setting, topology or policy is missing or invalid; the message names which."""

    exit_code = 2
    code = "configuration"


class DependencyMissingError(ConfigurationError):
    """An optional dependency is not installed; the message names the extra to install."""

    code = "dependency_missing"

    def __init__(self, what: str, package: str, extra: str) -> None:
        super().__init__(
            f"{what} needs the package {package!r}, which is not installed; "
            f"install it with: pip install 'pii-streamer[{extra}]'"
        )
        self.what = what
        self.package = package
        self.extra = extra

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.what, self.package, self.extra))
