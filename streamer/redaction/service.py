"""``RedactionService``: the engine as a library, in-process or on a worker process pool.

::

    from streamer import RedactionService

    with RedactionService() as svc:
        result = svc.redact("Mail jane@example.com")
        result.redacted_text            # 'Mail [EMAIL_ADDRESS_...]'
        svc.unmask(result.redacted_text, result.tokens)

Sync and async methods share one code path: each call is split into batches that run
on the engine directly or, with ``parallel=True``, on a pool of worker processes that
each build the engine (and load models) once. Results keep input order.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from streamer.errors import ConfigurationError
from streamer.redaction.detector import Detector
from streamer.redaction.detectors import DETECTORS
from streamer.redaction.engine import EventFormat, RedactionEngine
from streamer.redaction.exceptions import InvalidEventError, PolicyError, RedactionError
from streamer.redaction.gc_tuning import tune_for_batches
from streamer.redaction.keys import DEFAULT_SCOPE, Keyring, keyring_from_settings
from streamer.redaction.policy import Policy
from streamer.redaction.result import EventResult, PayloadOutcome, RedactionResult, Token
from streamer.redaction.structured import FieldRules, KeyLeaf, collect_leaves, copy_json
from streamer.settings import StreamerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSpec:
    """Everything a worker process needs to build the same engine as its parent."""

    policy: Policy
    detectors: tuple[str | Detector, ...] | None
    keyring: Keyring
    settings: StreamerSettings

    def build(self) -> RedactionEngine:
        return RedactionEngine.build(self.policy, self.detectors, self.keyring, self.settings)


_worker_engine: RedactionEngine | None = None


#: Variables that set how many threads numpy's matrix products use. A worker process gets
#: one (unless the environment says otherwise): the worker processes are what use the
#: cores, and the NER model's matrices are too small for threads to pay (measured here:
#: the NER pipeline ran about 10% faster with one).
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker(spec: EngineSpec) -> None:
    for variable in BLAS_THREAD_VARIABLES:  # before the model loads numpy's BLAS
        os.environ.setdefault(variable, "1")
    global _worker_engine
    _worker_engine = spec.build()
    tune_for_batches()


def _run_in_worker(method: str, items: Sequence[Any], kwargs: dict[str, Any]) -> list[Any]:
    assert _worker_engine is not None, "worker was not initialised"
    return getattr(_worker_engine, method)(items, **kwargs)


class _InlineExecutor(Executor):
    """Runs work at once in the caller; the futures it returns are already done."""

    def __init__(self, engine_factory: Callable[[], RedactionEngine]) -> None:
        self._engine_factory = engine_factory
        self._engine: RedactionEngine | None = None

    @property
    def engine(self) -> RedactionEngine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        method, items, call_kwargs = args
        future: Future[Any] = Future()
        try:
            future.set_result(getattr(self.engine, method)(items, **call_kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def coerce_policy(policy: Policy | str | Path | dict[str, Any] | None) -> Policy:
    """A :class:`Policy` from an object, a YAML file path or a dict."""
    if policy is None:
        return Policy()
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        return Policy.from_dict(policy)
    if not isinstance(policy, str | os.PathLike):
        raise PolicyError(
            f"policy is {type(policy).__name__}; pass a Policy, a dict or a YAML file path"
        )
    return Policy.from_file(policy)


def _texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, or one clear error when it is not a sequence of strings (a
    lone string would otherwise be redacted character by character)."""
    if isinstance(texts, str | bytes):
        raise InvalidEventError(
            "batch_redact takes a list of texts, not one text; call redact for a single text"
        )
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidEventError(
                f"text {index} is {type(text).__name__}, not str; decode bytes first, "
                "and redact JSON values with redact_event"
            )
    return items


def _warn_of_skipped_defaults(settings: StreamerSettings) -> None:
    """Say which default detectors will not run because what they need is not installed
    (a spaCy model named in ``ner_models``): no entity type goes unfound in silence."""
    for entry, reason in DETECTORS.skipped_defaults(settings):
        log.warning(
            "the %r detector is off, so %s will not be found: %s",
            entry.name,
            ", ".join(entry.entities) or "its entities",
            reason,
        )


#: A worker that dies at start is most often a script without a main guard: workers
#: start by forkserver and import the script's main module again.
WORKER_DIED = (
    "a redaction worker process died; the call can be retried (if workers die as they "
    'start, guard your script\'s entry point with: if __name__ == "__main__":)'
)


