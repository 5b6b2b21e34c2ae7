"""The vault store: the token topic materialised into a local SQLite index.

Lookups by token id go to the index instead of scanning the topic. The index holds
what the topic holds (ciphertexts, never plaintext) and the next offset of each
partition, written in the same transaction as the records, so reading resumes where
it stopped and a crash never skips a record. It can be deleted and rebuilt from the
topic at any time (``--rebuild-index``). A record with a null value (a tombstone)
removes its token, as compaction would.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from streamer.errors import ConfigurationError
from streamer.redaction.exceptions import UnmaskError
from streamer.vault.mapping import TokenMapping

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mappings (
    topic TEXT NOT NULL,
    token TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_id TEXT NOT NULL,
    value BLOB NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    PRIMARY KEY (topic, token)
);
CREATE TABLE IF NOT EXISTS positions (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """The parts of a token topic record the index needs."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class ApplyStats:
    """What one batch did to the index."""

    stored: int = 0
    deleted: int = 0
    skipped: int = 0
    #: Partition and offset of the first record skipped, if any.
    first_skipped: tuple[int, int] | None = None

    def skip(self, record: TopicRecord) -> None:
        self.skipped += 1
        if self.first_skipped is None:
            self.first_skipped = (record.partition, record.offset)


class TokenIndex:
    """Token mappings of one token topic by token id, and where reading it stopped."""

    def __init__(self, path: Path, topic: str) -> None:
        self.path = path
        self.topic = topic
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._db:
                self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            raise ConfigurationError(
                f"token index {path} is not a pii-streamer token index; delete it (it is "
                "rebuilt from the token topic) or point STREAMER_VAULT_INDEX elsewhere"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TokenIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reading -----------------------------------------------------------------------

    def get(self, token: str) -> TokenMapping | None:
        """The mapping of ``token``, or ``None`` when the index has none."""
        return self.get_many([token]).get(token)

    def get_many(self, tokens: Iterable[str]) -> dict[str, TokenMapping]:
        """The mappings of those ``tokens`` the index has."""
        wanted = list(dict.fromkeys(tokens))
        found: dict[str, TokenMapping] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT token, value FROM mappings WHERE topic = ? AND token IN ({marks})",
                    (self.topic, *chunk),
                ).fetchall()
                for token, value in rows:
                    found[token] = TokenMapping.from_json(value)
        return found

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM mappings WHERE topic = ?", (self.topic,)
            ).fetchone()
        return int(row[0])

    def positions(self) -> dict[int, int]:
        """The next offset to read, per partition read so far."""
        with self._lock:
            rows = self._db.execute(
                "SELECT partition, next_offset FROM positions WHERE topic = ?", (self.topic,)
            ).fetchall()
        return {int(p): int(o) for p, o in rows}

    # --- writing -----------------------------------------------------------------------

    def apply(self, records: Iterable[TopicRecord], positions: dict[int, int]) -> ApplyStats:
        """Store a batch of records and the partitions' next offsets, atomically.

        A record that is not a token mapping, or whose key is not its token, is skipped
        (and counted, for the reader to report): the index never blocks on one bad record."""
        stats = ApplyStats()
        with self._lock, self._db:
            for record in records:
                if record.key is None:
                    stats.skip(record)
                    continue
                token = record.key.decode("utf-8", "replace")
                if record.value is None:
                    self._db.execute(
                        "DELETE FROM mappings WHERE topic = ? AND token = ?", (self.topic, token)
                    )
                    stats.deleted += 1
                    continue
                try:
                    mapping = TokenMapping.from_json(record.value)
                except UnmaskError:
                    mapping = None
                if mapping is None or mapping.token != token:
                    stats.skip(record)
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO mappings VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.topic, token, mapping.scope, mapping.key_id, record.value,
                     record.partition, record.offset),
                )  # fmt: skip
                stats.stored += 1
            self._db.executemany(
                "INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
                [(self.topic, partition, offset) for partition, offset in positions.items()],
            )
        return stats

    def reset_partition(self, partition: int) -> None:
        """Forget where reading ``partition`` stopped (the topic was recreated)."""
        with self._lock, self._db:
            self._db.execute(
                "DELETE FROM positions WHERE topic = ? AND partition = ?", (self.topic, partition)
            )

    def clear(self) -> None:
        """Empty the index, to rebuild it from the beginning of the topic."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM mappings WHERE topic = ?", (self.topic,))
            self._db.execute("DELETE FROM positions WHERE topic = ?", (self.topic,))
