"""Poison records of a user's own topology through ``streamer run``: each reaches the
dead-letter topic, encrypted, and the records after it go on."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from streamer.settings import StreamerSettings
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.schemas import schema_errors
from streamer.testing import CANARIES, find_canaries
from streamer.testing.cli import start_streamer, streamer, tail_json
from streamer.vault import keyring_from_settings

pytestmark = pytest.mark.e2e

TENANT_TOPOLOGY = """\
name: tenant-orders
inputs: [tenant.orders.raw]
format: json
key_scope: {field: customer.tenant, default: shared}
policy:
  version: "orders-1"
topics:
  partitions: 1
"""


def test_a_tenant_field_that_is_not_valid_unicode_dead_letters_its_record_and_run_goes_on(
    tmp_path: Path, bootstrap: str
) -> None:
    # "\ud800" is valid JSON, but no key can be stored for such a scope: streamer run
    # stopped on the record, and again on every restart.
    email = CANARIES["EMAIL_ADDRESS"]
    poison = b'{"customer": {"tenant": "\\ud800"}, "note": "mail %s"}' % email.encode()
    lines = [
        b'{"customer": {"tenant": "acme"}, "note": "mail %s"}' % email.encode(),
        poison,
        b'{"customer": {"tenant": "acme"}, "note": "after"}',
    ]
    topology = tmp_path / "orders.yaml"
    topology.write_text(TENANT_TOPOLOGY)
    events = tmp_path / "orders.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    created = streamer("topics", "--bootstrap-servers", bootstrap, "--topology", str(topology),
                       data_dir=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr.decode()
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic",
                        "tenant.orders.raw", str(events), data_dir=tmp_path)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()

    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--topology",
                            str(topology), "--workers", "1", data_dir=tmp_path)  # fmt: skip
    try:
        tailed = streamer("tail", "--bootstrap-servers", bootstrap, "--topic",
                          "tenant.orders.clean", "--json", "--follow", "--limit", "2",
                          data_dir=tmp_path, timeout=90)  # fmt: skip
    finally:
        runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 0, stderr.decode()[-2000:]
    assert tailed.returncode == 0, tailed.stderr.decode()
    clean = [orjson.loads(line)["value"] for line in tailed.stdout.decode().splitlines()]
    assert clean[1] == {"customer": {"tenant": "acme"}, "note": "after"}
    assert find_canaries(tailed.stdout + stderr) == []

    [letter] = tail_json(bootstrap, "tenant.orders.dlq", data_dir=tmp_path)
    assert letter["headers"]["pii.dlq.reason"] == "invalid_event"
    assert schema_errors("dead_letter", letter["value"]) == []
    assert letter["value"]["source"]["offset"] == 1
    assert "key scope is not valid Unicode" in letter["value"]["message"]
    assert letter["value"]["scope"] == "shared"  # the topology's default scope
    dead = DeadLetter.from_json(orjson.dumps(letter["value"]))
    assert dead.open(keyring_from_settings(StreamerSettings(data_dir=tmp_path))) == poison
