"""A topology file as a user writes one (inline policy with allow and deny lists, custom
detectors, field rules, a key scope field), run on the embedded broker: what it publishes
matches the shipped schemas and holds no canary. Real broker, real worker processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.headers import decode_headers
from streamer.stream.schemas import schema_errors
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.kafka import (
    create_topics,
    end_offsets,
    produce_values,
    read_all,
    record_bytes,
)

pytestmark = pytest.mark.integration

HR_TOPOLOGY = """\
name: hr-records
inputs: [{raw}]
outputs: {{output: {clean}, tokens: {tokens}, dlq: {dlq}}}
group_id: {group}
key_scope: {{field: company}}
policy:
  version: "hr-2026.1"
  detectors: [email, phone, us_ssn, iban, credit_card, ip_address, ipv6_address]
  allow_list: ["hr-desk@acme.example"]
  deny_list: {{PROJECT: [Falcon]}}
  entities:
    US_SSN: {{action: mask, keep_last: 4}}
    IBAN_CODE: encrypt
  fields:
    - {{path: company, action: skip}}
    - {{path: employee.salary, action: hash, entity_type: SALARY}}
  custom_detectors:
    - {{name: badge.v2, entity_type: BADGE_NUMBER, pattern: 'B#\\d{{5}}'}}
limits: {{max_record_bytes: 2048}}
"""


async def test_a_user_written_topology_publishes_records_that_match_the_schemas(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    path = tmp_path / "hr.yaml"
    path.write_text(HR_TOPOLOGY.format(**vars(topics)))
    topology = Topology.from_file(path)
    await create_topics(bootstrap, {topics.raw: 2})
    events = [
        {
            "company": company,
            "employee": {"salary": 90_000 + i, "contact": CANARIES["EMAIL_ADDRESS"]},
            "note": f"Badge B#1234{i} for Falcon; ask hr-desk@acme.example. {CANARY_TEXT}",
        }
        for i, company in enumerate(["acme", "globex", "acme"])
    ]
    values = [orjson.dumps(e) for e in events] + [
        b'{"note": "unterminated ' + CANARIES["US_SSN"].encode(),
        orjson.dumps({"note": CANARY_TEXT * 20}),
    ]
    metadata = await produce_values(bootstrap, topics.raw, values, keys=[b"emp-1"] * len(values))
    runtime = StreamRuntime(topology, stream_settings)
    runtime.stop_after(end_offsets(metadata))
    await asyncio.wait_for(runtime.run(), 90)

    clean = await read_all(bootstrap, topics.clean, expected=3)
    dead = await read_all(bootstrap, topics.dlq, expected=2)
    tokens = await read_all(bootstrap, topics.tokens)
    for record in [*clean, *dead]:
        assert schema_errors("clean_event_headers", decode_headers(record.headers)) == []
    assert decode_headers(clean[0].headers)["pii.detectors"].split(",")[-2:] == [
        "badge.v2",
        "deny_list",
    ]
    assert sorted(orjson.loads(r.value)["reason"] for r in dead) == ["invalid_event", "too_large"]
    for record in dead:
        assert schema_errors("dead_letter", orjson.loads(record.value)) == []
    assert {orjson.loads(r.value)["entity_type"] for r in tokens} >= {"BADGE_NUMBER", "PROJECT"}
    for record in tokens:
        assert schema_errors("token_mapping", orjson.loads(record.value)) == []
    notes = [orjson.loads(r.value)["note"] for r in clean]
    assert all("Falcon" not in n and "hr-desk@acme.example" in n for n in notes)
    for records in (clean, dead, tokens):
        assert find_canaries(record_bytes(records)) == []
