"""Scoring redaction on a labelled corpus, strictly: an entity is caught only if no word
of it survives.

Redaction is judged by what a reader of the clean text could still learn, so recall is
counted per labelled entity: it is caught when every word of it lies inside a redacted
range. A street left behind while its city is replaced is a leak; so is the surname of a
person whose first name was replaced. Words that identify no one (punctuation, stop
words, ``street``, ``apt``, ``suite``, ``mr.``: presidio-evaluator's skip words) may
survive, and so may ``nan``: pandas' marker for a missing value, which the generator
writes where an address has no state (``HAUGESUND, nan 12610``) and which is no one's
data.

Precision is counted per redacted range: it is right when it overlaps a labelled entity
of any type (replacing a name with the wrong label still hides the name), and a false
detection otherwise.

:func:`presidio_evaluator_corpus` builds the labelled corpus with presidio-evaluator's
generator, its bundled templates and a fixed seed. Its labels are mapped onto the groups
that are scored (:data:`ENTITY_GROUPS`); other labels (dates, ages, titles, NRP) count
for precision and are reported, not scored in the overall recall.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streamer.errors import DependencyMissingError

#: Labels of the corpus and the group each is scored in.
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

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class LabelledEntity:
    start: int
    end: int
    entity_type: str


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    """A text and its labelled entities (character offsets into the text)."""

    text: str
    entities: tuple[LabelledEntity, ...]


@dataclass
class Miss:
    """A labelled entity that leaked, with the words of it that survived."""

    record: int
    entity: LabelledEntity
    leaked: list[str]


@dataclass
class AccuracyReport:
    """Recall per label and per group, overall recall over :data:`SCORED_GROUPS`, and
    precision over all redacted ranges."""

    caught: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    true_positives: int = 0
    false_positives: int = 0
    misses: list[Miss] = field(default_factory=list)
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


def score(
    records: Sequence[LabelledRecord],
    redacted_ranges: Sequence[Iterable[tuple[int, int]]],
    skip_words: Iterable[str] | None = None,
) -> AccuracyReport:
    """Score ``redacted_ranges`` (per record, ``(start, end)`` of each replaced range)
    against the labels of ``records``."""
    skip = frozenset(w.lower() for w in (skip_words if skip_words is not None else _skip_words()))
    report = AccuracyReport()
    for index, (record, ranges) in enumerate(zip(records, redacted_ranges, strict=True)):
        ranges = list(ranges)
        redacted = [False] * len(record.text)
        for start, end in ranges:
            redacted[start:end] = [True] * (end - start)
        labelled = [False] * len(record.text)
        for entity in record.entities:
            labelled[entity.start : entity.end] = [True] * (entity.end - entity.start)
            report.total[entity.entity_type] += 1
            leaked = leaked_words(record.text, entity, redacted, skip)
            if leaked:
                report.misses.append(Miss(index, entity, leaked))
            else:
                report.caught[entity.entity_type] += 1
        for start, end in ranges:
            if any(labelled[i] and record.text[i].isalnum() for i in range(start, end)):
                report.true_positives += 1
            else:
                report.false_positives += 1
                report.false_detections.append((index, start, end))
    return report


def _skip_words() -> list[str]:
    try:
        from presidio_evaluator.evaluation.skipwords import get_skip_words
    except ImportError:
        raise DependencyMissingError("accuracy scoring", "presidio-evaluator", "dev") from None
    return [*get_skip_words(), "nan"]


def presidio_evaluator_corpus(count: int, seed: int = 42) -> list[LabelledRecord]:
    """``count`` labelled records from presidio-evaluator's generator and bundled templates.

    Seeded fully (Python's, NumPy's and Faker's generators, before the generator builds
    its person table), so the same seed gives the same records, except for the
    time-of-day of generated timestamps. Its hospital provider, which queries Wikidata,
    is left out: no template uses it.
    """
    try:
        import numpy as np
        from faker import Faker
        from presidio_evaluator.data_generator import PresidioSentenceFaker
        from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
        from presidio_evaluator.data_generator.presidio_sentence_faker import (
            presidio_additional_entity_providers,
        )
    except ImportError:
        raise DependencyMissingError("the labelled corpus", "presidio-evaluator", "dev") from None
    random.seed(seed)
    np.random.seed(seed)
    Faker.seed(seed)
    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        generator = PresidioSentenceFaker(
            locale="en_US", lower_case_ratio=0.05, random_seed=seed, entity_providers=providers
        )
        samples = generator.generate_new_fake_sentences(count)
    return [
        LabelledRecord(
            sample.full_text,
            tuple(
                LabelledEntity(span.start_position, span.end_position, span.entity_type)
                for span in sorted(sample.spans, key=lambda s: s.start_position)
            ),
        )
        for sample in samples
    ]
