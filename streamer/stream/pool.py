"""The worker process pool: whole batches of raw bytes in, ready-to-publish records out.

Each worker builds its :class:`~streamer.stream.processor.BatchProcessor` (engine,
detectors, models, keyring) once, in the pool's initializer. A batch travels as one task
(lists of bytes and ints pickle cheaply), never one task per record. A worker that dies
(a crash in a detector, the OOM killer) breaks the pool: it is rebuilt, and the batch is
retried in halves until the one record that kills a worker is found and dead-lettered,
so it cannot block its partition.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from streamer.errors import StreamerError
from streamer.observability.logging import LoggingSetup, active_logging, configure_logging
from streamer.redaction.gc_tuning import tune_for_batches
from streamer.redaction.result import PayloadFailure
from streamer.stream.exceptions import StreamError
from streamer.stream.futures import mark_retrieved
from streamer.stream.processor import (
    BatchProcessor,
    BatchResult,
    DeadLetterSealer,
    ExternalDetection,
    ExtraSpans,
    ProcessorSpec,
    RecordBatch,
)

log = logging.getLogger(__name__)

WORKER_CRASHED = PayloadFailure(
    "worker_crashed",
    "a redaction worker process died on this record twice; it was set aside so its "
    "partition goes on",
)

_processor: BatchProcessor | None = None
_startup_error: BaseException | None = None


def _init_worker(spec: ProcessorSpec, parent_pid: int, logging_setup: LoggingSetup | None) -> None:
    global _processor, _startup_error
    # Ctrl-C and SIGTERM reach the whole process group; the parent drains and then stops
    # the pool. A worker dying on them would look like a crash on its in-flight records.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    if logging_setup is not None:  # workers log like the parent: through the redacting filter
        configure_logging(logging_setup.level, logging_setup.fmt)
    try:
        _processor = spec.build()
    except Exception as exc:  # reported to the parent by the first task, see _run
        _startup_error = exc
    tune_for_batches()


def _exit_with_parent(parent_pid: int) -> None:
    """Exit when the process that owns the pool dies. A worker started by the forkserver
    is not that process's child and keeps the pool's pipes open itself, so after a
    ``kill -9`` of the parent nothing else would ever stop it."""

    def watch() -> None:
        try:
            descriptor = os.pidfd_open(parent_pid)
        except (AttributeError, OSError):
            descriptor = None
        if descriptor is not None:
            select.select([descriptor], [], [])
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(parent_pid, 0)
                except ProcessLookupError:
                    break
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _ready() -> tuple[str, ...]:
    """Wait a moment so each warm-up task lands on its own worker; the detector names."""
    if _startup_error is not None:
        raise _startup_error
    assert _processor is not None, "worker was not initialised"
    time.sleep(0.05)
    return _processor.engine.detector_names


def _run(batch: RecordBatch, extra: ExternalDetection | None) -> BatchResult:
    if _startup_error is not None:
        raise _startup_error
    assert _processor is not None, "worker was not initialised"
    return _processor.process(batch, extra)


class PoolLoad:
    """How busy the pool is, for metrics: batches in it, and worker-seconds spent busy.

    A batch counts from submission to result. With ``pending`` batches in a pool of
    ``capacity`` workers, ``min(pending, capacity)`` workers are busy and the rest of
    the batches wait in its queue.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 1)
        self.pending = 0
        self._busy_seconds = 0.0
        self._since = time.monotonic()

    def _advance(self) -> None:
        now = time.monotonic()
        self._busy_seconds += min(self.pending, self.capacity) * (now - self._since)
        self._since = now

    def enter(self) -> None:
        self._advance()
        self.pending += 1

    def leave(self) -> None:
        self._advance()
        self.pending -= 1

    @property
    def busy(self) -> int:
        """Workers busy now."""
        return min(self.pending, self.capacity)

    @property
    def queue_depth(self) -> int:
        """Batches waiting for a free worker now."""
        return max(self.pending - self.capacity, 0)

    def busy_seconds(self) -> float:
        """Worker-seconds spent busy since the pool was made (up to now)."""
        self._advance()
        return self._busy_seconds


