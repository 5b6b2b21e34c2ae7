"""The detector base classes: subclass one of these to add a detector.

A detector turns text into :class:`~streamer.redaction.spans.Span` objects. Write one in
code by subclassing :class:`Detector` (any logic) or :class:`PatternDetector` (a regular
expression, an optional validator and context words), then register it by name in a
:class:`~streamer.redaction.registry.DetectorRegistry`. Policies can also define pattern
detectors without code (``custom_detectors:``).

Detectors are built once and reused for many texts, in worker processes too, so compile
everything in ``__init__`` and keep ``detect`` free of per-call set-up.

Example::

    class EmployeeIdDetector(PatternDetector):
        name = "employee_id"
        entity_type = "EMPLOYEE_ID"
        pattern = r"\\bEMP-\\d{6}\\b"
        score = 0.9
        context_words = ("employee", "staff")
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from streamer.redaction.exceptions import PolicyError
from streamer.redaction.patterns import word_alternation
from streamer.redaction.spans import Span
from streamer.redaction.validators import ascii_shape, count_digits

#: Score given to a candidate a checksum or library validation confirmed.
VALIDATED_SCORE = 1.0


@dataclass(frozen=True, slots=True)
class Prefilter:
    """What a text must hold before a detector looks at it, as data.

    The engine evaluates prefilters for all texts of a batch at once and shares the work
    between detectors (one digit scan, one :func:`ascii_shape` and one lower-casing per
    text), so cheap checks stay cheap when a dozen detectors run. A text passes when it
    holds one of ``triggers`` (if any) and at least ``min_digits`` digits, its shape
    matches ``shape`` (if set and the text is ASCII), and ``context`` matches in the
    text or the field path (if set).
    """

    triggers: tuple[str, ...] = ()
    min_digits: int = 0
    context: re.Pattern[str] | None = None
    shape: re.Pattern[bytes] | None = None

    def __post_init__(self) -> None:
        # Triggers holding another one go (a text with "::" has ":"): the same texts
        # pass, with fewer substring tests per text.
        triggers = self.triggers
        fewest = tuple(
            trigger
            for index, trigger in enumerate(triggers)
            if not any(
                other in trigger and (other != trigger or earlier < index)
                for earlier, other in enumerate(triggers)
                if earlier != index
            )
        )
        object.__setattr__(self, "triggers", fewest)

    def admits(self, text: str, context: str = "") -> bool:
        if self.triggers and not any(trigger in text for trigger in self.triggers):
            return False
        if self.min_digits and count_digits(text) < self.min_digits:
            return False
        if self.shape is not None:
            shape = ascii_shape(text)
            if shape is not None and self.shape.search(shape) is None:
                return False
        if self.context is not None:
            return self.context.search(text.lower()) is not None or (
                bool(context) and self.context.search(context.lower()) is not None
            )
        return True


class Detector(ABC):
    """Finds entities of ``entities`` in text.

    ``detect`` gets the text and a ``context`` string, which holds the JSON path of the
    field the text came from (``customer.date_of_birth``) or is empty; detectors may use
    it like nearby words. ``detect_batch`` is what the engine calls; override it when a
    detector is faster on many texts at once (NER with ``nlp.pipe``).
    """

    name: str = ""
    entities: tuple[str, ...] = ()

    @abstractmethod
    def detect(self, text: str, context: str = "") -> list[Span]:
        """Spans found in ``text``, offsets into ``text``."""

    @property
    def prefilter(self) -> Prefilter | None:
        """A declarative prefilter the engine can evaluate in bulk, or ``None``."""
        return None

    def applies_to(self, text: str, context: str = "") -> bool:
        """A cheap prefilter: ``False`` when ``text`` cannot hold an entity of this detector.

        The engine skips such texts (``detect_batch`` is only called with texts that pass),
        so ``detect`` need not check it again.
        """
        return True

    def detect_batch(
        self, texts: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[list[Span]]:
        """Spans for each text, in order."""
        if contexts is None:
            return [self.detect(text) for text in texts]
        return [self.detect(text, context) for text, context in zip(texts, contexts, strict=True)]

    def close(self) -> None:  # noqa: B027 - optional hook, most detectors hold nothing
        """Release what the detector holds (models, clients)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of ``words`` as whole words."""
    alternatives = {w.strip().lower() for w in words if w.strip()}
    if not alternatives:
        return None
    # The words as a prefix tree (longer words first, as a longest-first alternation
    # tries them), one branch per first letter. Each branch checks the character before
    # the word right after that letter, so the pattern starts with a literal: the engine
    # then skips to the words' first letters instead of trying every position, and rules
    # out a letter inside a word at once. Same matches as one leading (?<![a-z0-9]).
    rests: dict[str, set[str]] = {}
    for word in alternatives:
        rests.setdefault(word[0], set()).add(word[1:])
    branches = []
    for first, tails in sorted(rests.items()):
        longer = [tail for tail in tails if tail]
        rest = word_alternation(longer) + ("?" if "" in tails else "") if longer else ""
        letter = re.escape(first)
        branches.append(f"{letter}(?<![a-z0-9]{letter}){rest}")
    return re.compile("(?:" + "|".join(branches) + r")(?![a-z0-9])")


class PatternDetector(Detector):
    """A regular expression, an optional validator, and context words.

    Scoring, in this order (see ``score_candidate``):

    1. ``validate`` returns ``False``: the candidate is dropped; ``True``: its score is
       ``VALIDATED_SCORE``; ``None``: it keeps ``score``.
    2. A ``negative_context`` word within ``negative_window`` characters before it (or in
       the field path) drops it: ``order 123-45-6789`` is not a social security number.
    3. A ``context_words`` word within ``context_window`` characters before it, half
       that after it, or in the field path adds ``context_boost``. With
       ``context_required`` a candidate without one is dropped.

    ``triggers`` and ``min_digits`` are the cheap prefilter: a text must contain one of
    the trigger substrings (when set) and at least ``min_digits`` ASCII digits before
    the pattern runs at all. ``shape_pattern`` is a quick exact check in ``find``: a
    regular expression over the :func:`~streamer.redaction.validators.ascii_shape` of a
    text (digits as ``0``, letters as ``a``) that matches at or before the start of
    every match of ``pattern`` in an ASCII text (``pattern`` translated to shapes, or
    a part of it). Where it finds nothing the pattern does not run; otherwise the
    pattern runs from where it first matches. Starting it with literal characters
    (``b"0000"``) makes it fast.
    """

    entity_type: str = ""
    pattern: str = ""
    flags: int = 0
    score: float = 0.5
    group: int | str = 0
    validator: Callable[[str], bool] | None = None
    context_words: tuple[str, ...] = ()
    negative_context: tuple[str, ...] = ()
    context_required: bool = False
    context_boost: float = 0.35
    context_window: int = 40
    negative_window: int = 16
    triggers: tuple[str, ...] = ()
    min_digits: int = 0
    shape_pattern: bytes = b""

    def __init__(self, **overrides: Any) -> None:
        for key, value in overrides.items():
            if not hasattr(type(self), key):
                raise PolicyError(f"pattern detector has no setting {key!r}")
            setattr(self, key, value)
        if not self.entity_type or not self.pattern:
            raise PolicyError(f"pattern detector {self.name!r} needs an entity_type and a pattern")
        if not self.name:
            self.name = self.entity_type.lower()
        self.entities = (self.entity_type,)
        try:
            self._regex = re.compile(self.pattern, self.flags)
        except re.error as exc:
            raise PolicyError(
                f"detector {self.name!r}: invalid regular expression: {exc}"
            ) from None
        self._shape = re.compile(self.shape_pattern) if self.shape_pattern else None
        self._context = word_pattern(self.context_words)
        self._negative = word_pattern(self.negative_context)
        self._prefilter = Prefilter(
            tuple(self.triggers),
            int(self.min_digits),
            self._context if self.context_required else None,
            self._shape,
        )

    def validate(self, candidate: str) -> bool | None:
        """``True`` confirms the candidate, ``False`` rejects it, ``None`` keeps its score."""
        validator = self.validator
        if validator is None:
            return None
        return validator(candidate)

    def _before(self, text: str, start: int, window: int, context: str) -> str:
        before = text[max(0, start - window) : start].lower()
        return f"{context.lower()} {before}" if context else before

    def base_score(self, candidate: str) -> float | None:
        """The score before context: from ``validate``, or ``None`` to drop the candidate."""
        verdict = self.validate(candidate)
        if verdict is False:
            return None
        return VALIDATED_SCORE if verdict else self.score

    def score_candidate(self, text: str, start: int, end: int, context: str) -> float | None:
        """The score of ``text[start:end]`` or ``None`` when it is not an entity."""
        score = self.base_score(text[start:end])
        if score is None:
            return None
        if self._negative is not None and self._negative.search(
            self._before(text, start, self.negative_window, context)
        ):
            return None
        if self._context is None:
            return score
        window = self._before(text, start, self.context_window, context)
        after = text[end : end + self.context_window // 2].lower()
        if self._context.search(window) or self._context.search(after):
            return min(1.0, score + self.context_boost)
        if self.context_required or not self.stands_alone(text[start:end]):
            return None
        return score

    def stands_alone(self, candidate: str) -> bool:
        """Whether ``candidate`` is an entity with none of ``context_words`` nearby: yes,
        unless a detector says its shape is too common alone (a bare run of digits)."""
        return True

    @property
    def prefilter(self) -> Prefilter:
        return self._prefilter

    def applies_to(self, text: str, context: str = "") -> bool:
        """The prefilter: can ``text`` hold a match at all? See :class:`Prefilter`."""
        return self._prefilter.admits(text, context)

    def detect(self, text: str, context: str = "") -> list[Span]:
        return self.find(text, context) if self.applies_to(text, context) else []

    def detect_batch(
        self, texts: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[list[Span]]:
        """Spans for each text. Runs ``find`` without the prefilter: the engine calls this
        only with texts that passed it (``find`` is correct on any text, only slower)."""
        find = self.find
        if contexts is None:
            contexts = [""] * len(texts)
        return [find(text, context) for text, context in zip(texts, contexts, strict=True)]

    def first_start(self, text: str) -> int:
        """Where the first match of the pattern in ``text`` can start, by ``shape_pattern``
        (exact, cheap): ``-1`` when it cannot match at all."""
        if self._shape is None:
            return 0
        shape = ascii_shape(text)
        if shape is None:
            return 0
        first = self._shape.search(shape)
        return -1 if first is None else first.start()

    def find(self, text: str, context: str = "") -> list[Span]:
        """Every scored match of the pattern in ``text``; override for custom candidate logic."""
        start = self.first_start(text)
        if start < 0:
            return []
        return self._scored(text, context, self._regex.finditer(text, start))

    def _scored(self, text: str, context: str, matches: Iterable[re.Match[str]]) -> list[Span]:
        """The spans of ``matches`` (of the pattern in ``text``) that score."""
        spans = []
        group = self.group
        for match in matches:
            start, end = match.span(group)
            if start == end:
                continue
            score = self.score_candidate(text, start, end, context)
            if score is not None:
                spans.append(Span(start, end, self.entity_type, score, self.name))
        return spans
