"""The key store: every key scope's keys, wrapped, in one SQLite file (the "key file").

Key hierarchy (envelope encryption)::

    KEK (key provider: local KEK file, variable, AWS KMS, Azure Key Vault)
     └─ root key (random, stored wrapped by the KEK, one wrapping per KEK)
         └─ per scope: a token secret (token and hash keys, via HKDF) and data keys
            v1, v2, ... (encryption keys, via HKDF), random, stored wrapped by the root key

Scope keys are random, never derived from the root, so deleting a scope's rows
(crypto-shredding) makes what they protected unrecoverable. Shredded rows stay as
tombstones without key material, so a ciphertext made with them says "shredded", not
"unknown key". Rotation adds a data key version; the token secret stays, so tokens do
not change. The provider is asked for the KEK only to unwrap the root key, once per
process: worker processes get the plain root key and read scope keys from this file.

Several hosts share one key store through a compacted keys topic
(:mod:`streamer.vault.key_topic`): each row remembers the offset of the topic record
that published it (``topic_offset``) and whether a local change still has to be
published. Where hosts raced, the topic's order decides: a scope's token secret is the
first one published, its active data key the last one.

This lives in the engine so that ``RedactionService()`` with default settings reads
the same key file as the vault and produces the same tokens; the providers that need
cloud SDKs live in :mod:`streamer.vault.providers`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from streamer.redaction.exceptions import KeyMaterialError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# SQLite errors that mean the file cannot be opened or written, not that it is foreign.
_ACCESS_ERRORS = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR")
Purpose = Literal["token", "data"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS root_wrappings (
    root_key_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BLOB,
    created_ms INTEGER NOT NULL,
    topic_offset INTEGER,
    published INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (root_key_id, provider, kek_id)
);
CREATE TABLE IF NOT EXISTS scope_keys (
    key_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('token', 'data')),
    version INTEGER NOT NULL,
    wrapped BLOB,
    root_key_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    shredded_ms INTEGER,
    topic_offset INTEGER,
    published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS scope_keys_by_scope ON scope_keys (scope, purpose);
"""
#: Published rows first, in topic order; then local ones, oldest first: by version, since
#: a scope created and rotated within one millisecond has two keys of the same age.
_ORDER = "(topic_offset IS NULL), topic_offset, version, created_ms, key_id"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class RootWrapping:
    """The root key wrapped by one KEK (``wrapped`` is ``None`` once that KEK is retired)."""

    root_key_id: str
    provider: str
    kek_id: str
    wrapped: bytes | None


@dataclass(frozen=True, slots=True)
class ScopeKeyRecord:
    """One scope key as stored: wrapped by the root key, or a tombstone once shredded."""

    key_id: str
    scope: str
    purpose: Purpose
    version: int
    wrapped: bytes | None
    root_key_id: str
    created_ms: int
    shredded_ms: int | None

    @property
    def shredded(self) -> bool:
        return self.shredded_ms is not None


