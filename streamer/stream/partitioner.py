"""Kafka's default partitioner hash, as the Java client computes it.

Clean and dead-letter records whose output topic has a different partition count than
the input, and every token record, go to ``key_hash(key) % partitions``: the partition
any Kafka client's default partitioner picks for that key, so compaction and lookups by
key agree with every other producer. Same result as ``aiokafka.partitioner.murmur2``
(and Java's ``Utils.murmur2``), about twice as fast.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995
_SEED = 0x9747B28C


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` (unsigned 32 bits), Kafka's variant."""
    length = len(data)
    h = _SEED ^ length
    words = length // 4
    if words:
        for k in struct.unpack_from(f"<{words}I", data):
            k = (k * _M) & _MASK
            k ^= k >> 24
            h = (((h * _M) & _MASK) ^ ((k * _M) & _MASK)) & _MASK
    tail = length & 3
    if tail:
        base = length & ~3
        if tail >= 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def key_hash(key: bytes) -> int:
    """The positive hash the default partitioner takes modulo the partition count."""
    return murmur2(key) & 0x7FFFFFFF
