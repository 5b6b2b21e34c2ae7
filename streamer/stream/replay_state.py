"""A replay's saved progress: one JSON file per replay id, never a consumer group.

A replay commits like ``streamer run`` does (:class:`~streamer.stream.checkpoint.
CommitCheckpoint`: offsets only after everything made from them is acknowledged), but
its committer writes the offsets to ``<replay_dir>/<replay id>.json`` instead of a
group, so it can never move a live group's offsets. The file also holds what the replay
was started with (the resolved offset range, the topics, the policy), so ``--resume``
continues exactly that replay, with relative timestamps such as ``-2h`` as they were
at its start. Each write replaces the file atomically (write, fsync, rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from aiokafka import TopicPartition

from streamer.stream.exceptions import ReplayStateError
from streamer.stream.ranges import PartitionRange

SCHEMA_VERSION = 1
_REPLAY_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")

Status = Literal["running", "completed"]


def check_replay_id(replay_id: str) -> str:
    """``replay_id`` if it is usable as a file name; else a clear error."""
    if not _REPLAY_ID.match(replay_id) or replay_id in (".", ".."):
        raise ReplayStateError(
            f"--replay-id {replay_id!r} is not a valid id; use 1 to 200 letters, digits, "
            "'.', '_' or '-'"
        )
    return replay_id


def default_replay_id(input_topic: str, output_topic: str) -> str:
    """``<input>-to-<output>``: one replay per pair of topics unless named otherwise."""
    name = f"{input_topic}-to-{output_topic}"
    if len(name) > 200:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        name = f"{name[:180]}-{digest}"
    return name


@dataclass
class ReplayState:
    """What a replay was started with and how far it got."""

    replay_id: str
    input_topic: str
    output_topic: str
    token_topic: str
    dlq_topic: str
    policy_version: str
    #: SHA-256 of the policy's canonical JSON: resuming under another policy is refused.
    policy_sha256: str
    #: The resolved range, per partition: ``[start, stop)``.
    ranges: dict[int, tuple[int, int]]
    #: How the range was asked for (flags), for people reading the file.
    asked: str = ""
    #: How records were read, ``json`` or ``text`` (``None``: a file from before it was
    #: kept): resuming in the other format is refused.
    event_format: str | None = None
    #: Per partition, the next offset to replay (everything before it is acknowledged).
    next_offsets: dict[int, int] = field(default_factory=dict)
    status: Status = "running"
    created_at: str = field(default_factory=lambda: _now())
    updated_at: str = field(default_factory=lambda: _now())

    def remaining(self) -> list[PartitionRange]:
        """What is left to replay, per partition (empty ranges left out)."""
        left = []
        for partition, (start, stop) in sorted(self.ranges.items()):
            begin = max(start, self.next_offsets.get(partition, start))
            if begin < stop:
                left.append(PartitionRange(partition, begin, stop))
        return left

    @property
    def total(self) -> int:
        """Offsets in the whole range."""
        return sum(max(0, stop - start) for start, stop in self.ranges.values())

    @property
    def done(self) -> int:
        """Offsets of the range already replayed and acknowledged."""
        if self.status == "completed":
            return self.total
        done = 0
        for partition, (start, stop) in self.ranges.items():
            done += max(0, min(self.next_offsets.get(partition, start), stop) - start)
        return done

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "replay_id": self.replay_id,
            "status": self.status,
            "input_topic": self.input_topic,
            "output_topic": self.output_topic,
            "token_topic": self.token_topic,
            "dlq_topic": self.dlq_topic,
            "policy_version": self.policy_version,
            "policy_sha256": self.policy_sha256,
            "asked": self.asked,
            "format": self.event_format,
            "partitions": {
                str(partition): {
                    "start": start,
                    "stop": stop,
                    "next": self.next_offsets.get(partition, start),
                }
                for partition, (start, stop) in sorted(self.ranges.items())
            },
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, value: bytes, source: str) -> ReplayState:
        try:
            document = orjson.loads(value)
            if document.get("schema_version") != SCHEMA_VERSION:
                raise ValueError("schema version")
            partitions = {int(p): entry for p, entry in document["partitions"].items()}
            return cls(
                replay_id=document["replay_id"],
                input_topic=document["input_topic"],
                output_topic=document["output_topic"],
                token_topic=document["token_topic"],
                dlq_topic=document["dlq_topic"],
                policy_version=document["policy_version"],
                policy_sha256=document["policy_sha256"],
                ranges={p: (int(e["start"]), int(e["stop"])) for p, e in partitions.items()},
                asked=document.get("asked", ""),
                event_format=document.get("format"),
                next_offsets={p: int(e["next"]) for p, e in partitions.items()},
                status=document["status"],
                created_at=document["created_at"],
                updated_at=document["updated_at"],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise ReplayStateError(
                f"replay state file {source} is damaged or from another version; delete it "
                "and start the replay over with --restart"
            ) from None


class ReplayStateStore:
    """Replay state files in one directory; a lock file per replay id keeps two
    processes from running the same replay at once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, replay_id: str) -> Path:
        return self.directory / f"{check_replay_id(replay_id)}.json"

    def load(self, replay_id: str) -> ReplayState | None:
        path = self.path(replay_id)
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ReplayStateError(
                f"cannot read replay state file {path}: {exc.strerror}; check its permissions "
                "or point --replay-dir (STREAMER_REPLAY_DIR) elsewhere"
            ) from None
        return ReplayState.from_json(value, str(path))

    def save(self, state: ReplayState) -> None:
        """Replace the state file atomically: a crash leaves the old or the new one."""
        state.updated_at = _now()
        path = self.path(state.replay_id)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                handle.write(state.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise ReplayStateError(
                f"cannot write replay state file {path}: {exc.strerror}; check the directory "
                "or point --replay-dir (STREAMER_REPLAY_DIR) elsewhere"
            ) from None

    def discard(self, replay_id: str) -> None:
        """Forget the replay: remove its state file, if there is one and it can be."""
        with contextlib.suppress(OSError):
            self.path(replay_id).unlink(missing_ok=True)

    def known(self) -> list[str]:
        """Ids of the replays with a state file here."""
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.json"))

    @contextlib.contextmanager
    def lock(self, replay_id: str) -> Iterator[None]:
        """Hold the replay id for this process; refuse when another process holds it."""
        path = self.directory / f"{check_replay_id(replay_id)}.lock"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = path.open("a+")
        except OSError as exc:
            raise ReplayStateError(
                f"cannot create the replay lock file {path}: {exc.strerror}; check the "
                "directory or point --replay-dir (STREAMER_REPLAY_DIR) elsewhere"
            ) from None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ReplayStateError(
                    f"replay {replay_id!r} is running in another process; wait for it to end "
                    "or give this one another --replay-id"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class ReplayProgressCommitter:
    """The replay's :class:`~streamer.stream.checkpoint.OffsetCommitter`: committed offsets
    go to its state file, not to a consumer group."""

    def __init__(self, store: ReplayStateStore, state: ReplayState) -> None:
        self._store = store
        self.state = state

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            current = self.state.next_offsets.get(tp.partition, -1)
            self.state.next_offsets[tp.partition] = max(current, offset)
        self._store.save(self.state)


class DiscardingCommitter:
    """For a dry run: nothing to remember, nothing to resume."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = [
    "DiscardingCommitter",
    "ReplayProgressCommitter",
    "ReplayState",
    "ReplayStateStore",
    "check_replay_id",
    "default_replay_id",
]
