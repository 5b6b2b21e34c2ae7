"""The redaction engine: detect, merge, act. Synchronous, no I/O, no Kafka.

:class:`RedactionEngine` is what runs inside worker processes and behind
:class:`~streamer.redaction.service.RedactionService`. It works on batches: all the
strings of all the events in a batch go to each detector in one call, so detectors that
gain from batching (NER) get whole batches, and repeated values are detected once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import orjson

from streamer.redaction.actions import (
    ENCRYPTED_PATTERN,
    Action,
    PreserveAction,
    decrypt_inline,
)
from streamer.redaction.chunking import chunk_bounds
from streamer.redaction.detector import Detector, PatternDetector, word_pattern
from streamer.redaction.detectors import DETECTORS, find_hard_negatives
from streamer.redaction.detectors.ner_extend import name_words
from streamer.redaction.exceptions import (
    DetectorError,
    InvalidEventError,
    LanguageNotConfiguredError,
    RecordTooLargeError,
    RedactionError,
)
from streamer.redaction.keys import DEFAULT_SCOPE, Keyring, keyring_from_settings
from streamer.redaction.languages import normalize_language
from streamer.redaction.merge import resolve_overlaps
from streamer.redaction.policy import FieldRule, Policy
from streamer.redaction.registry import DetectorRegistry
from streamer.redaction.result import (
    EventResult,
    PayloadFailure,
    PayloadOutcome,
    RedactionResult,
    Token,
)
from streamer.redaction.spans import Span
from streamer.redaction.structured import FieldRules, Leaf, collect_leaves, copy_json
from streamer.redaction.tokens import TOKEN_PATTERN
from streamer.redaction.validators import ascii_shape, count_digits
from streamer.settings import StreamerSettings

EventFormat = Literal["json", "text"]

log = logging.getLogger(__name__)

#: Texts up to this long have their spans cached; longer ones rarely repeat.
CACHE_MAX_CHARS = 512
# Whole values that never hold personal data: timestamps, UUIDs, hex ids, our own tokens.
# Not a timestamp at midnight UTC: a date alone serialised (a birth date), as in
# detectors.hard_negatives.
_INERT_VALUE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ](?!00:00(?::00(?:[.,]0+)?)?(?:Z|[+-]00:?00)?$)"
    r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9a-f]{32,128}|[0-9A-F]{32,128}"
    r"|\[[A-Z][A-Z0-9_]*_[0-9a-f]{16}\]"
)
# Line breaks written as escapes (text JSON-encoded twice): detectors see spaces there.
_ESCAPED_LINE_BREAK = re.compile(r"\\[nrt]")


def _unescape_break(match: re.Match[str]) -> str:
    return "  " if match.group() == "\\t" else "\n "


def _unescaped(piece: str) -> str:
    """``piece`` with its escaped line breaks as line breaks (the same length)."""
    return _ESCAPED_LINE_BREAK.sub(_unescape_break, piece)


_REPLACEMENT = re.compile(f"{TOKEN_PATTERN.pattern}|{ENCRYPTED_PATTERN.pattern}")


class _BatchPrefilter:
    """Evaluates detectors' prefilters over a whole batch, sharing the work between
    detectors: each text's digits are counted once, its shape is made at most once, and
    it is lower-cased and searched for context words at most once."""

    def __init__(
        self, texts: list[str], contexts: list[str], context_any: re.Pattern[str] | None
    ) -> None:
        self.texts = texts
        self.contexts = contexts
        self._context_any = context_any
        self._digits: list[int] | None = None
        self._by_digits: dict[int, list[int]] = {}
        # Per text: False until lowered, then the lowered pair or None (no context word).
        self._lowered: list[tuple[str, str] | bool | None] = [False] * len(texts)
        # Per text: False until made, then its ascii_shape (None: not ASCII).
        self._shapes: list[bytes | bool | None] = [False] * len(texts)

    def _digit_counts(self) -> list[int]:
        if self._digits is None:
            self._digits = [count_digits(text) for text in self.texts]
        return self._digits

    def _with_digits(self, minimum: int) -> list[int]:
        """Indices of the texts holding at least ``minimum`` digits (detectors share
        minimums)."""
        chosen = self._by_digits.get(minimum)
        if chosen is None:
            counts = self._digit_counts()
            chosen = [i for i, count in enumerate(counts) if count >= minimum]
            self._by_digits[minimum] = chosen
        return chosen

    def _shapes_for(self, candidates: Sequence[int]) -> list[bytes | bool | None]:
        """Per text, for those of ``candidates`` at least: its ``ascii_shape``."""
        shapes, texts = self._shapes, self.texts
        for index in candidates:
            if shapes[index] is False:
                shapes[index] = ascii_shape(texts[index])
        return shapes

    def _lowered_for(self, candidates: Sequence[int]) -> list[tuple[str, str] | bool | None]:
        """Per text, for those of ``candidates`` at least: the text and its field path
        lower-cased when either holds a context word of any detector, else ``None`` (one
        search per text, so detectors needing context rarely search)."""
        lowered = self._lowered
        texts, contexts = self.texts, self.contexts
        search = self._context_any.search if self._context_any else None
        for index in candidates:
            if lowered[index] is False:
                text, context = texts[index].lower(), contexts[index].lower()
                found = search is not None and (
                    search(text) is not None or bool(context and search(context))
                )
                lowered[index] = (text, context) if found else None
        return lowered

    def select(self, detector: Detector) -> list[int]:
        """Indices of the texts ``detector`` should see."""
        texts, contexts = self.texts, self.contexts
        prefilter = detector.prefilter
        if prefilter is None:
            applies = detector.applies_to
            return [i for i, text in enumerate(texts) if applies(text, contexts[i])]
        candidates: Sequence[int] = range(len(texts))
        if prefilter.min_digits:
            candidates = self._with_digits(prefilter.min_digits)
        triggers = prefilter.triggers
        if len(triggers) == 1:
            trigger = triggers[0]
            candidates = [i for i in candidates if trigger in texts[i]]
        elif len(triggers) == 2:  # "@" or "%40": two tests inline cost less than any()
            first, second = triggers
            candidates = [i for i in candidates if first in texts[i] or second in texts[i]]
        elif triggers:
            candidates = [i for i in candidates if any(map(texts[i].__contains__, triggers))]
        if prefilter.shape is not None:
            shape = prefilter.shape.search
            shapes = self._shapes_for(candidates)
            candidates = [i for i in candidates if shapes[i] is None or shape(shapes[i])]  # type: ignore[arg-type]
        if prefilter.context is not None:
            search = prefilter.context.search
            lowered = self._lowered_for(candidates)
            chosen = []
            for i in candidates:
                pair = lowered[i]
                if pair and (search(pair[0]) or (pair[1] and search(pair[1]))):  # type: ignore[index]
                    chosen.append(i)
            return chosen
        return list(candidates)


class _Thresholds(dict[str, float]):
    """Each entity type's score threshold under ``policy``, looked up once."""

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self._policy = policy

    def __missing__(self, entity_type: str) -> float:
        threshold = self[entity_type] = self._policy.threshold_for(entity_type)
        return threshold


