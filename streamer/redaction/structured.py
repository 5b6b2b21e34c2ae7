"""Walking JSON events: which values get scanned, forced or skipped, and where they go.

Every string at any depth is scanned by default; whole numbers of seven digits or more
are scanned too (a phone number or account stored as a number, ``4155550132.0`` too), and
so are object keys that are more than a field name (``jane@example.com``,
``+1 415 555 2671``, ``Jane Doe``). Field rules from the policy override that per JSON path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from streamer.redaction.exceptions import InvalidEventError, KeyCollisionError
from streamer.redaction.policy import FieldRule, path_matches

_MIN_SCANNED_INT = 1_000_000
_MAX_EXACT_FLOAT = 2**53  # past it a float's digits are not the number that was written
# A key of letters of any script, underscores and hyphens (first_name, ticketId, Straße,
# prénom, 郵便番号) is a field name; any other (digits, spaces, @, +, dots) may be a value
# used as a key.
_FIELD_NAME = re.compile(r"(?:[^\W\d]|-)*")
# Keys that say little alone and much with their owner: customer.name is a person,
# product.name is not (cliente.nombre, kunde.name: other languages' too); name.given and
# name.family (FHIR) are a person's names; a product's title and description are its
# brand's, a job's title is a role; address.line1 (Stripe, Shopify) is a street.
# Their context is the parent's key joined to them.
_OWNED_KEYS = frozenset(
    word
    for base in (
        *("name", "first", "last", "given", "family", "middle", "title", "description"),
        *("line1", "line2", "line3"),
        *("nombre", "nome", "nom", "naam"),  # name in Spanish, Portuguese, French, Dutch
    )
    for word in (base, base.capitalize(), base.upper())
)
# The humps of a camelCase key (dateOfBirth, customerSSN, SSNNumber): detectors look for
# their context words (birth, ssn, account) as whole words in the field name, so a key's
# words are set apart as snake_case sets them apart (date_Of_Birth).
_CAMEL_HUMP = re.compile(r"(?<=[a-z\d])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(slots=True)
class Leaf:
    """A value inside an event: where it lives and which field rule, if any, applies."""

    container: Any
    key: Any
    path: tuple[str, ...]
    text: str
    rule: FieldRule | None
    #: The nearest key name in ``path`` (list indices skipped), which detectors treat
    #: like words next to the value; ``customer.name`` for a key that needs its owner.
    context: str = ""

    @property
    def original(self) -> Any:
        """The value as it is in the event now (before ``replace``: the original)."""
        return self.container[self.key]

    @property
    def dotted_path(self) -> str:
        return ".".join(self.path)

    def replace(self, value: str) -> None:
        self.container[self.key] = value


@dataclass(slots=True)
class KeyLeaf(Leaf):
    """An object key that may be a value (``{"jane@example.com": 3}``); replacing it
    renames the key where it stands. It comes after the leaves of its value, which
    are replaced under the original key first."""

    @property
    def original(self) -> Any:
        return self.key

    def replace(self, value: str) -> None:
        container = self.container
        if value == self.key:
            return
        if value in container:
            raise KeyCollisionError()
        items = list(container.items())
        container.clear()
        container.update((value if key == self.key else key, item) for key, item in items)


@lru_cache(maxsize=65536)
def is_field_name(key: str) -> bool:
    """Whether ``key`` is only a field name (letters of any script, ``_``, ``-``), never
    scanned."""
    return _FIELD_NAME.fullmatch(key) is not None


@lru_cache(maxsize=65536)
def key_context(key: str) -> str:
    """The context detectors get from the key ``key``: its camelCase words apart
    (``dateOfBirth`` -> ``date_Of_Birth``), as in ``date_of_birth``."""
    return _CAMEL_HUMP.sub("_", key)


class FieldRules:
    """A policy's field rules, compiled for matching many paths quickly."""

    def __init__(self, rules: Sequence[FieldRule]) -> None:
        self.rules = list(rules)
        self._literal = all(
            "*" not in rule.segments and "**" not in rule.segments for rule in rules
        )
        self._by_path: dict[tuple[str, ...], FieldRule] = {}
        for rule in reversed(self.rules):  # the first rule for a path wins
            self._by_path[rule.segments] = rule

    def __bool__(self) -> bool:
        return bool(self.rules)

    def match(self, path: tuple[str, ...]) -> FieldRule | None:
        if self._literal:
            return self._by_path.get(path)
        for rule in self.rules:
            if path_matches(rule.segments, path):
                return rule
        return None


