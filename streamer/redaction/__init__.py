"""The redaction engine: detectors, the merge rule, policy actions, tokens, the service.

Reading guide:

- ``spans`` / ``detector`` / ``registry`` / ``detectors/``: finding entities.
- ``merge``: the one rule for overlapping spans.
- ``policy`` / ``actions`` / ``tokens`` / ``keys``: what replaces them, keyed how.
- ``structured`` / ``chunking``: JSON events and long texts.
- ``engine``: the synchronous core; ``service``: the library API and worker pool.

Nothing here knows about Kafka, asyncio runtimes or the CLI.
"""

from streamer.redaction.detector import Detector, PatternDetector
from streamer.redaction.detectors import DETECTORS
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.policy import Policy
from streamer.redaction.registry import DetectorRegistry
from streamer.redaction.result import EventResult, PayloadOutcome, RedactionResult, Token
from streamer.redaction.service import RedactionService
from streamer.redaction.spans import Span

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorRegistry",
    "EventResult",
    "PatternDetector",
    "PayloadOutcome",
    "Policy",
    "RedactionEngine",
    "RedactionResult",
    "RedactionService",
    "Span",
    "Token",
]
