"""Topologies: which raw topics a pipeline reads, where it writes, and how it redacts.

A topology is a YAML file (``topologies/*.yaml``), checked against
``schemas/topology.schema.json`` and then by the :class:`Topology` model. Flags and
``STREAMER_*`` variables override it (:meth:`Topology.with_overrides`); without a file
:class:`Topology()` applies: JSON events, every string scanned, everything tokenized.
Example::

    name: orders
    inputs: [orders.raw]
    outputs: {output: orders.clean, tokens: orders.tokens, dlq: orders.dlq}
    format: json
    key_scope: {header: tenant}
    policy: {version: "3", entities: {CREDIT_CARD: {action: mask}}}
    limits: {max_record_bytes: 1048576, max_in_flight_records: 20000}
    cloud: {providers: [azure], unavailable: fallback}     # optional, see streamer.cloud
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streamer.cloud.config import CloudConfig
from streamer.cloud.entities import AWS_TO_ENGINE, AZURE_TO_ENGINE
from streamer.redaction.config_files import load_yaml
from streamer.redaction.detectors import DETECTORS
from streamer.redaction.detectors.deny_list import DenyListDetector
from streamer.redaction.exceptions import PolicyError, UnknownNameError
from streamer.redaction.keys import DEFAULT_SCOPE
from streamer.redaction.policy import (
    Policy,
    describe_validation_error,
    parse_path,
    version_as_written,
)
from streamer.settings import StreamerSettings
from streamer.stream.exceptions import TopologyError
from streamer.stream.schemas import schema_errors

EventFormat = Literal["json", "text"]
_TOPIC = r"^[A-Za-z0-9._-]{1,249}$"
TopicName = Annotated[str, Field(pattern=_TOPIC)]
_RAW_SUFFIX = re.compile(r"[._-]raw$")
#: The output roles and the flags that name their topics.
_OUTPUT_FLAGS = (("output", "--output-topic"), ("tokens", "--token-topic"), ("dlq", "--dlq-topic"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Outputs(_Model):
    """The three topics a pipeline writes; unset ones are derived from the input's name."""

    output: TopicName | None = None
    tokens: TopicName | None = None
    dlq: TopicName | None = None


class KeyScope(_Model):
    """Where each record's key scope (a tenant, say) comes from: a header or a JSON field."""

    header: str | None = None
    field: str | None = None
    default: Annotated[str, Field(min_length=1)] = DEFAULT_SCOPE

    @model_validator(mode="after")
    def _one_source(self) -> KeyScope:
        if self.header is not None and self.field is not None:
            raise ValueError("give either header or field, not both")
        return self


class Limits(_Model):
    """Bounds on one instance's work; ``None`` keeps the setting's default."""

    max_record_bytes: Annotated[int, Field(gt=0)] | None = None
    max_in_flight_records: Annotated[int, Field(gt=0)] = 20_000
    max_in_flight_bytes: Annotated[int, Field(gt=0)] = 64 * 1024 * 1024
    batch_records: Annotated[int, Field(gt=0)] = 500
    workers: Annotated[int, Field(gt=0)] | None = None


class TopicSettings(_Model):
    """How missing topics are created (``streamer topics``, ``streamer run``)."""

    partitions: Annotated[int, Field(gt=0)] = 6
    replication_factor: Annotated[int, Field(gt=0)] = 1
    token_retention_ms: Annotated[int, Field(ge=-1)] = -1
    dlq_retention_ms: Annotated[int, Field(ge=-1)] = 30 * 24 * 3600 * 1000