class SpanCache:
    """A bounded cache of detection results for repeated values; streams repeat heavily.

    Close to an LRU at the cost of a dict lookup per hit: entries go to a young generation;
    when it holds half of ``max_entries`` it becomes the old one (dropping the previous old
    one), and a hit in the old generation moves the entry back to the young one. So values
    still in use survive, and at most ``max_entries`` are held.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._generation_size = max(1, max_entries // 2)
        self._young: dict[tuple[str, ...], list[Span]] = {}
        self._old: dict[tuple[str, ...], list[Span]] = {}
        self.hits = 0
        self.misses = 0

    def lookup(self, keys: Sequence[tuple[str, ...]]) -> list[list[Span] | None]:
        """The cached spans of each key, ``None`` where there are none."""
        young_get, old = self._young.get, self._old
        found = [young_get(key) for key in keys]
        misses = 0
        for index, spans in enumerate(found):
            if spans is None:
                spans = old.get(keys[index])
                if spans is None:
                    misses += 1
                    continue
                found[index] = spans
                self.put(keys[index], spans)
        self.hits += len(found) - misses
        self.misses += misses
        return found

    def put(self, key: tuple[str, ...], spans: list[Span]) -> None:
        if self.max_entries <= 0:
            return
        young = self._young
        young[key] = spans
        if len(young) >= self._generation_size:
            self._old, self._young = young, {}


def resolve_detectors(
    names_or_detectors: Iterable[str | Detector] | None,
    policy: Policy,
    settings: StreamerSettings,
    registry: DetectorRegistry = DETECTORS,
) -> list[Detector]:
    """The detectors to run: those given, else the policy's, else the registry's defaults;
    plus the policy's own (custom patterns, deny list)."""
    chosen: Iterable[str | Detector]
    if names_or_detectors is not None:
        chosen = names_or_detectors
    elif policy.detectors is not None:
        chosen = policy.detectors
    else:
        chosen = registry.default_names(settings)
    detectors = [
        registry.create(item, settings) if isinstance(item, str) else item for item in chosen
    ]
    detectors.extend(policy.build_detectors())
    for detector in detectors:
        if getattr(detector, "language_aware", False):
            supported = list(getattr(detector, "supported_languages", ()))
            for language in policy.languages:
                if language not in supported:
                    raise LanguageNotConfiguredError(language, str(detector.name), supported)
    return detectors


