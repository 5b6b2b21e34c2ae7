"""Re-identification: turning tokens (and inline ciphertexts) back into originals, for a
caller allowed the tokens' key scopes, with an audit record for every request.

The order of one request (:meth:`Reidentifier.restore`):

1. find the distinct tokens and inline ciphertexts;
2. look tokens up in the token index, catching up with the token topic once on a miss;
3. refuse those whose key scope the caller is not allowed (before any decryption);
4. decrypt the rest (the ciphertext is bound to its token id and names its key);
5. write the audit record and wait for the broker's acknowledgement;
6. only then hand out the originals.

``strict`` requests fail as a whole on the first problem (nothing is restored); others
restore what they can and leave the rest as they were, reporting why.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from streamer.redaction.actions import ENCRYPTED_PATTERN
from streamer.redaction.keys import Keyring, unpack_blob
from streamer.redaction.tokens import TOKEN_PATTERN, decode_value
from streamer.vault.audit import Action, Actor, AuditEvent, AuditLog, Outcome
from streamer.vault.exceptions import (
    ScopeNotAllowedError,
    TamperedCiphertextError,
    UnknownTokenError,
    UnmaskError,
    WrongKeyError,
)
from streamer.vault.store import TokenIndex
from streamer.vault.token_topic import TokenTopicReader

#: A token id or an inline ciphertext, as the engine writes them.
REPLACEMENT_PATTERN = re.compile(f"{TOKEN_PATTERN.pattern}|{ENCRYPTED_PATTERN.pattern}")
#: A token shortened for display (``[EMAIL_ADDRESS_0e6f...]``) or cut off: not a token, so
#: nothing restores it, and without a word it would pass through as if there were none.
SHORTENED_TOKEN_PATTERN = re.compile(
    r"\[[A-Z][A-Z0-9_]*?_[0-9a-f]{4,}(?:\.\.\.|\u2026)\]|\[[A-Z][A-Z0-9_]*?_[0-9a-f]{8,15}\]"
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, and the key scopes (``*`` patterns allowed) they may unmask."""

    actor: Actor
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return any(fnmatch.fnmatchcase(scope, pattern) for pattern in self.scopes)


@dataclass(slots=True)
class Restoration:
    """The outcome of one request: originals by replacement, and what failed and why."""

    originals: dict[str, str] = field(default_factory=dict)
    failures: dict[str, UnmaskError] = field(default_factory=dict)

    def substitute(self, text: str, *, json_escape: bool = False) -> str:
        """``text`` with every restored replacement put back (JSON-escaped inside a raw JSON
        document); the others stay as they are."""
        originals = self.originals
        if not originals:
            return text

        def put_back(match: re.Match[str]) -> str:
            original = originals.get(match.group(0))
            if original is None:
                return match.group(0)
            return orjson.dumps(original).decode()[1:-1] if json_escape else original

        return REPLACEMENT_PATTERN.sub(put_back, text)

    @property
    def error_counts(self) -> dict[str, int]:
        return dict(Counter(error.code for error in self.failures.values()))

    def first_failure(self) -> UnmaskError | None:
        """The error to report for the whole request: a scope refusal first, else the
        first failure; ``None`` when everything was restored."""
        failures = list(self.failures.values())
        refusals = [e for e in failures if isinstance(e, ScopeNotAllowedError)]
        return (refusals or failures or [None])[0]


@dataclass(frozen=True, slots=True)
class PartlyRestored:
    """A line restored in part (``strict=False``): the line with what could be restored,
    and why the rest could not (so callers can still report it)."""

    text: str
    error: UnmaskError


def find_replacements(texts: Iterable[str]) -> list[str]:
    """The distinct token ids and inline ciphertexts in ``texts``, in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if "[" in text:
            for match in REPLACEMENT_PATTERN.finditer(text):
                found[match.group(0)] = None
    return list(found)


def find_shortened_tokens(texts: Iterable[str]) -> list[str]:
    """The distinct shortened or cut-off tokens in ``texts`` (see
    ``SHORTENED_TOKEN_PATTERN``), in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if "[" in text:
            for match in SHORTENED_TOKEN_PATTERN.finditer(text):
                found[match.group(0)] = None
    return list(found)


def json_strings(value: Any) -> Iterable[str]:
    """Every string in a JSON document, keys included (a key may have been redacted)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def map_json_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of a JSON document with ``change`` applied to every string, keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {change(key): map_json_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [map_json_strings(item, change) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to restore one replacement: its scope, its audit name, and the decryption."""

    scope: str
    audit_name: str
    open: Callable[[], str]