class Keystore:
    """The key file: SQLite, mode 0600, shared by every process on the host.

    Creating keys is safe across processes (``BEGIN IMMEDIATE``, first writer wins);
    deleted key material is overwritten in the file (``secure_delete``).
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._lock = threading.Lock()

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Keystore:
        """The key store at ``path``; a new empty one (mode 0600) if absent and ``create``."""
        path = path.expanduser()
        if not path.exists():
            if not create:
                raise KeyMaterialError(
                    f"key file {path} does not exist; run any streamer command once to "
                    "create it, or point STREAMER_KEY_FILE (--key-file) at the right file"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise _not_creatable(path, exc) from None
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                log.info("created a new key file", extra={"key_file": str(path)})
            except FileExistsError:
                pass  # another process created it first
            except OSError as exc:
                raise _not_creatable(path, exc) from None
        _warn_if_readable_by_others(path)
        try:
            connection = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute("PRAGMA busy_timeout = 30000")
            with connection:
                connection.executescript(_SCHEMA)
                connection.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('format_version', ?)",
                    (str(FORMAT_VERSION),),
                )
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            version = connection.execute(
                "SELECT value FROM meta WHERE name = 'format_version'"
            ).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "").startswith(_ACCESS_ERRORS):
                raise KeyMaterialError(
                    f"key file {path} cannot be opened for reading and writing ({exc}); "
                    "check the owner and mode of the file and of its directory: the user "
                    "running streamer must be able to write both"
                ) from None
            raise KeyMaterialError(
                f"key file {path} is not a pii-streamer key store; point STREAMER_KEY_FILE "
                "(--key-file) at the right file, or move this one away to start a new key "
                "store (tokens and ciphertexts made with the old one cannot be read then)"
            ) from None
        if int(version) != FORMAT_VERSION:
            raise KeyMaterialError(
                f"key file {path} has format version {version}; this pii-streamer reads "
                f"version {FORMAT_VERSION}: upgrade pii-streamer"
            )
        return cls(path, connection)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading so racing writers serialise."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            else:
                self._db.commit()

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- the root key ----------------------------------------------------------------------

    _ROOT_COLUMNS = "root_key_id, provider, kek_id, wrapped"

    @staticmethod
    def _wrapping(row: Any) -> RootWrapping:
        wrapped = bytes(row[3]) if row[3] is not None else None
        return RootWrapping(str(row[0]), str(row[1]), str(row[2]), wrapped)

    def root_wrappings(self) -> list[RootWrapping]:
        """Live wrappings of the root key, the one in use (the first published) first."""
        rows = self._read(
            f"SELECT {self._ROOT_COLUMNS} FROM root_wrappings WHERE wrapped IS NOT NULL "
            "ORDER BY (topic_offset IS NULL), topic_offset, created_ms"
        )
        wrappings = [self._wrapping(row) for row in rows]
        return (
            [w for w in wrappings if w.root_key_id == wrappings[0].root_key_id] if wrappings else []
        )

    def add_root_key(self, wrapping: RootWrapping) -> RootWrapping:
        """Store a new root key unless one exists; returns the wrapping in the store (the
        given one, or the existing one when another process was first)."""
        with self._write() as db:
            existing = db.execute(
                f"SELECT {self._ROOT_COLUMNS} FROM root_wrappings WHERE wrapped IS NOT NULL "
                "ORDER BY (topic_offset IS NULL), topic_offset, created_ms LIMIT 1"
            ).fetchone()
            if existing is not None:
                return self._wrapping(existing)
            self._insert_wrapping(db, wrapping)
        return wrapping

    def add_root_wrapping(self, wrapping: RootWrapping) -> None:
        """Store another wrapping of the root key (by a new KEK), keeping the others."""
        with self._write() as db:
            self._insert_wrapping(db, wrapping)

    def replace_root_wrappings(self, wrapping: RootWrapping) -> None:
        """Make ``wrapping`` the only live wrapping of its root key (after a KEK rotation);
        the others are retired (their wrapped key is overwritten)."""
        with self._write() as db:
            self._insert_wrapping(db, wrapping)
            db.execute(
                "UPDATE root_wrappings SET wrapped = NULL, published = 0 WHERE root_key_id = ? "
                "AND wrapped IS NOT NULL AND NOT (provider = ? AND kek_id = ?)",
                (wrapping.root_key_id, wrapping.provider, wrapping.kek_id),
            )
            self._bump_generation(db)

    def discard_root_key(self, root_key_id: str) -> None:
        """Forget an unpublished root key that lost the race to be the shared one."""
        with self._write() as db:
            db.execute(
                "DELETE FROM root_wrappings WHERE root_key_id = ? AND topic_offset IS NULL",
                (root_key_id,),
            )

    @staticmethod
    def _insert_wrapping(db: sqlite3.Connection, wrapping: RootWrapping) -> None:
        db.execute(
            "INSERT OR REPLACE INTO root_wrappings "
            "(root_key_id, provider, kek_id, wrapped, created_ms, published) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            (wrapping.root_key_id, wrapping.provider, wrapping.kek_id, wrapping.wrapped, now_ms()),
        )

    # --- scope keys ------------------------------------------------------------------------

    def generation(self) -> int:
        """A counter that grows on every rotation and shred, so processes know to reload."""
        return int(self._read("SELECT value FROM meta WHERE name = 'generation'")[0][0])

    @staticmethod
    def _bump_generation(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'")

    _COLUMNS = "key_id, scope, purpose, version, wrapped, root_key_id, created_ms, shredded_ms"

    @staticmethod
    def _record(row: Any) -> ScopeKeyRecord:
        wrapped = row[4]
        return ScopeKeyRecord(
            str(row[0]), str(row[1]), row[2], int(row[3]),
            bytes(wrapped) if wrapped is not None else None,
            str(row[5]), int(row[6]), row[7],
        )  # fmt: skip

    def scope_keys(self, scope: str) -> list[ScopeKeyRecord]:
        """Every key of ``scope``, shredded ones included, by purpose, in topic order (local
        ones not yet published last)."""
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM scope_keys WHERE scope = ? ORDER BY purpose, {_ORDER}",
            (scope,),
        )
        return [self._record(row) for row in rows]

    def key(self, key_id: str) -> ScopeKeyRecord | None:
        rows = self._read(f"SELECT {self._COLUMNS} FROM scope_keys WHERE key_id = ?", (key_id,))
        return self._record(rows[0]) if rows else None

    def all_keys(self) -> list[ScopeKeyRecord]:
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM scope_keys ORDER BY scope, purpose, version"
        )
        return [self._record(row) for row in rows]

    def scopes(self) -> list[str]:
        return [str(r[0]) for r in self._read("SELECT DISTINCT scope FROM scope_keys ORDER BY 1")]

    def add_scope_keys(self, records: list[ScopeKeyRecord], *, only_if_missing: bool) -> bool:
        """Insert ``records`` in one transaction. With ``only_if_missing``, nothing is
        written when the scope already has a live key of the same purpose (another
        process was first); returns whether they were written."""
        with self._write() as db:
            if only_if_missing:
                for record in records:
                    live = db.execute(
                        "SELECT 1 FROM scope_keys WHERE scope = ? AND purpose = ? AND "
                        "shredded_ms IS NULL",
                        (record.scope, record.purpose),
                    ).fetchone()
                    if live is not None:
                        return False
            for record in records:
                db.execute(
                    "INSERT INTO scope_keys (key_id, scope, purpose, version, wrapped, "
                    "root_key_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (record.key_id, record.scope, record.purpose, record.version,
                     record.wrapped, record.root_key_id, record.created_ms),
                )  # fmt: skip
            if not only_if_missing:
                self._bump_generation(db)
        return True

    def next_version(self, scope: str, purpose: Purpose) -> int:
        rows = self._read(
            "SELECT MAX(version) FROM scope_keys WHERE scope = ? AND purpose = ?", (scope, purpose)
        )
        return int(rows[0][0] or 0) + 1

    def shred(self, scope: str) -> list[str]:
        """Destroy every key of ``scope``; returns the key ids shredded now."""
        with self._write() as db:
            ids = [
                str(row[0])
                for row in db.execute(
                    "SELECT key_id FROM scope_keys WHERE scope = ? AND shredded_ms IS NULL",
                    (scope,),
                )
            ]
            db.execute(
                "UPDATE scope_keys SET wrapped = NULL, shredded_ms = ?, published = 0 "
                "WHERE scope = ? AND shredded_ms IS NULL",
                (now_ms(), scope),
            )
            if ids:
                self._bump_generation(db)
        return ids


class KeystoreReplica:
    """The replication side of a key store (used by :mod:`streamer.vault.key_topic`):
    local changes to publish, records from the keys topic to apply, and the offset
    reading the topic reached."""

    def __init__(self, keystore: Keystore) -> None:
        self.keystore = keystore

    def unpublished(self) -> tuple[list[RootWrapping], list[ScopeKeyRecord]]:
        """Local changes (new keys, shreds, retired wrappings) not published yet."""
        store = self.keystore
        roots = store._read(
            f"SELECT {store._ROOT_COLUMNS} FROM root_wrappings WHERE published = 0 "
            "ORDER BY created_ms"
        )
        keys = store._read(
            f"SELECT {store._COLUMNS} FROM scope_keys WHERE published = 0 ORDER BY created_ms"
        )
        return [store._wrapping(r) for r in roots], [store._record(r) for r in keys]

    def mark_published(self, roots: list[RootWrapping], keys: list[ScopeKeyRecord]) -> None:
        """Record that these changes reached the keys topic (unless changed again since)."""
        with self.keystore._write() as db:
            for root in roots:
                db.execute(
                    "UPDATE root_wrappings SET published = 1 WHERE root_key_id = ? AND "
                    "provider = ? AND kek_id = ? AND wrapped IS ?",
                    (root.root_key_id, root.provider, root.kek_id, root.wrapped),
                )
            for key in keys:
                db.execute(
                    "UPDATE scope_keys SET published = 1 WHERE key_id = ? AND shredded_ms IS ?",
                    (key.key_id, key.shredded_ms),
                )

    def position(self, topic: str) -> int:
        rows = self.keystore._read("SELECT value FROM meta WHERE name = ?", (f"topic:{topic}",))
        return int(rows[0][0]) if rows else 0

    def apply(
        self,
        topic: str,
        next_offset: int,
        records: list[tuple[int, RootWrapping | ScopeKeyRecord]],
    ) -> int:
        """Apply ``(offset, record)`` pairs read from the keys topic and store the offset
        reached, in one transaction; returns how many changed the store."""
        changed = 0
        with self.keystore._write() as db:
            for offset, record in records:
                if isinstance(record, RootWrapping):
                    changed += self._apply_root(db, offset, record)
                else:
                    changed += self._apply_key(db, offset, record)
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"topic:{topic}", str(next_offset))
            )
            if changed:
                Keystore._bump_generation(db)
        return changed

    @staticmethod
    def _apply_root(db: sqlite3.Connection, offset: int, root: RootWrapping) -> int:
        row = db.execute(
            "SELECT wrapped, published FROM root_wrappings WHERE root_key_id = ? AND "
            "provider = ? AND kek_id = ?",
            (root.root_key_id, root.provider, root.kek_id),
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO root_wrappings VALUES (?, ?, ?, ?, ?, ?, 1)",
                (root.root_key_id, root.provider, root.kek_id, root.wrapped, now_ms(), offset),
            )
            return 1
        retire = root.wrapped is None and row[0] is not None
        db.execute(
            "UPDATE root_wrappings SET topic_offset = COALESCE(topic_offset, ?), "
            "wrapped = CASE WHEN ? THEN NULL ELSE wrapped END, "
            "published = CASE WHEN published = 0 AND wrapped IS NOT ? THEN 0 ELSE 1 END "
            "WHERE root_key_id = ? AND provider = ? AND kek_id = ?",
            (offset, retire, root.wrapped, root.root_key_id, root.provider, root.kek_id),
        )
        return 1 if retire else 0

    @staticmethod
    def _apply_key(db: sqlite3.Connection, offset: int, key: ScopeKeyRecord) -> int:
        row = db.execute(
            "SELECT shredded_ms, topic_offset FROM scope_keys WHERE key_id = ?", (key.key_id,)
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO scope_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (key.key_id, key.scope, key.purpose, key.version, key.wrapped,
                 key.root_key_id, key.created_ms, key.shredded_ms, offset),
            )  # fmt: skip
            return 1
        shred = key.shredded and row[0] is None
        db.execute(
            "UPDATE scope_keys SET topic_offset = COALESCE(topic_offset, ?), "
            "wrapped = CASE WHEN ? THEN NULL ELSE wrapped END, "
            "shredded_ms = CASE WHEN ? THEN ? ELSE shredded_ms END, "
            "published = CASE WHEN shredded_ms IS NOT NULL AND ? IS NULL THEN published "
            "ELSE 1 END WHERE key_id = ?",
            (offset, shred, shred, key.shredded_ms, key.shredded_ms, key.key_id),
        )
        return 1 if shred or row[1] is None else 0


def _not_creatable(path: Path, exc: OSError) -> KeyMaterialError:
    return KeyMaterialError(
        f"key file {path} cannot be created ({exc.strerror}: {exc.filename}); "
        f"{path.parent} must be a directory this user can write, or point STREAMER_KEY_FILE "
        "(--key-file) or STREAMER_DATA_DIR at one"
    )


def _warn_if_readable_by_others(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "key file is readable by other users; run: chmod 600 <key file>",
            extra={"key_file": str(path), "mode": oct(mode)},
        )
