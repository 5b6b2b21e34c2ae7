"""Cloud detection for a stream: the one entry point the runtime calls.

The runtime, between consuming a batch and handing it to the worker pool::

    texts = engine.extract_texts(payloads, event_format)          # per payload, or None
    batch = await cloud.detect_payloads(texts)                    # this module
    while batch.blocked:                                          # unavailable: block
        pause_consumption(); await cloud.wait_for_recovery()
        batch = await cloud.detect_payloads(texts)
    outcomes = service.redact_payloads(payloads, event_format, extra_spans=batch.extra_spans)
    # batch.routes[i]: CLOUD, FALLBACK (mark the record: CLOUD_FALLBACK_HEADER),
    # DEAD_LETTER (send with batch.failures[i]), NOT_EXTRACTED (the engine reports it)

How it decides, per text:

1. Blank texts need no detection; short texts seen recently come from a cache; equal
   texts in a batch are sent once.
2. The providers are asked (``failover: sequential``: in order, each one only for the
   texts the previous could not do; ``concurrent``: all at once, the first success per
   text wins and the others are cancelled once every text has one).
3. A record with a text no provider could do is handled by ``unavailable``:
   ``fallback`` (local detection; in ``cloud-only`` mode the spans come from the
   ``fallback_analyzer``), ``dead-letter``, or ``block`` (the whole batch waits). A
   record a service *rejected* (not an outage) never blocks: under ``block`` it is
   dead-lettered, so one bad record cannot stall a partition.

Failed detection never lets a record through unredacted: it ends in cloud spans, local
spans, the dead-letter topic or a retry.
"""

from __future__ import annotations

import asyncio
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import CollectorRegistry

from streamer.cloud.config import CloudConfig
from streamer.cloud.exceptions import (
    CloudConfigurationError,
    CloudRequestError,
    RequestRejectedError,
)
from streamer.cloud.guarded import GuardedProvider, TextOutcome
from streamer.cloud.metrics import CloudMetrics
from streamer.cloud.providers import CLOUD_PROVIDERS, CloudProvider
from streamer.redaction.result import PayloadFailure
from streamer.redaction.spans import Span
from streamer.settings import StreamerSettings

#: Header the runtime sets on a record whose cloud detection fell back to local detectors;
#: its value is the failure code (``cloud_timeout``, ``cloud_circuit_open``, ...). Named
#: like the stream's other provenance headers (``pii.source.offset``, ...).
CLOUD_FALLBACK_HEADER = "pii.cloud.fallback"
#: Texts up to this long have their cloud results cached.
CACHE_MAX_CHARS = 512

#: ``(texts, contexts) -> spans per text``: local detection for ``cloud-only`` fallback
#: (``RedactionEngine.analyze`` of an engine used by nothing else).
FallbackAnalyzer = Callable[[Sequence[str], Sequence[str]], list[list[Span]]]


class CloudRoute(StrEnum):
    """Where a record goes after cloud detection."""

    CLOUD = "cloud"
    FALLBACK = "fallback"
    DEAD_LETTER = "dead_letter"
    BLOCKED = "blocked"
    NOT_EXTRACTED = "not_extracted"


