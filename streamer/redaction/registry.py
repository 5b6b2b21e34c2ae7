"""Detectors by name, like Presidio's recognizer registry.

Policies and ``RedactionService(detectors=[...])`` select detectors by name. Every
built-in registers in :mod:`streamer.redaction.detectors`; register your own with
``DETECTORS.register("name", factory)``. A factory takes the settings and returns a
ready detector; ``available`` says whether its dependencies are installed (and
``installed``, given the settings, whether what the settings name is, such as a model),
and ``default`` whether it runs when nobody named the detectors to use. ``missing``
says, given the settings, what is not installed (a message naming the setting and the
package), so a default detector that cannot run is reported rather than silently left out
(:meth:`DetectorRegistry.skipped_defaults`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streamer.redaction.detector import Detector
from streamer.redaction.exceptions import UnknownNameError
from streamer.settings import StreamerSettings

DetectorFactory = Callable[[StreamerSettings], Detector]


def _always() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class DetectorEntry:
    """How to build one detector, and when it runs."""

    name: str
    factory: DetectorFactory
    entities: tuple[str, ...]
    default: bool = True
    available: Callable[[], bool] = _always
    installed: Callable[[StreamerSettings], bool] | None = None
    missing: Callable[[StreamerSettings], str | None] | None = None

    def usable(self, settings: StreamerSettings | None) -> bool:
        """Whether the detector can be built here (with ``settings``, when given)."""
        if not self.available():
            return False
        return settings is None or self.installed is None or self.installed(settings)


class DetectorRegistry:
    """Detector factories by name, in registration order."""

    def __init__(self) -> None:
        self._entries: dict[str, DetectorEntry] = {}

    def register(
        self,
        name: str,
        factory: DetectorFactory,
        *,
        entities: tuple[str, ...] = (),
        default: bool = True,
        available: Callable[[], bool] = _always,
        installed: Callable[[StreamerSettings], bool] | None = None,
        missing: Callable[[StreamerSettings], str | None] | None = None,
    ) -> None:
        """Add (or replace) the detector called ``name``."""
        self._entries[name] = DetectorEntry(
            name, factory, entities, default, available, installed, missing
        )

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> DetectorEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError("detector", name, self.names()) from None

    def default_names(self, settings: StreamerSettings | None = None) -> list[str]:
        """Detectors that run when none are named: the default ones that are installed."""
        return [e.name for e in self._entries.values() if e.default and e.usable(settings)]

    def skipped_defaults(self, settings: StreamerSettings) -> list[tuple[DetectorEntry, str]]:
        """Default detectors whose libraries are installed but not what ``settings`` name
        (a model), each with what is missing: they would run, were it installed."""
        skipped = []
        for entry in self._entries.values():
            if entry.default and entry.available() and not entry.usable(settings):
                reason = entry.missing(settings) if entry.missing is not None else None
                skipped.append((entry, reason or "what it needs is not installed"))
        return skipped

    def create(self, name: str, settings: StreamerSettings) -> Detector:
        """Build the detector called ``name``."""
        return self.entry(name).factory(settings)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
