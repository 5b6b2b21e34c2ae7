"""Provenance headers on every clean and dead-letter record.

=========================  ==============================================  ============
header                     value (UTF-8)                                   on
=========================  ==============================================  ============
``pii.policy.version``     version of the policy that redacted the record  clean, dlq
``pii.source.topic``       raw topic the record came from                  clean, dlq
``pii.source.partition``   its partition, decimal                          clean, dlq
``pii.source.offset``      its offset, decimal                             clean, dlq
``pii.detectors``          detectors that scanned it, comma-separated      clean, dlq
``pii.dlq.reason``         why it could not be processed (a stable code)   dlq
``pii.cloud.fallback``     why cloud detection fell back to the local      clean, when
                           detectors (``cloud_timeout``, ...)              it did
``pii.provenance``         ``replay`` on records a replay wrote            clean, dlq
``pii.replay.id``          the id of the replay that wrote the record      clean, dlq
=========================  ==============================================  ============

A record whose cloud detection fell back to the local detectors in ``cloud-only`` mode
carries a second ``pii.detectors`` naming those; the last header of a name is the one
that holds (``decode_headers``). Their shape is
``schemas/clean_event_headers.schema.json``. Input headers are dropped unless the
topology lists them in ``pass_headers``: they may hold personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

POLICY_VERSION = "pii.policy.version"
SOURCE_TOPIC = "pii.source.topic"
SOURCE_PARTITION = "pii.source.partition"
SOURCE_OFFSET = "pii.source.offset"
DETECTORS = "pii.detectors"
DLQ_REASON = "pii.dlq.reason"
PROVENANCE = "pii.provenance"
REPLAY_ID = "pii.replay.id"

Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class ProvenanceHeaders:
    """The headers shared by every record of one input partition, built once, so that
    only the offset header is made per record."""

    fixed: tuple[Header, ...]

    @classmethod
    def for_partition(
        cls, policy_version: str, topic: str, partition: int, detectors: Sequence[str]
    ) -> ProvenanceHeaders:
        return cls(
            (
                (POLICY_VERSION, policy_version.encode()),
                (SOURCE_TOPIC, topic.encode()),
                (SOURCE_PARTITION, str(partition).encode()),
                (DETECTORS, ",".join(detectors).encode()),
            )
        )

    def for_replay(self, replay_id: str) -> ProvenanceHeaders:
        """These headers plus the replay's provenance (``streamer replay``)."""
        return ProvenanceHeaders(
            (*self.fixed, (PROVENANCE, b"replay"), (REPLAY_ID, replay_id.encode()))
        )

    def clean(self, offset: int) -> list[Header]:
        return [*self.fixed, (SOURCE_OFFSET, b"%d" % offset)]

    def dead_letter(self, offset: int, reason: str) -> list[Header]:
        return [*self.fixed, (SOURCE_OFFSET, b"%d" % offset), (DLQ_REASON, reason.encode())]


def decode_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Headers as text (a later header with the same name wins); undecodable bytes are
    shown as escapes."""
    decoded: dict[str, str] = {}
    for name, value in headers or ():
        if not name.isascii():  # a name that was not UTF-8 holds surrogate escapes
            name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        decoded[name] = "" if value is None else value.decode("utf-8", "backslashreplace")
    return decoded


def header_value(headers: Iterable[tuple[str, bytes | None]] | None, name: str) -> bytes | None:
    """The value of the last header called ``name``, or ``None``."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found
