"""How to reach Kafka: bootstrap servers and security (SASL, TLS) for every client.

Settings pass straight through to aiokafka; this is the one place that maps them.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from streamer.errors import ConfigurationError
from streamer.settings import StreamerSettings
from streamer.stream.exceptions import KafkaUnavailableError


def bootstrap_servers(settings: StreamerSettings) -> str:
    """The bootstrap servers to use; a clear error when they are blank or a port is not
    one (aiokafka raised ValueError or OverflowError for those, and took -5 for 9092)."""
    if not settings.bootstrap_servers.strip():
        raise ConfigurationError(
            "no Kafka bootstrap servers; pass --bootstrap-servers HOST:PORT or set "
            "STREAMER_BOOTSTRAP_SERVERS (streamer broker starts a local one)"
        )
    for address in settings.bootstrap_servers.split(","):
        _check_address(address.strip())
    return settings.bootstrap_servers


def _check_address(address: str) -> None:
    """HOST, HOST:PORT, [IPV6] or [IPV6]:PORT, as aiokafka reads them (no port: 9092)."""
    host, port = address, None
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = (rest[1:] if rest.startswith(":") else rest) or None
    elif address.count(":") == 1:  # more than one: a bare IPv6 address
        host, port = address.split(":")
    if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ConfigurationError(
            f"bootstrap server {address!r} is not HOST:PORT with a port from 1 to 65535; "
            "fix --bootstrap-servers (STREAMER_BOOTSTRAP_SERVERS), e.g. localhost:9092"
        )


def client_options(settings: StreamerSettings) -> dict[str, Any]:
    """Keyword arguments shared by every aiokafka client: servers, client id, security."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
    }
    protocol = settings.security_protocol
    if protocol.startswith("SASL"):
        if settings.sasl_username is None or settings.sasl_password is None:
            raise ConfigurationError(
                f"security protocol {protocol} needs --sasl-username and --sasl-password "
                "(STREAMER_SASL_USERNAME, STREAMER_SASL_PASSWORD)"
            )
        options["sasl_mechanism"] = settings.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    elif settings.sasl_username or settings.sasl_password or settings.sasl_mechanism:
        raise ConfigurationError(
            "SASL settings (--sasl-username, --sasl-password, --sasl-mechanism) were given but "
            f"the security protocol is {protocol}; set --security-protocol SASL_PLAINTEXT or "
            "SASL_SSL (STREAMER_SECURITY_PROTOCOL)"
        )
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    elif settings.ssl_cafile or settings.ssl_certfile or settings.ssl_keyfile:
        raise ConfigurationError(
            "TLS files were given but the security protocol is "
            f"{protocol}; set --security-protocol SSL or SASL_SSL"
        )
    return options


def _ssl_context(settings: StreamerSettings) -> ssl.SSLContext:
    """The TLS context for ``SSL``/``SASL_SSL``; an error names the file and its setting."""
    if settings.ssl_keyfile and not settings.ssl_certfile:
        raise ConfigurationError(
            "--ssl-keyfile (STREAMER_SSL_KEYFILE) was given without --ssl-certfile "
            "(STREAMER_SSL_CERTFILE); pass the client certificate too, or neither for TLS "
            "without a client certificate"
        )
    files = {
        "--ssl-cafile (STREAMER_SSL_CAFILE)": settings.ssl_cafile,
        "--ssl-certfile (STREAMER_SSL_CERTFILE)": settings.ssl_certfile,
        "--ssl-keyfile (STREAMER_SSL_KEYFILE)": settings.ssl_keyfile,
    }
    for setting, path in files.items():
        if path is not None and not path.is_file():
            raise ConfigurationError(
                f"{setting}: {path} does not exist or is not a file; fix the path (a PEM file)"
            )
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
        )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"--ssl-cafile (STREAMER_SSL_CAFILE): cannot load {settings.ssl_cafile} as CA "
            f"certificates ({getattr(exc, 'strerror', None) or exc}); give a PEM bundle"
        ) from None
    if settings.ssl_certfile:
        password = settings.ssl_key_password
        try:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
                password.get_secret_value() if password else None,
            )
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                "--ssl-certfile (STREAMER_SSL_CERTFILE) / --ssl-keyfile (STREAMER_SSL_KEYFILE): "
                f"cannot load the client certificate and its key "
                f"({getattr(exc, 'strerror', None) or exc}); give the PEM certificate and the "
                "PEM private key that belongs to it (STREAMER_SSL_KEY_PASSWORD if it is "
                "encrypted)"
            ) from None
    return context


def security_options(settings: StreamerSettings) -> dict[str, Any]:
    """:func:`client_options` without the bootstrap servers, for the vault's Kafka clients
    (token topic, audit topic, keys topic), which take those on their own."""
    options = client_options(settings)
    del options["bootstrap_servers"]
    return options


def unavailable(settings: StreamerSettings, exc: BaseException) -> KafkaUnavailableError:
    """The error for a cluster that cannot be reached, naming where we looked and, past
    plaintext, how: a listener that does not take that protocol or SASL mechanism looks
    the same as a broker that is down (aiokafka only logs the reason)."""
    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return KafkaUnavailableError(
            f"cannot reach Kafka at {settings.bootstrap_servers} ({type(exc).__name__}); "
            "check --bootstrap-servers (STREAMER_BOOTSTRAP_SERVERS), that the brokers run, "
            "and the security settings"
        )
    how: str = protocol
    flags = ["--security-protocol"]
    if protocol.startswith("SASL"):
        how += f" with SASL mechanism {settings.sasl_mechanism or 'PLAIN'}"
        flags += ["--sasl-mechanism", "--sasl-username", "--sasl-password"]
    if protocol.endswith("SSL"):
        flags.append("--ssl-cafile")
    return KafkaUnavailableError(
        f"cannot reach Kafka at {settings.bootstrap_servers} over {how} "
        f"({type(exc).__name__}); check --bootstrap-servers (STREAMER_BOOTSTRAP_SERVERS), "
        f"that the brokers run, and that they accept {how} there ({', '.join(flags)})"
    )
