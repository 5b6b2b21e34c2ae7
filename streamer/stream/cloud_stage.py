"""Cloud detection as a stage of the stream runtime: between fetching a batch and handing
it to the worker pool.

For each batch, on the event loop (the cloud clients are asynchronous; nothing here is
CPU-heavy: extracting the texts of 500 support tickets takes about 3 ms):

1. the texts the workers' engine will scan are extracted (same policy, same field rules,
   so the spans line up);
2. :class:`~streamer.cloud.CloudDetection` asks the providers under their guards;
3. each record's route becomes part of an
   :class:`~streamer.stream.processor.ExternalDetection` for the worker: cloud spans to
   merge with the local ones, records to dead-letter (``unavailable: dead-letter``, or a
   record a service rejected), records that fall back to local detection (marked with
   the ``pii.cloud.fallback`` header on their clean record);
4. under ``unavailable: block`` a batch waits here until a provider recovers, and
   :attr:`CloudStage.blocked` tells the runtime to pause consumption meanwhile. The
   waiting batch holds its lane, so nothing after it is published or committed.

Batches of every lane run this stage concurrently, so several batches' requests are in
flight while earlier batches publish in offset order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from streamer.cloud.config import CloudConfig
from streamer.cloud.detection import CLOUD_FALLBACK_HEADER, CloudBatch, CloudDetection, CloudRoute
from streamer.redaction.detector import Detector
from streamer.redaction.engine import EventFormat, RedactionEngine
from streamer.redaction.keys import Keyring
from streamer.redaction.policy import Policy
from streamer.redaction.service import EngineSpec
from streamer.settings import StreamerSettings
from streamer.stream.processor import ExternalDetection, RecordBatch

log = logging.getLogger(__name__)

#: ``(texts, context) pairs`` per payload, as ``RedactionEngine.extract_texts`` gives them.
ExtractedTexts = list[list[tuple[str, str]] | None]


def worker_detectors(
    config: CloudConfig | None, local: tuple[str | Detector, ...] | None
) -> tuple[str | Detector, ...] | None:
    """The workers' detectors: ``local`` (``None``: the policy's), or none of the
    built-in ones in ``cloud-only`` mode (the policy's custom detectors still run)."""
    if config is not None and config.mode == "cloud-only":
        return ()
    return local


def fallback_engine(
    config: CloudConfig | None,
    policy: Policy,
    local: tuple[str | Detector, ...] | None,
    keyring: Keyring,
    settings: StreamerSettings,
) -> EngineSpec | None:
    """In ``cloud-only`` mode with ``unavailable: fallback``, the engine the workers
    redact fallback records with (in ``union`` mode the local detectors run anyway)."""
    if config is None or config.mode != "cloud-only" or config.unavailable != "fallback":
        return None
    return EngineSpec(policy, local, keyring, settings)


class CloudStage:
    """Cloud detection for the runtime's batches, with the topology's outage policy.

    ``registry`` receives the cloud metrics (the runtime's registry, so they are exposed
    with the stream's); ``provider_options`` maps a provider's name to extra constructor
    arguments (an Azure ``credential``, an AWS ``session``).
    """

    def __init__(
        self,
        config: CloudConfig,
        settings: StreamerSettings,
        *,
        policy: Policy,
        keyring: Keyring,
        event_format: EventFormat,
        registry: CollectorRegistry | None = None,
        provider_options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.event_format = event_format
        # Only walks events (field rules, size limit): no detectors, nothing loaded.
        self._texts = RedactionEngine(policy, [], keyring, settings)
        # The workers redact fallback records with local detectors (cloud-only mode: a
        # fallback engine of their own), so no local analyzer runs on the event loop.
        self.detection = CloudDetection.from_config(
            config,
            settings,
            registry=registry,
            provider_options=provider_options,
            fallback_in_caller=True,
        )
        self._blocked = 0
        self._paused: set[TopicPartition] = set()

    @property
    def provider_names(self) -> tuple[str, ...]:
        return tuple(guarded.name for guarded in self.detection.providers)

    @property
    def blocked(self) -> bool:
        """Some batch waits for a provider to recover (``unavailable: block``)."""
        return self._blocked > 0

    def hold_consumption(
        self,
        consumer: AIOKafkaConsumer,
        owned: Container[TopicPartition],
        held: Container[TopicPartition],
    ) -> None:
        """``unavailable: block``: while a batch waits for a provider, pause every
        assigned partition (the consumer keeps polling, so it stays in its group); after,
        resume those still ``owned`` and not ``held`` by backpressure."""
        if self.blocked:
            pausing = set(consumer.assignment()) - consumer.paused()
            if pausing:
                consumer.pause(*pausing)
                self._paused |= pausing
        elif self._paused:
            consumer.resume(*(tp for tp in self._paused if tp in owned and tp not in held))
            self._paused.clear()

    async def start(self) -> None:
        await self.detection.start()

    async def close(self) -> None:
        await self.detection.close()

    async def detect(
        self, batch: RecordBatch, *, still_wanted: Callable[[], bool] = lambda: True
    ) -> ExternalDetection:
        """What the cloud found in ``batch``, and where each record goes.

        Under ``unavailable: block`` this returns only once every record has an answer;
        when ``still_wanted()`` turns false meanwhile (the partition was revoked), the
        batch ends as cancelled, and so do the lane's later batches that wait for it.
        """
        texts: ExtractedTexts = [
            None if payload is None else found
            for payload, found in zip(
                batch.payloads,
                self._texts.extract_texts(
                    [payload or b"" for payload in batch.payloads], self.event_format
                ),
                strict=True,
            )
        ]
        detected = await self.detection.detect_payloads(texts)
        if detected.blocked:
            await self._wait_out_outage(texts, detected, still_wanted)
        return self._for_worker(detected)

    async def _wait_out_outage(
        self, texts: ExtractedTexts, detected: CloudBatch, still_wanted: Callable[[], bool]
    ) -> None:
        """Ask again for the blocked records until a provider answers; ``detected`` is
        updated in place."""
        pending = detected.indices(CloudRoute.BLOCKED)
        if self._blocked == 0:
            failure = detected.failures[pending[0]]
            reason = failure.message if failure else "no cloud provider answered"
            log.warning(
                f"{reason}; consumption is paused",
                extra={"reason": failure.code if failure else "cloud_unavailable"},
            )
        self._blocked += 1
        try:
            while pending:
                if not still_wanted():
                    # The partition is gone: end like a batch cancelled at shutdown; its
                    # records were not committed, so the new owner processes them.
                    raise asyncio.CancelledError
                await self.detection.wait_for_recovery()
                retry = await self.detection.detect_payloads([texts[i] for i in pending])
                for position, index in enumerate(pending):
                    detected.routes[index] = retry.routes[position]
                    detected.extra_spans[index] = retry.extra_spans[position]
                    detected.failures[index] = retry.failures[position]
                pending = [i for i in pending if detected.routes[i] is CloudRoute.BLOCKED]
        finally:
            self._blocked -= 1
        if self._blocked == 0:
            log.info("cloud detection recovered; consumption resumes")

    @staticmethod
    def _for_worker(detected: CloudBatch) -> ExternalDetection:
        dead_letters = {}
        fallback = []
        headers = {}
        for index, route in enumerate(detected.routes):
            failure = detected.failures[index]
            if route is CloudRoute.DEAD_LETTER:
                assert failure is not None
                dead_letters[index] = failure
            elif route is CloudRoute.FALLBACK:
                fallback.append(index)
                code = failure.code if failure is not None else "cloud_unavailable"
                headers[index] = [(CLOUD_FALLBACK_HEADER, code.encode())]
        return ExternalDetection(detected.extra_spans, dead_letters, frozenset(fallback), headers)
