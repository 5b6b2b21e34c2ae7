"""``streamer redact`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamer.redaction.tokens import TOKEN_PATTERN
from streamer.testing.cli import cli_environment, streamer
from streamer.testing.kms import KMS_TEST_REGION, create_kms_key, moto_kms

pytestmark = pytest.mark.e2e


def test_json_lines_from_stdin_with_a_bad_line(tmp_path: Path) -> None:
    lines = b'{"m": "mail jane@example.com"}\nnot json\n{"m": "ssn 536-22-1234"}\n'
    run = streamer("redact", stdin=lines, data_dir=tmp_path)
    assert run.returncode == 1
    out = run.stdout.decode().splitlines()
    assert len(out) == 2
    assert orjson.loads(out[0])["m"].startswith("mail [EMAIL_ADDRESS_")
    assert "536-22-1234" not in out[1]
    errors = [
        orjson.loads(line) for line in run.stderr.decode().splitlines() if line.startswith("{")
    ]
    assert errors == [
        {"file": "<stdin>", "line": 2, "error": "invalid_event", "message": errors[0]["message"]}
    ]
    assert "--text" in errors[0]["message"]  # the way to redact lines that are not JSON


def test_a_line_a_detector_fails_on_is_an_error_record_in_a_batch_of_one(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"  # backtracks catastrophically on a long run of "a"
    policy.write_text(
        "custom_detectors:\n  - {name: runs, entity_type: RUN, pattern: '(a|aa)+$'}\n"
    )
    lines = b'{"m": "jane@example.com"}\n{"m": "' + b"a" * 3000 + b'b"}\n{"m": "bob@example.com"}\n'
    run = streamer(
        "redact", "--policy", str(policy), "--batch-size", "1", stdin=lines, data_dir=tmp_path
    )
    assert run.returncode == 1
    out = run.stdout.decode().splitlines()
    assert len(out) == 2 and "@example.com" not in "".join(out)
    errors = [
        orjson.loads(line) for line in run.stderr.decode().splitlines() if line.startswith("{")
    ]
    assert [(e["line"], e["error"]) for e in errors] == [(2, "detector_failed")]


def test_text_mode_files_and_policy(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("card 4111 1111 1111 1111\nnothing here\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("entities:\n  CREDIT_CARD: {action: mask, keep_last: 4}\n")
    run = streamer("redact", "--text", "--policy", str(policy), str(source), data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().splitlines() == ["card ***************1111", "nothing here"]


def test_line_endings_are_kept_as_they_came(tmp_path: Path) -> None:
    # CRLF files came out LF. A last line without an ending takes the one before it.
    text = streamer(
        "redact", "--text", stdin=b"mail jane@example.com\r\n\r\nnothing\r\nlast", data_dir=tmp_path
    )
    assert text.returncode == 0, text.stderr.decode()
    assert TOKEN_PATTERN.sub("<t>", text.stdout.decode()) == "mail <t>\r\n\r\nnothing\r\nlast\r\n"
    source = tmp_path / "events.jsonl"  # a byte order mark, as Windows editors write it
    source.write_bytes(b'\xef\xbb\xbf{"m": "jane@example.com"}\r\n\r\n{"n": 1}\n{"n": 2}')
    events = streamer("redact", str(source), data_dir=tmp_path)
    assert events.returncode == 0, events.stderr.decode()
    assert TOKEN_PATTERN.sub("<t>", events.stdout.decode()) == (
        '{"m":"<t>"}\r\n\r\n{"n":1}\n{"n":2}\n'
    )


def test_text_lines_that_are_not_utf8_are_error_records_not_passed_through(
    tmp_path: Path,
) -> None:
    # They came out with their bytes as they were: detectors read "Garc\udced" and left
    # Latin-1 names, and every word of UTF-16 text, in the clean output.
    latin1 = "Customer José García called from Málaga about jose@example.com\n".encode("latin-1")
    utf16 = "Call John Smith at 415-555-0132".encode("utf-16-le") + b"\n"
    lines = latin1 + utf16 + b"mail jane@example.com\n"
    run = streamer("redact", "--text", stdin=lines, data_dir=tmp_path)
    assert run.returncode == 1
    assert TOKEN_PATTERN.sub("<t>", run.stdout.decode()) == "mail <t>\n"
    errors = [
        orjson.loads(line) for line in run.stderr.decode().splitlines() if line.startswith("{")
    ]
    assert [(e["file"], e["line"], e["error"]) for e in errors] == [
        ("<stdin>", 1, "invalid_event"),
        ("<stdin>", 2, "invalid_event"),
    ]
    assert "not UTF-8" in errors[0]["message"] and "UTF-16" in errors[1]["message"]
    assert "Garc" not in run.stderr.decode() and "Smith" not in run.stderr.decode()


def test_a_pipe_named_as_a_file_is_read(tmp_path: Path) -> None:
    # /dev/stdin and <(zcat events.jsonl.gz) were refused as "not a readable file".
    run = streamer("redact", "/dev/stdin", stdin=b'{"m": "jane@example.com"}\n', data_dir=tmp_path)
    assert run.returncode == 0, run.stderr.decode()
    assert TOKEN_PATTERN.sub("<t>", run.stdout.decode()) == '{"m":"<t>"}\n'


def test_the_issue_example_loses_every_value_and_stderr_stays_quiet(tmp_path: Path) -> None:
    text = (
        "Call John at +1 (415) 555-0132 or jane.doe+news@corp.example.com, card "
        "4111-1111-1111-1111, SSN 536-22-1234, IBAN DE89 3704 0044 0532 0130 00, from 2001:db8::1"
    )
    run = streamer("redact", "--text", stdin=text.encode() + b"\n", data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == b""  # no warnings from the libraries NER imports
    out = run.stdout.decode()
    assert out.startswith("Call [PERSON_")
    # Outside the tokens, whose random hex digits can hold "415" by chance.
    skeleton = TOKEN_PATTERN.sub("<token>", out)
    for value in ("John", "415", "jane.doe", "4111", "536-22", "DE89", "2001:db8"):
        assert value not in skeleton
    assert skeleton == (
        "Call <token> at <token> or <token>, card <token>, SSN <token>, IBAN <token>, "
        "from <token>\n"
    )


def test_same_key_same_tokens_across_runs(tmp_path: Path) -> None:
    line = b'{"m": "jane@example.com"}\n'
    first = streamer("redact", stdin=line, data_dir=tmp_path)
    second = streamer("redact", stdin=line, data_dir=tmp_path)
    assert first.stdout == second.stdout and first.returncode == 0


def test_invalid_policy_is_one_line_error_with_exit_code(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default_action: obliterate\n")
    run = streamer("redact", "--policy", str(policy), stdin=b"{}\n", data_dir=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr.decode()
    assert "default_action" in run.stderr.decode() and str(policy) in run.stderr.decode()


def test_a_policy_file_naming_an_entity_type_no_detector_reports_is_refused(
    tmp_path: Path,
) -> None:
    # A topology's policy was checked for this, a --policy file was not: EMAIL for
    # EMAIL_ADDRESS left e-mail addresses to the default action, here preserve.
    policy = tmp_path / "policy.yaml"
    policy.write_text("default_action: preserve\nentities: {EMAIL: tokenize}\n")
    line = b'{"m": "mail jane.canary@example.com"}\n'
    run = streamer("redact", "--policy", str(policy), stdin=line, data_dir=tmp_path)
    assert run.returncode == 2 and run.stdout == b""
    assert run.stderr.decode().startswith(
        f"error: {policy}: entities.EMAIL: no detector reports this entity type; known: "
    )


def test_help_explains_commands(tmp_path: Path) -> None:
    run = streamer("redact", "--help", data_dir=tmp_path)
    assert run.returncode == 0
    assert b"--policy" in run.stdout and b"--text" in run.stdout


def test_a_key_file_wrapped_by_kms_redacts_and_gives_the_same_tokens_again(
    tmp_path: Path,
) -> None:
    """STREAMER_KEY_PROVIDER=aws-kms, against moto's KMS through the real SDK: the key file
    is made once, its root key unwrapped by KMS again on the second run."""
    with moto_kms() as endpoint:
        env = cli_environment(
            tmp_path,
            STREAMER_KEY_PROVIDER="aws-kms",
            STREAMER_AWS_KMS_KEY_ID=create_kms_key(endpoint),
            STREAMER_AWS_REGION=KMS_TEST_REGION,
            STREAMER_AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
        line = b'{"m": "mail kms.user@corp-mail.example.com"}\n'
        first = streamer("redact", stdin=line, env=env)
        again = streamer("redact", stdin=line, env=env)
    assert first.returncode == 0, first.stderr.decode()
    assert TOKEN_PATTERN.search(first.stdout.decode())
    assert b"kms.user" not in first.stdout
    assert again.stdout == first.stdout
    assert (tmp_path / "keystore.db").exists() and not list(tmp_path.glob("*.kek"))
