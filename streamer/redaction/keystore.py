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
from typing import Literal

from streamer.redaction.exceptions import KeyMaterialError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
Purpose = Literal["token", "data"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS root_wrappings (
    root_key_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
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
    UNIQUE (scope, purpose, version)
);
CREATE INDEX IF NOT EXISTS scope_keys_by_scope ON scope_keys (scope, purpose, version);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class RootWrapping:
    """The root key wrapped by one KEK."""

    root_key_id: str
    provider: str
    kek_id: str
    wrapped: bytes


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
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                log.info("created a new key file", extra={"key_file": str(path)})
            except FileExistsError:
                pass  # another process created it first
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
        except sqlite3.DatabaseError:
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

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- the root key ----------------------------------------------------------------------

    def root_wrappings(self) -> list[RootWrapping]:
        rows = self._read(
            "SELECT root_key_id, provider, kek_id, wrapped FROM root_wrappings ORDER BY created_ms"
        )
        return [RootWrapping(str(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]  # type: ignore[arg-type]

    def add_root_key(self, wrapping: RootWrapping) -> RootWrapping:
        """Store a new root key unless one exists; returns the wrapping in the store (the
        given one, or the existing one when another process was first)."""
        with self._write() as db:
            existing = db.execute(
                "SELECT root_key_id, provider, kek_id, wrapped FROM root_wrappings LIMIT 1"
            ).fetchone()
            if existing is not None:
                return RootWrapping(
                    str(existing[0]), str(existing[1]), str(existing[2]), existing[3]
                )
            self._insert_wrapping(db, wrapping)
        return wrapping

    def add_root_wrapping(self, wrapping: RootWrapping) -> None:
        """Store another wrapping of the root key (by a new KEK), keeping the others."""
        with self._write() as db:
            self._insert_wrapping(db, wrapping)

    def replace_root_wrappings(self, wrapping: RootWrapping) -> None:
        """Make ``wrapping`` the only wrapping of its root key (after a KEK rotation)."""
        with self._write() as db:
            self._insert_wrapping(db, wrapping)
            db.execute(
                "DELETE FROM root_wrappings WHERE root_key_id = ? AND NOT "
                "(provider = ? AND kek_id = ?)",
                (wrapping.root_key_id, wrapping.provider, wrapping.kek_id),
            )
            self._bump_generation(db)

    @staticmethod
    def _insert_wrapping(db: sqlite3.Connection, wrapping: RootWrapping) -> None:
        db.execute(
            "INSERT OR REPLACE INTO root_wrappings VALUES (?, ?, ?, ?, ?)",
            (wrapping.root_key_id, wrapping.provider, wrapping.kek_id, wrapping.wrapped, now_ms()),
        )

    # --- scope keys ------------------------------------------------------------------------

    def generation(self) -> int:
        """A counter that grows on every rotation and shred, so processes know to reload."""
        return int(self._read("SELECT value FROM meta WHERE name = 'generation'")[0][0])  # type: ignore[arg-type]

    @staticmethod
    def _bump_generation(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'")

    _COLUMNS = "key_id, scope, purpose, version, wrapped, root_key_id, created_ms, shredded_ms"

    @staticmethod
    def _record(row: tuple[object, ...]) -> ScopeKeyRecord:
        wrapped = row[4]
        return ScopeKeyRecord(
            str(row[0]), str(row[1]), row[2], int(row[3]),  # type: ignore[arg-type]
            bytes(wrapped) if wrapped is not None else None,  # type: ignore[arg-type]
            str(row[5]), int(row[6]), row[7],  # type: ignore[arg-type]
        )  # fmt: skip

    def scope_keys(self, scope: str) -> list[ScopeKeyRecord]:
        """Every key of ``scope``, shredded ones included, oldest first."""
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM scope_keys WHERE scope = ? ORDER BY purpose, version",
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
                    "INSERT INTO scope_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.key_id, record.scope, record.purpose, record.version,
                     record.wrapped, record.root_key_id, record.created_ms, None),
                )  # fmt: skip
            if not only_if_missing:
                self._bump_generation(db)
        return True

    def next_version(self, scope: str, purpose: Purpose) -> int:
        rows = self._read(
            "SELECT MAX(version) FROM scope_keys WHERE scope = ? AND purpose = ?", (scope, purpose)
        )
        return int(rows[0][0] or 0) + 1  # type: ignore[call-overload]

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
                "UPDATE scope_keys SET wrapped = NULL, shredded_ms = ? "
                "WHERE scope = ? AND shredded_ms IS NULL",
                (now_ms(), scope),
            )
            if ids:
                self._bump_generation(db)
        return ids


def _warn_if_readable_by_others(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "key file is readable by other users; run: chmod 600 <key file>",
            extra={"key_file": str(path), "mode": oct(mode)},
        )
