"""The redaction policy: which detectors run and what replaces what they find.

A policy is data (YAML or a dict), validated here. Example::

    version: "2026-11-01"
    default_action: tokenize
    entities:
      CREDIT_CARD: {action: mask, keep_last: 4}
      US_SSN: redact
      URL: preserve
    fields:
      - {path: "customer.ssn", action: tokenize, entity_type: US_SSN}   # always
      - {path: "ticket_id", action: skip}                                # never
    custom_detectors:
      - {name: employee_id, entity_type: EMPLOYEE_ID, pattern: 'EMP-\\d{6}', score: 0.9}
    languages: [en]                     # the first is the default for records that name none
    allow_list: ["Acme Support", "N/A"] # never redacted (whole detected value, any case)
    deny_list:                          # always redacted, as that entity type
      PERSON: ["Jo Bloggs"]
      PROJECT: ["Falcon"]

Field paths are dotted keys; ``*`` matches one key or array index, ``**`` any depth,
``[*]``/``[]`` an array element, and a leading ``$.`` is allowed. The first rule that
matches a field (or a container above it) decides; fields no rule names are scanned.
"""

from __future__ import annotations

import datetime
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from streamer.redaction.actions import (
    Action,
    EncryptAction,
    HashAction,
    MaskAction,
    PreserveAction,
    RedactAction,
    TokenizeAction,
)
from streamer.redaction.config_files import load_yaml
from streamer.redaction.detector import Detector, PatternDetector
from streamer.redaction.detectors.custom import CustomPatternDetector
from streamer.redaction.detectors.deny_list import DenyListDetector
from streamer.redaction.exceptions import PolicyError, UnsupportedLanguageError
from streamer.redaction.languages import normalize_language
from streamer.redaction.validators import VALIDATORS, get_validator

ActionName = Literal["tokenize", "encrypt", "mask", "hash", "redact", "preserve"]
_ENTITY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_DETECTOR_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityRule(_Model):
    """What happens to one entity type."""

    action: ActionName = "tokenize"
    keep_last: Annotated[int, Field(ge=0)] = 0
    mask_char: Annotated[str, Field(min_length=1, max_length=1)] = "*"
    label: str | None = None
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _options_used(self) -> EntityRule:
        _check_options_used(self)
        return self

    def build(self) -> Action:
        match self.action:
            case "tokenize":
                return TokenizeAction()
            case "encrypt":
                return EncryptAction()
            case "mask":
                return MaskAction(self.keep_last, self.mask_char)
            case "hash":
                return HashAction()
            case "redact":
                return RedactAction(self.label)
            case "preserve":
                return PreserveAction()


class FieldRule(_Model):
    """A JSON path and what to do with the fields it names.

    ``scan`` detects as usual, ``skip`` leaves the field alone, and any action applies
    to the whole value, as ``entity_type``, even when it looks harmless.
    """

    path: Annotated[str, Field(min_length=1)]
    action: Literal["scan", "skip", ActionName] = "scan"  # one Literal: one error naming all
    entity_type: str = "SENSITIVE_FIELD"
    keep_last: Annotated[int, Field(ge=0)] = 0
    label: str | None = None

    @field_validator("entity_type")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        if not _ENTITY_NAME.match(value):
            raise ValueError("entity types are upper case letters, digits and _, like US_SSN")
        return value

    @model_validator(mode="after")
    def _options_used(self) -> FieldRule:
        _check_options_used(self)
        return self

    @cached_property
    def segments(self) -> tuple[str, ...]:
        return parse_path(self.path)

    @property
    def replaces(self) -> bool:
        """Whether the rule replaces the value whatever it holds (not scan, skip or
        preserve)."""
        return self.action not in ("scan", "skip", "preserve")

    def forced_action(self) -> Action | None:
        if self.action == "scan" or self.action == "skip":
            return None
        return EntityRule(action=self.action, keep_last=self.keep_last, label=self.label).build()