class RedactionPool:
    """Runs :meth:`BatchProcessor.process` on ``workers`` processes.

    ``workers=0`` processes batches in the calling process instead (for tests and tiny
    deployments); the API is the same.
    """

    def __init__(self, spec: ProcessorSpec, workers: int) -> None:
        self.spec = spec
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._inline: BatchProcessor | None = None
        self._generation = 0
        self._sealer = DeadLetterSealer(spec)
        self._isolating = asyncio.Lock()
        #: The detectors each worker runs, known once started (for provenance headers).
        self.detector_names: tuple[str, ...] = ()
        #: Worker restarts after a crash (for metrics).
        self.restarts = 0
        #: Batches in the pool and busy time (for metrics).
        self.load = PoolLoad(workers)

    async def start(self) -> None:
        """Start the workers and wait until each has built its engine; a configuration
        error (bad policy, missing model) surfaces here, with its own message."""
        if self.workers == 0:
            self._inline = self.spec.build()
            self.detector_names = self._inline.engine.detector_names
            return
        self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        try:
            names = await asyncio.gather(
                *(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
            )
            self.detector_names = names[0]
        except (BrokenProcessPool, EOFError):  # EOFError: the forkserver that starts them died
            self.close()
            raise StreamError(
                "the redaction worker processes could not start: one died while building its "
                "engine (killed, or out of memory); lower --workers or free memory (from a "
                'Python script, guard its entry point with: if __name__ == "__main__":)'
            ) from None
        except StreamerError:
            self.close()
            raise

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(self.spec, os.getpid(), active_logging()),
        )

    async def process(
        self, batch: RecordBatch, extra_spans: ExternalDetection | ExtraSpans | None = None
    ) -> BatchResult:
        """Redact ``batch`` on a worker; records a worker dies on are dead-lettered.

        ``extra_spans`` is what detection outside the workers found: spans per record and
        scanned text, or an :class:`ExternalDetection` (spans, records to dead-letter,
        records to redact with the fallback detectors)."""
        self.load.enter()
        try:
            return await self._process(batch, ExternalDetection.of(extra_spans))
        finally:
            self.load.leave()

    async def _process(self, batch: RecordBatch, extra: ExternalDetection | None) -> BatchResult:
        if self._inline is not None:
            return self._inline.process(batch, extra)
        generation = self._generation
        try:
            return await self._submit(batch, extra)
        except BrokenProcessPool:
            self._restart(generation)
        async with self._isolating:  # one suspect batch at a time
            return await self._isolate(batch, extra)

    async def _submit(self, batch: RecordBatch, extra: ExternalDetection | None) -> BatchResult:
        if self._executor is None:
            raise StreamError("the worker pool is closed")
        loop = asyncio.get_running_loop()
        # Shielded: a cancelled caller leaves the batch to run (or to be dropped when the
        # pool shuts down). Cancelling a queued batch's future instead would make the
        # executor fail with InvalidStateError, in a thread of its own, if a worker then
        # died (a second signal kills them), and the other batches would never finish.
        running = loop.run_in_executor(self._executor, _run, batch, extra)
        running.add_done_callback(mark_retrieved)  # nobody awaits it once its caller is gone
        return await asyncio.shield(running)

    async def _isolate(self, batch: RecordBatch, extra: ExternalDetection | None) -> BatchResult:
        """Retry a batch a worker died on, halving it until the culprit is alone."""
        generation = self._generation
        try:
            return await self._submit(batch, extra)
        except BrokenProcessPool:
            self._restart(generation)
        if len(batch) == 1:
            log.warning(
                "a worker died twice on one record; dead-lettering it",
                extra={"topic": batch.topic, "partition": batch.partition},
            )
            return self._sealer.result_for(batch, WORKER_CRASHED)
        middle = len(batch) // 2
        halves = [(0, middle), (middle, len(batch))]
        parts = [
            await self._isolate(
                batch.slice(start, stop), extra.slice(start, stop) if extra is not None else None
            )
            for start, stop in halves
        ]
        return BatchResult.merge(parts)

    def _restart(self, generation: int) -> None:
        if generation != self._generation:
            return  # another caller already replaced the broken pool
        self._generation += 1
        self.restarts += 1
        log.warning("a redaction worker process died; restarting the pool")
        old, self._executor = self._executor, self._new_executor()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    @property
    def up(self) -> bool:
        """Whether batches can be processed: started, not closed, every worker alive."""
        if self._inline is not None:
            return True
        return self._executor is not None and len(self.worker_pids()) == self.workers

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for readiness checks and memory figures)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return [pid for pid, process in processes.items() if process.is_alive()]

    def close(self, *, abandon: bool = False) -> None:
        """Stop the workers; with ``abandon``, kill them rather than wait for the batches
        they are on (whose records are processed again after a restart)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            if abandon:
                processes = list((getattr(executor, "_processes", None) or {}).values())
                for process in processes:
                    process.kill()
                for process in processes:
                    process.join()
                # A worker killed while it wrote a result left part of it in the result
                # pipe, and the executor's manager thread (which shutdown joins) reading
                # the rest forever. With the workers gone, closing this process's end of
                # the pipe ends that read.
                results = getattr(executor, "_result_queue", None)
                if results is not None:
                    results._writer.close()
            executor.shutdown(wait=True, cancel_futures=True)
        if self._inline is not None:
            self._inline.close()
            self._inline = None