class Topology(_Model):
    """One pipeline: raw topics in; clean, token and dead-letter topics out; a policy."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] = "default"
    description: str = ""
    group_id: Annotated[str, Field(min_length=1)] | None = None
    inputs: list[TopicName] = Field(default_factory=list)
    outputs: Outputs = Field(default_factory=Outputs)
    format: EventFormat = "json"
    key_scope: KeyScope = Field(default_factory=KeyScope)
    pass_headers: list[str] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    limits: Limits = Field(default_factory=Limits)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    #: Cloud detection for every batch (``None``: local detectors only).
    cloud: CloudConfig | None = None
    #: The file it was read from, for messages; not part of the file itself.
    source: str = Field(default="the default topology", exclude=True)

    # --- loading -----------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> Topology:
        """Read and validate a topology file; errors name the file, the path in it and why."""
        path = Path(path)
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TopologyError(
                f"topology file {path} does not exist; pass --topology with an existing file "
                "(see topologies/ for examples)"
            ) from None
        except UnicodeDecodeError as exc:
            raise TopologyError(
                f"cannot read topology file {path}: not UTF-8 text (byte {exc.start}); "
                "save it as UTF-8"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise TopologyError(f"cannot read topology file {path}: {reason}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise TopologyError(f"{path}: not valid YAML{where}: {problem}") from None
        return cls.from_dict(data, source=str(path), base_dir=path.parent)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "topology", base_dir: Path | None = None
    ) -> Topology:
        """Validate ``data`` against the JSON Schema, then the model."""
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise TopologyError(
                f"{source}: (top level): expected a mapping of settings, got {type(data).__name__}"
            )
        policy = data.get("policy")
        if isinstance(policy, dict) and "version" in policy:
            try:
                version = version_as_written(policy["version"])
            except ValueError as exc:
                raise TopologyError(f"{source}: policy.version: {exc}") from None
            data = {**data, "policy": {**policy, "version": version}}
        problems = schema_errors("topology", data)
        if problems:
            raise TopologyError(f"{source}: " + "; ".join(problems[:5]))
        data = dict(data)
        policy = data.get("policy")
        if isinstance(policy, str):
            policy_path = Path(policy)
            if not policy_path.is_absolute() and base_dir is not None:
                policy_path = base_dir / policy_path
            try:
                data["policy"] = Policy.from_file(policy_path)
            except PolicyError as exc:
                raise TopologyError(f"{source}: policy: {exc}") from None
        try:
            topology = cls.model_validate({**data, "source": source})
        except ValidationError as exc:
            raise TopologyError(f"{source}: {describe_validation_error(exc)}") from None
        check_policy(topology.policy, source, "policy.", cloud=topology.cloud is not None)
        _check_pass_headers(topology.pass_headers, source)
        return topology

    @classmethod
    def load(cls, settings: StreamerSettings) -> Topology:
        """The topology of a run: the file ``settings.topology`` names (or the default),
        with every flag and ``STREAMER_*`` variable applied on top."""
        topology = cls.from_file(settings.topology) if settings.topology else cls()
        return topology.with_overrides(settings)

    def with_overrides(self, settings: StreamerSettings) -> Topology:
        """A copy with the topology values that ``settings`` sets explicitly (a flag or a
        ``STREAMER_*`` variable) replaced; settings left at their defaults change nothing."""
        given = {
            name
            for name in settings.model_fields_set
            if getattr(settings, name) is not None and getattr(settings, name) != []
        }
        outputs = {
            role: getattr(settings, name)
            for role, name in (("output", "output_topic"), ("tokens", "token_topic"),
                               ("dlq", "dlq_topic"))
            if name in given
        }  # fmt: skip
        limit_names = (
            "max_in_flight_records",
            "max_in_flight_bytes",
            "batch_records",
            "max_record_bytes",
            "workers",
        )
        limits = {name: getattr(settings, name) for name in limit_names if name in given}
        update: dict[str, Any] = {
            "outputs": {**self.outputs.model_dump(), **outputs},
            "limits": {**self.limits.model_dump(), **limits},
        }
        if "input_topic" in given:
            update["inputs"] = list(dict.fromkeys(settings.input_topic))
        if "group_id" in given:
            update["group_id"] = settings.group_id
        if "format" in given:
            update["format"] = settings.format
        if "cloud_provider" in given:
            update["cloud"] = self._cloud_with_providers(settings.cloud_provider)
        # Validate again: overrides must obey the same rules as the file.
        try:
            return type(self).model_validate({**self.model_dump(), **update, "source": self.source})
        except ValidationError as exc:
            raise TopologyError(
                f"a flag or STREAMER_* variable overriding {self.source}: {_describe_override(exc)}"
            ) from None

    def _cloud_with_providers(self, names: list[str]) -> dict[str, Any] | None:
        """The cloud section with only the providers ``names`` (``--cloud-provider``), in
        that order: those the section configures keep their settings, other known kinds
        get the defaults; ``none`` turns cloud detection off."""
        from streamer.cloud.providers import CLOUD_PROVIDERS

        wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
        if [name.lower() for name in wanted] in (["none"], ["off"]):
            return None
        if len(wanted) > 1 and {"none", "off"} & {name.lower() for name in wanted}:
            raise TopologyError(
                f"--cloud-provider {','.join(wanted)}: 'none' turns cloud detection off and "
                "cannot be combined with providers; pass 'none' alone, or only providers"
            )
        configured = {p.label: p.model_dump() for p in self.cloud.providers} if self.cloud else {}
        providers = []
        for name in wanted:
            if name in configured:
                providers.append(configured[name])
            elif name in CLOUD_PROVIDERS:
                providers.append({"provider": name})
            else:
                valid = sorted({*configured, *CLOUD_PROVIDERS.names(), "none"})
                raise TopologyError(
                    f"--cloud-provider {name!r}: not a provider of {self.source} nor a "
                    f"provider kind; valid: {', '.join(valid)}"
                )
        section = self.cloud.model_dump() if self.cloud is not None else {}
        return {**section, "providers": providers}

    # --- derived values ----------------------------------------------------------------

    def _base_name(self, role: str, flag: str) -> str:
        if len(self.inputs) == 1:
            return _RAW_SUFFIX.sub("", self.inputs[0])
        if self.name != "default":
            return self.name
        # Every output that is missing, not only this one: one run, one message.
        unset = [
            (name, option) for name, option in _OUTPUT_FLAGS if getattr(self.outputs, name) is None
        ] or [(role, flag)]
        raise TopologyError(
            f"{self.source}: {', '.join(f'outputs.{name}' for name, _ in unset)}: not set "
            f"and cannot be derived from {len(self.inputs)} input topics; pass "
            f"{' '.join(f'{option} TOPIC' for _, option in unset)} or set them in outputs"
        )

    @property
    def output_topic(self) -> str:
        return self.outputs.output or self._base_name("output", "--output-topic") + ".clean"

    @property
    def token_topic(self) -> str:
        return self.outputs.tokens or self._base_name("tokens", "--token-topic") + ".tokens"

    @property
    def dlq_topic(self) -> str:
        return self.outputs.dlq or self._base_name("dlq", "--dlq-topic") + ".dlq"

    @property
    def group(self) -> str:
        """The consumer group id: set, or derived from the name or the clean topic."""
        if self.group_id:
            return self.group_id
        return "pii-streamer." + (self.name if self.name != "default" else self.output_topic)

    @property
    def scope_field(self) -> str | None:
        return self.key_scope.field

    def check_runnable(self, *, keys_topic: str | None = None) -> Topology:
        """Raise :class:`TopologyError` unless ``streamer run`` can start with this;
        ``keys_topic`` is the key store's topic (``STREAMER_KEYS_TOPIC``), if any."""
        if not self.inputs:
            raise TopologyError(
                f"{self.source}: inputs: no input topic; pass --input-topic (repeatable), "
                "set STREAMER_INPUT_TOPIC, or list inputs in the topology file"
            )
        if self.format == "text" and self.key_scope.field is not None:
            # Every record would fall back to the default scope: tenants share keys.
            raise TopologyError(
                f"{self.source}: key_scope.field: {self.key_scope.field!r} needs JSON events, "
                "but the format is text (format, --format or STREAMER_FORMAT); take the "
                "scope from a header (key_scope.header) or read json"
            )
        check_finds_something(self.policy, self.source, "policy.", cloud=self.cloud is not None)
        if self.format == "text":
            for index, rule in enumerate(self.policy.fields):
                if rule.replaces:
                    # A text record has no fields: the value it says to replace would leak.
                    raise TopologyError(
                        f"{self.source}: policy.fields[{index}]: {rule.path!r} is always "
                        f"replaced ({rule.action}) in JSON events, but the format is text "
                        "(format, --format or STREAMER_FORMAT), where field rules cannot "
                        "apply; read json, or remove the rule"
                    )
        outputs = {"output": self.output_topic, "tokens": self.token_topic, "dlq": self.dlq_topic}
        for role, flag in _OUTPUT_FLAGS:
            if outputs[role] in self.inputs:
                raise TopologyError(
                    f"{self.source}: outputs.{role} ({flag}): topic {outputs[role]!r} is also "
                    "an input (inputs, --input-topic); the pipeline would read its own output"
                )
        if len(set(outputs.values())) != len(outputs):
            raise TopologyError(
                f"{self.source}: outputs: the clean, token and dead-letter topics must differ "
                f"(got {outputs}; --output-topic, --token-topic, --dlq-topic)"
            )
        roles = {topic: "an input topic" for topic in self.inputs}
        names = {"output": "clean", "tokens": "token", "dlq": "dead-letter"}
        roles.update({topic: f"the {names[role]} topic" for role, topic in outputs.items()})
        if keys_topic in roles:
            # Key records would be read as events or mixed into an output, and the key
            # sync would read that topic's records as keys.
            raise TopologyError(
                f"STREAMER_KEYS_TOPIC: {keys_topic!r} is also {roles[keys_topic]} of "
                f"{self.source}; the keys topic holds only the key store's records, so give "
                "it a topic of its own (like pii.keys)"
            )
        return self

    def engine_settings(self, settings: StreamerSettings) -> StreamerSettings:
        """``settings`` with the topology's record limit and worker count applied."""
        update: dict[str, Any] = {}
        if self.limits.max_record_bytes is not None:
            update["max_record_bytes"] = self.limits.max_record_bytes
        if self.limits.workers is not None:
            update["workers"] = self.limits.workers
        return settings.model_copy(update=update) if update else settings


