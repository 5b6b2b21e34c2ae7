"""Topologies: the shipped files are valid, broken ones fail with the file, the path in it and
the reason, and flags and STREAMER_* variables override the file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream.schemas import SCHEMA_DIR, load_schema
from streamer.stream.topology import KeyScope, Topology, TopologyError

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "topologies"
SHIPPED = sorted((ROOT / "topologies").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_topologies_are_valid_and_runnable(path: Path) -> None:
    topology = Topology.from_file(path).check_runnable()
    assert topology.inputs
    assert len({topology.output_topic, topology.token_topic, topology.dlq_topic}) == 3


def test_the_default_file_matches_the_built_in_default_apart_from_its_example_input() -> None:
    from_file = Topology.from_file(ROOT / "topologies" / "default.yaml")
    built_in = Topology()
    assert from_file.format == built_in.format == "json"
    assert from_file.policy == built_in.policy
    assert from_file.limits == built_in.limits
    assert from_file.topics == built_in.topics
    assert built_in.inputs == []


BROKEN = {
    "unknown_key.yaml": ("(top level)", "'input' was unexpected"),
    "bad_format.yaml": ("format", "'avro' is not one of"),
    "bad_topic_name.yaml": ("outputs.output", "does not match"),
    "bad_action.yaml": ("policy.entities.CREDIT_CARD.action", "'scramble' is not one of"),
    "bad_limit.yaml": ("limits.max_in_flight_records", "less than the minimum"),
    "both_scope_sources.yaml": ("key_scope", "only one of header, field"),
    "not_a_mapping.yaml": ("(top level)", "expected a mapping"),
    "broken_yaml.yaml": ("not valid YAML at line 2", "expected ','"),
    "missing_policy_file.yaml": ("policy", "does-not-exist.yaml"),
    "bad_custom_detector.yaml": ("policy.custom_detectors[0].entity_type", "does not match"),
    "bad_field_path.yaml": ("policy.fields[0].path", "customer..email"),
    "bad_cloud_provider.yaml": ("cloud.providers[0]", "'endpoint' was unexpected"),
    "unknown_policy_key.yaml": ("policy", "'entitys' was unexpected"),
    "unknown_detector.yaml": ("policy.detectors[1]", "unknown detector 'emial'; valid names"),
    "bad_custom_detector_name.yaml": ("policy.custom_detectors[0].name", "does not match"),
    "unknown_entity_type.yaml": ("policy.entities.EMAIL", "no detector reports this entity"),
    "unknown_entity_rule_key.yaml": ("policy.entities.CREDIT_CARD", "'actoin' was unexpected"),
    "duplicate_key.yaml": ("not valid YAML at line 5", "the key 'inputs' is written twice"),
    "empty_key_scope.yaml": ("key_scope", "None is not of type 'object'"),
    "empty_policy.yaml": ("policy", "None is not of type 'string' or 'object'"),
    "pass_provenance_header.yaml": ("pass_headers[1]", "'pii.policy.version' is a header"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_topology_names_the_file_the_path_and_the_reason(name: str) -> None:
    where, why = BROKEN[name]
    with pytest.raises(TopologyError) as caught:
        Topology.from_file(FIXTURES / name)
    message = str(caught.value)
    assert message.startswith(str(FIXTURES / name))
    assert where in message
    assert why in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", ["empty_key_scope.yaml", "empty_policy.yaml"])
def test_an_empty_section_is_reported_as_empty_and_nothing_else(name: str) -> None:
    # Was: "key_scope: ...; key_scope: give only one of header, field, not all of them"
    # and "policy: None is not valid under any of the given schemas".
    with pytest.raises(TopologyError) as caught:
        Topology.from_file(FIXTURES / name)
    where, why = BROKEN[name]
    assert str(caught.value) == f"{FIXTURES / name}: {where}: {why}"


def test_every_broken_fixture_is_covered() -> None:
    fixtures = {p.name for p in FIXTURES.glob("*.yaml")} - {"with_policy_file.yaml"}
    assert fixtures == set(BROKEN)


def test_an_inline_policy_takes_every_policy_setting() -> None:
    policy = {
        "version": "3",
        "languages": ["en", "de"],
        "allow_list": ["Acme Support"],
        "deny_list": {"PROJECT": ["Falcon"]},
    }
    topology = Topology.from_dict({"inputs": ["a.raw"], "policy": policy})
    assert topology.policy == Policy.model_validate(policy)


def test_entity_types_from_custom_detectors_deny_lists_and_the_cloud_are_known() -> None:
    policy = {
        "entities": {"EMPLOYEE_ID": "mask", "PROJECT": "redact", "SALARY": "hash"},
        "custom_detectors": [{"name": "emp", "entity_type": "EMPLOYEE_ID", "pattern": "E\\d+"}],
        "deny_list": {"PROJECT": ["Falcon"]},
        "fields": [{"path": "pay", "action": "hash", "entity_type": "SALARY"}],
    }
    assert Topology.from_dict({"inputs": ["a"], "policy": policy}).policy.entities
    # Types the cloud services report are known without a cloud: section, since
    # --cloud-provider can add one after the file is read.
    cloud_mapped = {"entities": {"AU_TFN": "redact", "US_ITIN": "mask"}}
    assert Topology.from_dict({"inputs": ["a"], "policy": cloud_mapped}).policy.entities
    cloud_unmapped = {"entities": {"SOME_NEW_CATEGORY": "redact"}}
    with pytest.raises(TopologyError, match="SOME_NEW_CATEGORY"):
        Topology.from_dict({"inputs": ["a"], "policy": cloud_unmapped})
    cloud = {"providers": [{"provider": "azure"}]}
    assert Topology.from_dict({"inputs": ["a"], "policy": cloud_unmapped, "cloud": cloud}).cloud


@pytest.mark.parametrize(("written", "version"), [("2026-01-15", "2026-01-15"), ("3", "3")])
def test_an_unquoted_policy_version_is_the_text_written(
    tmp_path: Path, written: str, version: str
) -> None:
    # YAML reads these as a date and a number; a policy file takes them the same way.
    path = tmp_path / "topology.yaml"
    path.write_text(f"inputs: [orders.raw]\npolicy:\n  version: {written}\n")
    assert Topology.from_file(path).policy.version == version


def test_an_unquoted_decimal_policy_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    # Was "policy.version: 1.1 is not of type 'string'" for version: 1.10.
    path = tmp_path / "topology.yaml"
    path.write_text("inputs: [orders.raw]\npolicy:\n  version: 1.10\n")
    with pytest.raises(TopologyError, match=r"^\S+: policy\.version: 1\.1 is read as a number.* "
                       r'put it in quotes as you mean it, like version: "1\.1"$'):  # fmt: skip
        Topology.from_file(path)


def test_a_missing_file_says_so() -> None:
    with pytest.raises(TopologyError, match="does not exist"):
        Topology.from_file(FIXTURES / "nope.yaml")


def test_a_policy_file_is_read_relative_to_the_topology() -> None:
    topology = Topology.from_file(FIXTURES / "with_policy_file.yaml")
    assert topology.policy.version == "7"
    assert topology.policy.default_action == "mask"


def test_outputs_group_are_derived_from_a_single_input() -> None:
    topology = Topology(inputs=["orders.raw"])
    assert topology.output_topic == "orders.clean"
    assert topology.token_topic == "orders.tokens"
    assert topology.dlq_topic == "orders.dlq"
    assert topology.group == "pii-streamer.orders.clean"
    assert Topology(name="orders", inputs=["a", "b"]).output_topic == "orders.clean"


def test_several_inputs_without_a_name_need_explicit_outputs() -> None:
    with pytest.raises(TopologyError, match="--output-topic"):
        Topology(inputs=["a", "b"]).check_runnable()


def test_several_inputs_name_every_output_topic_still_missing_at_once() -> None:
    """`--input-topic a --input-topic b` named only --output-topic; given that, the next
    run named only --token-topic, and the one after --dlq-topic."""
    with pytest.raises(TopologyError) as raised:
        Topology(inputs=["a", "b"], outputs={"output": "ab.clean"}).check_runnable()
    assert "pass --token-topic TOPIC --dlq-topic TOPIC" in str(raised.value)
    assert "--output-topic" not in str(raised.value)


def test_no_input_is_a_clear_error() -> None:
    with pytest.raises(TopologyError, match="--input-topic"):
        Topology().check_runnable()


def test_an_output_that_is_also_an_input_is_refused() -> None:
    with pytest.raises(TopologyError, match="also an input"):
        Topology(
            inputs=["a", "b"], outputs={"output": "b", "tokens": "t", "dlq": "d"}
        ).check_runnable()


@pytest.mark.parametrize(
    ("keys_topic", "role"),
    [("a", "an input topic"), ("o.clean", "the clean topic"), ("o.tokens", "the token topic"),
     ("o.dlq", "the dead-letter topic")],
)  # fmt: skip
def test_a_keys_topic_that_is_also_a_pipeline_topic_is_refused(keys_topic: str, role: str) -> None:
    # STREAMER_KEYS_TOPIC=<input>: the key store's records were redacted as events and
    # published to the clean topic; =<clean topic>: they were mixed into it, and the key
    # sync warned about every clean record.
    topology = Topology(inputs=["a", "b"], name="o")
    with pytest.raises(
        TopologyError, match=rf"^STREAMER_KEYS_TOPIC: '{keys_topic}' is also {role}"
    ):
        topology.check_runnable(keys_topic=keys_topic)
    topology.check_runnable(keys_topic="pii.keys")
    topology.check_runnable(keys_topic=None)


def test_a_cloud_provider_name_has_a_detector_names_shape() -> None:
    # It is listed in the comma-separated pii.detectors header of every clean record,
    # which then broke schemas/clean_event_headers.schema.json ("ner,Azure West, EU").
    section = {"providers": [{"provider": "azure", "name": "Azure West, EU"}]}
    with pytest.raises(TopologyError, match=r"^t.yaml: cloud.providers\[0\].name: 'Azure West"):
        Topology.from_dict({"inputs": ["a"], "cloud": section}, source="t.yaml")
    section["providers"][0]["name"] = "azure-west.eu_1"
    assert Topology.from_dict({"inputs": ["a"], "cloud": section}).cloud is not None


def test_a_key_scope_field_needs_json_events() -> None:
    # With text events every record fell back to the default scope: tenants shared keys.
    logs = Topology.from_dict(
        {"inputs": ["logs.raw"], "format": "text", "key_scope": {"field": "tenant"}},
        source="logs.yaml",
    )
    with pytest.raises(TopologyError, match=r"^logs.yaml: key_scope.field: 'tenant' needs JSON"):
        logs.check_runnable()
    orders = Topology(inputs=["orders.raw"], key_scope=KeyScope(field="customer.tenant"))
    orders.check_runnable()
    with pytest.raises(TopologyError, match=r"the format is text \(format, --format"):
        orders.with_overrides(StreamerSettings(format="text")).check_runnable()
    tickets = Topology.from_file(ROOT / "topologies" / "support-tickets.yaml")
    without_rules = tickets.model_copy(
        update={"policy": tickets.policy.model_copy(update={"fields": []})}
    )
    without_rules.with_overrides(StreamerSettings(format="text")).check_runnable()  # a header


def test_field_rules_that_always_replace_need_json_events() -> None:
    """`--format text` with the support-tickets topology: the rule tokenizing
    customer.name could not apply to a text record, and a name NER missed was published
    in plaintext. Rules that only skip, scan or preserve do no harm there."""
    tickets = Topology.from_file(ROOT / "topologies" / "support-tickets.yaml")
    with pytest.raises(
        TopologyError, match=r"support-tickets.yaml: policy.fields\[6\]: 'customer.name' is always"
    ):
        tickets.with_overrides(StreamerSettings(format="text")).check_runnable()
    harmless = [{"path": "a", "action": "skip"}, {"path": "b", "action": "preserve"}]
    Topology(inputs=["logs"], format="text", policy={"fields": harmless}).check_runnable()


def test_flags_and_variables_override_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAMER_INPUT_TOPIC", "x.raw,y.raw")
    monkeypatch.setenv("STREAMER_GROUP_ID", "from-env")
    monkeypatch.setenv("STREAMER_MAX_IN_FLIGHT_RECORDS", "77")
    settings = StreamerSettings(
        topology=ROOT / "topologies" / "support-tickets.yaml",
        output_topic="flag.clean",
        format="text",
        workers=3,
    )
    topology = Topology.load(settings)
    assert topology.inputs == ["x.raw", "y.raw"]
    assert topology.group == "from-env"
    assert topology.output_topic == "flag.clean"
    assert topology.token_topic == "support.tickets.tokens"  # from the file
    assert topology.format == "text"
    assert topology.limits.max_in_flight_records == 77
    assert topology.limits.batch_records == 500
    assert topology.limits.workers == 3
    # The file's record limit reaches the engine unless a flag or variable set one.
    assert topology.engine_settings(settings).max_record_bytes == 262144
    explicit = StreamerSettings(max_record_bytes=5000)
    assert Topology.load(explicit).limits.max_record_bytes == 5000


def test_an_override_must_be_valid_too() -> None:
    # The message named outputs.output and a regular expression, not the flag.
    expected = r"--output-topic \(STREAMER_OUTPUT_TOPIC\): 'bad name' is not a valid Kafka topic"
    with pytest.raises(TopologyError, match=expected):
        Topology(inputs=["a"]).with_overrides(StreamerSettings(output_topic="bad name"))
    with pytest.raises(TopologyError, match=r"--input-topic \(STREAMER_INPUT_TOPIC\): 'a b' is"):
        Topology().with_overrides(StreamerSettings(input_topic=["ok", "a b"]))


def test_schema_and_model_know_the_same_settings() -> None:
    schema = load_schema("topology")
    model_fields = set(Topology.model_fields) - {"source"}
    assert set(schema["properties"]) == model_fields
    for section, model in (("limits", "limits"), ("topics", "topics"), ("outputs", "outputs")):
        nested = type(getattr(Topology(), model))
        assert set(schema["properties"][section]["properties"]) == set(nested.model_fields)


def test_every_schema_file_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    for path in SCHEMA_DIR.glob("*.schema.json"):
        Draft202012Validator.check_schema(orjson.loads(path.read_bytes()))


def test_the_cloud_section_in_the_schema_knows_the_same_settings_as_the_model() -> None:
    from streamer.cloud import AwsProviderConfig, AzureProviderConfig, CloudConfig, GuardLimits

    definitions = load_schema("topology")["$defs"]
    assert set(definitions["cloud"]["properties"]) == set(CloudConfig.model_fields)
    assert set(definitions["cloud_limits"]["properties"]) == set(GuardLimits.model_fields)
    by_kind = {
        branch["if"]["properties"]["provider"]["const"]: branch["then"]["properties"]
        for branch in definitions["cloud_provider"]["allOf"]
    }
    assert set(by_kind["azure"]) == set(AzureProviderConfig.model_fields)
    assert set(by_kind["aws"]) == set(AwsProviderConfig.model_fields)


CLOUD = {
    "inputs": ["a.raw"],
    "cloud": {
        "providers": [{"provider": "aws", "region": "eu-west-1", "limits": {"max_concurrency": 4}}],
        "unavailable": "block",
    },
}


def test_cloud_provider_flag_picks_configured_providers_and_adds_known_kinds() -> None:
    topology = Topology.from_dict(CLOUD, source="t.yaml")
    assert topology.cloud is not None and topology.cloud.unavailable == "block"

    both = topology.with_overrides(StreamerSettings(cloud_provider=["azure", "aws"]))
    assert both.cloud is not None
    azure, aws = both.cloud.providers
    assert (azure.provider, aws.provider) == ("azure", "aws")
    assert aws.limits.max_concurrency == 4  # the configured one keeps its settings
    assert both.cloud.unavailable == "block"  # and so does the section

    added = Topology(inputs=["a.raw"]).with_overrides(StreamerSettings(cloud_provider=["azure"]))
    assert added.cloud is not None and [p.provider for p in added.cloud.providers] == ["azure"]
    assert added.cloud.mode == "union" and added.cloud.unavailable == "fallback"

    off = topology.with_overrides(StreamerSettings(cloud_provider=["none"]))
    assert off.cloud is None
    assert topology.with_overrides(StreamerSettings()).cloud == topology.cloud


def test_cloud_provider_flag_repeated_or_mixed_with_none() -> None:
    # `--cloud-provider azure --cloud-provider azure` asked for azure (it was refused as a
    # section with two providers of one name); `aws,none` was refused with 'none' listed
    # among the valid names.
    topology = Topology.from_dict(CLOUD, source="t.yaml")
    twice = topology.with_overrides(StreamerSettings(cloud_provider=["aws", "aws"]))
    assert twice.cloud is not None and [p.provider for p in twice.cloud.providers] == ["aws"]
    with pytest.raises(TopologyError, match="cannot be combined with providers"):
        topology.with_overrides(StreamerSettings(cloud_provider=["aws", "none"]))


def test_cloud_provider_variable_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_CLOUD_PROVIDER", "aws, azure")
    assert StreamerSettings().cloud_provider == ["aws", "azure"]


def test_cloud_provider_flag_values_may_be_comma_separated_like_the_variable() -> None:
    # README: "--cloud-provider ... e.g. aws or azure,aws"
    assert StreamerSettings(cloud_provider=["azure,aws"]).cloud_provider == ["azure", "aws"]
    assert StreamerSettings(cloud_provider=["azure", " aws "]).cloud_provider == ["azure", "aws"]


def test_input_topic_flag_values_may_be_comma_separated_like_the_variable() -> None:
    assert StreamerSettings(input_topic=["a,b", "c"]).input_topic == ["a", "b", "c"]
    assert StreamerSettings(input_topic="a, b").input_topic == ["a", "b"]


def test_an_unknown_cloud_provider_flag_names_the_valid_ones() -> None:
    topology = Topology.from_dict(CLOUD, source="t.yaml")
    with pytest.raises(TopologyError, match=r"'gcp'.*t.yaml.*valid: aws, azure, none"):
        topology.with_overrides(StreamerSettings(cloud_provider=["gcp"]))


def test_a_policy_with_no_detectors_and_nothing_else_to_find_values_is_not_runnable() -> None:
    # detectors: [] published every record unchanged, and nothing said so.
    empty = {"inputs": ["orders.raw"], "policy": {"detectors": []}}
    topology = Topology.from_dict(empty, source="orders.yaml")
    with pytest.raises(
        TopologyError,
        match=r"^orders.yaml: policy.detectors: an empty list, and no custom detector, .* every "
        r"record would be published unchanged; remove policy.detectors \(the defaults run\), "
        r"list some \(like \[email, phone\]\), or add policy.custom_detectors$",
    ):
        topology.check_runnable()
    # --cloud-provider azure finds values; --cloud-provider none leaves nothing again.
    cloud = topology.with_overrides(StreamerSettings(cloud_provider=["azure"])).check_runnable()
    with pytest.raises(TopologyError, match=r"^orders.yaml: policy.detectors: an empty list"):
        cloud.with_overrides(StreamerSettings(cloud_provider=["none"])).check_runnable()


@pytest.mark.parametrize(
    "policy",
    [
        {"custom_detectors": [{"name": "employee_id", "entity_type": "EMPLOYEE_ID",
                               "pattern": r"EMP-\d{6}"}]},
        {"deny_list": {"PROJECT": ["Falcon"]}},
        {"fields": [{"path": "customer.email", "action": "tokenize"}]},
    ],
    ids=["custom detector", "deny list", "field rule"],
)  # fmt: skip
def test_a_policy_with_no_detectors_but_its_own_ways_to_replace_values_runs(
    policy: dict[str, object],
) -> None:
    Topology.from_dict({"inputs": ["orders.raw"], "policy": {"detectors": [], **policy}})\
        .check_runnable()  # fmt: skip


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["email"], r"custom_detectors\[0\].name: 'email' is a built-in detector's name too"),
        (["deny_list"], r"custom_detectors\[0\].name: 'deny_list' is a built-in detector's"),
        (["emp", "emp"], r"custom_detectors\[1\].name: 'emp' is an earlier one's name too"),
    ],
)
def test_a_custom_detector_named_like_another_detector_is_refused(
    names: list[str], message: str
) -> None:
    # Both ran, and the pii.detectors header named email twice.
    customs = [{"name": name, "entity_type": "EMAIL_ADDRESS", "pattern": "x@y"} for name in names]
    with pytest.raises(
        TopologyError, match=r"^t.yaml: policy." + message + r".*; rename it \(like \w+_custom\)$"
    ):
        Topology.from_dict({"policy": {"custom_detectors": customs}}, source="t.yaml")
