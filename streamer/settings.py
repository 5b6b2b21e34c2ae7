"""Settings: one typed, frozen object built once (from flags, ``STREAMER_*`` variables and
defaults) and passed down. Nothing below the CLI reads the environment itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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

    # --- Kafka / stream (streamer run, topics, produce, tail, demo) ----------------------
    # Unset (None) topology values fall back to the topology file, then to its defaults.
    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...]."
    )
    topology: Path | None = Field(
        default=None, description="Topology YAML file (topics, format, policy, limits)."
    )
    input_topic: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Raw topics to consume (comma-separated in the variable); "
        "replaces the topology's inputs.",
    )
    output_topic: str | None = Field(default=None, description="Clean topic.")
    token_topic: str | None = Field(default=None, description="Token mapping topic (compacted).")
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

    @field_validator("input_topic", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        """``STREAMER_INPUT_TOPIC=a,b`` or a JSON list; flags give a list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def resolved_key_file(self) -> Path:
        """The key file in use: ``key_file`` when set, else one under ``data_dir``."""
        return self.key_file or self.data_dir / "keyring.json"
