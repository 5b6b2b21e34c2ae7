"""``streamer keys``, ``streamer unmask`` and ``streamer serve`` run as a user runs them,
against the embedded broker, with token topic records produced the way the stream does."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamer.broker import EmbeddedBroker, free_port
from streamer.redaction.service import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, find_canaries
from streamer.testing.cli import STREAMER_COMMAND, streamer
from streamer.testing.kafka import read_topic
from streamer.testing.token_topic import publish_redacted
from streamer.vault import keyring_from_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path, bootstrap: str) -> dict[str, str]:
    """The environment of a user of this test's key file, broker and topics."""
    suffix = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "STREAMER_DATA_DIR": str(tmp_path),
        "STREAMER_BOOTSTRAP_SERVERS": bootstrap,
        "STREAMER_TOKEN_TOPIC": f"tokens-{suffix}",
        "STREAMER_AUDIT_TOPIC": f"audit-{suffix}",
        "STREAMER_KEY_REFRESH_SECONDS": "0",
    }


def settings_of(env: dict[str, str]) -> StreamerSettings:
    return StreamerSettings(
        data_dir=Path(env["STREAMER_DATA_DIR"]),
        bootstrap_servers=env["STREAMER_BOOTSTRAP_SERVERS"],
        token_topic=env["STREAMER_TOKEN_TOPIC"],
        audit_topic=env["STREAMER_AUDIT_TOPIC"],
    )


async def seed(env: dict[str, str], events: list[dict], scopes: list[str], clean_topic: str):
    settings = settings_of(env)
    with RedactionService(settings=settings, keyring=keyring_from_settings(settings)) as service:
        return await publish_redacted(
            service,
            [orjson.dumps(e) for e in events],
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=clean_topic,
            token_topic=settings.token_topic,
            scopes=scopes,
            keys=[str(i).encode() for i in range(len(events))],
        )


async def test_unmask_text_scope_errors_and_key_commands(env: dict[str, str]) -> None:
    email, phone = CANARIES["EMAIL_ADDRESS"], CANARIES["PHONE_NUMBER"]
    batch = await seed(env, [{"m": f"mail {email}"}, {"m": f"call {phone}"}],
                       ["tenant-a", "tenant-b"], f"clean-{uuid.uuid4().hex[:6]}")  # fmt: skip
    text_a, text_b = (orjson.loads(v)["m"] for v in batch.clean_values)

    done = streamer("unmask", text_a, "--scope", "tenant-a", env=env, text=True)
    assert (done.returncode, done.stdout) == (0, f"mail {email}\n")
    refused = streamer("unmask", f"{text_a} {text_b}", "--scope", "tenant-a", env=env, text=True)
    assert refused.returncode == 8
    assert "scope" in refused.stderr and not find_canaries(refused.stdout + refused.stderr)
    unknown = streamer(
        "unmask", "[EMAIL_ADDRESS_0000000000000abc]", "--scope", "*", env=env, text=True
    )
    assert unknown.returncode == 4 and "not in token topic" in unknown.stderr
    lines = streamer("unmask", "--json", "--scope", "tenant-*", "--partial",
                     stdin=f'{{"x": "{text_a}"}}\n\nnot json\n', env=env, text=True)  # fmt: skip
    assert lines.stdout.splitlines()[:2] == [orjson.dumps({"x": f"mail {email}"}).decode(), ""]
    assert lines.returncode == 3 and '"line":3' in lines.stderr

    listed = orjson.loads(streamer("keys", "list", "--json", env=env, text=True).stdout)
    assert [(s["scope"], s["state"]) for s in listed] == [
        ("tenant-a", "active"), ("tenant-b", "active")]  # fmt: skip
    rotated = streamer("keys", "rotate", "tenant-a", env=env, text=True)
    assert rotated.returncode == 0 and "->" in rotated.stdout
    redacted = streamer(
        "redact", "--text", "--scope", "tenant-a", stdin=f"mail {email}\n", env=env, text=True
    )
    assert redacted.stdout == text_a + "\n", "tokens do not change on rotation"
    assert streamer("unmask", text_a, "--scope", "tenant-a", env=env, text=True).returncode == 0

    assert streamer("keys", "shred", "tenant-b", stdin="n\n", env=env, text=True).returncode == 1
    shred = streamer("keys", "shred", "tenant-b", "--yes", env=env, text=True)
    assert shred.returncode == 0 and "shredded 2 key(s)" in shred.stdout
    gone = streamer("unmask", text_b, "--scope", "tenant-b", env=env, text=True)
    assert gone.returncode == 7 and "shredded" in gone.stderr
    listed = orjson.loads(streamer("keys", "list", "--json", env=env, text=True).stdout)
    assert {s["scope"]: s["state"] for s in listed} == {
        "tenant-a": "active",
        "tenant-b": "shredded",
    }
    missing = streamer("keys", "rotate", "tenant-zzz", env=env, text=True)
    assert missing.returncode == 2 and "streamer keys list" in missing.stderr

    audit = await read_topic(env["STREAMER_BOOTSTRAP_SERVERS"], env["STREAMER_AUDIT_TOPIC"])
    documents = [orjson.loads(r.value) for r in audit]
    assert [(d["outcome"], d["errors"]) for d in documents] == [
        ("allowed", {}),
        ("denied", {"scope_not_allowed": 1}),
        ("failed", {"unknown_token": 1}),
        ("allowed", {}),  # the JSON line; the line that is not JSON never reached the vault
        ("allowed", {}),
        ("failed", {"key_shredded": 1}),
    ]
    assert {d["actor"]["channel"] for d in documents} == {"cli"}
    assert not find_canaries(b"".join(r.value for r in audit))


