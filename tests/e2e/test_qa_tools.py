"""``streamer produce | tail | topics | run`` flags as a new user tries them (QA pass)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamer.testing.cli import (
    REPOSITORY_ROOT,
    STREAMER_COMMAND,
    cli_environment,
    start_streamer,
    streamer,
    tail_json,
)

pytestmark = pytest.mark.e2e


def test_tail_from_the_end_shows_only_records_produced_after_it_started(
    tmp_path: Path, bootstrap: str
) -> None:
    # The embedded broker under-reports a partition's end in ListOffsets: tail --from-end
    # printed the last records already there (one batch of one key) as if they were new.
    old = b'{"k": "a", "n": "old"}\n' * 3
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "tail.end",
                        "--key-field", "k", data_dir=tmp_path, stdin=old)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    with subprocess.Popen(
        [*STREAMER_COMMAND, "tail", "--bootstrap-servers", bootstrap, "--topic", "tail.end",
         "--from-end", "--follow", "--limit", "1", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_environment(tmp_path), cwd=REPOSITORY_ROOT,
    ) as tailing:  # fmt: skip
        deadline = time.monotonic() + 60
        while tailing.poll() is None and time.monotonic() < deadline:
            streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "tail.end",
                     "--key-field", "k", data_dir=tmp_path,
                     stdin=b'{"k": "a", "n": "new"}\n')  # fmt: skip
            time.sleep(0.5)
        output, error = tailing.communicate(timeout=30)
    assert tailing.returncode == 0, error.decode()
    assert [orjson.loads(line)["value"]["n"] for line in output.splitlines()] == ["new"]


def test_produce_reads_standard_input_where_the_dash_stands_among_files(
    tmp_path: Path, bootstrap: str
) -> None:
    # Standard input was read after every file, wherever '-' stood: one key's events
    # reached the topic out of order.
    (tmp_path / "first.jsonl").write_bytes(b'{"k": "a", "n": 1}\n')
    (tmp_path / "last.jsonl").write_bytes(b'{"k": "a", "n": 3}\n')
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "dash.order",
                        "--key-field", "k", str(tmp_path / "first.jsonl"), "-",
                        str(tmp_path / "last.jsonl"), data_dir=tmp_path,
                        stdin=b'{"k": "a", "n": 2}\n')  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    records = tail_json(bootstrap, "dash.order", data_dir=tmp_path)
    assert [r["value"]["n"] for r in sorted(records, key=lambda r: r["offset"])] == [1, 2, 3]


def test_run_help_states_the_output_topics_and_group_it_derives(tmp_path: Path) -> None:
    # The help said <input>.clean and gave no group default: a user reading it could not
    # tell that orders.raw gives orders.clean, nor which group two such runs share.
    from streamer.broker import free_port

    helped = streamer("run", "--help", data_dir=tmp_path, text=True)
    assert "<input>.clean, a trailing .raw dropped" in helped.stdout
    assert "pii-streamer.<clean topic> without a topology file" in helped.stdout
    started = streamer("run", "--input-topic", "orders.raw", "--bootstrap-servers",
                       f"127.0.0.1:{free_port()}", data_dir=tmp_path, text=True)  # fmt: skip
    assert started.returncode == 4, started.stderr
    assert "orders.raw -> orders.clean" in started.stderr
    assert "group pii-streamer.orders.clean;" in started.stderr


def test_run_creates_a_missing_input_with_as_many_partitions_as_its_outputs(
    tmp_path: Path, bootstrap: str
) -> None:
    # `streamer run --input-topic orders` before anything was produced made the clean and
    # dead-letter topics with 6 partitions; the broker then made the input on subscription
    # with its own default (4), so records no longer kept their partition number.
    import asyncio
    import os
    import signal

    from aiokafka.admin import AIOKafkaAdminClient

    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--input-topic",
                            "unborn.raw", "--workers", "1", "--log-format", "json",
                            data_dir=tmp_path, stdout=subprocess.DEVNULL)  # fmt: skip
    lines: list[str] = []
    try:
        assert runner.stderr is not None
        for raw in runner.stderr:
            lines.append(raw.decode())
            if "partitions assigned" in lines[-1] or runner.poll() is not None:
                break
        runner.send_signal(signal.SIGTERM)
        _, rest = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    output = "".join(lines) + rest.decode()
    assert runner.returncode == 0, output[-2000:]

    async def partitions() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            names = ["unborn.raw", "unborn.clean", "unborn.dlq"]
            return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
        finally:
            await admin.close()

    counts = asyncio.run(partitions())
    assert counts["unborn.raw"] == counts["unborn.clean"] == counts["unborn.dlq"], counts
    assert "input topic unborn.raw did not exist; created it" in output


def test_tail_shows_a_binary_value_or_key_as_binary_not_as_a_json_object(
    tmp_path: Path, bootstrap: str
) -> None:
    # A value that is not UTF-8 (Avro, protobuf) printed as the JSON object
    # {"base64": "..."}, the same as an event holding that field; an empty value printed
    # nothing; a binary key printed as a Python dict.
    import asyncio

    from streamer.settings import StreamerSettings
    from streamer.stream.tools import produce_values

    values = [b"\x00\x02\xffavro", b'{"base64": "AAL/YXZybw=="}', b""]
    keys = [b"\xff\xfek", b"k", b"k"]
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    asyncio.run(produce_values(settings, "tail.binary", values, keys=keys, partition=0))
    shown = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "tail.binary",
                     data_dir=tmp_path, text=True)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    blocks = shown.stdout.split("\n\n")
    assert "key (binary, base64) //5r " in blocks[0]
    assert "(binary value, 7 bytes, base64) AAL/YXZybw==" in blocks[0]
    assert '"base64": "AAL/YXZybw=="' in blocks[1]
    assert "(empty value)" in blocks[2]


def test_tail_piped_does_not_break_long_values_and_headers_across_lines(
    tmp_path: Path, bootstrap: str
) -> None:
    # Piped (no terminal: 80 columns), tail broke long lines: an encrypted token in a value
    # came out in two pieces (copied into unmask, it was no token) and a string as if it
    # held a newline.
    import asyncio

    from streamer.settings import StreamerSettings
    from streamer.stream.tools import produce_values

    token = "[IBAN_CODE:enc:" + "A" * 90 + "]"
    text = "plain text " + "x" * 100
    values = [orjson.dumps({"message": f"Refund to IBAN {token} please"}), text.encode()]
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    header = ("pii.detectors", ",".join(["detector"] * 20).encode())
    asyncio.run(produce_values(settings, "tail.wide", values, headers=[[header], []], partition=0))
    shown = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "tail.wide",
                     env=cli_environment(tmp_path, COLUMNS="80"), text=True)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert f'"message": "Refund to IBAN {token} please"' in shown.stdout
    assert text in shown.stdout
    assert "pii.detectors: " + ",".join(["detector"] * 20) in shown.stdout


def test_tail_shows_a_record_whose_header_name_is_not_utf8(tmp_path: Path, bootstrap: str) -> None:
    # aiokafka decodes header names while it reads a batch: tail stopped with a
    # UnicodeDecodeError traceback at such a record, and showed none of its batch.
    import asyncio

    from streamer.testing.kafka import create_topics, produce_raw_header_names

    asyncio.run(create_topics(bootstrap, {"tail.headers": 1}))
    asyncio.run(produce_raw_header_names(bootstrap, "tail.headers", [b'{"n": 0}', b'{"n": 1}'],
                                         [[(b"tr\xffce", b"1")], [("trace", b"2")]]))  # fmt: skip
    shown = tail_json(bootstrap, "tail.headers", data_dir=tmp_path)
    assert [record["headers"] for record in shown] == [{"tr\\xffce": "1"}, {"trace": "2"}]


def test_produce_sends_piped_lines_as_they_come_and_keeps_them_on_ctrl_c(
    tmp_path: Path, bootstrap: str
) -> None:
    # produce read its input on the event loop: from a pipe that stays open (tail -f app.log
    # | streamer produce) nothing was sent until 5000 lines or the end, a Ctrl-C waited
    # for the next line, and a second one exited 130 in silence with every line lost.
    import signal

    producing = subprocess.Popen(
        [*STREAMER_COMMAND, "produce", "--bootstrap-servers", bootstrap, "--topic", "piped"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_environment(tmp_path), cwd=REPOSITORY_ROOT,
    )  # fmt: skip
    try:
        assert producing.stdin is not None
        producing.stdin.write(b'{"n": 1}\n{"n": 2}\n{"n": 3}\n')
        producing.stdin.flush()  # and the pipe stays open
        deadline = time.monotonic() + 30
        seen: list[dict[str, Any]] = []
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            if streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "piped",
                        data_dir=tmp_path).returncode == 0:  # fmt: skip
                seen = tail_json(bootstrap, "piped", data_dir=tmp_path)
        producing.send_signal(signal.SIGINT)
        _, error = producing.communicate(timeout=30)
    finally:
        producing.kill()
        producing.wait()
    assert sorted(record["value"]["n"] for record in seen) == [1, 2, 3]
    assert producing.returncode == 130, error.decode()
    assert error.decode().strip().splitlines()[-1] == "interrupted: 3 records produced to piped"
    assert len(tail_json(bootstrap, "piped", data_dir=tmp_path)) == 3


def test_produce_reads_gzip_files_and_named_pipes(tmp_path: Path, bootstrap: str) -> None:
    # A .jsonl.gz file went to the topic as one binary record; a named pipe or
    # <(zcat events.jsonl.gz) was refused as "not a readable file".
    import gzip
    import os
    import threading

    packed = tmp_path / "events.jsonl.gz"
    # two gzip members (cat a.gz b.gz), CRLF line ends, the last line without one
    packed.write_bytes(gzip.compress(b'{"n": 1}\r\n') + gzip.compress(b'{"n": 2}\r\n{"n": 3}'))
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(b'{"n": 4}\n',), daemon=True)
    writer.start()
    try:
        produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "packed",
                            str(packed), str(fifo), data_dir=tmp_path)  # fmt: skip
    finally:
        writer.join(timeout=10)
        if writer.is_alive():  # nobody opened the pipe: the writer waits for a reader
            fifo.read_bytes()
            writer.join()
    assert produced.returncode == 0, produced.stderr.decode()
    assert "produced 4 records" in produced.stderr.decode()
    records = tail_json(bootstrap, "packed", data_dir=tmp_path)
    assert sorted(record["value"]["n"] for record in records) == [1, 2, 3, 4]

    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"n": 1}\n' * 100)[:-12])
    cut = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "packed",
                   str(tmp_path / "cut.jsonl.gz"), data_dir=tmp_path)  # fmt: skip
    assert cut.returncode == 1
    assert f"{tmp_path / 'cut.jsonl.gz'} ends in the middle of its gzip data" in cut.stderr.decode()


@pytest.mark.parametrize(
    ("command", "said", "code"),
    [
        (("tail", "--topic", "t"), "0 record(s)", 0),
        (("status", "--input-topic", "t"), "interrupted", 130),
        (("topics", "--input-topic", "t"), "interrupted: run streamer topics again to create "
         "the topics not made", 130),
    ],
)  # fmt: skip
def test_ctrl_c_while_a_tool_connects_is_one_line(
    command: tuple[str, ...], said: str, code: int, tmp_path: Path
) -> None:
    # A bootstrap address that accepts connections and never answers (another service's
    # port): a Ctrl-C while tail or status connected warned "Unclosed AIOKafkaConsumer";
    # status and topics exited 130 without a word. No Kafka broker is needed to show it.
    import signal
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with subprocess.Popen(
            [*STREAMER_COMMAND, *command, "--bootstrap-servers", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cli_environment(tmp_path), cwd=REPOSITORY_ROOT,
        ) as tool:  # fmt: skip
            silent.settimeout(60)
            connection, _ = silent.accept()  # the tool is connecting
            tool.send_signal(signal.SIGINT)
            _, error = tool.communicate(timeout=60)
            connection.close()
    assert error.decode().strip().splitlines() == [said]
    assert tool.returncode == code


def test_produce_warns_of_lines_that_are_not_json(tmp_path: Path, bootstrap: str) -> None:
    # A JSON array, pretty-printed (a common export), went out as one record per line of
    # it ("[", "  {...},", "]"), all dead letters for the pipeline, without a word.
    events = tmp_path / "export.json"
    events.write_bytes(b'[\n  {"n": 1},\n  {"n": 2}\n]\n')
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "exported",
                        str(events), data_dir=tmp_path, text=True)  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    error = " ".join(produced.stderr.split())
    assert f"warning: 3 line(s) are not JSON (the first: line 1 of {events})" in error
    assert "jq -c '.[]' FILE" in error
    assert len(tail_json(bootstrap, "exported", data_dir=tmp_path)) == 4