class RedactionEngine:
    """Detects entities with ``detectors``, merges overlaps, and applies ``policy``."""

    def __init__(
        self,
        policy: Policy,
        detectors: Sequence[Detector],
        keyring: Keyring,
        settings: StreamerSettings,
        *,
        cache_entries: int = 100_000,
    ) -> None:
        self.policy = policy
        self.detectors = list(detectors)
        self.keyring = keyring
        self.settings = settings
        self.detector_names = tuple(str(d.name) for d in self.detectors)
        self.field_rules = FieldRules(policy.fields)
        self.cache = SpanCache(cache_entries)
        self._actions: dict[str, Action] = {}
        self._forced: dict[int, Action | None] = {}
        self._thresholds = _Thresholds(policy)
        context_words = [
            word
            for detector in self.detectors
            if isinstance(detector, PatternDetector) and detector.context_required
            for word in detector.context_words
        ]
        self._context_any = word_pattern(context_words)

    @classmethod
    def build(
        cls,
        policy: Policy | None = None,
        detectors: Iterable[str | Detector] | None = None,
        keyring: Keyring | None = None,
        settings: StreamerSettings | None = None,
    ) -> RedactionEngine:
        """An engine from configuration: defaults for whatever is not given."""
        settings = settings or StreamerSettings()
        policy = policy or Policy()
        return cls(
            policy,
            resolve_detectors(detectors, policy, settings),
            keyring or keyring_from_settings(settings),
            settings,
        )

    def close(self) -> None:
        for detector in self.detectors:
            detector.close()

    # --- detection ---------------------------------------------------------------------

    def analyze(
        self,
        texts: Sequence[str],
        contexts: Sequence[str] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[list[Span]]:
        """Final spans for each text: detected, filtered by threshold, allow list and hard
        negatives, and merged by :func:`~streamer.redaction.merge.resolve_overlaps`.

        ``languages`` holds each text's language (``None``: the policy's first); a
        language the policy does not name raises :class:`UnsupportedLanguageError`."""
        contexts = contexts if contexts is not None else [""] * len(texts)
        resolved = self._languages(languages, len(texts))
        keys = list(zip(texts, contexts, resolved, strict=True))
        results = self.cache.lookup(keys)
        pending: dict[tuple[str, str, str], list[int]] = {}
        inert = _INERT_VALUE.fullmatch
        for index, cached in enumerate(results):
            if cached is None:
                key = keys[index]
                if 16 <= len(key[0]) <= 128 and inert(key[0]):
                    results[index] = []
                else:
                    pending.setdefault(key, []).append(index)
        if pending:
            found = self._detect(
                [key[0] for key in pending], [key[1] for key in pending], [k[2] for k in pending]
            )
            for (key, indices), spans in zip(pending.items(), found, strict=True):
                if len(key[0]) <= CACHE_MAX_CHARS:
                    self.cache.put(key, spans)
                for index in indices:
                    results[index] = spans
        return results  # type: ignore[return-value]

    def _languages(self, languages: Sequence[str | None] | None, count: int) -> list[str]:
        supported = self.policy.languages
        if languages is None:
            return [supported[0]] * count
        if len(languages) != count:
            raise ValueError(f"got {len(languages)} languages for {count} texts")
        return [normalize_language(lang, supported) if lang else supported[0] for lang in languages]

    def _pieces(
        self, texts: list[str], contexts: list[str], languages: list[str]
    ) -> tuple[list[str], Sequence[int], list[int], list[str], list[str]]:
        """The texts cut into the chunks detectors see, each with the index of its text,
        its offset there, its context and its language."""
        size, overlap = self.settings.chunk_chars, self.settings.chunk_overlap
        if all(len(text) <= size for text in texts):  # the common case: nothing to cut
            unescaped = [_unescaped(text) if "\\" in text else text for text in texts]
            return unescaped, range(len(texts)), [0] * len(texts), contexts, languages
        owners: list[int] = []
        offsets: list[int] = []
        pieces: list[str] = []
        piece_contexts: list[str] = []
        piece_languages: list[str] = []
        for index, text in enumerate(texts):
            for start, end in chunk_bounds(len(text), size, overlap, text):
                owners.append(index)
                offsets.append(start)
                piece = text if end - start == len(text) else text[start:end]
                if "\\" in piece:
                    piece = _unescaped(piece)
                pieces.append(piece)
                piece_contexts.append(contexts[index])
                piece_languages.append(languages[index])
        return pieces, owners, offsets, piece_contexts, piece_languages

    def _detect(
        self, texts: list[str], contexts: list[str], languages: list[str]
    ) -> list[list[Span]]:
        pieces, owners, offsets, piece_contexts, piece_languages = self._pieces(
            texts, contexts, languages
        )
        raw: list[list[Span]] = [[] for _ in texts]
        prefilters = _BatchPrefilter(pieces, piece_contexts, self._context_any)
        for detector in self.detectors:
            selected = prefilters.select(detector)
            if not selected:
                continue
            batch = [pieces[i] for i in selected]
            batch_contexts = [piece_contexts[i] for i in selected]
            try:
                if getattr(detector, "language_aware", False):
                    found = detector.detect_batch(  # type: ignore[call-arg]
                        batch, batch_contexts, languages=[piece_languages[i] for i in selected]
                    )
                else:
                    found = detector.detect_batch(batch, batch_contexts)
            except RedactionError:
                raise
            except Exception as exc:
                raise DetectorError(
                    f"detector {detector.name!r} failed: {type(exc).__name__}"
                ) from None
            for index, spans in zip(selected, found, strict=True):
                if spans:
                    offset = offsets[index]
                    raw[owners[index]].extend(
                        [span.shifted(offset) for span in spans] if offset else spans
                    )
        finalize = self._finalize
        return [
            finalize(text, spans) if spans else spans
            for text, spans in zip(texts, raw, strict=True)
        ]

    def _finalize(self, text: str, spans: list[Span]) -> list[Span]:
        if not spans:
            return spans
        thresholds = self._thresholds
        spans = [s for s in spans if s.score >= thresholds[s.entity_type]]
        allowed = self.policy.allowed_values
        if allowed and spans:
            spans = [s for s in spans if text[s.start : s.end].strip().casefold() not in allowed]
        if not spans:
            return spans
        spans.extend(_repeats(text, spans))
        negatives = find_hard_negatives(text)
        if negatives:
            spans = [
                s
                for s in spans
                if not any(s.start < end and start < s.end for start, end in negatives)
            ]
        return resolve_overlaps(spans, text) if len(spans) > 1 else spans

    # --- actions -----------------------------------------------------------------------

    def action_for(self, entity_type: str) -> Action:
        action = self._actions.get(entity_type)
        if action is None:
            action = self._actions[entity_type] = self.policy.rule_for(entity_type).build()
        return action

    def _forced_action(self, rule: FieldRule) -> Action | None:
        key = id(rule)
        if key not in self._forced:
            self._forced[key] = rule.forced_action()
        return self._forced[key]

    def _replace(
        self, text: str, spans: list[Span], scope: str, path: str | None = None
    ) -> tuple[str, list[Token]]:
        if not spans:
            return text, []
        parts: list[str] = []
        tokens: list[Token] = []
        cursor = 0
        actions, keyring, token = self._actions, self.keyring, self._token
        for span in spans:
            entity_type, start = span.entity_type, span.start
            action = actions.get(entity_type)
            if action is None:
                action = self.action_for(entity_type)
            if isinstance(action, PreserveAction):
                continue
            value = text[start : span.end]
            replacement = action.apply(value, entity_type, keyring, scope)
            parts.append(text[cursor:start])
            parts.append(replacement)
            cursor = span.end
            tokens.append(token(replacement, value, action, start, span, path))
        if cursor == 0:
            return text, tokens
        parts.append(text[cursor:])
        return "".join(parts), tokens

    @staticmethod
    def _token(
        replacement: str, value: str, action: Action, start: int, span: Span, path: str | None
    ) -> Token:
        metadata: dict[str, Any] = {
            "entity_type": span.entity_type,
            "end": span.end,
            "score": span.score,
            "detector": span.detector,
        }
        if path is not None:
            metadata["path"] = path
        return Token(replacement, value, action.name, start, metadata)

    # --- texts, events and payloads ----------------------------------------------------

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_record_bytes:
            raise RecordTooLargeError(size, self.settings.max_record_bytes)

    def redact_texts(
        self,
        texts: Sequence[str],
        scope: str = DEFAULT_SCOPE,
        context: str = "",
        language: str | None = None,
    ) -> list[RedactionResult]:
        """Redact plain texts; raises :class:`RecordTooLargeError` for an oversized one."""
        for text in texts:
            if len(text) * 4 > self.settings.max_record_bytes:  # cheap bound before encoding
                self._check_size(len(text.encode("utf-8", "surrogatepass")))
        all_spans = self.analyze(texts, [context] * len(texts), [language] * len(texts))
        results = []
        for text, spans in zip(texts, all_spans, strict=True):
            redacted, tokens = self._replace(text, spans, scope)
            results.append(RedactionResult(redacted, tokens))
        return results

    def redact_events(
        self, events: Sequence[Any], scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> list[EventResult]:
        """Redact JSON-like events (dicts, lists, strings); the inputs are not changed."""
        holders = [[copy_json(event)] for event in events]
        token_lists = self._redact_in_place(
            holders, [scope] * len(events), languages=[language] * len(events)
        )
        return [
            EventResult(holder[0], tokens)
            for holder, tokens in zip(holders, token_lists, strict=True)
        ]

    def scanned_leaves(self, holder: list[Any]) -> tuple[list[Leaf], list[Leaf]]:
        """All leaves of ``holder[0]`` and the ones detectors scan, in document order."""
        leaves = collect_leaves(holder[0], self.field_rules)
        if len(leaves) == 1 and leaves[0].path == ():
            leaves[0].container = holder  # a top-level scalar: write it back into the holder
        if not self.field_rules:
            return leaves, leaves
        return leaves, [leaf for leaf in leaves if leaf.rule is None or leaf.rule.action == "scan"]

    def _redact_in_place(
        self,
        holders: list[list[Any]],
        scopes: Sequence[str],
        extra_spans: Sequence[Sequence[list[Span]] | None] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[list[Token]]:
        """Redact ``holder[0]`` of each holder in place; tokens per holder.

        ``extra_spans`` holds, per holder and per scanned leaf, spans found elsewhere
        (cloud detectors); they are merged with the local ones by the same rule.
        """
        walked = [self.scanned_leaves(holder) for holder in holders]
        scanned = [leaf for _, leaves in walked for leaf in leaves]
        leaf_languages = (
            [lang for (_, leaves), lang in zip(walked, languages, strict=True) for _ in leaves]
            if languages is not None and any(languages)  # else all are the policy's first
            else None
        )
        found = self.analyze(
            [leaf.text for leaf in scanned], [leaf.context for leaf in scanned], leaf_languages
        )
        if extra_spans is not None:
            self._add_extra_spans(walked, found, extra_spans)
        # ``found`` follows the scanned leaves in order; the other leaves are forced.
        position = 0
        for _, scanned_leaves in walked:
            if len(scanned_leaves) > 1:
                self._spread_names(scanned_leaves, found, position)
            position += len(scanned_leaves)
        spans_of_scanned = iter(found)
        token_lists = []
        for (leaves, scanned_leaves), scope in zip(walked, scopes, strict=True):
            tokens: list[Token] = []
            all_scanned = leaves is scanned_leaves
            for leaf in leaves:
                if all_scanned or leaf.rule is None or leaf.rule.action == "scan":
                    spans = next(spans_of_scanned)
                    if spans:
                        tokens.extend(self._redact_leaf(leaf, spans, scope))
                else:  # forced by a field rule
                    tokens.extend(self._redact_leaf(leaf, None, scope))
            token_lists.append(tokens)
        return token_lists

    def _spread_names(self, leaves: list[Leaf], found: list[list[Span]], position: int) -> None:
        """A person's name found in one value of an event is found wherever else it stands
        in the event as a whole word, and so is each of its names: ``{"customer": {"first":
        "Anika"}, "note": "Happy birthday Anika!"}``, ``{"name": "Tobias Greenhalgh",
        "gift_message": "Love, Tobias"}``, where the other value alone gives nothing
        away. ``found[position:]`` holds the spans of ``leaves``; lists are replaced,
        never changed (the cache)."""
        names: dict[str, tuple[Span, int]] = {}  # with the leaf it was found in
        for offset, spans in enumerate(found[position : position + len(leaves)]):
            for span in spans:
                if span.entity_type == "PERSON" and span.end - span.start >= _MIN_REPEATED_CHARS:
                    name = leaves[offset].text[span.start : span.end]
                    names.setdefault(name, (span, offset))
                    for word in name_words(name):
                        names.setdefault(word, (span, offset))
        if not names:
            return
        texts = [leaf.text for leaf in leaves]
        joined = "\n".join(texts)
        for name, (span, source) in names.items():
            if joined.count(name) == texts[source].count(name):
                continue  # in no other value (the common case)
            whole = texts[source][span.start : span.end]  # the name this is a word of
            for offset, text in enumerate(texts):
                if source == offset or name not in text:  # its own text: see _repeats
                    continue
                if whole != name and name not in text.replace(whole, ""):
                    continue  # only inside the whole name, which spreads by itself
                spans = found[position + offset]
                extra = [
                    repeat
                    for repeat in _occurrences(text, name, span)
                    if not any(s.start < repeat.end and repeat.start < s.end for s in spans)
                ]
                if extra:  # thresholds, allow list and hard negatives passed at the source
                    found[position + offset] = resolve_overlaps([*spans, *extra], text)

    def _add_extra_spans(
        self,
        walked: list[tuple[list[Leaf], list[Leaf]]],
        found: list[list[Span]],
        extra_spans: Sequence[Sequence[list[Span]] | None],
    ) -> None:
        """Merge spans found elsewhere into ``found`` (the spans of the scanned leaves)."""
        position = 0
        for (_, leaves), extra in zip(walked, extra_spans, strict=True):
            if extra is not None:
                if len(extra) != len(leaves):
                    raise DetectorError(
                        f"external detector returned spans for {len(extra)} texts, expected "
                        f"{len(leaves)}"
                    )
                for index, (leaf, spans) in enumerate(zip(leaves, extra, strict=True)):
                    if spans:
                        local = found[position + index]
                        found[position + index] = self._finalize(leaf.text, [*local, *spans])
            position += len(leaves)

    def _redact_leaf(self, leaf: Leaf, spans: list[Span] | None, scope: str) -> list[Token]:
        """Replace what ``spans`` cover in ``leaf`` (``None``: the whole value, as its field
        rule forces); the tokens."""
        if spans is None:
            redacted, tokens = self._forced_replacement(leaf, scope)
        else:
            redacted, tokens = self._replace(leaf.text, spans, scope, leaf.dotted_path)
        if tokens:
            original_type = type(leaf.original)
            if original_type is not str:
                for token in tokens:  # so unmask_event can give back a number
                    token.metadata["json_type"] = original_type.__name__
            leaf.replace(redacted)
        return tokens

    def _forced_replacement(self, leaf: Leaf, scope: str) -> tuple[str, list[Token]]:
        assert leaf.rule is not None
        action = self._forced_action(leaf.rule)
        if action is None or isinstance(action, PreserveAction):
            return leaf.text, []
        span = Span(0, len(leaf.text), leaf.rule.entity_type, 1.0, "field_rule")
        replacement = action.apply(leaf.text, span.entity_type, self.keyring, scope)
        return replacement, [self._token(replacement, leaf.text, action, 0, span, leaf.dotted_path)]

    def extract_texts(
        self, payloads: Sequence[bytes], event_format: EventFormat = "json"
    ) -> list[list[tuple[str, str]] | None]:
        """The ``(text, context)`` pairs detectors would scan in each payload, in the order
        ``redact_payloads(extra_spans=...)`` expects; ``None`` for a payload that fails."""
        result: list[list[tuple[str, str]] | None] = []
        for payload in payloads:
            try:
                self._check_size(len(payload))
                scanned = self.scanned_leaves([decode_event(payload, event_format)])[1]
            except RedactionError:
                result.append(None)
                continue
            result.append([(leaf.text, leaf.context) for leaf in scanned])
        return result

    def redact_payloads(
        self,
        payloads: Sequence[bytes],
        event_format: EventFormat = "json",
        scopes: Sequence[str] | None = None,
        *,
        scope_field: str | None = None,
        extra_spans: Sequence[Sequence[list[Span]] | None] | None = None,
        languages: Sequence[str | None] | None = None,
        language_field: str | None = None,
    ) -> list[PayloadOutcome]:
        """Redact raw record values; a bad one becomes a failure, never an exception.

        This is the unit of work of the stream's worker pool: bytes in, clean bytes and
        tokens out, failures as data (for the dead-letter topic). ``scope_field`` names
        a JSON field (dotted path) whose string value is the key scope, overriding
        ``scopes``; ``extra_spans`` adds spans found elsewhere (see ``extract_texts``).
        ``languages`` gives each payload's language (from a header, say; ``None`` for
        the policy's first) and ``language_field`` a JSON field that holds it, overriding
        ``languages``; a language the policy does not name fails that payload.
        """
        scopes = scopes if scopes is not None else [DEFAULT_SCOPE] * len(payloads)
        by_language = _LanguageOptions(languages, language_field)
        try:
            return self._redact_payloads(
                payloads, event_format, scopes, scope_field, extra_spans, by_language
            )
        except RedactionError as exc:
            if len(payloads) == 1:
                return [_failed(exc)]
        except _UNFORESEEN as exc:
            if len(payloads) == 1:
                return [_failed(_unforeseen_failure(exc))]
        # One payload broke a detector: redo them one by one so only that one fails.
        outcomes = []
        for index, payload in enumerate(payloads):
            extra = [extra_spans[index]] if extra_spans is not None else None
            try:
                outcomes.extend(
                    self._redact_payloads(
                        [payload],
                        event_format,
                        [scopes[index]],
                        scope_field,
                        extra,
                        by_language.only(index),
                    )
                )
            except (RedactionError, *_UNFORESEEN) as exc:
                error = exc if isinstance(exc, RedactionError) else _unforeseen_failure(exc)
                outcomes.append(_failed(error))
        return outcomes

    def _redact_payloads(
        self,
        payloads: Sequence[bytes],
        event_format: EventFormat,
        scopes: Sequence[str],
        scope_field: str | None,
        extra_spans: Sequence[Sequence[list[Span]] | None] | None,
        by_language: _LanguageOptions,
    ) -> list[PayloadOutcome]:
        outcomes: list[PayloadOutcome | None] = [None] * len(payloads)
        holders: list[list[Any]] = []
        decoded: list[int] = []
        holder_scopes: list[str] = []
        holder_languages: list[str | None] | None = [] if by_language.given else None
        for index, payload in enumerate(payloads):
            try:
                self._check_size(len(payload))
                event = decode_event(payload, event_format)
            except RedactionError as exc:
                outcomes[index] = PayloadOutcome(None, [], PayloadFailure(exc.code, str(exc)))
                continue
            holders.append([event])
            decoded.append(index)
            scope = scope_from_field(event, scope_field) if scope_field else None
            holder_scopes.append(scope or scopes[index])
            if holder_languages is not None:
                holder_languages.append(by_language.of(index, event))
        extra = [extra_spans[i] for i in decoded] if extra_spans is not None else None
        token_lists = self._redact_in_place(holders, holder_scopes, extra, holder_languages)
        for index, holder, tokens in zip(decoded, holders, token_lists, strict=True):
            try:
                value = _encode(holder[0], event_format)
            except RedactionError as exc:
                outcomes[index] = PayloadOutcome(None, [], PayloadFailure(exc.code, str(exc)))
                continue
            outcomes[index] = PayloadOutcome(value, tokens)
        return outcomes  # type: ignore[return-value]

    # --- unmask ------------------------------------------------------------------------

    def unmask(
        self,
        text: str,
        tokens: Iterable[Token] = (),
        scope: str = DEFAULT_SCOPE,
        lookup: Callable[[str], str | None] | None = None,
    ) -> str:
        """Put originals back: token ids from ``tokens`` (or ``lookup``), inline ciphertexts
        with the keyring. Anything else, masks and hashes included, stays as it is."""
        originals = {t.token_id: t.original_value for t in tokens if t.redaction_type == "tokenize"}

        def restore(match: re.Match[str]) -> str:
            if match.group(3) is not None:  # an inline ciphertext
                encrypted = ENCRYPTED_PATTERN.fullmatch(match.group(0))
                assert encrypted is not None
                return decrypt_inline(encrypted, self.keyring, scope)
            token_id = match.group(0)
            original = originals.get(token_id)
            if original is None and lookup is not None:
                original = lookup(token_id)
            return token_id if original is None else original

        return _REPLACEMENT.sub(restore, text)


#: Errors no code path expects, such as a bug meeting an input nobody foresaw: they set
#: one record aside rather than stop the stream. Configuration, key and I/O errors
#: (``StreamerError``, ``OSError``) still stop it: they would hit every record alike.
_UNFORESEEN = (ArithmeticError, AttributeError, LookupError, RecursionError, TypeError, ValueError)


def _failed(error: RedactionError) -> PayloadOutcome:
    """The outcome of a payload that ``error`` set aside."""
    return PayloadOutcome(None, [], PayloadFailure(error.code, str(error)))


def _unforeseen_failure(exc: BaseException) -> RedactionError:
    if isinstance(exc, RecursionError):  # orjson reads up to 1,024 levels; Python walks fewer
        return InvalidEventError(
            "the event is nested too deep to redact (close to 1,000 levels of objects or "
            "lists); flatten it"
        )
    log.error(
        "redacting a record raised %s; the record is set aside (a bug: please report it)",
        type(exc).__name__,  # only the type: the message may quote the record
    )
    return RedactionError(
        f"redacting this record raised {type(exc).__name__}, which no rule expected; it was "
        "set aside so its partition goes on"
    )


class _LanguageOptions:
    """Where each payload's language comes from: a JSON field, else the given list."""

    def __init__(self, languages: Sequence[str | None] | None, field: str | None) -> None:
        self.languages = languages
        self.field = field

    @property
    def given(self) -> bool:
        """Whether any payload can have a language other than the policy's first."""
        return bool(self.field) or self.languages is not None

    def of(self, index: int, event: Any) -> str | None:
        found = _field_value(event, self.field) if self.field else None
        if found is None and self.languages is not None:
            found = self.languages[index]
        return found

    def only(self, index: int) -> _LanguageOptions:
        languages = [self.languages[index]] if self.languages is not None else None
        return _LanguageOptions(languages, self.field)


def scope_from_field(event: Any, dotted_path: str) -> str | None:
    """The key scope at ``dotted_path`` in ``event``: a non-empty string, or a whole number
    as written (numeric tenant ids), else ``None``."""
    value = _value_at(event, dotted_path)
    if type(value) is int:
        return str(value)
    return value if isinstance(value, str) and value else None


def _field_value(event: Any, dotted_path: str) -> str | None:
    """The string at ``dotted_path`` in ``event``, or ``None``."""
    value = _value_at(event, dotted_path)
    return value if isinstance(value, str) and value else None


def _value_at(event: Any, dotted_path: str) -> Any:
    """The value at ``dotted_path`` (keys of nested objects) in ``event``, or ``None``."""
    value = event
    for key in dotted_path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


#: Values shorter than this are not looked for again (``Al``, ``12``).
_MIN_REPEATED_CHARS = 4


def _repeats(text: str, spans: list[Span]) -> list[Span]:
    """The other occurrences, as whole words, of the values ``spans`` cover in ``text``.

    Context makes some detections: ``Date of birth 01/18/1942 ..., it should be
    01/18/1942`` finds the first date only; the second is the same value, so it goes too.
    """
    values = {text[s.start : s.end]: s for s in spans if s.end - s.start >= _MIN_REPEATED_CHARS}
    if len(text) < 2 * _MIN_REPEATED_CHARS + 1 or not values:
        return []
    return [
        repeat
        for value, span in values.items()
        for repeat in _occurrences(text, value, span)
        if repeat.start != span.start
    ]


def _occurrences(text: str, value: str, like: Span) -> list[Span]:
    """Where ``value`` stands in ``text`` as a whole word, as spans of ``like``'s type."""
    found = []
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        if (start == 0 or not text[start - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            found.append(Span(start, end, like.entity_type, like.score, like.detector))
        start = text.find(value, end)
    return found


# Integers beyond 64 bits have 20 digits or more, or 19 after a minus sign; orjson would
# read them as floats, changing them (an account number stored as a number) and leaving
# most of their digits unscanned. Found as zeros in a row once every digit is a zero: a
# translation and two substring searches cost a fifth of a regular expression's search.
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 20
_LONG_NEGATIVE_RUN = b"-" + b"0" * 19


def may_hold_wide_integer(payload: bytes) -> bool:
    """Whether a JSON ``payload`` may hold an integer beyond 64 bits, which orjson reads
    as a float (``-9223372036854775809`` as ``-9.223372036854776e+18``)."""
    shape = payload.translate(_DIGITS_AS_ZEROS)
    return _LONG_DIGIT_RUN in shape or _LONG_NEGATIVE_RUN in shape


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser takes them, and orjson would write
    them back as null, changing the event without a word."""
    raise ValueError(f"{name} is not a JSON value")


def decode_event(payload: bytes, event_format: EventFormat) -> Any:
    """A record value as the engine reads it: UTF-8 text, or any valid UTF-8 JSON document
    (orjson first; a byte order mark, lone surrogates and integers over 64 bits by the
    standard library). Raises :class:`InvalidEventError` otherwise."""
    if event_format == "text":
        return _decode_text(payload)
    reason = None
    if not may_hold_wide_integer(payload):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            reason = str(exc)
    try:  # valid JSON orjson refuses, and integers over 64 bits (orjson makes them floats)
        # decoded here: json.loads would take UTF-16 and encoded surrogates (\xed\xa0\x80)
        return json.loads(payload.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        if reason is None:  # orjson was skipped: its message names the place, not the data
            try:
                orjson.loads(payload)
                reason = "not valid JSON"
            except orjson.JSONDecodeError as exc:
                reason = str(exc)
        raise InvalidEventError(
            f"value is not a valid UTF-8 JSON document ({reason}); produce JSON events or "
            "read them as text (format: text in a topology, --format text for streamer run, "
            "--text for streamer redact)"
        ) from None


def _decode_text(payload: bytes) -> str:
    """Text the detectors can read. Latin-1 or UTF-16 bytes in a name hide it from them,
    so such a value is refused rather than passed on. The messages name no data."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEventError(
            f"value is not UTF-8 text (byte {exc.start + 1}); produce UTF-8 text (convert "
            "a file first: iconv -f ENCODING -t utf-8)"
        ) from None
    if "\0" in text:
        raise InvalidEventError(
            "value holds NUL bytes, as UTF-16 text does; produce UTF-8 text (convert a file "
            "first: iconv -f utf-16 -t utf-8)"
        )
    return text


def _encode(event: Any, event_format: EventFormat) -> bytes:
    if event_format == "text":
        return str(event).encode("utf-8")
    try:
        return orjson.dumps(event)
    except TypeError:
        pass
    try:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate (a "\ud800" escape): keep it escaped
        return json.dumps(event, separators=(",", ":")).encode()
