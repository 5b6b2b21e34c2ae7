"""The ``cloud:`` section of a topology: which providers, their limits, what happens when
they are unavailable, and how cloud spans combine with local ones.

Example (YAML)::

    cloud:
      providers:
        - provider: azure                 # endpoint and credentials from the settings
          language: en
          limits: {max_concurrency: 16, requests_per_second: 15, timeout_seconds: 10}
        - provider: aws
          region: eu-west-1
          limits: {max_concurrency: 8, characters_per_second: 100000}
      unavailable: fallback               # fallback | dead-letter | block
      failover: sequential                # sequential | concurrent
      mode: union                         # union | cloud-only

Credentials never go here: Azure keys and service principals come from the settings
(``AZURE_*`` / ``STREAMER_AZURE_*``), AWS from its standard credential chain.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from streamer.cloud.exceptions import CloudConfigurationError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardLimits(_Model):
    """The guard of one provider (see :mod:`streamer.cloud.guard`)."""

    max_concurrency: Annotated[int, Field(ge=1, le=1024)] = 16
    requests_per_second: Annotated[float, Field(gt=0)] | None = None
    characters_per_second: Annotated[float, Field(gt=0)] | None = None
    burst_seconds: Annotated[float, Field(gt=0)] = 1.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    max_throttled_retries: Annotated[int, Field(ge=0)] = 100
    backoff_initial_seconds: Annotated[float, Field(gt=0)] = 0.2
    backoff_max_seconds: Annotated[float, Field(gt=0)] = 10.0
    max_retry_after_seconds: Annotated[float, Field(gt=0)] = 60.0
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    breaker_window_seconds: Annotated[float, Field(gt=0)] = 30.0
    breaker_open_seconds: Annotated[float, Field(gt=0)] = 15.0
    breaker_half_open_probes: Annotated[int, Field(ge=1)] = 1


class ProviderConfig(_Model):
    """What every provider has. Subclasses add their own fields and set ``kind``."""

    kind: ClassVar[str] = ""

    provider: str
    #: A name for metrics and span provenance; defaults to the provider's kind. It goes
    #: into the comma-separated ``pii.detectors`` header, so it has a detector name's shape.
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.0
    #: Pack several short texts into one document (fewer requests, lower cost).
    pack_texts: bool = True
    limits: GuardLimits = Field(default_factory=GuardLimits)

    @property
    def label(self) -> str:
        return self.name or self.provider


class AzureProviderConfig(ProviderConfig):
    """Azure AI Language PII detection (``azure-ai-textanalytics``).

    ``auth``: ``auto`` takes the API key when one is set, else a service principal
    (``AZURE_CLIENT_ID`` / ``AZURE_CLIENT_SECRET`` / ``AZURE_TENANT_ID``) when set,
    else ``DefaultAzureCredential`` (managed identity, Azure CLI, ...).
    """

    kind: ClassVar[str] = "azure"

    provider: Literal["azure"] = "azure"
    endpoint: str | None = None
    auth: Literal["auto", "key", "client_secret", "default"] = "auto"
    api_version: Literal["2023-04-01", "2022-05-01"] = "2023-04-01"
    language: str = "en"
    model_version: str | None = None
    domain: Literal["none", "phi"] | None = None
    categories: list[str] | None = None
    #: The service's synchronous limits: 5 documents per request, 5,120 characters each.
    max_documents_per_request: Annotated[int, Field(ge=1, le=5)] = 5
    max_document_chars: Annotated[int, Field(ge=100, le=5120)] = 5120


class AwsProviderConfig(ProviderConfig):
    """AWS Comprehend ``DetectPiiEntities`` (``aioboto3``), one document per request.

    ``max_document_chars`` is the size packed documents aim for; the service takes up to
    100 KB of UTF-8, which 25,000 characters never exceed.
    """

    kind: ClassVar[str] = "aws"

    provider: Literal["aws"] = "aws"
    region: str | None = None
    endpoint_url: str | None = None
    language: Literal["en", "es"] = "en"
    max_document_chars: Annotated[int, Field(ge=100, le=25_000)] = 10_000


class CloudConfig(_Model):
    """Cloud detection for a topology."""

    providers: Annotated[list[SerializeAsAny[ProviderConfig]], Field(min_length=1)]
    #: What happens to a record whose texts no provider could analyse: ``fallback`` to
    #: local detectors (the record is marked), ``dead-letter``, or ``block`` (pause
    #: consumption until a provider recovers).
    unavailable: Literal["fallback", "dead-letter", "block"] = "fallback"
    #: With several providers: ``sequential`` tries them in order, ``concurrent`` asks all
    #: at once and takes the first success (each is billed).
    failover: Literal["sequential", "concurrent"] = "sequential"
    #: ``union`` merges cloud spans with local detection; ``cloud-only`` replaces the
    #: built-in local detectors (a policy's custom detectors still run).
    mode: Literal["union", "cloud-only"] = "union"
    #: Recent short texts whose cloud results are kept, so repeated values are sent once.
    cache_entries: Annotated[int, Field(ge=0)] = 10_000

    @field_validator("providers", mode="before")
    @classmethod
    def _typed_providers(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        from streamer.cloud.providers import CLOUD_PROVIDERS  # registers the built-in kinds

        typed = []
        for index, item in enumerate(value):
            if isinstance(item, ProviderConfig):
                typed.append(item)
                continue
            if isinstance(item, str):
                item = {"provider": item}
            if not isinstance(item, dict):
                raise ValueError(f"providers[{index}] must be a mapping with a 'provider' key")
            kind = item.get("provider")
            if kind not in CLOUD_PROVIDERS:
                valid = ", ".join(CLOUD_PROVIDERS.names())
                raise ValueError(f"providers[{index}]: unknown provider {kind!r}; valid: {valid}")
            try:
                typed.append(CLOUD_PROVIDERS.config_model(str(kind)).model_validate(item))
            except ValidationError as exc:
                raise ValueError(
                    "; ".join(
                        f"providers[{index}].{'.'.join(map(str, error['loc']))}: {error['msg']}"
                        for error in exc.errors(include_url=False)
                    )
                ) from None
        return typed

    @model_validator(mode="after")
    def _unique_names(self) -> CloudConfig:
        labels = [provider.label for provider in self.providers]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(
                f"provider names must be unique, {duplicates} repeat; give each a 'name'"
            )
        return self

    def worker_detectors(self, configured: list[str] | None) -> list[str] | None:
        """The local detectors the redaction workers run next to cloud detection:
        none in ``cloud-only`` mode, else ``configured`` (``None`` = the policy's)."""
        return [] if self.mode == "cloud-only" else configured

    @classmethod
    def from_yaml(cls, text: str) -> CloudConfig:
        """A config from YAML text: either the section itself or a document with a
        top-level ``cloud:`` key. Errors name the path and the fix."""
        import yaml

        from streamer.redaction.config_files import load_yaml

        try:
            data = load_yaml(text)
        except yaml.YAMLError as exc:
            raise CloudConfigurationError(f"cloud configuration is not valid YAML: {exc}") from None
        if isinstance(data, dict) and "cloud" in data:
            data = data["cloud"]
        return cls.load(data)

    @classmethod
    def load(cls, data: Any) -> CloudConfig:
        """Validate ``data``; a :class:`CloudConfigurationError` names every problem."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"cloud.{'.'.join(str(part) for part in error['loc']) or '(section)'}: "
                f"{error['msg']}"
                for error in exc.errors(include_url=False)
            )
            raise CloudConfigurationError(f"invalid cloud configuration: {problems}") from None
