"""Policies: loading, validation errors that name the place, field paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streamer.redaction.exceptions import PolicyError
from streamer.redaction.keys import keyring_from_settings
from streamer.redaction.policy import Policy, parse_path, path_matches
from streamer.settings import StreamerSettings


def test_when_shorthand_actions_then_expanded() -> None:
    policy = Policy.from_dict({"entities": {"US_SSN": "redact", "CREDIT_CARD": {"action": "mask"}}})
    assert policy.rule_for("US_SSN").action == "redact"
    assert policy.rule_for("CREDIT_CARD").action == "mask"
    assert policy.rule_for("EMAIL_ADDRESS").action == "tokenize"


def test_mask_hides_the_whole_value_unless_keep_last_is_given(settings: StreamerSettings) -> None:
    # Keeping the last four by default left "hán" of a masked "Siobhán" in the clean event.
    policy = Policy.from_dict(
        {
            "entities": {"PERSON": "mask", "CREDIT_CARD": {"action": "mask", "keep_last": 4}},
            "fields": [{"path": "customer.surname", "action": "mask"}],
        }
    )
    keyring = keyring_from_settings(settings)
    person = policy.rule_for("PERSON").build().apply("Siobhán", "PERSON", keyring, "default")
    card = (
        policy.rule_for("CREDIT_CARD").build().apply("4111 1111 1111 1111", "", keyring, "default")
    )
    forced = policy.fields[0].forced_action()
    assert forced is not None
    assert person == "*******"
    assert forced.apply("Raghunathan", "SENSITIVE_FIELD", keyring, "default") == "*" * 11
    assert card == "***************1111"


def test_when_file_invalid_then_error_names_file_path_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("entities:\n  US_SSN:\n    action: shred\n")
    with pytest.raises(PolicyError) as error:
        Policy.from_file(bad)
    message = str(error.value)
    assert (
        str(bad) in message
        and "entities.US_SSN" in message
        and "shred" not in message.split(":")[0]
    )


def test_when_a_field_action_is_unknown_then_one_reason_lists_every_valid_action(
    tmp_path: Path,
) -> None:
    # Was two reasons, one per half of the type: "fields.0.action.literal['scan','skip']:
    # Input should be 'scan' or 'skip'; fields.0.action.literal['tokenize',...]: ...".
    bad = tmp_path / "policy.yaml"
    bad.write_text("fields:\n  - {path: customer.email, action: zap}\n")
    with pytest.raises(PolicyError) as error:
        Policy.from_file(bad)
    assert str(error.value) == (
        f"{bad}: fields.0.action: Input should be 'scan', 'skip', 'tokenize', 'encrypt', "
        "'mask', 'hash', 'redact' or 'preserve'"
    )


def test_when_yaml_broken_then_error_has_line(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("entities:\n  - [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML at line"):
        Policy.from_file(bad)


def test_when_the_file_is_not_utf8_then_error_names_the_file_and_the_fix(tmp_path: Path) -> None:
    # Was a UnicodeDecodeError traceback from `streamer redact --policy` (UTF-16 from Notepad).
    bad = tmp_path / "policy.yaml"
    bad.write_bytes("default_action: mask\n".encode("utf-16"))
    with pytest.raises(PolicyError) as error:
        Policy.from_file(bad)
    assert str(error.value) == (
        f"cannot read policy file {bad}: not UTF-8 text (byte 0); save it as UTF-8"
    )


@pytest.mark.parametrize("version", ["", "   ", "3\n4"])
def test_when_the_version_is_blank_or_not_one_line_then_rejected(version: str) -> None:
    with pytest.raises(PolicyError, match=r"version: .*text on one line"):
        Policy.from_dict({"version": version})


def test_when_the_version_is_written_unquoted_then_it_is_the_text_written(tmp_path: Path) -> None:
    for written, version in [("3", "3"), ("2026-11-01", "2026-11-01")]:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(f"version: {written}\n")
        assert Policy.from_file(policy_file).version == version


def test_when_a_key_is_written_twice_then_rejected_with_its_line(tmp_path: Path) -> None:
    twice = tmp_path / "policy.yaml"
    twice.write_text("entities:\n  EMAIL_ADDRESS: mask\n  EMAIL_ADDRESS: redact\n")
    with pytest.raises(PolicyError, match="at line 3: the key 'EMAIL_ADDRESS' is written twice"):
        Policy.from_file(twice)


def test_when_unknown_key_then_rejected() -> None:
    with pytest.raises(PolicyError, match="defualt_action"):
        Policy.from_dict({"defualt_action": "mask"})


def test_when_custom_detector_has_unknown_validator_then_error_lists_valid() -> None:
    with pytest.raises(PolicyError, match="luhn"):
        Policy.from_dict(
            {
                "custom_detectors": [
                    {"name": "x", "entity_type": "X", "pattern": "x", "validator": "nope"}
                ]
            }
        )


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("customer.email", ("customer", "email")),
        ("$.items[*].note", ("items", "*", "note")),
        ("$.items[2]", ("items", "2")),
        ("**.ssn", ("**", "ssn")),
    ],
)
def test_paths_parse(path: str, segments: tuple[str, ...]) -> None:
    assert parse_path(path) == segments


def test_path_matching_with_wildcards() -> None:
    assert path_matches(("items", "*", "note"), ("items", "3", "note"))
    assert not path_matches(("items", "*", "note"), ("items", "note"))
    assert path_matches(("**", "ssn"), ("a", "b", "ssn"))
    assert path_matches(("**", "ssn"), ("ssn",))
    assert not path_matches(("customer", "email"), ("customer", "email", "x"))


@pytest.mark.parametrize("name", ["Employee ID", "badge,v2", "emp/id"])
def test_when_custom_detector_name_cannot_be_a_header_item_then_rejected(name: str) -> None:
    # The pii.detectors header lists detector names comma-separated.
    custom = {"name": name, "entity_type": "EMPLOYEE_ID", "pattern": "EMP-\\d{6}"}
    with pytest.raises(PolicyError, match=r"custom_detectors\.0\.name: .*letters, digits"):
        Policy.from_dict({"custom_detectors": [custom]})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # A rule on a container decides for every field under it, whatever the order.
        (
            [("customer", "skip"), ("customer.email", "tokenize")],
            r"rule \[1\] \('customer.email', tokenize\) never applies: rule \[0\] "
            r"\('customer', skip\) decides first for every field under it",
        ),
        (
            [("items[*].card", "mask"), ("items", "scan")],
            r"rule \[0\] \('items\[\*\].card', mask\) never applies: rule \[1\] "
            r"\('items', scan\) decides first",
        ),
        ([("**", "preserve"), ("a.b", "redact")], r"rule \[1\] .* rule \[0\] \('\*\*'"),
        # Otherwise the first rule that matches a field wins.
        (
            [("customer.*", "preserve"), ("customer.loyalty", "tokenize")],
            r"rule \[1\] .* rule \[0\] \('customer.\*', preserve\) matches every field it "
            "names and comes first",
        ),
        ([("a.b", "skip"), ("$.a.b", "hash")], r"rule \[1\] .* rule \[0\]"),
    ],
)
def test_when_a_field_rule_is_decided_by_another_then_rejected(
    fields: list[tuple[str, str]], message: str
) -> None:
    # They were ignored without a word: {"customer": {"email": ...}} came out unchanged
    # under "skip customer, tokenize customer.email".
    rules = [{"path": path, "action": action} for path, action in fields]
    with pytest.raises(PolicyError, match=r"^policy: fields: " + message):
        Policy.from_dict({"fields": rules})


def test_when_field_rules_overlap_only_partly_or_agree_then_accepted() -> None:
    rules = [
        {"path": "customer.id", "action": "skip"},
        {"path": "customer.*", "action": "tokenize"},  # still decides customer.name
        {"path": "customer.email", "action": "tokenize"},  # the same as the rule above
        {"path": "items[*].note", "action": "scan"},
        {"path": "items[0]", "action": "skip"},  # items[1].note is still scanned
        {"path": "**.secret", "action": "redact"},
        {"path": "debug", "action": "skip"},  # secret elsewhere is still redacted
    ]
    assert len(Policy.from_dict({"fields": rules}).fields) == len(rules)


def test_when_the_version_is_a_decimal_number_then_the_error_says_to_quote_it(
    tmp_path: Path,
) -> None:
    # Was "version: Input should be a valid string" (a topology: "1.1 is not of type
    # 'string'"), with no word on why 1.10 became 1.1 or what to write.
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("version: 1.10\n")
    with pytest.raises(PolicyError) as error:
        Policy.from_file(policy_file)
    assert str(error.value) == (
        f"{policy_file}: version: 1.1 is read as a number, which may not be the text written "
        '(1.10 is 1.1); put it in quotes as you mean it, like version: "1.1"'
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"action": "tokenize", "keep_last": 4}, "keep_last applies only to action mask, but "
         "the action is tokenize; use action: mask, or remove keep_last"),
        ({"keep_last": 4}, "keep_last applies only to action mask, but the action is tokenize"),
        ({"action": "hash", "mask_char": "#"}, "mask_char applies only to action mask"),
        ({"action": "mask", "label": "[CARD]"}, "label applies only to action redact, but the "
         "action is mask; use action: redact, or remove label"),
    ],
)  # fmt: skip
def test_when_an_entity_rule_sets_an_option_its_action_ignores_then_rejected(
    rule: dict[str, object], message: str
) -> None:
    # {action: tokenize, keep_last: 4} tokenized the whole card number without a word.
    with pytest.raises(PolicyError, match=r"^policy: entities\.CREDIT_CARD: " + re.escape(message)):
        Policy.from_dict({"entities": {"CREDIT_CARD": rule}})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"action": "encrypt", "keep_last": 4}, "keep_last applies only to action mask"),
        ({"action": "skip", "label": "[PIN]"}, "label applies only to action redact, but the "
         "action is skip"),
    ],
)  # fmt: skip
def test_when_a_field_rule_sets_an_option_its_action_ignores_then_rejected(
    rule: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError, match=r"^policy: fields\.0: " + re.escape(message)):
        Policy.from_dict({"fields": [{"path": "customer.pin", **rule}]})


def test_when_options_are_those_the_action_reads_or_their_defaults_then_accepted() -> None:
    policy = Policy.from_dict(
        {
            "entities": {
                "CREDIT_CARD": {"action": "mask", "keep_last": 4, "mask_char": "#"},
                "US_SSN": {"action": "redact", "label": "[SSN]"},
                "PHONE_NUMBER": {"action": "tokenize", "keep_last": 0, "label": None},
            },
            "fields": [
                {"path": "customer.pin", "action": "mask", "keep_last": 2},
                {"path": "customer.ssn", "action": "redact", "label": "[SSN]"},
            ],
        }
    )
    # A policy dumped with every default (as overrides re-validate it) loads again.
    assert Policy.model_validate(policy.model_dump()) == policy
