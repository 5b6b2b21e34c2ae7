"""pii-streamer: keeps personal data out of Kafka event streams.

Reading guide (one package per part of the data flow):

- ``redaction/``: the engine. Detectors, the merge rule, policy actions, tokens,
  ``RedactionService``. Knows nothing of Kafka; usable as a library.
- ``vault/``: token ids, envelope encryption, key providers, the mapping store, unmask.
- ``cloud/``: Azure AI Language and AWS Comprehend detectors, their guard, emulators.
- ``stream/``: the Kafka runtime: consumer loop, worker pool, backpressure, sinks,
  commits, replay, topic admin.
- ``observability/``: metrics, health, logging without personal data.
- ``broker.py``: the embedded Kafka-compatible broker; ``cli.py``: the ``streamer`` command.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamer.cloud import CloudConfig, CloudDetection
    from streamer.errors import ConfigurationError, DependencyMissingError, StreamerError
    from streamer.redaction import (
        DETECTORS,
        Detector,
        DetectorRegistry,
        EventResult,
        PatternDetector,
        Policy,
        RedactionResult,
        RedactionService,
        Span,
        Token,
    )
    from streamer.redaction.exceptions import (
        InvalidEventError,
        PolicyError,
        RecordTooLargeError,
        RedactionError,
        UnmaskError,
    )
    from streamer.settings import StreamerSettings
    from streamer.stream import (
        DeadLetter,
        ExactlyOnceUnsupportedError,
        KafkaUnavailableError,
        ProduceError,
        StreamError,
        StreamRuntime,
        Topology,
        TopologyError,
    )
    from streamer.vault.exceptions import (
        KeyShreddedError,
        ScopeNotAllowedError,
        TamperedCiphertextError,
        UnknownTokenError,
        WrongKeyError,
    )

#: Where each public name lives: imported on first use, so that ``import streamer`` (and
#: the ``streamer`` command, which must see a Ctrl-C from its first moment) stays quick.
_EXPORTS = {
    "CloudConfig": "streamer.cloud",
    "CloudDetection": "streamer.cloud",
    "ConfigurationError": "streamer.errors",
    "DependencyMissingError": "streamer.errors",
    "StreamerError": "streamer.errors",
    "DETECTORS": "streamer.redaction",
    "Detector": "streamer.redaction",
    "DetectorRegistry": "streamer.redaction",
    "EventResult": "streamer.redaction",
    "PatternDetector": "streamer.redaction",
    "Policy": "streamer.redaction",
    "RedactionResult": "streamer.redaction",
    "RedactionService": "streamer.redaction",
    "Span": "streamer.redaction",
    "Token": "streamer.redaction",
    "InvalidEventError": "streamer.redaction.exceptions",
    "PolicyError": "streamer.redaction.exceptions",
    "RecordTooLargeError": "streamer.redaction.exceptions",
    "RedactionError": "streamer.redaction.exceptions",
    "UnmaskError": "streamer.redaction.exceptions",
    "StreamerSettings": "streamer.settings",
    "DeadLetter": "streamer.stream",
    "ExactlyOnceUnsupportedError": "streamer.stream",
    "KafkaUnavailableError": "streamer.stream",
    "ProduceError": "streamer.stream",
    "StreamError": "streamer.stream",
    "StreamRuntime": "streamer.stream",
    "Topology": "streamer.stream",
    "TopologyError": "streamer.stream",
    "KeyShreddedError": "streamer.vault.exceptions",
    "ScopeNotAllowedError": "streamer.vault.exceptions",
    "TamperedCiphertextError": "streamer.vault.exceptions",
    "UnknownTokenError": "streamer.vault.exceptions",
    "WrongKeyError": "streamer.vault.exceptions",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    # the engine
    "RedactionService",
    "RedactionResult",
    "EventResult",
    "Token",
    "Policy",
    # extending it
    "Detector",
    "PatternDetector",
    "DetectorRegistry",
    "DETECTORS",
    "Span",
    # the Kafka stream processor
    "StreamRuntime",
    "Topology",
    "DeadLetter",
    # cloud detection
    "CloudDetection",
    "CloudConfig",
    # settings
    "StreamerSettings",
    # errors
    "StreamerError",
    "ConfigurationError",
    "DependencyMissingError",
    "RedactionError",
    "RecordTooLargeError",
    "InvalidEventError",
    "PolicyError",
    "UnmaskError",
    "StreamError",
    "TopologyError",
    "KafkaUnavailableError",
    "ProduceError",
    "ExactlyOnceUnsupportedError",
    # re-identification errors (the vault: streamer.vault)
    "UnknownTokenError",
    "WrongKeyError",
    "TamperedCiphertextError",
    "KeyShreddedError",
    "ScopeNotAllowedError",
    "__version__",
]
