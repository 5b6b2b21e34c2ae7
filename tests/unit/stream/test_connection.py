"""Kafka security settings pass through to every client, with clear errors when they do
not fit together. Real TLS files, made here."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streamer.errors import ConfigurationError
from streamer.settings import StreamerSettings
from streamer.stream.connection import client_options


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafka.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_plaintext_by_default() -> None:
    options = client_options(StreamerSettings(bootstrap_servers="k1:9092,k2:9092"))
    assert options["bootstrap_servers"] == "k1:9092,k2:9092"
    assert options["security_protocol"] == "PLAINTEXT"
    assert "ssl_context" not in options and "sasl_mechanism" not in options


def test_sasl_ssl_passes_credentials_and_a_tls_context(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    settings = StreamerSettings(
        bootstrap_servers="kafka:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="pipeline",
        sasl_password="s3cret",
        ssl_cafile=cert,
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    options = client_options(settings)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "pipeline"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(settings)


def test_sasl_without_credentials_names_the_flags() -> None:
    with pytest.raises(ConfigurationError, match="--sasl-username and --sasl-password"):
        client_options(StreamerSettings(security_protocol="SASL_PLAINTEXT"))


def test_tls_files_without_a_tls_protocol_are_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    with pytest.raises(ConfigurationError, match="--security-protocol SSL"):
        client_options(StreamerSettings(ssl_cafile=cert))


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_sasl_credentials_without_a_sasl_protocol_are_refused(protocol: str) -> None:
    # Without the check the credentials were dropped and the client connected
    # unauthenticated, which a user who passed --sasl-username would not expect.
    settings = StreamerSettings(
        security_protocol=protocol, sasl_username="pipeline", sasl_password="s3cret"
    )
    with pytest.raises(ConfigurationError, match="--security-protocol SASL_PLAINTEXT") as info:
        client_options(settings)
    assert "s3cret" not in str(info.value)


def test_an_unreadable_tls_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot load the TLS files"):
        client_options(
            StreamerSettings(security_protocol="SSL", ssl_cafile=tmp_path / "missing.pem")
        )


@pytest.mark.parametrize(
    "servers", ["127.0.0.1:99999", "localhost:abc", "localhost:", "kafka:-5", "a:9092,,b:9092"]
)
def test_a_bootstrap_server_without_a_valid_port_names_the_setting(servers: str) -> None:
    with pytest.raises(ConfigurationError, match="STREAMER_BOOTSTRAP_SERVERS") as raised:
        client_options(StreamerSettings(bootstrap_servers=servers))
    assert "port from 1 to 65535" in str(raised.value)


@pytest.mark.parametrize(
    "servers", ["localhost", "kafka-0.kafka:9093,kafka-1.kafka:9093", "[::1]:9092", "::1"]
)
def test_bootstrap_servers_in_every_form_aiokafka_reads_are_taken(servers: str) -> None:
    assert client_options(StreamerSettings(bootstrap_servers=servers))["bootstrap_servers"] == (
        servers
    )
