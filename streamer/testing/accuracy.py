"""Labelled records and the one strict scorer: an entity is caught only if no word of it
survives.

Every labelled corpus (:mod:`streamer.testing.corpus`: the structured-value corpus, the
clean look-alike corpus, presidio-evaluator's generated sentences) is a list of
:class:`LabelledRecord`, and every measurement of detection goes through :func:`score`.

Redaction is judged by what a reader of the clean text could still learn, so recall is
counted per labelled entity: it is caught when every word of it (a run of letters and
digits) lies entirely inside a redacted range. A street left behind while its city is
replaced is a leak; so is the surname of a person whose first name was replaced, and so
is the last digit group of a phone number. Only the separators between words (``+``,
``(``, ``-``, ``@``, spaces) may survive, and, when ``skip_words`` are given, words that
identify no one: presidio-evaluator's skip words (stop words, ``street``, ``apt``,
``suite``, ``inc``, ``mr.``, ``mrs.``, ``miss``), the other courtesy titles (``ms``,
``mx``, ``dr``, ``prof``) and ``nan``, the marker pandas writes for a missing value,
which the generator leaves where an address has no state (``HAUGESUND, nan 12610``).
:func:`default_skip_words` is that list; ``skip_words=()`` scores with none.

A labelled ``PERSON`` or ``ORGANIZATION`` without a single letter (presidio-evaluator's
organisation list holds a few bare stock codes such as ``174097``) names no one: it is
not counted in recall (:attr:`AccuracyReport.unscorable`), and redacting it is no false
detection either.

Precision is counted per redacted region: ranges that overlap or touch are one region,
as a reader sees them. A region is right when it covers a letter or digit of a labelled
entity of any type (replacing a name with the wrong label still hides the name), and a
false detection otherwise. So that a region grown far past its entity is not counted as
simply right, :attr:`AccuracyReport.word_precision` also gives the share of redacted
words that belong to a labelled entity.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from streamer.errors import DependencyMissingError

#: Labels and the group each is scored in; labels not here are reported, not scored.
ENTITY_GROUPS: dict[str, str] = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "ZIP_CODE": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "CREDIT_CARD": "STRUCTURED",
    "PHONE_NUMBER": "STRUCTURED",
    "EMAIL_ADDRESS": "STRUCTURED",
    "DOMAIN_NAME": "STRUCTURED",
    "URL": "STRUCTURED",
    "IP_ADDRESS": "STRUCTURED",
    "US_SSN": "STRUCTURED",
    "IBAN_CODE": "STRUCTURED",
    "US_DRIVER_LICENSE": "STRUCTURED",
    "US_PASSPORT": "STRUCTURED",
    "US_BANK_NUMBER": "STRUCTURED",
}
SCORED_GROUPS = ("PERSON", "LOCATION", "ORGANIZATION", "STRUCTURED")
#: Labels that must hold a letter to name anyone.
NAME_LABELS = frozenset({"PERSON", "ORGANIZATION"})
#: Courtesy titles beside presidio-evaluator's ``mr.``, ``mrs.`` and ``miss``, and the
#: missing-value marker; see the module docstring.
EXTRA_SKIP_WORDS = ("ms.", "mx.", "dr.", "prof.", "nan")

_WORD = re.compile(r"[^\W_]+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class LabelledEntity:
    """Where a value of ``entity_type`` is: ``text[start:end]``."""

    start: int
    end: int
    entity_type: str


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    """A text and its labelled entities (character offsets into the text); a clean
    record has none."""

    text: str
    entities: tuple[LabelledEntity, ...] = ()


@dataclass
class Miss:
    """A labelled entity that leaked, with the words of it that survived."""

    record: int
    entity: LabelledEntity
    leaked: list[str]


@dataclass
class AccuracyReport:
    """Recall per label and per group, overall recall over :data:`SCORED_GROUPS`, and
    precision over all redacted regions."""

    caught: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    unscorable: Counter[str] = field(default_factory=Counter)
    true_positives: int = 0
    false_positives: int = 0
    records: int = 0
    redacted_words: int = 0
    redacted_words_labelled: int = 0
    misses: list[Miss] = field(default_factory=list)
    #: ``(record, start, end)`` of every region that covered no labelled entity.
    false_detections: list[tuple[int, int, int]] = field(default_factory=list)

    def recall_of(self, label: str) -> float:
        return self.caught[label] / self.total[label] if self.total[label] else 1.0

    def group_counts(self, group: str) -> tuple[int, int]:
        labels = [label for label in self.total if ENTITY_GROUPS.get(label) == group]
        return sum(self.caught[label] for label in labels), sum(self.total[x] for x in labels)

    def group_recall(self, group: str) -> float:
        caught, total = self.group_counts(group)
        return caught / total if total else 1.0

    @property
    def recall(self) -> float:
        counts = [self.group_counts(group) for group in SCORED_GROUPS]
        total = sum(t for _, t in counts)
        return sum(c for c, _ in counts) / total if total else 1.0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def word_precision(self) -> float:
        """The share of redacted words (touched by a redacted range) inside a label."""
        if not self.redacted_words:
            return 1.0
        return self.redacted_words_labelled / self.redacted_words

    @property
    def false_detections_per_100_records(self) -> float:
        return self.false_positives / self.records * 100 if self.records else 0.0


def leaked_words(
    text: str, entity: LabelledEntity, redacted: Sequence[bool], skip_words: frozenset[str]
) -> list[str]:
    """The words of ``entity`` that are not entirely inside a redacted range."""
    leaked = []
    for match in _WORD.finditer(text, entity.start, entity.end):
        word = match.group().lower()
        if word in skip_words or f"{word}." in skip_words:
            continue
        if not all(redacted[match.start() : match.end()]):
            leaked.append(match.group())
    return leaked


def regions(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` with overlapping and touching ones joined, sorted."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if end <= start:
            continue
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def score(
    records: Sequence[LabelledRecord],
    redacted_ranges: Sequence[Iterable[tuple[int, int]]],
    skip_words: Iterable[str] | None = None,
) -> AccuracyReport:
    """Score ``redacted_ranges`` (per record, ``(start, end)`` of each replaced range)
    against the labels of ``records``; ``skip_words`` defaults to
    :func:`default_skip_words` (``()``: every word of an entity must be covered)."""
    skip = default_skip_words() if skip_words is None else frozenset(w.lower() for w in skip_words)
    report = AccuracyReport()
    for index, (record, ranges) in enumerate(zip(records, redacted_ranges, strict=True)):
        report.records += 1
        text = record.text
        joined = regions(ranges)
        redacted = [False] * len(text)
        for start, end in joined:
            redacted[start:end] = [True] * (end - start)
        labelled = [False] * len(text)
        for entity in record.entities:
            labelled[entity.start : entity.end] = [True] * (entity.end - entity.start)
            if entity.entity_type in NAME_LABELS and not _LETTER.search(
                text, entity.start, entity.end
            ):
                report.unscorable[entity.entity_type] += 1
                continue
            report.total[entity.entity_type] += 1
            leaked = leaked_words(text, entity, redacted, skip)
            if leaked:
                report.misses.append(Miss(index, entity, leaked))
            else:
                report.caught[entity.entity_type] += 1
        for word in _WORD.finditer(text):
            if any(redacted[word.start() : word.end()]):
                report.redacted_words += 1
                report.redacted_words_labelled += any(labelled[word.start() : word.end()])
        for start, end in joined:
            if any(labelled[i] and text[i].isalnum() for i in range(start, end)):
                report.true_positives += 1
            else:
                report.false_positives += 1
                report.false_detections.append((index, start, end))
    return report


@cache
def default_skip_words() -> frozenset[str]:
    """presidio-evaluator's skip words and :data:`EXTRA_SKIP_WORDS`, lower case."""
    try:
        from presidio_evaluator.evaluation.skipwords import get_skip_words
    except ImportError:
        raise DependencyMissingError("accuracy scoring", "presidio-evaluator", "dev") from None
    return frozenset(w.lower() for w in [*get_skip_words(), *EXTRA_SKIP_WORDS])