class Reidentifier:
    """Restores originals from the token index (and inline ciphertexts) for callers.

    ``reader``, when given, is used to catch up with the token topic once when a token
    is not in the index yet.
    """

    def __init__(
        self,
        keyring: Keyring,
        index: TokenIndex,
        audit: AuditLog,
        *,
        reader: TokenTopicReader | None = None,
    ) -> None:
        self.keyring = keyring
        self.index = index
        self.audit = audit
        self.reader = reader

    # --- requests ------------------------------------------------------------------------

    async def unmask_text(self, text: str, caller: Caller, *, strict: bool = True) -> str:
        """``text`` with its tokens and inline ciphertexts restored."""
        return (await self.restore_text(text, caller, strict=strict))[0]

    async def unmask_event(self, event: Any, caller: Caller, *, strict: bool = True) -> Any:
        """A copy of a JSON event with every string value restored."""
        return (await self.restore_event(event, caller, strict=strict))[0]

    async def restore_text(
        self, text: str, caller: Caller, *, strict: bool = True
    ) -> tuple[str, Restoration]:
        """As :meth:`unmask_text`, with the restoration (what failed, when not ``strict``)."""
        restoration = await self.restore(
            find_replacements([text]), caller, "unmask.text", strict=strict
        )
        return restoration.substitute(text), restoration

    async def restore_event(
        self, event: Any, caller: Caller, *, strict: bool = True
    ) -> tuple[Any, Restoration]:
        """As :meth:`unmask_event`, with the restoration (what failed, when not ``strict``)."""
        restoration = await self.restore(
            find_replacements(json_strings(event)), caller, "unmask.event", strict=strict
        )
        return map_json_strings(event, restoration.substitute), restoration

    async def unmask_lines(
        self, lines: list[str], caller: Caller, *, json_events: bool = False, strict: bool = True
    ) -> list[str | UnmaskError | PartlyRestored]:
        """Restore a batch of lines (texts, or JSON events with ``json_events``) with one
        audit record; each line gives its restored text or, when one of its tokens failed
        (or it is not JSON), the error (``strict``) or :class:`PartlyRestored`."""
        if not lines:
            return []
        parsed: list[Any] = []
        for line in lines:
            if not json_events:
                parsed.append(line)
                continue
            try:
                parsed.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                parsed.append(UnmaskError("line is not a JSON event; drop --json for text"))
        texts = [
            list(json_strings(item)) if json_events else [item]
            for item in parsed
            if not isinstance(item, UnmaskError)
        ]
        action: Action = "unmask.event" if json_events else "unmask.text"
        restoration = await self.restore(
            find_replacements(t for group in texts for t in group), caller, action, strict=False
        )
        results: list[str | UnmaskError | PartlyRestored] = []
        for item in parsed:
            if isinstance(item, UnmaskError):
                results.append(item)
                continue
            mine = find_replacements(json_strings(item) if json_events else [item])
            failed = [restoration.failures[r] for r in mine if r in restoration.failures]
            refusals = [e for e in failed if isinstance(e, ScopeNotAllowedError)]
            if strict and failed:
                results.append((refusals or failed)[0])
                continue
            if json_events:
                restored = orjson.dumps(map_json_strings(item, restoration.substitute)).decode()
            else:
                restored = restoration.substitute(item)
            results.append(
                PartlyRestored(restored, (refusals or failed)[0]) if failed else restored
            )
        return results

    async def unmask_tokens(
        self, tokens: list[str], caller: Caller, *, strict: bool = True
    ) -> Restoration:
        """The originals of a list of tokens (``streamer serve``'s main use)."""
        unique = list(dict.fromkeys(tokens))
        malformed = [t for t in unique if not REPLACEMENT_PATTERN.fullmatch(t)]
        if malformed:
            raise UnmaskError(
                f"{len(malformed)} item(s) are not tokens like [EMAIL_ADDRESS_9f2c4e1ab37d5c08] "
                "or inline ciphertexts like [EMAIL_ADDRESS:enc:...]"
            )
        return await self.restore(unique, caller, "unmask.tokens", strict=strict)

    async def restore(
        self,
        replacements: list[str],
        caller: Caller,
        action: Action,
        *,
        strict: bool = True,
        source_topic: str | None = None,
        source_partitions: dict[int, tuple[int, int]] | None = None,
        target_topic: str | None = None,
    ) -> Restoration:
        """Restore ``replacements`` for ``caller`` and audit it (see the module docstring)."""
        restoration = Restoration()
        plans = await self._plan(replacements, restoration, caller)
        denied = [r for r, plan in plans.items() if not caller.allows(plan.scope)]
        if denied:
            refusal = ScopeNotAllowedError(len(denied), caller.scopes)
            restoration.failures.update(dict.fromkeys(denied, refusal))
        if not (strict and restoration.failures):
            for replacement, plan in plans.items():
                if replacement in restoration.failures:
                    continue
                try:
                    restoration.originals[replacement] = plan.open()
                except UnmaskError as exc:
                    restoration.failures[replacement] = exc
        if strict and restoration.failures:
            restoration.originals.clear()
        await self.audit.write(
            AuditEvent(
                actor=caller.actor,
                action=action,
                allowed_scopes=caller.scopes,
                scopes=tuple(sorted({plan.scope for plan in plans.values()})),
                tokens=tuple(self._audit_name(r, plans) for r in replacements),
                restored=len(restoration.originals),
                outcome=_outcome(restoration, denied),
                errors=restoration.error_counts,
                source_topic=source_topic,
                source_partitions=source_partitions,
                target_topic=target_topic,
            )
        )
        if strict and restoration.failures:
            ordered = [restoration.failures[r] for r in replacements if r in restoration.failures]
            scope_refusals = [e for e in ordered if isinstance(e, ScopeNotAllowedError)]
            raise (scope_refusals or ordered)[0]
        return restoration

    # --- planning ------------------------------------------------------------------------

    async def _plan(
        self, replacements: list[str], restoration: Restoration, caller: Caller
    ) -> dict[str, _Plan]:
        plans: dict[str, _Plan] = {}
        tokens = [r for r in replacements if TOKEN_PATTERN.fullmatch(r)]
        mappings = self.index.get_many(tokens) if tokens else {}
        missing = [t for t in tokens if t not in mappings]
        if missing and self.reader is not None:
            await self.reader.catch_up(require_topic=False)
            mappings.update(self.index.get_many(missing))
        for replacement in replacements:
            if replacement in mappings:
                mapping = mappings[replacement]
                plans[replacement] = _Plan(
                    mapping.scope, replacement, partial(mapping.open, self.keyring)
                )
            elif TOKEN_PATTERN.fullmatch(replacement):
                restoration.failures[replacement] = UnknownTokenError(
                    replacement, self.index.topic, self.reader is None or self.reader.topic_exists
                )
            else:
                try:
                    plans[replacement] = self._inline_plan(replacement, caller)
                except UnmaskError as exc:
                    restoration.failures[replacement] = exc
        return plans

    def _inline_plan(self, replacement: str, caller: Caller) -> _Plan:
        match = ENCRYPTED_PATTERN.fullmatch(replacement)
        assert match is not None
        entity_type, encoded = match.group(1), match.group(2)
        try:
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (ValueError, binascii.Error):
            raise TamperedCiphertextError("inline ciphertext is not valid base64url") from None
        key_id, _, _ = unpack_blob(blob)
        associated_data = entity_type.encode()
        audit_name = f"[{entity_type}:enc:{key_id}]"

        def opener(scope: str) -> Callable[[], str]:
            return lambda: decode_value(
                self.keyring.decrypt(blob, scope=scope, associated_data=associated_data)
            )

        key_scope = getattr(self.keyring, "key_scope", None)
        if key_scope is not None:  # the key store knows each key's scope
            scope = key_scope(key_id)
            if scope is None:
                raise WrongKeyError(
                    f"inline ciphertext was made with key {key_id}, which this key file does "
                    "not hold; use the key file (and key provider) it was made with"
                )
            return _Plan(scope, audit_name, opener(scope))
        # Keys derived from one secret name no scope: try the caller's literal scopes.
        for scope in caller.scopes:
            if not any(ch in scope for ch in "*?["):
                try:
                    original = opener(scope)()
                except UnmaskError:
                    continue
                return _Plan(scope, audit_name, partial(str, original))
        raise WrongKeyError(
            "inline ciphertext does not decrypt under any scope this caller names (patterns "
            "cannot be tried with STREAMER_TOKEN_KEY); name its scope with --scope"
        )

    @staticmethod
    def _audit_name(replacement: str, plans: dict[str, _Plan]) -> str:
        plan = plans.get(replacement)
        if plan is not None:
            return plan.audit_name
        match = ENCRYPTED_PATTERN.fullmatch(replacement)
        if match is None:
            return replacement
        try:
            encoded = match.group(2)
            key_id = unpack_blob(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))[0]
        except (ValueError, binascii.Error, UnmaskError):
            key_id = "invalid"
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key_id):
            key_id = "invalid"
        return f"[{match.group(1)}:enc:{key_id}]"


def _outcome(restoration: Restoration, denied: list[str]) -> Outcome:
    if not restoration.failures:
        return "allowed"
    if restoration.originals:
        return "partial"
    return "denied" if denied else "failed"
