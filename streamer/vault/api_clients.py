"""Callers of the detokenize endpoint: bearer tokens and the key scopes each may unmask.

Configured by ``STREAMER_API_CLIENTS`` (JSON) and/or a YAML or JSON file
(``STREAMER_API_CLIENTS_FILE``, ``--clients-file``)::

    clients:
      - name: support-tool
        token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        scopes: [tenant-a, "tenant-b/*"]
      - name: fraud-team
        token: s3cret-from-a-secret-store
        scopes: ["*"]

Prefer ``token_sha256`` in files: the file then holds no usable secret.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import orjson
import yaml
from pydantic import ValidationError

from streamer.errors import ConfigurationError
from streamer.redaction.config_files import load_yaml
from streamer.settings import ApiClient, StreamerSettings
from streamer.vault.exceptions import AuthenticationError


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ApiClients:
    """Authenticates bearer tokens against the configured clients."""

    def __init__(self, clients: list[ApiClient]) -> None:
        names = [client.name for client in clients]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(f"API client name(s) used twice: {', '.join(duplicates)}")
        self.clients = list(clients)
        self._digests = [
            (
                token_digest(client.token.get_secret_value())
                if client.token is not None
                else bytes.fromhex(client.token_sha256 or ""),
                client,
            )
            for client in clients
        ]

    @classmethod
    def from_settings(cls, settings: StreamerSettings) -> ApiClients:
        clients = list(settings.api_clients)
        if settings.api_clients_file is not None:
            clients += load_clients_file(settings.api_clients_file)
        if not clients:
            raise ConfigurationError(
                "no API clients are configured, so nobody could call the endpoint; set "
                "STREAMER_API_CLIENTS (JSON) or --clients-file (see streamer serve --help)"
            )
        return cls(clients)

    def authenticate(self, authorization: str | None) -> ApiClient:
        """The client whose token is in an ``Authorization: Bearer ...`` header."""
        if not authorization:
            raise AuthenticationError("missing Authorization header; send: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header must be: Bearer <token>")
        digest = token_digest(token.strip())
        found = None
        for expected, client in self._digests:  # compare with every client: constant time
            if hmac.compare_digest(digest, expected):
                found = client
        if found is None:
            raise AuthenticationError("unknown bearer token")
        return found


def load_clients_file(path: Path) -> list[ApiClient]:
    """The clients listed in a YAML or JSON file (a list, or a mapping with ``clients``)."""
    try:
        text = path.read_text()
        document = orjson.loads(text) if path.suffix == ".json" else load_yaml(text)
    except OSError as exc:
        raise ConfigurationError(f"cannot read API clients file {path}: {exc.strerror}") from None
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"API clients file {path} is not valid: {exc}") from None
    entries = document.get("clients") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise ConfigurationError(
            f"API clients file {path} must hold a list of clients, or a mapping with 'clients'"
        )
    clients = []
    for number, entry in enumerate(entries, start=1):
        try:
            clients.append(ApiClient.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(
                f"API clients file {path}, client {number}: {problems}"
            ) from None
    return clients
