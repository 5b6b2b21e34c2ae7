"""The JSON Schemas in ``schemas/``: where they are and how records are checked against them.

The files live at the top of the source tree (``schemas/``), next to ``topologies/``, so
users and other tools can read them. An editable install finds them there; a wheel
installs both directories under ``<prefix>/share/pii-streamer/``.
"""

from __future__ import annotations

import functools
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from streamer.errors import ConfigurationError


def _data_root() -> Path:
    """The directory holding ``schemas/`` and ``topologies/``."""
    source_tree = Path(__file__).resolve().parents[2]
    if (source_tree / "schemas").is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "pii-streamer"


SCHEMA_DIR = _data_root() / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.schema.json`` as a dict."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    try:
        schema: dict[str, Any] = orjson.loads(path.read_bytes())
    except OSError:
        raise ConfigurationError(
            f"JSON Schema {path} is missing; reinstall pii-streamer (pip install "
            "pii-streamer, or pip install -e . in its source tree)"
        ) from None
    return schema


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A validator for ``schemas/<name>.schema.json`` (checked once, then cached)."""
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(name: str, document: Any) -> list[str]:
    """Why ``document`` does not match the schema, one ``path: reason`` per problem."""
    errors = [_most_specific(error) for error in validator(name).iter_errors(document)]
    errors.sort(key=lambda e: [str(part) for part in e.absolute_path])
    return [f"{_path(error.absolute_path)}: {_reason(error)}" for error in errors]


def _most_specific(error: ValidationError) -> ValidationError:
    """For ``oneOf``/``anyOf``, the error of the branch that got furthest into the value
    (``policy.entities.X.action``, not "policy is not a string"); at equal depth, the
    branch of the value's type (``'entitys' was unexpected`` for a mapping, not "is not
    one of" the names of a string branch)."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        deepest = max(
            error.context,
            key=lambda e: (len(e.relative_path), e.validator not in ("type", "enum", "const")),
        )
        if not deepest.relative_path and deepest.validator == "type":
            break
        error = deepest
    return error


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _reason(error: ValidationError) -> str:
    if error.validator == "not" and isinstance(error.validator_value, dict):
        together = error.validator_value.get("required")
        if together:
            return f"give only one of {', '.join(together)}, not all of them"
    if error.validator in ("oneOf", "anyOf") and error.context:
        types = [e.validator_value for e in error.context if e.validator == "type"]
        if len(types) == len(error.context):  # the value is of none of the branches' types
            return f"{error.instance!r} is not of type {' or '.join(map(repr, types))}"
    message = str(error.message)
    if error.validator == "type" and isinstance(error.instance, date):
        message = f"{error.instance.isoformat()} is a date, expected a string; quote it"
    return message if len(message) <= 200 else message[:197] + "..."