@dataclass(slots=True)
class CloudTexts:
    """Per text: its spans, or (in ``failures``) why no provider gave any."""

    spans: list[list[Span] | None]
    failures: dict[int, CloudRequestError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class CloudBatch:
    """Cloud detection for a batch of payloads, in payload order.

    ``extra_spans`` goes to ``redact_payloads(extra_spans=...)`` as it is (``None`` for
    records that are not redacted now: dead letters, blocked, not extracted).
    """

    extra_spans: list[list[list[Span]] | None]
    routes: list[CloudRoute]
    failures: list[PayloadFailure | None]

    @property
    def blocked(self) -> bool:
        """The batch must wait: a provider is unavailable and ``unavailable: block``."""
        return CloudRoute.BLOCKED in self.routes

    def indices(self, route: CloudRoute) -> list[int]:
        return [index for index, value in enumerate(self.routes) if value is route]


class _SpanCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, list[Span]] = OrderedDict()

    def get(self, text: str) -> list[Span] | None:
        spans = self._entries.get(text)
        if spans is not None:
            self._entries.move_to_end(text)
        return spans

    def put(self, text: str, spans: list[Span]) -> None:
        if self.max_entries <= 0:
            return
        self._entries[text] = spans
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class CloudDetection:
    """Cloud PII detection under guards, failover and the unavailability policy.

    Build with :meth:`from_config`, then ``async with`` (or :meth:`start` /
    :meth:`close`). ``providers`` are ready (unstarted) provider objects, which tests and
    embedders can build themselves (an injected credential or session).

    In ``cloud-only`` mode a ``fallback`` record needs local detection, which
    ``fallback_analyzer`` gives here; with ``fallback_in_caller`` the caller promises to
    redact ``FALLBACK`` records with its own local detectors instead (the stream runtime
    does, on its worker processes), and no analyzer is run.
    """

    def __init__(
        self,
        config: CloudConfig,
        providers: Sequence[CloudProvider[Any]],
        *,
        settings: StreamerSettings | None = None,
        registry: CollectorRegistry | None = None,
        fallback_analyzer: FallbackAnalyzer | None = None,
        fallback_in_caller: bool = False,
    ) -> None:
        if not providers:
            raise CloudConfigurationError("cloud detection needs at least one provider")
        if (
            config.mode == "cloud-only"
            and config.unavailable == "fallback"
            and fallback_analyzer is None
            and not fallback_in_caller
        ):
            raise CloudConfigurationError(
                "cloud mode 'cloud-only' with unavailable: fallback needs local detectors to "
                "fall back to; pass fallback_analyzer, or set unavailable to dead-letter or block"
            )
        settings = settings or StreamerSettings()
        self.config = config
        self.metrics = CloudMetrics.for_registry(registry)
        self.providers = [
            GuardedProvider(provider, self.metrics, chunk_overlap=settings.chunk_overlap)
            for provider in providers
        ]
        self._fallback_analyzer = fallback_analyzer
        self._fallback_in_caller = fallback_in_caller
        self._fallback_lock = asyncio.Lock()
        self._cache = _SpanCache(config.cache_entries)
        self._started = False

    @classmethod
    def from_config(
        cls,
        config: CloudConfig,
        settings: StreamerSettings,
        *,
        registry: CollectorRegistry | None = None,
        fallback_analyzer: FallbackAnalyzer | None = None,
        provider_options: dict[str, dict[str, Any]] | None = None,
        fallback_in_caller: bool = False,
    ) -> CloudDetection:
        """Providers built from ``config``; ``provider_options`` maps a provider's name to
        extra constructor arguments (an Azure ``credential``, an AWS ``session``)."""
        provider_options = provider_options or {}
        providers = [
            CLOUD_PROVIDERS.create(item, settings, **provider_options.get(item.label, {}))
            for item in config.providers
        ]
        return cls(
            config,
            providers,
            settings=settings,
            registry=registry,
            fallback_analyzer=fallback_analyzer,
            fallback_in_caller=fallback_in_caller,
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open every provider's client; on a failure, close those already open."""
        if self._started:
            return
        opened: list[GuardedProvider] = []
        try:
            for guarded in self.providers:
                await guarded.provider.start()
                opened.append(guarded)
        except BaseException:
            for guarded in opened:
                await guarded.provider.close()
            raise
        self._started = True

    async def close(self) -> None:
        self._started = False
        for guarded in self.providers:
            await guarded.provider.close()

    def __del__(self) -> None:
        if getattr(self, "_started", False):
            warnings.warn(
                "CloudDetection was not closed; use 'async with' or await close()",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    async def __aenter__(self) -> CloudDetection:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- detection -----------------------------------------------------------------------

    async def detect(self, texts: Sequence[str]) -> CloudTexts:
        """Cloud spans for each text (offsets into it), or the failure that stopped it."""
        if not self._started:
            raise RuntimeError("cloud detection is not started; call start() or use 'async with'")
        spans: list[list[Span] | None] = [None] * len(texts)
        owners: dict[str, list[int]] = {}
        cached = 0
        for index, text in enumerate(texts):
            if not text or text.isspace():
                spans[index] = []
                continue
            if len(text) <= CACHE_MAX_CHARS:
                hit = self._cache.get(text)
                if hit is not None:
                    spans[index] = hit
                    cached += 1
                    continue
            owners.setdefault(text, []).append(index)
        if cached:
            self.metrics.texts.labels("cached").inc(cached)
        result = CloudTexts(spans)
        if not owners:
            return result
        pending = list(owners)
        outcomes = await self._ask_providers(pending)
        sent = 0
        for position, text in enumerate(pending):
            outcome = outcomes[position]
            for index in owners[text]:
                if isinstance(outcome, CloudRequestError):
                    result.failures[index] = outcome
                else:
                    spans[index] = outcome
                    sent += 1
            if not isinstance(outcome, CloudRequestError) and len(text) <= CACHE_MAX_CHARS:
                self._cache.put(text, outcome)
        if sent:
            self.metrics.texts.labels("cloud").inc(sent)
        return result

    async def _ask_providers(self, texts: list[str]) -> dict[int, TextOutcome]:
        indices = list(range(len(texts)))
        if self.config.failover == "concurrent" and len(self.providers) > 1:
            return await self._ask_concurrently(texts, indices)
        outcomes: dict[int, TextOutcome] = {}
        remaining = indices
        for guarded in self.providers:
            found = await guarded.detect(texts, remaining)
            outcomes.update(found)
            remaining = [i for i in remaining if isinstance(found[i], CloudRequestError)]
            if not remaining:
                break
        return outcomes

    async def _ask_concurrently(
        self, texts: list[str], indices: list[int]
    ) -> dict[int, TextOutcome]:
        tasks = {
            asyncio.create_task(guarded.detect(texts, indices), name=f"cloud-{guarded.name}")
            for guarded in self.providers
        }
        outcomes: dict[int, TextOutcome] = {}
        unresolved = set(indices)
        try:
            while tasks and unresolved:
                done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    found = task.result()
                    for index in list(unresolved):
                        outcome = found[index]
                        if isinstance(outcome, CloudRequestError):
                            outcomes.setdefault(index, outcome)
                        else:
                            outcomes[index] = outcome
                            unresolved.discard(index)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        return outcomes

    async def detect_payloads(
        self, extracted: Sequence[Sequence[tuple[str, str]] | None]
    ) -> CloudBatch:
        """Cloud detection for the texts of each payload, as ``engine.extract_texts``
        returns them, with each payload's route under the unavailability policy."""
        flat: list[str] = []
        for texts in extracted:
            if texts:
                flat.extend(text for text, _ in texts)
        found = await self.detect(flat)
        config = self.config
        extra: list[list[list[Span]] | None] = []
        routes: list[CloudRoute] = []
        failures: list[PayloadFailure | None] = []
        fallback_needed: list[tuple[int, int, int]] = []  # (payload, first flat index, count)
        position = 0
        counts = {route: 0 for route in CloudRoute}
        for payload_index, texts in enumerate(extracted):
            if texts is None:
                extra.append(None)
                routes.append(CloudRoute.NOT_EXTRACTED)
                failures.append(None)
                continue
            count = len(texts)
            own = range(position, position + count)
            errors = [found.failures[i] for i in own if i in found.failures]
            if not errors:
                extra.append([found.spans[i] or [] for i in own])
                routes.append(CloudRoute.CLOUD)
                failures.append(None)
            else:
                route = self._route(errors)
                routes.append(route)
                failures.append(_payload_failure(errors[0], route))
                counts[route] += count
                if route is CloudRoute.FALLBACK:
                    extra.append([found.spans[i] or [] for i in own])
                    if config.mode == "cloud-only" and not self._fallback_in_caller:
                        fallback_needed.append((payload_index, position, count))
                else:
                    extra.append(None)
            position += count
        for route in (CloudRoute.FALLBACK, CloudRoute.DEAD_LETTER, CloudRoute.BLOCKED):
            if counts[route]:
                self.metrics.texts.labels(route.value).inc(counts[route])
        if fallback_needed:
            await self._add_local_spans(extracted, extra, fallback_needed)
        return CloudBatch(extra, routes, failures)

    def _route(self, errors: list[CloudRequestError]) -> CloudRoute:
        policy = self.config.unavailable
        if policy == "fallback":
            return CloudRoute.FALLBACK
        if policy == "block" and any(not isinstance(e, RequestRejectedError) for e in errors):
            return CloudRoute.BLOCKED
        return CloudRoute.DEAD_LETTER

    async def _add_local_spans(
        self,
        extracted: Sequence[Sequence[tuple[str, str]] | None],
        extra: list[list[list[Span]] | None],
        needed: list[tuple[int, int, int]],
    ) -> None:
        assert self._fallback_analyzer is not None
        texts: list[str] = []
        contexts: list[str] = []
        for payload_index, _, _ in needed:
            for text, context in extracted[payload_index] or ():
                texts.append(text)
                contexts.append(context)
        async with self._fallback_lock:  # the analyzer's engine is not thread-safe
            local = await asyncio.to_thread(self._fallback_analyzer, texts, contexts)
        cursor = 0
        for payload_index, _, count in needed:
            spans_per_text = extra[payload_index]
            assert spans_per_text is not None
            for offset in range(count):
                spans_per_text[offset] = [*spans_per_text[offset], *local[cursor + offset]]
            cursor += count

    # --- recovery ------------------------------------------------------------------------

    def seconds_until_available(self) -> float:
        """How long until some provider may be asked again (0: now)."""
        return min(guarded.guard.seconds_until_available() for guarded in self.providers)

    async def wait_for_recovery(self) -> None:
        """Sleep until a provider may be asked again (a half-open probe, at the earliest),
        and at least the shortest initial backoff, so a caller never spins."""
        shortest = min(g.guard.limits.backoff_initial_seconds for g in self.providers)
        await asyncio.sleep(max(self.seconds_until_available(), shortest))


def _payload_failure(error: CloudRequestError, route: CloudRoute) -> PayloadFailure:
    if route is CloudRoute.FALLBACK:
        return PayloadFailure(error.code, str(error))
    if isinstance(error, RequestRejectedError):
        return PayloadFailure(
            "cloud_rejected",
            f"{error}; the record cannot be analysed by the cloud provider",
        )
    if route is CloudRoute.BLOCKED:
        return PayloadFailure(
            "cloud_unavailable",
            f"{error}; waiting for a cloud provider to recover (unavailable: block)",
        )
    return PayloadFailure(
        "cloud_unavailable",
        f"{error}; no cloud provider could analyse the record (unavailable: dead-letter)",
    )
