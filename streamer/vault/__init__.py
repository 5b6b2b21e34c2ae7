"""The token vault: key providers and the key file, the token index, re-identification.

Reading guide:

- ``providers/``: where the key-encryption key lives (file, env, aws-kms,
  azure-keyvault), by name in ``KEY_PROVIDERS``; ``keyring``: the keyring factory.
- ``key_topic``: the keys topic, which shares one key store between hosts.
- ``key_admin``: rotate, shred, list (``streamer keys``).
- ``mapping``: the token topic record; ``store``: the token topic as a SQLite index;
  ``token_topic``: reading the topic into it.
- ``reidentify``: restoring originals for a caller, audited (``audit``);
  ``topic_unmask``: a range of a clean topic into another topic; ``session``: what one
  ``streamer unmask`` opens.
- ``server``: ``streamer serve``, the HTTP detokenize endpoint (``api_clients``,
  ``rate_limit``); needs aiohttp (the ``cloud`` extra).
- ``exceptions``: one class and exit code per way re-identification can fail.

The key file itself and the envelope keyring live in the engine
(:mod:`streamer.redaction.keystore`, :mod:`streamer.redaction.envelope`) so that the
engine's default keyring reads the same file without importing the vault.
"""

from streamer.redaction.envelope import EnvelopeKeyring
from streamer.vault.audit import Actor, AuditEvent, KafkaAuditLog
from streamer.vault.key_topic import KeyTopicSync
from streamer.vault.keyring import keyring_from_settings, open_keyring, sync_key_store
from streamer.vault.mapping import SourceCoordinates, TokenMapping
from streamer.vault.providers import KEY_PROVIDERS, AsyncKeyProvider, KeyProvider
from streamer.vault.reidentify import Caller, PartlyRestored, Reidentifier, Restoration
from streamer.vault.session import UnmaskSession
from streamer.vault.store import TokenIndex
from streamer.vault.token_topic import TokenTopicReader
from streamer.vault.topic_unmask import OffsetRange, unmask_topic

__all__ = [
    # keys
    "keyring_from_settings",
    "open_keyring",
    "sync_key_store",
    "KeyTopicSync",
    "EnvelopeKeyring",
    "KEY_PROVIDERS",
    "KeyProvider",
    "AsyncKeyProvider",
    # the token topic
    "TokenMapping",
    "SourceCoordinates",
    "TokenIndex",
    "TokenTopicReader",
    # re-identification
    "Reidentifier",
    "Caller",
    "Actor",
    "Restoration",
    "PartlyRestored",
    "UnmaskSession",
    "unmask_topic",
    "OffsetRange",
    "AuditEvent",
    "KafkaAuditLog",
]
