"""Base of key providers whose SDK is asynchronous (aioboto3, Azure's aio clients).

Opening a keyring is synchronous and happens once per process, but the cloud SDKs are
async. :class:`AsyncKeyProvider` runs every SDK call on its own event loop in a private
thread, so the same code works from plain code and from inside a running event loop,
and its clients live on one loop from setup to close.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from streamer.redaction.envelope import WrappedKey

T = TypeVar("T")


class AsyncKeyProvider(ABC):
    """A key provider with async ``wrap_async``/``unwrap_async``; ``wrap``/``unwrap`` run
    them on a private loop. Clients are built in ``setup()`` on first use, not in
    ``__init__``; ``close()`` releases them."""

    name: ClassVar[str]
    #: Seconds one wrap or unwrap may take, retries of the SDK included.
    timeout: float = 60.0

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = False
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def kek_id(self) -> str: ...

    @abstractmethod
    async def setup(self) -> None:
        """Open clients; runs on the provider's loop before the first call."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close clients; runs on the provider's loop."""

    @abstractmethod
    async def wrap_async(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey: ...

    @abstractmethod
    async def unwrap_async(
        self, wrapped: bytes, *, kek_id: str, context: dict[str, str]
    ) -> bytes: ...

    def wrap(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey:
        return self._run(self.wrap_async(plaintext, context=context))

    def unwrap(self, wrapped: bytes, *, kek_id: str, context: dict[str, str]) -> bytes:
        return self._run(self.unwrap_async(wrapped, kek_id=kek_id, context=context))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name=f"key-provider-{self.name}", daemon=True
                )
                self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._ready_then(coroutine), self._loop).result(
            self.timeout
        )

    async def _ready_then(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if not self._ready:
            try:
                await self.setup()
            except BaseException:
                coroutine.close()
                raise
            self._ready = True
        return await coroutine

    def close(self) -> None:
        """Close the clients and stop the private loop."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return
        try:
            if self._ready:
                asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(self.timeout)
        finally:
            self._ready = False
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(self.timeout)
            loop.close()

    def __enter__(self) -> AsyncKeyProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