def load_policy_file(
    path: str | Path, *, cloud: bool = False, detectors_given: bool = False
) -> Policy:
    """A policy file given on its own (``--policy``), checked as a topology's policy is:
    a typo such as ``EMAIL`` for ``EMAIL_ADDRESS`` stops it instead of leaving those
    values to the default action. ``detectors_given``: a flag chooses the detectors, so
    the file's list may be empty."""
    policy = Policy.from_file(path)
    check_policy(policy, str(path), cloud=cloud)
    if not detectors_given:
        check_finds_something(policy, str(path), cloud=cloud)
    return policy


def check_policy(policy: Policy, source: str, prefix: str = "", *, cloud: bool = False) -> None:
    """Problems the policy model finds only when the engine is built: detector names,
    field paths, custom detector patterns and entity types no detector reports. Found
    here, they name the file (``source``) and the place in it (after ``prefix``)."""
    for index, name in enumerate(policy.detectors or ()):
        try:
            DETECTORS.entry(name)
        except UnknownNameError as exc:
            raise TopologyError(f"{source}: {prefix}detectors[{index}]: {exc}") from None
    for index, rule in enumerate(policy.fields):
        try:
            parse_path(rule.path)
        except PolicyError as exc:
            raise TopologyError(f"{source}: {prefix}fields[{index}].path: {exc}") from None
    built_in = {*DETECTORS.names(), DenyListDetector.name}
    named: set[str] = set()
    for index, custom in enumerate(policy.custom_detectors):
        if custom.name in built_in or custom.name in named:
            # Both would run, and the pii.detectors header would name one of them twice.
            whose = "a built-in detector's" if custom.name in built_in else "an earlier one's"
            raise TopologyError(
                f"{source}: {prefix}custom_detectors[{index}].name: {custom.name!r} is "
                f"{whose} name too; rename it (like {custom.name}_custom)"
            )
        named.add(custom.name)
        try:
            re.compile(custom.pattern)
        except re.error as exc:
            raise TopologyError(
                f"{source}: {prefix}custom_detectors[{index}].pattern: not a valid regular "
                f"expression ({exc.msg})"
            ) from None
    if not cloud:  # cloud services may report types no table names
        _check_entity_types(policy, source, prefix)