class CustomDetectorConfig(_Model):
    """A pattern detector defined in configuration, without code."""

    name: Annotated[str, Field(min_length=1)]
    entity_type: str
    pattern: Annotated[str, Field(min_length=1)]
    validator: str | None = None
    context: list[str] = Field(default_factory=list)
    context_required: bool = False
    score: Annotated[float, Field(ge=0, le=1)] = 0.8
    ignore_case: bool = False

    @field_validator("entity_type")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        return FieldRule._entity_name(value)

    @field_validator("name")
    @classmethod
    def _detector_name(cls, value: str) -> str:
        if not _DETECTOR_NAME.match(value):
            raise ValueError(
                "detector names are letters, digits, _, . and -, like employee_id (the "
                "pii.detectors header lists them, comma-separated)"
            )
        return value

    @field_validator("validator")
    @classmethod
    def _known_validator(cls, value: str | None) -> str | None:
        if value is not None and value not in VALIDATORS:
            raise ValueError(f"unknown validator {value!r}; valid: {', '.join(VALIDATORS)}")
        return value

    def build(self) -> PatternDetector:
        return CustomPatternDetector(
            name=self.name,
            entity_type=self.entity_type,
            pattern=self.pattern,
            flags=re.IGNORECASE if self.ignore_case else 0,
            validator=get_validator(self.validator) if self.validator else None,
            context_words=tuple(self.context),
            context_required=self.context_required,
            score=self.score,
        )


#: Options only one action reads, and that action (``mask_char`` only entity rules have).
_ACTION_OPTIONS = (("keep_last", 0, "mask"), ("mask_char", "*", "mask"), ("label", None, "redact"))


def _check_options_used(rule: EntityRule | FieldRule) -> None:
    """An option the rule's action never reads would be ignored without a word:
    ``{action: tokenize, keep_last: 4}`` tokenizes the whole card number."""
    for option, default, action in _ACTION_OPTIONS:
        value = getattr(rule, option, default)
        if value != default and rule.action != action:
            raise ValueError(
                f"{option} applies only to action {action}, but the action is {rule.action}; "
                f"use action: {action}, or remove {option}"
            )


def version_as_written(value: Any) -> Any:
    """A policy version as the user wrote it: YAML reads ``version: 3`` as a number and
    ``version: 2026-11-01`` as a date; both are that text. A decimal number is refused
    (``ValueError``): its text is lost. Anything else is unchanged."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):  # 1.10 is read as 1.1: the text written is lost
        raise ValueError(
            f"{value!r} is read as a number, which may not be the text written (1.10 is "
            f'1.1); put it in quotes as you mean it, like version: "{value!r}"'
        )
    return value


class Policy(_Model):
    """A versioned redaction policy. ``Policy()`` tokenizes everything it finds."""

    version: str = "1"
    default_action: ActionName = "tokenize"
    entities: dict[str, EntityRule] = Field(default_factory=dict)
    fields: list[FieldRule] = Field(default_factory=list)
    detectors: list[str] | None = None
    custom_detectors: list[CustomDetectorConfig] = Field(default_factory=list)
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    languages: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: ["en"])
    allow_list: list[str] = Field(default_factory=list)
    deny_list: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _unquoted_version(cls, value: Any) -> Any:
        return version_as_written(value)

    @field_validator("version")
    @classmethod
    def _version_text(cls, value: str) -> str:
        if not value.strip() or any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError(
                "the version is stamped on every clean record (header pii.policy.version): "
                "give it as text on one line, like '3' or '2026-11-01'"
            )
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = []
        for tag in value:
            try:
                code = normalize_language(tag)
            except UnsupportedLanguageError:
                raise ValueError(
                    f"{tag!r} is not a language code; write codes like en, de or en-US"
                ) from None
            if code not in codes:
                codes.append(code)
        return codes

    @field_validator("fields")
    @classmethod
    def _no_shadowed_fields(cls, value: list[FieldRule]) -> list[FieldRule]:
        """A rule another rule always decides for first would be ignored without a word:
        ``customer: skip`` before (or after) ``customer.email: tokenize`` lets the e-mail
        address through."""
        parsed = []
        for index, rule in enumerate(value):
            try:
                parsed.append((index, rule, rule.segments))
            except PolicyError:
                continue  # reported where paths are checked, with the rule's place
        for index, rule, segments in parsed:
            for other_index, other, other_segments in parsed:
                if other_index == index or _same_outcome(rule, other):
                    continue
                inside = any(
                    _covers(other_segments, segments[:end]) for end in range(1, len(segments))
                )
                if inside or (other_index < index and _covers(other_segments, segments)):
                    how = (
                        "decides first for every field under it" if inside
                        else "matches every field it names and comes first"
                    )  # fmt: skip
                    raise ValueError(
                        f"rule [{index}] ({rule.path!r}, {rule.action}) never applies: rule "
                        f"[{other_index}] ({other.path!r}, {other.action}) {how}; remove one, "
                        "or replace the broader rule with rules for each of its fields"
                    )
        return value

    @field_validator("deny_list")
    @classmethod
    def _deny_entity_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for entity_type in value:
            FieldRule._entity_name(entity_type)
        return value

    @cached_property
    def allowed_values(self) -> frozenset[str]:
        """The allow list, case-folded: detected values equal to one are not redacted."""
        return frozenset(v.strip().casefold() for v in self.allow_list if v.strip())

    def build_detectors(self) -> list[Detector]:
        """The detectors the policy itself defines: custom patterns and the deny list."""
        detectors: list[Detector] = [custom.build() for custom in self.custom_detectors]
        if any(values for values in self.deny_list.values()):
            detectors.append(DenyListDetector(self.deny_list))
        return detectors

    @field_validator("entities", mode="before")
    @classmethod
    def _shorthand_actions(cls, value: Any) -> Any:
        """``US_SSN: redact`` is short for ``US_SSN: {action: redact}``."""
        if isinstance(value, dict):
            return {k: {"action": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def rule_for(self, entity_type: str) -> EntityRule:
        rule = self.entities.get(entity_type)
        return rule if rule is not None else EntityRule(action=self.default_action)

    def threshold_for(self, entity_type: str) -> float:
        rule = self.entities.get(entity_type)
        if rule is not None and rule.threshold is not None:
            return rule.threshold
        return self.threshold

    @classmethod
    def from_dict(cls, data: Any, source: str = "policy") -> Policy:
        """Validate ``data``; errors name ``source``, the path inside it and the reason."""
        try:
            return cls.model_validate(data if data is not None else {})
        except ValidationError as exc:
            raise PolicyError(f"{source}: {describe_validation_error(exc)}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load a policy from a YAML (or JSON) file."""
        path = Path(path)
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise PolicyError(
                f"cannot read policy file {path}: not UTF-8 text (byte {exc.start}); "
                "save it as UTF-8"
            ) from None
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise PolicyError(f"{path}: not valid YAML{line}: {problem}") from None
        if isinstance(data, dict) and "policy" in data and "version" not in data:
            data = data["policy"]  # a topology file: take its policy section
        return cls.from_dict(data, str(path))


