"""The deny list: values a policy says are always personal data, whatever detectors think.

Built from the policy's ``deny_list`` (entity type -> values). A value matches as whole
words, ignoring case, anywhere in a text; every match is a span of its entity type with
score 1.0, so it wins any overlap. Project code names, a VIP's nickname, an internal
host name: things no model knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from streamer.redaction.detector import Detector
from streamer.redaction.spans import Span


class DenyListDetector(Detector):
    """Finds the policy's deny-listed values; one combined pattern, one pass per text."""

    name = "deny_list"

    def __init__(self, values_by_entity: Mapping[str, Sequence[str]]) -> None:
        self._entity_of: dict[str, str] = {}
        for entity_type, values in values_by_entity.items():
            for value in values:
                if value.strip():
                    self._entity_of[value.strip().casefold()] = entity_type
        self.entities = tuple(sorted(set(self._entity_of.values())))
        alternatives = sorted(self._entity_of, key=len, reverse=True)
        self._pattern = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(v) for v in alternatives) + r")(?!\w)",
                re.IGNORECASE,
            )
            if alternatives
            else None
        )

    def applies_to(self, text: str, context: str = "") -> bool:
        return self._pattern is not None

    def detect(self, text: str, context: str = "") -> list[Span]:
        if self._pattern is None:
            return []
        return [
            Span(m.start(), m.end(), self._entity_of[m.group().casefold()], 1.0, self.name)
            for m in self._pattern.finditer(text)
        ]
