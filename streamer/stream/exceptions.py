"""Errors of the Kafka runtime. Messages name the setting or topic and the fix, never a
value from an event."""

from __future__ import annotations

from streamer.errors import ConfigurationError, StreamerError


class StreamError(StreamerError):
    """The stream runtime could not go on."""

    code = "stream"


class TopologyError(ConfigurationError):
    """A topology file is invalid; the message names the file, the path in it and the reason."""

    code = "invalid_topology"


class KafkaUnavailableError(StreamError):
    """The Kafka cluster could not be reached or refused the request."""

    code = "kafka_unavailable"
    retriable = True
    exit_code = 4


class TopicNameError(ConfigurationError):
    """A topic name Kafka refuses (``--topic 'orders raw'``); the message names the flag."""

    code = "invalid_topic_name"


class ExactlyOnceUnsupportedError(ConfigurationError):
    """``--exactly-once`` was asked for, but the broker does not support transactions."""

    code = "transactions_unsupported"


class ProduceError(StreamError):
    """A clean, token or dead-letter record was not acknowledged; nothing after it is
    committed, so the records are processed again after a restart."""

    code = "produce_failed"
    exit_code = 4


class CheckpointError(StreamError):
    """The commit protocol was asked to do something that could lose records, such as
    committing an offset that goes backwards; this is a bug, not bad input."""

    code = "checkpoint"
    exit_code = 70


class ReplayError(ConfigurationError):
    """A replay cannot run as asked (a missing topic, an output topic that is its input);
    the message names the flag and the fix."""

    code = "replay"


class ReplayRangeError(ReplayError):
    """The range to replay is invalid: an unreadable offset or timestamp, a start after
    the stop, or partitions the topic does not have."""

    code = "invalid_replay_range"


class ReplayStateError(ReplayError):
    """A replay's saved progress conflicts with what was asked (resuming a replay that
    was never started, starting over an unfinished one, resuming under another policy),
    is held by another process, or cannot be read."""

    code = "replay_state"