def copy_json(value: Any) -> Any:
    """A copy of the dicts and lists in ``value``; other values are shared."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def collect_leaves(event: Any, rules: FieldRules) -> list[Leaf]:
    """The values of ``event`` to redact, in document order. ``event`` is changed in place
    when leaves are replaced, so pass a copy if the caller's object must stay intact.

    A top-level scalar is a leaf with the empty path; its container is a one-item list.
    """
    leaves: list[Leaf] = []
    if isinstance(event, dict | list):
        _walk(event, (), "", None, rules, leaves)
    else:
        _add_leaf(leaves, [event], 0, event, (), "", None)
    return leaves


def _walk(
    container: Any,
    path: tuple[str, ...],
    context: str,
    rule: FieldRule | None,
    rules: FieldRules,
    leaves: list[Leaf],
) -> None:
    """Add the leaves under ``container`` (at ``path``, whose nearest key name is
    ``context``) to ``leaves``."""
    match_rules = rule is None and bool(rules)
    keyed = isinstance(container, dict)
    items = container.items() if keyed else enumerate(container)
    for key, child in items:
        if keyed:
            segment = key if isinstance(key, str) else str(key)
            if segment.isdigit():
                child_context = context
            elif segment in _OWNED_KEYS and context:  # the owner's own key, not its path
                child_context = f"{context.rpartition('.')[2]}.{segment}"
            elif segment.islower():  # snake_case, or one word: its words are apart already
                child_context = segment
            else:
                child_context = key_context(segment)
        else:  # a list index is never a context
            segment, child_context = str(key), context
        child_path = (*path, segment)
        child_rule = rule
        if match_rules:
            child_rule = rules.match(child_path)
            if child_rule is not None and child_rule.action == "skip":
                continue
        if type(child) is str:  # the common case first
            if child:
                leaves.append(Leaf(container, key, child_path, child, child_rule, child_context))
        elif isinstance(child, dict | list):
            _walk(child, child_path, child_context, child_rule, rules, leaves)
        else:
            _add_leaf(leaves, container, key, child, child_path, child_context, child_rule)
        if keyed and type(key) is str and not is_field_name(key):
            # The object's field name says what its values are, not its keys: under
            # "address", "line1" is no street.
            leaves.append(KeyLeaf(container, key, child_path, key, None, ""))


def _add_leaf(
    leaves: list[Leaf],
    container: Any,
    key: Any,
    value: Any,
    path: tuple[str, ...],
    context: str,
    rule: FieldRule | None,
) -> None:
    forced = rule is not None and rule.action != "scan"
    if isinstance(value, str):
        if value:
            leaves.append(Leaf(container, key, path, value, rule, context))
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if forced or abs(value) >= _MIN_SCANNED_INT:
            leaves.append(Leaf(container, key, path, str(value), rule, context))
    elif isinstance(value, float):
        if not math.isfinite(value):  # NaN is refused when read; 1e400 is read as infinity
            raise InvalidEventError(
                "a number in the event is not finite (NaN, infinity, or too large for a 64-bit "
                "float) and would be written as null; produce such numbers as strings"
            )
        if forced:
            leaves.append(Leaf(container, key, path, repr(value), rule, context))
        elif value.is_integer() and _MIN_SCANNED_INT <= abs(value) <= _MAX_EXACT_FLOAT:
            # A whole number written as a float (4155550132.0: pandas writes a column of
            # numbers with gaps so) is scanned as the whole number it is.
            leaves.append(Leaf(container, key, path, str(int(value)), rule, context))
    else:  # a tuple, bytes, a set, a date from Python code: passing it on unscanned leaks it
        raise InvalidEventError(
            f"the event holds a value of type {type(value).__name__}, which JSON has not; "
            "convert it first (lists for tuples and sets, str for bytes, dates and decimals)"
        )
