"""Key management behind ``streamer keys``: list, create, rotate, shred, re-wrap.

- **rotate** adds a data key version to a scope: new ciphertexts use it, old ones still
  decrypt (they name their key). Tokens do not change: they come from the scope's
  token secret, which rotation leaves alone.
- **shred** destroys every key of a scope (crypto-shredding, for erasure requests):
  originals protected by them cannot be recovered, and the scope's tokens cannot be
  recomputed. The next record of that scope gets new keys, and new tokens.
- **rotate the KEK** re-wraps the root key with a new key-encryption key (a new KEK
  file, the KMS key's current version, or another provider).

Running processes notice rotations and shreds within ``key_refresh_seconds``.
"""

from __future__ import annotations

import fnmatch
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from streamer.errors import ConfigurationError
from streamer.redaction.envelope import (
    EnvelopeKeyring,
    KeyProvider,
    LocalKek,
    root_context,
)
from streamer.redaction.keystore import Keystore, RootWrapping, ScopeKeyRecord


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    """One key scope as ``streamer keys list`` shows it. Never key material."""

    scope: str
    token_key_id: str | None
    active_key_id: str | None
    data_key_ids: tuple[str, ...]
    shredded_key_ids: tuple[str, ...]
    created_ms: int
    rotated_ms: int | None

    @property
    def state(self) -> str:
        return "active" if self.active_key_id is not None else "shredded"


@dataclass(frozen=True, slots=True)
class Rotation:
    scope: str
    old_key_id: str
    new_key_id: str


def summarize(records: list[ScopeKeyRecord]) -> ScopeSummary:
    live = [r for r in records if not r.shredded]
    token = [r for r in live if r.purpose == "token"]
    data = [r for r in live if r.purpose == "data"]
    return ScopeSummary(
        scope=records[0].scope,
        token_key_id=token[-1].key_id if token else None,
        active_key_id=data[-1].key_id if data else None,
        data_key_ids=tuple(r.key_id for r in data),
        shredded_key_ids=tuple(r.key_id for r in records if r.shredded),
        created_ms=min(r.created_ms for r in records),
        rotated_ms=data[-1].created_ms if len(data) > 1 else None,
    )


def list_scopes(keystore: Keystore, patterns: list[str] | None = None) -> list[ScopeSummary]:
    """Every scope (matching a ``*`` pattern, when given) and its keys."""
    by_scope: dict[str, list[ScopeKeyRecord]] = {}
    for record in keystore.all_keys():
        by_scope.setdefault(record.scope, []).append(record)
    return [
        summarize(records)
        for scope, records in by_scope.items()
        if not patterns or any(fnmatch.fnmatchcase(scope, p) for p in patterns)
    ]


def resolve_scopes(
    keystore: Keystore, scopes: list[str], *, prefix: str | None = None
) -> list[str]:
    """The scopes named, plus those starting with ``prefix``; each must exist."""
    known = set(keystore.scopes())
    missing = [s for s in scopes if s not in known]
    if missing:
        raise ConfigurationError(
            f"no keys for scope(s) {', '.join(map(repr, missing))} in key file "
            f"{keystore.path}; see the scopes with: streamer keys list"
        )
    chosen = list(dict.fromkeys(scopes))
    if prefix is not None:
        chosen += [s for s in sorted(known) if s.startswith(prefix) and s not in chosen]
        if not chosen:
            raise ConfigurationError(f"no scope starts with {prefix!r}; see: streamer keys list")
    return chosen


def create_scopes(keyring: EnvelopeKeyring, scopes: list[str]) -> list[ScopeSummary]:
    """Create keys for scopes that have none (ahead of use, for several hosts)."""
    if not all(scope.strip() for scope in scopes):
        raise ConfigurationError(
            "a key scope name is empty (an unset variable?); records with an empty scope "
            "use the topology's default scope, so name a tenant or subject"
        )
    for scope in scopes:
        keyring.ensure_scope(scope)
    keystore = keyring.keystore
    return [summarize(keystore.scope_keys(scope)) for scope in scopes]


def rotate_scopes(keyring: EnvelopeKeyring, scopes: list[str]) -> list[Rotation]:
    """Add a data key version to each scope; its tokens stay the same."""
    keystore = keyring.keystore
    rotations = []
    for scope in scopes:
        summary = summarize(keystore.scope_keys(scope))
        if summary.active_key_id is None:
            raise ConfigurationError(
                f"scope {scope!r} was shredded; it gets new keys when next used"
            )
        record, _ = keyring.wrap_scope_key(scope, "data", keystore.next_version(scope, "data"))
        keystore.add_scope_keys([record], only_if_missing=False)
        rotations.append(Rotation(scope, summary.active_key_id, record.key_id))
    keyring.refresh(force=True)
    return rotations


def shred_scopes(keystore: Keystore, scopes: list[str]) -> dict[str, list[str]]:
    """Destroy every key of each scope; returns the key ids destroyed, per scope."""
    return {scope: keystore.shred(scope) for scope in scopes}


def rewrap_root(keyring: EnvelopeKeyring, provider: KeyProvider) -> RootWrapping:
    """The keyring's root key wrapped by ``provider``."""
    wrapped = provider.wrap(keyring.root_key, context=root_context(keyring.root_key_id))
    return RootWrapping(keyring.root_key_id, provider.name, wrapped.kek_id, wrapped.ciphertext)


def rotate_kek(keyring: EnvelopeKeyring, provider: KeyProvider) -> RootWrapping:
    """Re-wrap the root key with ``provider`` and drop every other wrapping. Scope keys,
    tokens and ciphertexts do not change."""
    wrapping = rewrap_root(keyring, provider)
    keyring.keystore.replace_root_wrappings(wrapping)
    return wrapping


def rotate_kek_file(keyring: EnvelopeKeyring, kek_file: Path) -> RootWrapping:
    """Replace the local KEK file with a new random KEK and re-wrap the root key with it.

    Crash-safe: the new wrapping is stored next to the old one before the file is
    replaced, and the old wrapping is dropped only after."""
    secret = secrets.token_bytes(32)
    new_kek = LocalKek(secret, "file")
    wrapping = rewrap_root(keyring, new_kek)
    keyring.keystore.add_root_wrapping(wrapping)
    temporary = kek_file.with_name(kek_file.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, kek_file)
    keyring.keystore.replace_root_wrappings(wrapping)
    return wrapping