async def test_unmask_a_clean_topic_range_into_another_topic(env: dict[str, str]) -> None:
    clean, restored = f"clean-{uuid.uuid4().hex[:6]}", f"restored-{uuid.uuid4().hex[:6]}"
    events = [{"id": i, "note": f"ssn {CANARIES['US_SSN']} mail u{i}@corp-mail.example.com"}
              for i in range(8)]  # fmt: skip
    await seed(env, events, ["tenant-a"] * 8, clean)
    done = streamer("unmask", "--from-topic", clean, "--to-topic", restored, "--json",
                    "--scope", "tenant-a", env=env, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "8 record(s) copied" in done.stderr
    records = await read_topic(env["STREAMER_BOOTSTRAP_SERVERS"], restored)
    assert sorted((orjson.loads(r.value) for r in records), key=lambda e: e["id"]) == events

    tampered_topic = f"restored-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=env["STREAMER_BOOTSTRAP_SERVERS"])
    await producer.start()
    first = (await read_topic(env["STREAMER_BOOTSTRAP_SERVERS"], env["STREAMER_TOKEN_TOPIC"]))[0]
    document = orjson.loads(first.value)
    document["ciphertext"] = document["ciphertext"][:-8] + "AAAAAAA="
    await producer.send_and_wait(env["STREAMER_TOKEN_TOPIC"], orjson.dumps(document), key=first.key)
    await producer.stop()
    broken = streamer("unmask", "--from-topic", clean, "--to-topic", tampered_topic,
                      "--json", "--scope", "tenant-a", env=env, text=True)  # fmt: skip
    assert broken.returncode == 6, broken.stderr
    assert "tampered_ciphertext" in broken.stderr
    assert len(await read_topic(env["STREAMER_BOOTSTRAP_SERVERS"], tampered_topic)) == 8


async def test_serve_answers_with_auth_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    batch = await seed(env, [{"m": CANARIES["EMAIL_ADDRESS"]}], ["tenant-a"],
                       f"clean-{uuid.uuid4().hex[:6]}")  # fmt: skip
    token = orjson.loads(batch.clean_values[0])["m"]
    clients = tmp_path / "clients.yaml"
    clients.write_text("clients:\n  - {name: support, token: let-me-in, scopes: [tenant-a]}\n")
    port = free_port()
    server = subprocess.Popen(
        [*STREAMER_COMMAND, "serve", "--port", str(port), "--clients-file", str(clients)],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/v1/detokenize"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with http.post(url, json={"tokens": [token]}) as r:
                assert r.status == 401
            headers = {"Authorization": "Bearer let-me-in"}
            async with http.post(url, json={"tokens": [token]}, headers=headers) as r:
                assert r.status == 200
                assert (await r.json())["values"] == {token: CANARIES["EMAIL_ADDRESS"]}
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert not find_canaries(stderr)


def test_serve_logs_a_lost_broker_through_the_repeat_limiter(
    env: dict[str, str], tmp_path: Path
) -> None:
    # serve left logging unconfigured: once the broker went away, aiokafka's warnings went
    # raw to stderr, each failure many times a second (thousands of lines a minute), past
    # the repeat limiter and the redacting filter the other commands log through.
    clients = tmp_path / "clients.yaml"
    clients.write_text("clients:\n  - {name: support, token: let-me-in, scopes: [tenant-a]}\n")
    with EmbeddedBroker() as broker:
        own = {**env, "STREAMER_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
        assert streamer("keys", "create", "tenant-a", env=own).returncode == 0
        server = subprocess.Popen(
            [*STREAMER_COMMAND, "serve", "--port", str(free_port()), "--clients-file",
             str(clients)],
            env=own, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        assert server.stderr is not None
        reader = threading.Thread(target=lambda: [lines.put(line) for line in server.stderr])
        reader.start()
        try:
            banner = lines.get(timeout=60)
            assert banner.startswith("detokenize endpoint on"), banner
            broker.stop()
            first = lines.get(timeout=60)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            reader.join(timeout=30)
            server.stderr.close()
    assert re.match(r"\d{4}-\d\d-\d\d [\d:,]+ (WARNING|ERROR) aiokafka", first), first


async def test_two_hosts_share_keys_through_the_keys_topic(
    env: dict[str, str], tmp_path: Path
) -> None:
    shared = {"STREAMER_KEYS_TOPIC": f"keys-{uuid.uuid4().hex[:8]}",
              "STREAMER_KEY_PROVIDER": "env", "STREAMER_KEK": "7a" * 32}  # fmt: skip
    stream_host = {**env, **shared, "STREAMER_DATA_DIR": str(tmp_path / "stream-host")}
    analyst_host = {**env, **shared, "STREAMER_DATA_DIR": str(tmp_path / "analyst-host")}
    assert streamer("keys", "create", "acme", env=stream_host, text=True).returncode == 0
    settings = StreamerSettings(**{
        **settings_of(stream_host).model_dump(), "key_provider": "env",
        "kek": stream_host["STREAMER_KEK"], "keys_topic": shared["STREAMER_KEYS_TOPIC"],
    })  # fmt: skip
    with RedactionService(settings=settings, keyring=keyring_from_settings(settings)) as service:
        batch = await publish_redacted(
            service, [orjson.dumps({"m": CANARIES["EMAIL_ADDRESS"]})],
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}", token_topic=settings.token_topic,
            scopes=["acme"],
        )  # fmt: skip
    token = orjson.loads(batch.clean_values[0])["m"]
    done = streamer("unmask", token, "--scope", "acme", env=analyst_host, text=True)
    assert (done.returncode, done.stdout) == (0, CANARIES["EMAIL_ADDRESS"] + "\n"), done.stderr
    assert streamer("keys", "shred", "acme", "--yes", env=analyst_host, text=True).returncode == 0
    gone = streamer("unmask", token, "--scope", "acme", env=stream_host, text=True)
    assert gone.returncode == 7, "the shred made on one host reached the other"


def test_serve_on_a_port_in_use_fails_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    clients = tmp_path / "clients.yaml"
    clients.write_text("clients:\n  - {name: support, token: let-me-in, scopes: [tenant-a]}\n")
    assert streamer("keys", "create", "tenant-a", env=env).returncode == 0  # the key file
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = streamer(
            "serve", "--port", str(port), "--clients-file", str(clients), env=env, text=True
        )
    assert busy.returncode == 2, busy.stderr
    assert "Traceback" not in busy.stderr
    assert busy.stderr.startswith("error: cannot listen on") and "--port" in busy.stderr


def test_a_key_provider_error_names_only_real_options(env: dict[str, str]) -> None:
    kms = streamer("keys", "create", "acme", "--key-provider", "aws-kms", env=env, text=True)
    assert kms.returncode == 2 and "STREAMER_AWS_KMS_KEY_ID" in kms.stderr
    options = streamer("keys", "create", "--help", env=env, text=True).stdout
    named = re.findall(r"--[a-z][a-z-]+", kms.stderr)
    assert all(option in options for option in named), f"{named} are not options of keys create"


async def test_partial_unmask_prints_what_it_can_and_exits_with_the_failure(
    env: dict[str, str],
) -> None:
    email = CANARIES["EMAIL_ADDRESS"]
    batch = await seed(env, [{"m": f"mail {email}"}], ["tenant-a"], f"clean-{uuid.uuid4().hex[:6]}")
    token = orjson.loads(batch.clean_values[0])["m"].removeprefix("mail ")
    unknown = "[EMAIL_ADDRESS_0000000000000abc]"

    text = streamer(
        "unmask", f"{token} {unknown}", "--scope", "tenant-a", "--partial", env=env, text=True
    )
    assert text.stdout == f"{email} {unknown}\n"
    assert text.returncode == 4 and "not in token topic" in text.stderr
    event = streamer("unmask", "--json", orjson.dumps({"to": [token, unknown]}).decode(),
                     "--scope", "tenant-a", "--partial", env=env, text=True)  # fmt: skip
    assert orjson.loads(event.stdout) == {"to": [email, unknown]}
    assert event.returncode == 4
    lines = streamer("unmask", "--scope", "tenant-a", "--partial",
                     stdin=f"{token}\n{token} {unknown}\n", env=env, text=True)  # fmt: skip
    assert lines.stdout == f"{email}\n{email} {unknown}\n"
    assert lines.returncode == 4 and '"line":2' in lines.stderr
    whole = streamer("unmask", token, "--scope", "tenant-a", "--partial", env=env, text=True)
    assert (whole.returncode, whole.stdout, whole.stderr) == (0, f"{email}\n", "")
    assert not find_canaries(text.stderr + event.stderr + lines.stderr)


async def test_unmask_names_a_shortened_token_instead_of_passing_it_on_silently(
    env: dict[str, str],
) -> None:
    # A token cut off when copied, or shortened as the README shows them, came back as it
    # was with exit 0 and not a word, as if the text held no token at all.
    email = CANARIES["EMAIL_ADDRESS"]
    batch = await seed(env, [{"m": f"mail {email}"}], ["tenant-a"], f"clean-{uuid.uuid4().hex[:6]}")
    token = orjson.loads(batch.clean_values[0])["m"].removeprefix("mail ")
    cut, shown = token[:-2] + "]", token[: len("[EMAIL_ADDRESS_") + 4] + "...]"
    text = streamer("unmask", f"{token} {cut} {shown}", "--scope", "tenant-a", env=env, text=True)
    assert (text.returncode, text.stdout) == (0, f"{email} {cut} {shown}\n")
    assert f"note: {cut} is not a whole token" in text.stderr
    assert f"note: {shown} is not a whole token" in text.stderr
    lines = streamer("unmask", "--scope", "tenant-a", stdin=f"{cut}\n[TICKET_2] {cut}\n",
                     env=env, text=True)  # fmt: skip
    assert (lines.returncode, lines.stdout) == (0, f"{cut}\n[TICKET_2] {cut}\n")
    assert lines.stderr.count("is not a whole token") == 1 and "TICKET" not in lines.stderr
    assert not find_canaries(text.stderr + lines.stderr)


def test_unmask_with_a_key_file_copied_without_its_kek_file_names_the_kek_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The host that unmasks got keystore.db but not keystore.kek: unmask made a new KEK
    # there and said "wrapped by KEK A, not by this one (B)" (exit 5).
    assert streamer("keys", "create", "default", env=env).returncode == 0
    copied = tmp_path / "unmask-host" / "keystore.db"
    copied.parent.mkdir()
    copied.write_bytes((tmp_path / "keystore.db").read_bytes())
    copied.chmod(0o600)
    run = streamer("unmask", "[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]", "--key-file", str(copied),
                   env=env, text=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"error: KEK file {copied.with_suffix('.kek')} does not exist")
    assert run.stderr.count("\n") == 1
    assert not copied.with_suffix(".kek").exists()


async def test_unmask_range_flags_that_select_nothing_are_refused(env: dict[str, str]) -> None:
    clean, restored = f"clean-{uuid.uuid4().hex[:6]}", f"restored-{uuid.uuid4().hex[:6]}"
    await seed(env, [{"id": 1, "note": "mail u1@corp-mail.example.com"}], ["tenant-a"], clean)
    inverted = streamer("unmask", "--from-topic", clean, "--to-topic", restored,
                        "--start-offset", "5", "--end-offset", "2", env=env, text=True)  # fmt: skip
    assert inverted.returncode == 2, inverted.stderr
    assert inverted.stderr.strip().startswith("error: the range is inverted: --start-offset 5")
    assert "Traceback" not in inverted.stderr
    assert await read_topic(env["STREAMER_BOOTSTRAP_SERVERS"], restored) == []

    text = streamer(
        "unmask", "[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]", "--start-offset", "5", env=env, text=True
    )
    assert text.returncode == 2, text.stderr
    assert "--from-topic" in text.stderr and "Traceback" not in text.stderr


def test_keys_create_refuses_an_empty_scope_name(env: dict[str, str]) -> None:
    empty = streamer("keys", "create", "acme", "", env=env, text=True)
    assert empty.returncode == 2, empty.stderr
    assert empty.stderr.startswith("error: a key scope name is empty")
    listed = streamer("keys", "list", "--json", env=env, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "acme" not in listed.stdout and '""' not in listed.stdout


def test_unmask_and_serve_with_a_key_file_that_is_not_there_say_so_and_create_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    # A mistyped --key-file (or a host without the key file) made a new, empty key store
    # and KEK there, then failed with 'wrong key' (exit 5), as if the tokens were forged.
    missing = tmp_path / "typo" / "keystore.db"
    unmask = streamer("unmask", "[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]", "--key-file", str(missing),
                      env=env, text=True)  # fmt: skip
    serve = streamer("serve", "--key-file", str(missing), env=env, text=True)
    for run in (unmask, serve):
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith(f"error: key file {missing} does not exist")
        assert "--key-file" in run.stderr and "Traceback" not in run.stderr
    assert not missing.parent.exists()


def test_keys_rotate_with_a_key_file_that_is_not_there_says_so_and_creates_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    # A mistyped --key-file made a new key store (and KEK) there, rotated nothing in it
    # and exited 0 without a word: the rotation looked done.
    missing = tmp_path / "typo" / "keystore.db"
    for flags in (["--all"], ["--kek"]):
        run = streamer("keys", "rotate", *flags, "--key-file", str(missing), env=env, text=True)
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith(f"error: key file {missing} does not exist")
    assert not missing.parent.exists()
    assert streamer("redact", "--text", stdin=b"nothing personal\n", env=env).returncode == 0
    empty = streamer("keys", "rotate", "--all", env=env, text=True)
    assert (empty.returncode, empty.stdout) == (0, "")
    assert empty.stderr.startswith("no active key scopes in ")
    assert empty.stderr.rstrip().endswith("nothing rotated")


def test_help_of_commands_that_need_a_key_file_does_not_say_they_create_one(
    env: dict[str, str],
) -> None:
    # Their --key-file help said "created with mode 0600 on first use"; they refuse a
    # missing one instead.
    for command in (["unmask"], ["serve"], ["keys", "list"], ["keys", "rotate"],
                    ["keys", "shred"]):  # fmt: skip
        shown = streamer(*command, "--help", env={**env, "COLUMNS": "300"}, text=True)
        assert shown.returncode == 0, shown.stderr
        key_file = shown.stdout[shown.stdout.index("--key-file") :]
        assert "the tokens were made with; it must exist" in key_file, command
        assert "created with mode 0600" not in shown.stdout, command


def test_unmask_says_when_the_token_topic_does_not_exist(env: dict[str, str]) -> None:
    # The topology's token topic is support.tickets.tokens; unmask reads pii.tokens unless
    # told. 'is not in token topic' sent users looking for a lost token.
    assert streamer("keys", "create", "default", env=env).returncode == 0
    run = streamer("unmask", "[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]", "--token-topic",
                   f"missing-{uuid.uuid4().hex[:6]}", env=env, text=True)  # fmt: skip
    assert run.returncode == 4, run.stderr
    assert "token topic 'missing-" in run.stderr and "does not exist" in run.stderr
    assert "--token-topic" in run.stderr and run.stderr.count("\n") == 1


def test_unmask_help_lists_the_exit_code_of_an_unreachable_kafka(env: dict[str, str]) -> None:
    # Kafka not answering exits 13 (a topic cannot be read); the help's list of exit codes
    # stopped at 10, so a script author had no way to know what 13 meant.
    assert streamer("keys", "create", "default", env=env).returncode == 0
    run = streamer("unmask", "hi", "--bootstrap-servers", f"127.0.0.1:{free_port()}",
                   env=env, text=True)  # fmt: skip
    assert run.returncode == 13, run.stderr
    helped = " ".join(streamer("unmask", "--help", env=env, text=True).stdout.split())
    assert "13 a topic (or Kafka) cannot be read" in helped


def test_a_directory_given_as_the_key_file_is_refused_before_anything_is_made(
    env: dict[str, str], tmp_path: Path
) -> None:
    # --key-file ~/keys/ made ~/keys.kek, then SQLite failed: 'check the owner and mode'.
    keys = tmp_path / "keys"
    keys.mkdir()
    for args in (("run", "--input-topic", "orders"), ("keys", "list"), ("unmask", "x")):
        run = streamer(*args, "--key-file", str(keys), env=env, text=True)
        assert run.returncode == 2, run.stderr
        assert run.stderr == (
            f"error: invalid setting: --key-file (STREAMER_KEY_FILE): {keys} is a directory; "
            f"name the key file itself, such as {keys / 'keystore.db'}\n"
        )
    assert not (tmp_path / "keys.kek").exists() and list(keys.iterdir()) == []
