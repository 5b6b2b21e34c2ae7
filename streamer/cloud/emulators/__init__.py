"""Local emulators of Azure AI Language and AWS Comprehend PII detection.

Real SDK clients talk to them unmodified; they detect with the local engine and can add
latency, errors, throttling and outages. ``streamer emulate azure|aws --port N`` runs one;
tests start them in process (``async with AzureLanguageEmulator().running() as e``).
"""

from streamer.cloud.emulators.aws import ComprehendEmulator
from streamer.cloud.emulators.azure import AzureLanguageEmulator
from streamer.cloud.emulators.base import (
    Emulator,
    EmulatorSettings,
    EmulatorStats,
    build_engine,
)
from streamer.redaction.exceptions import UnknownNameError

EMULATORS: dict[str, type[Emulator]] = {
    "azure": AzureLanguageEmulator,
    "aws": ComprehendEmulator,
}


def emulator_class(service: str) -> type[Emulator]:
    """The emulator of ``service`` (``azure`` or ``aws``)."""
    try:
        return EMULATORS[service]
    except KeyError:
        raise UnknownNameError("emulated service", service, list(EMULATORS)) from None


__all__ = [
    "EMULATORS",
    "AzureLanguageEmulator",
    "ComprehendEmulator",
    "Emulator",
    "EmulatorSettings",
    "EmulatorStats",
    "build_engine",
    "emulator_class",
]
