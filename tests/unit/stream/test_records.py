"""What the pipeline publishes, built without a broker: provenance headers, dead letters,
token mappings, and the worker-side batch processor. Real keyrings, real encryption;
every record is checked against its JSON Schema."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson
import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.envelope import EnvelopeKeyring
from streamer.redaction.exceptions import UnmaskError
from streamer.redaction.keys import LocalKeyring, keyring_from_settings
from streamer.redaction.policy import Policy
from streamer.redaction.service import EngineSpec
from streamer.settings import StreamerSettings
from streamer.stream.dead_letter import MAX_KEY_BYTES, DeadLetter
from streamer.stream.exceptions import StreamError
from streamer.stream.headers import (
    DLQ_REASON,
    SOURCE_OFFSET,
    ProvenanceHeaders,
    decode_headers,
    header_value,
)
from streamer.stream.partitioner import key_hash, murmur2
from streamer.stream.processor import EmittedTokens, ProcessorSpec, RecordBatch
from streamer.stream.schemas import schema_errors
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.detectors import FailingDetector
from streamer.vault.mapping import TokenMapping

KEYRING = LocalKeyring(bytes(range(32)))


@pytest.fixture
def settings(tmp_path: Path) -> StreamerSettings:
    return StreamerSettings(data_dir=tmp_path, max_record_bytes=2000)


def processor(settings: StreamerSettings, **options: object):  # type: ignore[no-untyped-def]
    detectors = options.pop("detectors", tuple(PATTERN_DETECTOR_NAMES))
    policy = options.pop("policy", Policy(version="9"))
    spec = ProcessorSpec(
        EngineSpec(policy, detectors, KEYRING, settings),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return spec.build()


def batch(payloads: list[bytes | None], **options: object) -> RecordBatch:
    count = len(payloads)
    return RecordBatch(
        "raw",
        3,
        list(range(100, 100 + count)),
        [1_700_000_000_000 + i for i in range(count)],
        [f"key-{i}".encode() for i in range(count)],
        payloads,
        **options,  # type: ignore[arg-type]
    )


# --- headers --------------------------------------------------------------------------------


def test_provenance_headers_carry_policy_source_and_detectors_and_match_the_schema() -> None:
    headers = ProvenanceHeaders.for_partition("2026-01", "orders.raw", 4, ("email", "phone"))
    clean = decode_headers(headers.clean(1234))
    assert clean == {
        "pii.policy.version": "2026-01",
        "pii.source.topic": "orders.raw",
        "pii.source.partition": "4",
        "pii.source.offset": "1234",
        "pii.detectors": "email,phone",
    }
    assert schema_errors("clean_event_headers", clean) == []
    dead = headers.dead_letter(7, "invalid_event")
    assert header_value(dead, DLQ_REASON) == b"invalid_event"
    assert header_value(dead, SOURCE_OFFSET) == b"7"
    assert schema_errors("clean_event_headers", decode_headers(dead)) == []


def test_headers_missing_provenance_fail_the_schema() -> None:
    assert schema_errors("clean_event_headers", {"pii.source.topic": "x"})


def test_decode_headers_keeps_undecodable_bytes_visible() -> None:
    assert decode_headers([("a", b"\xff"), ("b", None)]) == {"a": "\\xff", "b": ""}


# --- dead letters ---------------------------------------------------------------------------


def seal_dead_letter(payload: bytes, **overrides: object) -> DeadLetter:
    options: dict[str, object] = {
        "reason": "invalid_event",
        "message": "value is not valid JSON",
        "topic": "raw",
        "partition": 2,
        "offset": 41,
        "timestamp": 1_700_000_000_000,
        "key": b"customer-7",
        "payload": payload,
        "scope": "tenant-a",
        "keyring": KEYRING,
        "policy_version": "3",
    }
    options.update(overrides)
    return DeadLetter.seal(**options)  # type: ignore[arg-type]


def test_a_dead_letter_holds_the_payload_encrypted_and_opens_back() -> None:
    payload = CANARY_TEXT.encode()
    letter = seal_dead_letter(payload)
    value = letter.to_json()
    assert find_canaries(value) == []
    assert schema_errors("dead_letter", orjson.loads(value)) == []
    restored = DeadLetter.from_json(value)
    assert restored.open(KEYRING) == payload
    assert restored.key == b"customer-7"
    assert restored.key_id == KEYRING.key_id


def test_a_dead_letter_is_deterministic_for_byte_identical_reprocessing() -> None:
    assert seal_dead_letter(b"{bad").to_json() == seal_dead_letter(b"{bad").to_json()


def test_a_dead_letter_ciphertext_is_bound_to_its_coordinates() -> None:
    letter = DeadLetter.from_json(seal_dead_letter(b"secret").to_json())
    moved = DeadLetter.from_json(letter.to_json().replace(b'"offset":41', b'"offset":42'))
    with pytest.raises(UnmaskError):
        moved.open(KEYRING)


def test_an_oversized_payload_is_left_out_and_the_record_says_so() -> None:
    letter = seal_dead_letter(b"x" * 100, max_payload_bytes=10)
    document = orjson.loads(letter.to_json())
    assert document["payload_omitted"] == "too_large_for_dead_letter"
    assert "payload" not in document
    assert document["payload_size"] == 100
    assert schema_errors("dead_letter", document) == []


def test_a_key_over_16_kib_is_left_out_and_its_size_said() -> None:
    letter = seal_dead_letter(b"{bad", key=b"k" * (MAX_KEY_BYTES + 1))
    document = orjson.loads(letter.to_json())
    assert document["key"] is None
    assert document["key_omitted_size"] == MAX_KEY_BYTES + 1
    assert schema_errors("dead_letter", document) == []
    assert DeadLetter.from_json(letter.to_json()).open(KEYRING) == b"{bad"
    kept = orjson.loads(seal_dead_letter(b"{bad", key=b"k" * MAX_KEY_BYTES).to_json())
    assert base64.b64decode(kept["key"]) == b"k" * MAX_KEY_BYTES
    assert "key_omitted_size" not in kept


# --- partitioner ----------------------------------------------------------------------------


def test_murmur2_is_kafkas_default_partitioner_hash() -> None:
    for size in range(0, 70):
        data = os.urandom(size)
        assert murmur2(data) & 0x7FFFFFFF == aiokafka_murmur2(data) & 0x7FFFFFFF
    # Values Kafka's own tests expect of Java's Utils.murmur2 (signed 32 bits).
    java = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, expected in java.items():
        assert murmur2(data) == expected & 0xFFFFFFFF
        assert key_hash(data) == expected & 0x7FFFFFFF


# --- the batch processor --------------------------------------------------------------------


def test_clean_values_tokens_and_entities_for_a_batch(settings: StreamerSettings) -> None:
    work = processor(settings)
    event = orjson.dumps({"note": CANARY_TEXT, "id": 7})
    result = work.process(batch([event, event]))
    assert all(value is not None for value in result.values)
    assert result.values[0] == result.values[1]
    assert result.dead_letters == []
    for value in result.values:
        assert value is not None
        assert find_canaries(value) == []
    assert result.entities["EMAIL_ADDRESS"] == 2
    # The second event repeats every token: each is published once.
    tokens = [orjson.loads(value) for _, value, _ in result.token_records]
    assert len({t["token"] for t in tokens}) == len(tokens)
    for (key, value, hashed), token in zip(result.token_records, tokens, strict=True):
        assert key.decode() == token["token"]
        assert hashed == key_hash(key)
        assert schema_errors("token_mapping", token) == []
        assert find_canaries(value) == []
        assert token["source"] == {"topic": "raw", "partition": 3, "offset": 100}
        assert token["first_seen_ms"] == 1_700_000_000_000
        assert token["policy_version"] == "9"
    originals = {
        TokenMapping.from_json(value).open(KEYRING) for _, value, _ in result.token_records
    }
    assert CANARIES["EMAIL_ADDRESS"] in originals
    assert CANARIES["US_SSN"] in originals


def test_tokens_emitted_once_stay_quiet_until_the_cache_forgets_them(
    settings: StreamerSettings,
) -> None:
    work = processor(settings, token_cache_size=1)
    first = work.process(batch([b'{"a": "mail a@example.com"}']))
    again = work.process(batch([b'{"a": "mail a@example.com"}']))
    other = work.process(batch([b'{"a": "mail b@example.com"}']))
    back = work.process(batch([b'{"a": "mail a@example.com"}']))
    assert len(first.token_records) == 1
    assert again.token_records == []
    assert len(other.token_records) == 1
    assert len(back.token_records) == 1  # evicted by b@, published again


def test_emitted_tokens_is_a_bounded_lru() -> None:
    emitted = EmittedTokens(2)
    assert emitted.first_time("a") and emitted.first_time("b")
    assert not emitted.first_time("a")  # refreshes a
    assert emitted.first_time("c")  # evicts b
    assert not emitted.first_time("a")
    assert emitted.first_time("b")
    assert len(emitted) == 2


def test_poison_records_become_dead_letters_and_the_rest_goes_on(
    settings: StreamerSettings,
) -> None:
    work = processor(settings)
    good = orjson.dumps({"m": "call +1 (415) 555-0179"})
    payloads = [
        good,
        b'{"m": "unterminated',
        b'{"m": "bad utf-8 \xff\xfe"}',
        orjson.dumps({"m": CANARIES["US_SSN"] + " " + "y" * 3000}),
        good,
    ]
    result = work.process(batch(payloads))
    reasons = {index: reason for index, reason, _ in result.dead_letters}
    assert reasons == {1: "invalid_event", 2: "invalid_event", 3: "too_large"}
    assert result.values[0] is not None and result.values[4] is not None
    for index, _, value in result.dead_letters:
        document = orjson.loads(value)
        assert schema_errors("dead_letter", document) == []
        assert document["source"]["offset"] == 100 + index
        assert find_canaries(value) == []
        assert DeadLetter.from_json(value).open(KEYRING) == payloads[index]


def test_tombstones_pass_through_untouched(settings: StreamerSettings) -> None:
    result = processor(settings).process(batch([None, b'{"a": 1}', None]))
    assert result.values == [None, b'{"a":1}', None]
    assert result.dead_letters == []


def test_text_format_redacts_lines(settings: StreamerSettings) -> None:
    result = processor(settings, event_format="text").process(batch([CANARY_TEXT.encode()]))
    assert result.values[0] is not None
    assert find_canaries(result.values[0]) == []


def test_scope_from_a_header_or_a_field_keys_the_tokens(settings: StreamerSettings) -> None:
    event = b'{"tenant": "acme", "mail": "a@example.com"}'
    by_default = processor(settings).process(batch([event]))
    by_header = processor(settings).process(batch([event], scopes=["globex"]))
    by_field = processor(settings, scope_field="tenant").process(batch([event]))
    values = {by_default.values[0], by_header.values[0], by_field.values[0]}
    assert len(values) == 3  # three scopes, three different tokens
    scopes = [
        orjson.loads(r.token_records[0][1])["scope"] for r in (by_default, by_header, by_field)
    ]
    assert scopes == ["default", "globex", "acme"]
    mapping = TokenMapping.from_json(by_field.token_records[0][1])
    assert mapping.open(KEYRING) == "a@example.com"


@pytest.mark.parametrize(
    "event",
    [
        b'\xef\xbb\xbf{"tenant": "acme", "mail": "a@example.com"}',  # a UTF-8 byte order mark
        b'{"tenant": "acme", "mail": "a@example.com", "note": "\\ud800"}',  # a lone surrogate
    ],
)
def test_token_mappings_carry_the_scope_the_engine_used_for_events_orjson_refuses(
    settings: StreamerSettings, event: bytes
) -> None:
    # The engine reads these with the standard library's JSON; the mapping's scope must
    # be the field's too, or a caller of the default scope could unmask acme's values.
    result = processor(settings, scope_field="tenant").process(batch([event]))
    assert result.dead_letters == [] and b"a@example.com" not in (result.values[0] or b"")
    [(_, value, _)] = result.token_records
    assert orjson.loads(value)["scope"] == "acme"
    assert TokenMapping.from_json(value).open(KEYRING) == "a@example.com"


def test_a_whole_number_in_the_scope_field_is_the_scope(settings: StreamerSettings) -> None:
    # Numeric tenant ids: tenants 42 and 7 get their own tokens, not the default scope's.
    events = [b'{"tenant": %d, "mail": "a@example.com"}' % n for n in (42, 7)]
    events.append(b'{"tenant": true, "mail": "a@example.com"}')
    result = processor(settings, scope_field="tenant").process(batch(events))
    assert len(set(result.values)) == 3
    scopes = [orjson.loads(value)["scope"] for _, value, _ in result.token_records]
    assert scopes == ["42", "7", "default"]


def test_a_scope_field_that_is_not_valid_unicode_dead_letters_only_its_record(
    settings: StreamerSettings,
) -> None:
    # {"tenant": "\ud800"} is valid JSON; its scope can be neither stored nor derived
    # from. It stopped the pipeline: sealing its dead letter under that scope failed too.
    poison = b'{"tenant": "\\ud800", "mail": "%s"}' % CANARIES["EMAIL_ADDRESS"].encode()
    events = [b'{"tenant": "acme", "mail": "a@example.com"}', poison, b'{"tenant": "acme"}']
    result = processor(settings, scope_field="tenant").process(batch(events))
    [(index, reason, value)] = result.dead_letters
    assert (index, reason) == (1, "invalid_event")
    assert result.values[0] is not None and result.values[2] == b'{"tenant":"acme"}'
    document = orjson.loads(value)
    assert schema_errors("dead_letter", document) == []
    assert "key scope is not valid Unicode" in document["message"]
    assert document["scope"] == "default" and find_canaries(value) == []
    assert DeadLetter.from_json(value).open(KEYRING) == poison


def key_file_keyring(settings: StreamerSettings, *scopes: str) -> EnvelopeKeyring:
    """The key file's keyring with key scope creation off, holding only ``scopes``."""
    creating = keyring_from_settings(settings)
    assert isinstance(creating, EnvelopeKeyring)
    for scope in scopes:
        creating.ensure_scope(scope)
    keyring = keyring_from_settings(settings.model_copy(update={"key_scope_autocreate": False}))
    assert isinstance(keyring, EnvelopeKeyring)
    return keyring


