"""The token vault: token mappings, envelope encryption, key providers, the mapping store,
and re-identification (unmask)."""

from streamer.vault.mapping import TokenMapping

__all__ = ["TokenMapping"]
