"""The base of every cloud provider: one request of documents in, entities out.

A provider knows its service's API and limits and nothing else: chunking, packing,
concurrency, rate limits, retries and the breaker live in the guard and the dispatcher
around it (:mod:`streamer.cloud.guard`, :mod:`streamer.cloud.guarded`). Clients open in
:meth:`CloudProvider.start`, not in ``__init__``, and close in :meth:`CloudProvider.close`.

``analyze`` raises a :class:`~streamer.cloud.exceptions.CloudRequestError` subclass for a
failed request and returns :class:`DocumentRejected` for a document the service refused
while answering the others.
"""

from __future__ import annotations

import email.utils
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from streamer.cloud.config import ProviderConfig
from streamer.settings import StreamerSettings

ConfigT = TypeVar("ConfigT", bound=ProviderConfig)


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity the service found: offsets into the document, the engine's type name."""

    start: int
    end: int
    entity_type: str
    score: float


@dataclass(frozen=True, slots=True)
class DocumentRejected:
    """The service refused one document; ``code`` is its error code (no document data)."""

    code: str


DocumentResult = list[Entity] | DocumentRejected


class CloudProvider(ABC, Generic[ConfigT]):
    """One cloud PII service. Subclass, set ``kind`` and ``billing_unit``, register it in
    :data:`streamer.cloud.providers.CLOUD_PROVIDERS`."""

    kind: ClassVar[str] = ""
    #: The name of the unit the service bills in (a metrics label).
    billing_unit: ClassVar[str] = ""

    def __init__(self, config: ConfigT, settings: StreamerSettings) -> None:
        self.config = config
        self.settings = settings

    @property
    def name(self) -> str:
        return self.config.label

    @property
    @abstractmethod
    def max_documents_per_request(self) -> int:
        """How many documents one request may hold."""

    @property
    @abstractmethod
    def max_document_chars(self) -> int:
        """How many characters one document may hold (texts are packed up to this)."""

    async def start(self) -> None:
        """Open clients and credentials."""

    async def close(self) -> None:
        """Close what ``start`` opened."""

    @abstractmethod
    async def analyze(self, documents: Sequence[str]) -> list[DocumentResult]:
        """Entities per document, in order, for one request."""

    @abstractmethod
    def billed_units(self, documents: Sequence[str]) -> float:
        """What one successful request of ``documents`` costs, in ``billing_unit``."""

    async def __aenter__(self) -> CloudProvider[ConfigT]:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def parse_retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``Retry-After``
    (seconds or an HTTP date); ``None`` when absent or unreadable."""
    if not headers:
        return None
    lowered = {str(key).lower(): value for key, value in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = lowered.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
