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
    "__version__",
]
