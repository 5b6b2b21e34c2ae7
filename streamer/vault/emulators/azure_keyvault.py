"""A local emulator of the Azure Key Vault calls the vault uses, good enough for the real
async SDK (``azure-keyvault-keys``' ``CryptographyClient``).

It serves HTTPS (a self-signed certificate for 127.0.0.1; pass ``ca_file`` to the SDK as
``connection_verify``), answers the first unauthenticated request with Key Vault's
bearer challenge, accepts one access token, and implements, with real RSA keys:

- ``GET /keys/{name}/{version}``: 403, as for an identity without ``keys/get`` (the SDK
  then wraps remotely too), unless ``allow_get`` is set;
- ``POST /keys/{name}/{version}/wrapkey`` and ``/unwrapkey`` with ``RSA-OAEP-256``,
  ``RSA-OAEP`` and ``RSA1_5``; an empty version means the latest.

Keys are added with :meth:`add_key` and rotated with :meth:`rotate_key`. Not emulated:
the other key operations, soft delete, access policies, throttling. Since the SDK
needs a challenge resource that matches the vault's host, clients of the emulator pass
``verify_challenge_resource=False``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from streamer.broker import free_port

_ALGORITHMS = {
    "RSA-OAEP-256": lambda: padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
    "RSA-OAEP": lambda: padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "RSA1_5": lambda: padding.PKCS1v15(),
}


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class StaticTokenCredential:
    """An async Azure token credential that always gives the same token (for the emulator)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


@dataclass
class _Key:
    versions: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    latest: str = ""


class AzureKeyVaultEmulator:
    """``async with AzureKeyVaultEmulator() as vault: url = vault.add_key("kek")``."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int | None = None, allow_get: bool = False
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.allow_get = allow_get
        self.access_token = secrets.token_urlsafe(24)
        self.requests: list[tuple[str, str]] = []
        self._keys: dict[str, _Key] = {}
        self._runner: web.AppRunner | None = None
        self._directory = tempfile.TemporaryDirectory(prefix="keyvault-emulator-")
        self.ca_file = Path(self._directory.name) / "emulator-ca.pem"

    @property
    def vault_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def credential(self) -> StaticTokenCredential:
        """A credential the emulator accepts."""
        return StaticTokenCredential(self.access_token)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for the SDK's clients to trust and reach the emulator."""
        return {"connection_verify": str(self.ca_file), "verify_challenge_resource": False}

    def add_key(self, name: str) -> str:
        """Create an RSA key (its first version); returns the versioned key URL."""
        self._keys[name] = _Key()
        return self.rotate_key(name)

    def rotate_key(self, name: str) -> str:
        """Add a new version of key ``name``; returns its URL."""
        key = self._keys[name]
        version = secrets.token_hex(16)
        key.versions[version] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.latest = version
        return f"{self.vault_url}/keys/{name}/{version}"

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/keys/{name}", self._get_key)
        app.router.add_get("/keys/{name}/{version}", self._get_key)
        for operation in ("wrapkey", "unwrapkey"):
            app.router.add_post(f"/keys/{{name}}/{operation}", self._operation)
            app.router.add_post(f"/keys/{{name}}/{{version}}/{operation}", self._operation)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=self._tls()).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._directory.cleanup()

    @contextmanager
    def running_in_thread(self) -> Iterator[AzureKeyVaultEmulator]:
        """Serve from a private event loop thread (for callers that block their own loop,
        such as a synchronous keyring factory)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="keyvault-emulator", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(30)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()

    async def __aenter__(self) -> AzureKeyVaultEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _tls(self) -> ssl.SSLContext:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyvault-emulator")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(self.host)), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file = Path(self._directory.name) / "emulator-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        return context

    # --- the REST calls ------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.access_token}":
            return None
        challenge = (
            'Bearer authorization="https://login.microsoftonline.com/emulator-tenant", '
            'resource="https://vault.azure.net"'
        )
        return web.json_response(
            {
                "error": {
                    "code": "Unauthorized",
                    "message": "AKV10000: Request is missing a Bearer token.",
                }
            },
            status=401,
            headers={"WWW-Authenticate": challenge},
        )

    def _lookup(self, request: web.Request) -> tuple[str, rsa.RSAPrivateKey] | web.Response:
        name = request.match_info["name"]
        version = request.match_info.get("version") or ""
        key = self._keys.get(name)
        if key is None or (version and version not in key.versions):
            return _error(
                404, "KeyNotFound", f"A key with (name/id) {name}/{version} was not found"
            )
        version = version or key.latest
        return version, key.versions[version]

    async def _get_key(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        refused = self._authorized(request)
        if refused is not None:
            return refused
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        if not self.allow_get:
            return _error(403, "Forbidden", "The user does not have keys get permission")
        version, private = found
        numbers = private.public_key().public_numbers()
        name = request.match_info["name"]
        return web.json_response(
            {
                "key": {
                    "kid": f"{self.vault_url}/keys/{name}/{version}",
                    "kty": "RSA",
                    "key_ops": ["wrapKey", "unwrapKey"],
                    "n": _b64url_encode(_int_bytes(numbers.n)),
                    "e": _b64url_encode(_int_bytes(numbers.e)),
                },
                "attributes": {
                    "enabled": True,
                    "created": int(time.time()),
                    "recoveryLevel": "Purgeable",
                },
            }
        )

    async def _operation(self, request: web.Request) -> web.Response:
        operation = request.path.rsplit("/", 1)[1]
        self.requests.append(("POST", request.path))
        refused = self._authorized(request)
        if refused is not None:
            return refused
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        version, private = found
        try:
            body = await request.json()
            algorithm = _ALGORITHMS[body["alg"]]()
            value = _b64url_decode(body["value"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "BadParameter", "Property alg or value is missing or invalid")
        try:
            if operation == "wrapkey":
                result = private.public_key().encrypt(value, algorithm)
            else:
                result = private.decrypt(value, algorithm)
        except ValueError:
            return _error(400, "BadParameter", "Error occurred while decrypting the value")
        name = request.match_info["name"]
        return web.json_response(
            {"kid": f"{self.vault_url}/keys/{name}/{version}", "value": _b64url_encode(result)}
        )


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