@pytest.mark.parametrize("known", [("acme", "default"), ("acme",)])
def test_a_record_of_a_scope_without_keys_is_dead_lettered_and_the_rest_goes_on(
    settings: StreamerSettings, known: tuple[str, ...]
) -> None:
    # STREAMER_KEY_SCOPE_AUTOCREATE=false and a tenant header nobody created keys for:
    # the dead letter cannot be sealed under that scope either. It stopped the pipeline.
    keyring = key_file_keyring(settings, *known)
    spec = ProcessorSpec(EngineSpec(Policy(version="9"), ("email",), keyring, settings))
    event = b'{"mail": "%s"}' % CANARIES["EMAIL_ADDRESS"].encode()
    result = spec.build().process(batch([event, event], scopes=["acme", "globex"]))
    assert result.values[0] is not None
    [(index, reason, value)] = result.dead_letters
    assert (index, reason) == (1, "unknown_key_scope")
    document = orjson.loads(value)
    assert schema_errors("dead_letter", document) == [] and find_canaries(value) == []
    letter = DeadLetter.from_json(value)
    if "default" in known:  # sealed under the default scope instead
        assert letter.scope == "default" and letter.open(keyring) == event
    else:  # no key to seal it with: it stays at its source coordinates
        assert document["payload_omitted"] == "no_key_for_scope" and "payload" not in document
        assert letter.scope == "globex"
        with pytest.raises(StreamError, match="no_key_for_scope"):
            letter.open(keyring)