def check_finds_something(
    policy: Policy, source: str, prefix: str = "", *, cloud: bool = False
) -> None:
    """``detectors: []`` with nothing else to find or replace a value publishes every
    record unchanged: refused, naming what to add."""
    if policy.detectors is None or policy.detectors or cloud or policy.custom_detectors:
        return
    if any(policy.deny_list.values()):
        return
    if any(rule.replaces for rule in policy.fields):
        return  # a field rule replaces a value without a detector
    raise TopologyError(
        f"{source}: {prefix}detectors: an empty list, and no custom detector, deny list, "
        "field rule that replaces a value or cloud section finds anything, so every record "
        f"would be published unchanged; remove {prefix}detectors (the defaults run), list "
        f"some (like [email, phone]), or add {prefix}custom_detectors"
    )


def _check_pass_headers(names: list[str], source: str) -> None:
    """The ``pii.`` headers are pii-streamer's provenance: one passed from the input would
    stand after (and, for readers taking the last header of a name, over) its own."""
    for index, name in enumerate(names):
        if name.lower().startswith("pii."):
            raise TopologyError(
                f"{source}: pass_headers[{index}]: {name!r} is a header pii-streamer writes "
                "itself (provenance); an input's copy cannot pass, so remove it"
            )


def _check_entity_types(policy: Policy, source: str, prefix: str) -> None:
    """An entity rule no detector can ever trigger is a typo (``EMAIL`` for
    ``EMAIL_ADDRESS``) that would silently apply the default action instead."""
    from streamer.redaction.detectors.ner import NER_ENTITIES

    entries = [DETECTORS.entry(name) for name in DETECTORS.names()]
    if any(not entry.entities for entry in entries):
        return  # a detector registered from code without saying what it finds
    known = {entity for entry in entries for entity in entry.entities}
    known |= set(NER_ENTITIES) | set(policy.deny_list)
    known |= set(AZURE_TO_ENGINE.values()) | set(AWS_TO_ENGINE.values())  # --cloud-provider
    known |= {custom.entity_type for custom in policy.custom_detectors}
    known |= {rule.entity_type for rule in policy.fields}
    for entity_type in policy.entities:
        if entity_type not in known:
            raise TopologyError(
                f"{source}: {prefix}entities.{entity_type}: no detector reports this entity "
                f"type; known: {', '.join(sorted(known))} (or define it in "
                f"{prefix}custom_detectors)"
            )


#: The flag and variable behind each topic a run's settings may override, for messages.
_TOPIC_OVERRIDES = {
    "inputs": "--input-topic (STREAMER_INPUT_TOPIC)",
    "outputs.output": "--output-topic (STREAMER_OUTPUT_TOPIC)",
    "outputs.tokens": "--token-topic (STREAMER_TOKEN_TOPIC)",
    "outputs.dlq": "--dlq-topic (STREAMER_DLQ_TOPIC)",
}


def _describe_override(exc: ValidationError) -> str:
    """Like :func:`~streamer.redaction.policy.describe_validation_error`, with a topic
    name a flag or variable gave named as such."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(p) for p in error["loc"])
        given = _TOPIC_OVERRIDES.get(location) or _TOPIC_OVERRIDES.get(location.split(".")[0])
        if given is not None and error["type"] == "string_pattern_mismatch":
            parts.append(
                f"{given}: {error['input']!r} is not a valid Kafka topic name; use 1 to 249 "
                "letters, digits, '.', '_' or '-'"
            )
        else:
            parts.append(f"{location or '(top level)'}: {error['msg']}")
    return "; ".join(parts)
