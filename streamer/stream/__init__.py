"""The Kafka runtime: raw topics in; clean, token and dead-letter topics out.

Reading guide:

- ``topology``: what a pipeline reads and writes, validated against
  ``schemas/topology.schema.json``; ``connection``: how clients reach Kafka.
- ``runtime``: the consume -> redact -> publish -> commit loop and its lanes.
- ``pool`` / ``processor``: the worker processes and the work they do on a batch.
- ``cloud_stage``: cloud detection for each batch before the pool (topology ``cloud:``).
- ``backpressure``: the one rule bounding in-flight work (pause, resume).
- ``checkpoint``: the one commit protocol (offsets only after acknowledgement).
- ``sinks`` / ``headers`` / ``dead_letter``: what is published, where, and how.
- ``admin``: topic creation; ``stats``: counters for metrics; ``tools``: produce, tail.
- ``replay``: ``streamer replay``, a runtime over a fixed range without a group;
  ``ranges``: its bounds and their offsets; ``replay_state``: its saved progress;
  ``dry_run``: what it would publish, compared with the clean topic.
"""

from streamer.stream.backpressure import Backpressure
from streamer.stream.checkpoint import CommitCheckpoint
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.exceptions import (
    CheckpointError,
    ExactlyOnceUnsupportedError,
    KafkaUnavailableError,
    ProduceError,
    ReplayError,
    ReplayRangeError,
    ReplayStateError,
    StreamError,
    TopologyError,
)
from streamer.stream.replay import ReplayReport, ReplayRequest, ReplayRuntime, run_replay
from streamer.stream.runtime import StreamRuntime, run_pipeline
from streamer.stream.stats import StreamStats
from streamer.stream.topology import Topology

__all__ = [
    "Backpressure",
    "CheckpointError",
    "CommitCheckpoint",
    "DeadLetter",
    "ExactlyOnceUnsupportedError",
    "KafkaUnavailableError",
    "ProduceError",
    "ReplayError",
    "ReplayRangeError",
    "ReplayReport",
    "ReplayRequest",
    "ReplayRuntime",
    "ReplayStateError",
    "StreamError",
    "StreamRuntime",
    "StreamStats",
    "Topology",
    "TopologyError",
    "run_pipeline",
    "run_replay",
]
