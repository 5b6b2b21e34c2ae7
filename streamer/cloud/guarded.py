"""One provider behind its guard: texts in, spans (or the reason there are none) out.

:class:`GuardedProvider` plans documents and requests for a batch of texts
(:mod:`streamer.cloud.packing`), sends every request through the provider's
:class:`~streamer.cloud.guard.ProviderGuard` at once (the semaphore bounds how many are in
flight), counts what was sent and billed, and maps entities back onto the texts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from streamer.cloud.exceptions import CloudRequestError, RequestRejectedError, ServerError
from streamer.cloud.guard import ProviderGuard
from streamer.cloud.metrics import CloudMetrics
from streamer.cloud.packing import Document, plan_documents, plan_requests
from streamer.cloud.providers.base import CloudProvider, DocumentRejected
from streamer.redaction.merge import resolve_overlaps
from streamer.redaction.spans import Span

#: Per text: its spans (offsets into the text), or why the provider could not tell.
TextOutcome = list[Span] | CloudRequestError


class GuardedProvider:
    """A started provider, its guard and its metrics."""

    def __init__(
        self,
        provider: CloudProvider[Any],
        metrics: CloudMetrics,
        *,
        chunk_overlap: int = 200,
        guard: ProviderGuard | None = None,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.metrics = metrics.provider(provider.name, provider.billing_unit)
        self.guard = guard or ProviderGuard(provider.name, provider.config.limits, self.metrics)
        self.chunk_overlap = chunk_overlap

    async def detect(self, texts: Sequence[str], indices: Sequence[int]) -> dict[int, TextOutcome]:
        """An outcome for each ``texts[i]``, ``i`` in ``indices``; never raises for a
        failed request (its texts get the error)."""
        provider = self.provider
        documents = plan_documents(
            texts,
            indices,
            max_chars=provider.max_document_chars,
            overlap=min(self.chunk_overlap, provider.max_document_chars // 4),
            pack=provider.config.pack_texts,
        )
        spans: dict[int, list[Span]] = {index: [] for index in indices}
        failures: dict[int, CloudRequestError] = {}
        requests = plan_requests(documents, provider.max_documents_per_request)
        await asyncio.gather(*(self._send(request, spans, failures) for request in requests))
        outcomes: dict[int, TextOutcome] = {}
        for index in indices:
            failure = failures.get(index)
            if failure is not None:
                outcomes[index] = failure
            else:
                found = spans[index]
                # chunks overlap, so one entity can come back twice or cut: the merge rule
                outcomes[index] = resolve_overlaps(found, texts[index]) if len(found) > 1 else found
        return outcomes

    async def _send(
        self,
        request: list[Document],
        spans: dict[int, list[Span]],
        failures: dict[int, CloudRequestError],
    ) -> None:
        provider = self.provider
        bodies = [document.text for document in request]
        characters = sum(len(body) for body in bodies)
        try:
            results = await self.guard.call(lambda: provider.analyze(bodies), characters=characters)
        except CloudRequestError as error:
            for document in request:
                for index in document.text_indices:
                    failures.setdefault(index, error)
            return
        if len(results) != len(request):
            malformed = ServerError(
                self.name, f"answered {len(results)} of {len(request)} documents; not trusted"
            )
            self.metrics.error(malformed.kind)
            for document in request:
                for index in document.text_indices:
                    failures.setdefault(index, malformed)
            return
        self.metrics.sent(len(bodies), characters, provider.billed_units(bodies))
        min_score = provider.config.min_score
        name = self.name
        for document, result in zip(request, results, strict=True):
            if isinstance(result, DocumentRejected):
                rejected = RequestRejectedError(name, f"document rejected ({result.code})")
                for index in document.text_indices:
                    failures.setdefault(index, rejected)
                continue
            for entity in result:
                if entity.score < min_score:
                    continue
                for index, span in document.map_back(
                    entity.start, entity.end, entity.entity_type, entity.score, name
                ):
                    spans[index].append(span)