def test_a_detector_failure_is_retried_then_dead_lettered(settings: StreamerSettings) -> None:
    flaky = processor(
        settings,
        detectors=(FailingDetector("POISON", failures=2),),
        detector_retries=2,
    )
    recovered = flaky.process(batch([b'{"a": "POISON"}', b'{"a": "fine"}']))
    assert recovered.dead_letters == []  # failed twice, the second retry worked
    broken = processor(
        settings, detectors=(FailingDetector("POISON"),), detector_retries=2
    ).process(batch([b'{"a": "fine"}', b'{"a": "POISON"}']))
    assert [(i, reason) for i, reason, _ in broken.dead_letters] == [(1, "detector_failed")]
    assert broken.values[0] == b'{"a":"fine"}'
    message = orjson.loads(broken.dead_letters[0][2])["message"]
    assert "POISON" not in message
    alone = processor(settings, detectors=(FailingDetector("POISON"),)).process(
        batch([b'{"a": "POISON"}'])
    )
    assert [(i, reason) for i, reason, _ in alone.dead_letters] == [(0, "detector_failed")]


def test_a_custom_pattern_that_backtracks_forever_dead_letters_its_record(
    settings: StreamerSettings,
) -> None:
    # (a|aa)+$ takes exponential time on a long run of "a" not at the end of the text:
    # without a time limit this call would not return for years.
    policy = Policy(
        version="9",
        custom_detectors=[{"name": "runs", "entity_type": "RUN", "pattern": "(a|aa)+$"}],
    )
    work = processor(settings, detectors=(), policy=policy, detector_retries=1)
    result = work.process(batch([b'{"a": "' + b"a" * 60 + b'!"}', b'{"a": "x aa"}']))
    [(index, reason, value)] = result.dead_letters
    assert (index, reason) == (0, "detector_failed")
    message = orjson.loads(value)["message"]
    assert "custom detector 'runs'" in message and "backtracks" in message
    assert "aaaa" not in message
    assert result.values[1] is not None and result.values[1].startswith(b'{"a":"x [RUN_')


