"""Every command that takes a policy (``--policy``, or a topology's ``policy:``) refuses
one that would be silently ignored, before it starts: one line naming the file, the
place in it and the fix, exit code 2. No broker is needed: nothing connects first."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.testing.cli import streamer

pytestmark = pytest.mark.e2e

NO_BROKER = ("--bootstrap-servers", "127.0.0.1:9")
#: Each command that reads a policy file, as a user gives it one.
COMMANDS = {
    "run": ("run", "--topology", "{topology}", *NO_BROKER),
    "topics": ("topics", "--topology", "{topology}", *NO_BROKER),
    "replay": ("replay", "--input-topic", "orders.raw", "--output-topic", "orders.v2",
               "--from-offset", "0", "--policy", "{policy}", *NO_BROKER),
    "redact": ("redact", "--policy", "{policy}"),
    "demo": ("demo", "--events", "10", "--policy", "{policy}"),
    "emulate": ("emulate", "azure", "--policy", "{policy}"),
}  # fmt: skip


def refused(tmp_path: Path, command: str, policy_text: str) -> str:
    """The one line ``command`` stops with, given a policy of ``policy_text``."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text)
    topology = tmp_path / "topology.yaml"
    indented = "".join(f"  {line}\n" for line in policy_text.splitlines())
    topology.write_text(f"inputs: [orders.raw]\npolicy:\n{indented}")
    args = [arg.format(policy=policy, topology=topology) for arg in COMMANDS[command]]
    # Without the checks demo ran to the end and emulate served until stopped.
    run = streamer(*args, stdin=b"", data_dir=tmp_path / "data", text=False, timeout=60)
    lines = run.stderr.decode().strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    source = f"{topology}: policy." if command in ("run", "topics") else f"{policy}: "
    assert lines[0].startswith(f"error: {source}"), lines[0]
    return lines[0].removeprefix(f"error: {source}")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_policy_with_no_detectors_and_nothing_else_to_find_values_is_refused(
    tmp_path: Path, command: str
) -> None:
    # Every record was published (or printed) unchanged, without a word.
    message = refused(tmp_path, command, 'version: "1"\ndetectors: []\n')
    prefix = "policy." if command in ("run", "topics") else ""
    assert message.startswith("detectors: an empty list, and no custom detector")
    assert message.endswith(f"or add {prefix}custom_detectors")


@pytest.mark.parametrize("command", ["demo", "emulate"])
def test_demo_and_emulate_check_a_policy_file_as_run_does(tmp_path: Path, command: str) -> None:
    # They loaded it unchecked: EMAIL (for EMAIL_ADDRESS) left addresses to the default.
    message = refused(tmp_path, command, "default_action: preserve\nentities: {EMAIL: mask}\n")
    assert message.startswith("entities.EMAIL: no detector reports this entity type")


@pytest.mark.parametrize("command", ["run", "redact"])
def test_an_option_the_action_ignores_and_a_custom_detector_named_email_are_refused(
    tmp_path: Path, command: str
) -> None:
    # keep_last on tokenize tokenized the whole number; a second "email" detector ran and
    # the pii.detectors header named email twice.
    tokenize = "entities: {CREDIT_CARD: {action: tokenize, keep_last: 4}}\n"
    message = refused(tmp_path, command, tokenize)
    assert message.endswith(
        "entities.CREDIT_CARD: keep_last applies only to action mask, but the action is "
        "tokenize; use action: mask, or remove keep_last"
    )
    custom = "custom_detectors: [{name: email, entity_type: WORK_EMAIL, pattern: 'x@corp'}]\n"
    message = refused(tmp_path, command, custom)
    assert message == (
        "custom_detectors[0].name: 'email' is a built-in detector's name too; rename it "
        "(like email_custom)"
    )