class RedactionService:
    """Finds personal data in texts and JSON events and replaces it by the policy.

    ``detectors`` names detectors (or passes instances) to run instead of the policy's
    or the defaults: all installed local detectors. ``parallel=True`` runs CPU-bound
    work on ``max_workers`` worker processes (default: ``settings.workers``); close the
    service (or use it as a context manager) to stop them.
    """

    def __init__(
        self,
        policy: Policy | str | Path | dict[str, Any] | None = None,
        *,
        detectors: Iterable[str | Detector] | None = None,
        settings: StreamerSettings | None = None,
        keyring: Keyring | None = None,
        parallel: bool = False,
        max_workers: int | None = None,
        batch_size: int = 512,
    ) -> None:
        if batch_size < 1 or (max_workers is not None and max_workers < 1):
            raise ConfigurationError("batch_size and max_workers must be at least 1")
        self.settings = settings or StreamerSettings()
        self.policy = coerce_policy(policy)
        self.keyring = keyring or keyring_from_settings(self.settings)
        self.parallel = parallel
        self.max_workers = max_workers or self.settings.workers
        self.batch_size = batch_size
        self._spec = EngineSpec(
            self.policy,
            tuple(detectors) if detectors is not None else None,
            self.keyring,
            self.settings,
        )
        self._field_rules = FieldRules(self.policy.fields)
        if detectors is None and self.policy.detectors is None:
            _warn_of_skipped_defaults(self.settings)
        self._inline = _InlineExecutor(self._spec.build)
        self._pool: ProcessPoolExecutor | None = None
        if not parallel:
            self._inline.engine  # build now, so configuration errors surface here  # noqa: B018

    @property
    def engine(self) -> RedactionEngine:
        """The in-process engine (built on first use when ``parallel``)."""
        return self._inline.engine

    def _executor(self) -> Executor:
        if not self.parallel:
            return self._inline
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
                initargs=(self._spec,),
            )
        return self._pool

    def _submit(self, method: str, items: Sequence[Any], **kwargs: Any) -> list[Future[Any]]:
        executor = self._executor()
        size = self.batch_size
        if self.parallel and len(items) > size:
            # Spread one big call over the workers instead of one batch per worker.
            size = max(1, min(size, -(-len(items) // self.max_workers)))
        return [
            executor.submit(_run_in_worker, method, items[i : i + size], kwargs)
            for i in range(0, max(len(items), 1), size)
            if items[i : i + size]
        ]

    def _collect(self, futures: list[Future[Any]]) -> list[Any]:
        try:
            return [result for future in futures for result in future.result()]
        except BrokenProcessPool:
            self._reset_pool()
            raise RedactionError(WORKER_DIED) from None

    async def _collect_async(self, futures: list[Future[Any]]) -> list[Any]:
        try:
            batches = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        except BrokenProcessPool:
            self._reset_pool()
            raise RedactionError(WORKER_DIED) from None
        return [result for batch in batches for result in batch]

    def _reset_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # --- texts -------------------------------------------------------------------------

    def redact(
        self, text: str, *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> RedactionResult:
        """Redact one text (in ``language``; default: the policy's first language)."""
        return self.batch_redact([text], scope=scope, language=language)[0]

    def batch_redact(
        self, texts: Sequence[str], *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> list[RedactionResult]:
        """Redact many texts; results in input order."""
        return self._collect(
            self._submit("redact_texts", _texts(texts), scope=scope, language=language)
        )

    async def redact_async(
        self, text: str, *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> RedactionResult:
        return (await self.batch_redact_async([text], scope=scope, language=language))[0]

    async def batch_redact_async(
        self, texts: Sequence[str], *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> list[RedactionResult]:
        return await self._collect_async(
            self._submit("redact_texts", _texts(texts), scope=scope, language=language)
        )

    # --- events ------------------------------------------------------------------------

    def redact_event(
        self, event: Any, *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> EventResult:
        """Redact a JSON event (dict, list or string); the input is not changed."""
        return self.batch_redact_events([event], scope=scope, language=language)[0]

    def batch_redact_events(
        self, events: Sequence[Any], *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> list[EventResult]:
        return self._collect(
            self._submit("redact_events", list(events), scope=scope, language=language)
        )

    async def redact_event_async(
        self, event: Any, *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> EventResult:
        return (await self.batch_redact_events_async([event], scope=scope, language=language))[0]

    async def batch_redact_events_async(
        self, events: Sequence[Any], *, scope: str = DEFAULT_SCOPE, language: str | None = None
    ) -> list[EventResult]:
        return await self._collect_async(
            self._submit("redact_events", list(events), scope=scope, language=language)
        )

    # --- raw payloads (the stream's unit of work) --------------------------------------

    def redact_payloads(
        self,
        payloads: Sequence[bytes],
        event_format: EventFormat = "json",
        scopes: Sequence[str] | None = None,
        **options: Any,
    ) -> list[PayloadOutcome]:
        """Redact raw record values; failures come back as data, never raised.

        ``options`` are those of :meth:`RedactionEngine.redact_payloads`
        (``scope_field``, ``extra_spans``, ``languages``, ``language_field``).
        """
        return self._collect(self._submit_payloads(payloads, event_format, scopes, options))

    async def redact_payloads_async(
        self,
        payloads: Sequence[bytes],
        event_format: EventFormat = "json",
        scopes: Sequence[str] | None = None,
        **options: Any,
    ) -> list[PayloadOutcome]:
        return await self._collect_async(
            self._submit_payloads(payloads, event_format, scopes, options)
        )

    def _submit_payloads(
        self,
        payloads: Sequence[bytes],
        event_format: EventFormat,
        scopes: Sequence[str] | None,
        options: dict[str, Any],
    ) -> list[Future[Any]]:
        # Scopes and extra spans travel with their payloads, so split them the same way.
        executor = self._executor()
        size = self.batch_size
        if self.parallel and len(payloads) > size:
            size = max(1, min(size, -(-len(payloads) // self.max_workers)))
        extra = options.pop("extra_spans", None)
        languages = options.pop("languages", None)
        futures = []
        for i in range(0, len(payloads), size):
            kwargs = {"event_format": event_format, **options}
            if scopes is not None:
                kwargs["scopes"] = list(scopes[i : i + size])
            if extra is not None:
                kwargs["extra_spans"] = list(extra[i : i + size])
            if languages is not None:
                kwargs["languages"] = list(languages[i : i + size])
            futures.append(
                executor.submit(
                    _run_in_worker, "redact_payloads", list(payloads[i : i + size]), kwargs
                )
            )
        return futures

    # --- unmask ------------------------------------------------------------------------

    def unmask(
        self,
        text: str,
        tokens: Iterable[Token] = (),
        *,
        scope: str = DEFAULT_SCOPE,
        lookup: Callable[[str], str | None] | None = None,
    ) -> str:
        """Restore originals in ``text``: tokens from ``tokens`` (or ``lookup``, such as the
        vault) and inline ciphertexts. Masked, hashed and redacted values stay."""
        return self._unmasker().unmask(text, tokens, scope, lookup)

    def unmask_event(
        self,
        event: Any,
        tokens: Iterable[Token] = (),
        *,
        scope: str = DEFAULT_SCOPE,
        lookup: Callable[[str], str | None] | None = None,
    ) -> Any:
        """Restore originals in every string of a JSON event (a copy is returned); a whole
        number that was replaced comes back as a number."""
        tokens = list(tokens)
        number_types = {"int": int, "float": float}
        numbers = {
            t.token_id: number_types[t.metadata["json_type"]]
            for t in tokens
            if t.metadata.get("json_type") in number_types
        }
        restored = copy_json(event)
        holder = [restored]
        unmasker = self._unmasker()
        for leaf in collect_leaves(restored, FieldRules(())):
            if leaf.path == ():
                leaf.container = holder
            original = unmasker.unmask(leaf.text, tokens, scope, lookup)
            if original != leaf.text:
                number_type = None if isinstance(leaf, KeyLeaf) else numbers.get(leaf.text)
                leaf.replace(number_type(original) if number_type else original)
        return holder[0]

    def _unmasker(self) -> RedactionEngine:
        # Unmasking needs only the keyring, never the detectors or the pool.
        return RedactionEngine(self.policy, [], self.keyring, self.settings, cache_entries=0)

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker processes and release the detectors."""
        self._reset_pool()
        self._inline.shutdown()

    def __enter__(self) -> RedactionService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> RedactionService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
