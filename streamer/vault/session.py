"""One unmask session: the keyring, the token index caught up with the token topic, and
the audit log, opened together and closed together (what ``streamer unmask`` runs in)."""

from __future__ import annotations

from typing import Any

from streamer.redaction.keys import Keyring
from streamer.settings import StreamerSettings
from streamer.vault.audit import KafkaAuditLog
from streamer.vault.keyring import open_keyring, require_existing_key_file
from streamer.vault.reidentify import Reidentifier
from streamer.vault.store import TokenIndex
from streamer.vault.token_topic import CatchUpStats, TokenTopicReader


class UnmaskSession:
    """``async with UnmaskSession(settings) as session: session.reidentifier...``"""

    def __init__(
        self,
        settings: StreamerSettings,
        *,
        keyring: Keyring | None = None,
        rebuild_index: bool = False,
        **client_options: Any,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.rebuild_index = rebuild_index
        self.client_options = client_options
        self.index: TokenIndex | None = None
        self.reader: TokenTopicReader | None = None
        self.audit: KafkaAuditLog | None = None
        self.caught_up: CatchUpStats | None = None
        self._reidentifier: Reidentifier | None = None

    @property
    def reidentifier(self) -> Reidentifier:
        assert self._reidentifier is not None, "use the session in async with"
        return self._reidentifier

    async def __aenter__(self) -> UnmaskSession:
        settings = self.settings
        try:
            if self.keyring is None:
                require_existing_key_file(settings)
            keyring = self.keyring or await open_keyring(settings, **self.client_options)
            self.index = TokenIndex(settings.resolved_vault_index(), settings.token_topic)
            if self.rebuild_index:
                self.index.clear()
            self.reader = TokenTopicReader(
                self.index, settings.bootstrap_servers, **self.client_options
            )
            await self.reader.start()
            self.caught_up = await self.reader.catch_up(require_topic=False)
            self.audit = KafkaAuditLog(
                settings.bootstrap_servers, settings.audit_topic, **self.client_options
            )
            await self.audit.start()
        except BaseException:
            await self.__aexit__()
            raise
        self._reidentifier = Reidentifier(keyring, self.index, self.audit, reader=self.reader)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.audit is not None:
            await self.audit.stop()
        if self.reader is not None:
            await self.reader.stop()
        if self.index is not None:
            self.index.close()