def describe_validation_error(exc: ValidationError) -> str:
    """A model's validation errors in one line: each place in the file and its reason."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(p) for p in error["loc"]) or "(top level)"
        parts.append(f"{location}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


_SEGMENT = re.compile(r"\[(\*|\d*)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> tuple[str, ...]:
    """``$.items[*].note`` -> ``("items", "*", "note")``; indices become strings."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    segments = []
    position = 0
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None or match.end() == position:
            raise PolicyError(f"field path {path!r} is not valid; write it like customer.email")
        index, key = match.group(1), match.group(2)
        segments.append(key if key is not None else (index or "*"))
        position = match.end()
    if not segments:
        raise PolicyError(f"field path {path!r} is empty")
    return tuple(segments)


def _same_outcome(rule: FieldRule, other: FieldRule) -> bool:
    """Whether two field rules do the same to a value (one may repeat the other)."""
    return rule.model_dump(exclude={"path"}) == other.model_dump(exclude={"path"})


def _covers(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Whether ``pattern`` matches every field ``path`` (itself a pattern) can match."""
    if not pattern:
        return not path
    head = pattern[0]
    if head == "**":
        return _covers(pattern[1:], path) or (bool(path) and _covers(pattern, path[1:]))
    if not path or path[0] == "**" or (head != "*" and (path[0] == "*" or head != path[0])):
        return False
    return _covers(pattern[1:], path[1:])


def path_matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Whether a field at ``path`` is named by ``pattern`` (``*`` one, ``**`` any number)."""
    if not pattern:
        return not path
    head = pattern[0]
    if head == "**":
        return any(path_matches(pattern[1:], path[i:]) for i in range(len(path) + 1))
    if not path:
        return False
    return (head == "*" or head == path[0]) and path_matches(pattern[1:], path[1:])
