"""A user's own topology and events, not the support tickets: an application log topic in
text format, and a JSON event with an integer over 64 bits read back with ``tail``."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from streamer.testing.cli import (
    start_streamer,
    streamer,
)

pytestmark = pytest.mark.e2e

LOG_TOPOLOGY = """\
name: app-logs
inputs: [app.logs.raw]
format: text
policy:
  version: "logs-1"
  default_action: redact
"""

LOG_LINES = [
    '203.0.113.45 - - [17/May/2024:09:42:13 +0000] "GET /api/v2/users/jose.alvarez%2Bhr%40'
    'mail.acme-corp.es/profile?phone=+34%20612%20345%20678 HTTP/1.1" 200 5123 "-" "curl/8.5"',
    '198.51.100.7 - - [17/May/2024:09:42:14 +0000] "GET /otp?mobile=%2B442079460958 HTTP/1.1" '
    '304 187 "-" "Mozilla/5.0"',
]
PERSONAL = [b"jose.alvarez", b"612%20345", b"2079460958", b"203.0.113.45", b"198.51.100.7"]


def test_access_log_topic_loses_its_personal_data_and_keeps_status_and_size(
    tmp_path: Path, bootstrap: str
) -> None:
    topology = tmp_path / "logs.yaml"
    topology.write_text(LOG_TOPOLOGY)
    lines = tmp_path / "access.log"
    lines.write_text("\n".join(LOG_LINES) + "\n")
    created = streamer(
        "topics", "--bootstrap-servers", bootstrap, "--topology", str(topology), data_dir=tmp_path
    )
    assert created.returncode == 0, created.stderr.decode()
    produced = streamer(
        "produce", "--bootstrap-servers", bootstrap, "--topic", "app.logs.raw", str(lines),
        data_dir=tmp_path,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()

    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--topology",
                            str(topology), "--workers", "1", "--log-format", "json",
                            data_dir=tmp_path)  # fmt: skip
    try:
        tailed = streamer(
            "tail", "--bootstrap-servers", bootstrap, "--topic", "app.logs.clean", "--json",
            "--follow", "--limit", str(len(LOG_LINES)), data_dir=tmp_path, timeout=90,
        )  # fmt: skip
    finally:
        runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 0, stderr.decode()[-2000:]
    assert tailed.returncode == 0, tailed.stderr.decode()
    values = sorted(orjson.loads(line)["value"] for line in tailed.stdout.decode().splitlines())
    assert len(values) == len(LOG_LINES)
    assert [p for p in PERSONAL if p in tailed.stdout or p in stderr] == []
    assert '/users/<EMAIL_ADDRESS>/profile?phone=<PHONE_NUMBER> HTTP/1.1" 200 5123 ' in values[0]
    assert '"GET /otp?mobile=<PHONE_NUMBER> HTTP/1.1" 304 187 ' in values[1]


def test_tail_prints_an_integer_over_64_bits_as_written(tmp_path: Path, bootstrap: str) -> None:
    event = b'{"invoice": 12345678901234567890123, "total": 218.9, "ok": true}'
    lines = tmp_path / "big.jsonl"
    lines.write_bytes(event + b"\n")
    produced = streamer(
        "produce", "--bootstrap-servers", bootstrap, "--topic", "big.raw", str(lines),
        data_dir=tmp_path,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    tailed = streamer(
        "tail", "--bootstrap-servers", bootstrap, "--topic", "big.raw", "--json",
        data_dir=tmp_path,
    )  # fmt: skip
    assert tailed.returncode == 0, tailed.stderr.decode()
    assert b"1.2345678901234568e+22" not in tailed.stdout
    [record] = [orjson.loads(line) for line in tailed.stdout.decode().splitlines()]
    assert record["value"] == event.decode()  # the text, as it is: orjson cannot hold it