def test_key_hashes_are_computed_only_when_asked(settings: StreamerSettings) -> None:
    work = processor(settings)
    assert work.process(batch([b"{}"])).key_hashes is None
    hashed = work.process(batch([b"{}", b"{}"], hash_keys=True))
    assert hashed.key_hashes == [key_hash(b"key-0"), key_hash(b"key-1")]


def test_base64_keys_survive_in_dead_letters(settings: StreamerSettings) -> None:
    work = processor(settings)
    records = batch([b"not json"])
    records.keys = [b"\xff\x00binary"]
    document = orjson.loads(work.process(records).dead_letters[0][2])
    assert base64.b64decode(document["key"]) == b"\xff\x00binary"


def test_a_record_redacted_into_more_than_the_output_limit_is_dead_lettered(
    settings: StreamerSettings,
) -> None:
    many_emails = orjson.dumps({"m": " ".join(f"a{i}@b.co" for i in range(40))})
    result = processor(settings, max_output_bytes=600).process(batch([many_emails, b'{"a": 1}']))
    assert len(many_emails) < 600
    [(index, reason, value)] = result.dead_letters
    assert (index, reason) == (0, "too_large")
    assert "output limit" in orjson.loads(value)["message"]
    assert result.values[1] == b'{"a":1}'
    assert result.token_records == []  # nothing of a dead-lettered record is published


def test_the_key_counts_towards_the_output_limit_tombstones_included(
    settings: StreamerSettings,
) -> None:
    # A broker whose input topic takes bigger records than the clean topic would refuse
    # the clean record for good: it goes to the dead-letter topic instead.
    records = batch([b'{"a": 1}', None, b'{"a": 2}', None])
    records.keys = [b"k" * 645, b"k" * 700, b"short", b"short"]  # 645 + 7 > 650
    result = processor(settings, max_output_bytes=650).process(records)
    assert [(index, reason) for index, reason, _ in result.dead_letters] == [
        (0, "too_large"),
        (1, "too_large"),
    ]
    assert "(key and value)" in orjson.loads(result.dead_letters[0][2])["message"]
    assert result.values == [None, None, b'{"a":2}', None]
