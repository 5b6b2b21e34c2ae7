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


@pytest.mark.parametrize("setting", ["ssl_cafile", "ssl_certfile"])
@pytest.mark.parametrize("problem", ["missing", "directory"])
def test_a_missing_tls_file_names_its_setting_and_path(
    tmp_path: Path, setting: str, problem: str
) -> None:
    # It said "cannot load the TLS files (--ssl-cafile, --ssl-certfile, --ssl-keyfile):
    # No such file or directory", leaving the user to guess which of the three.
    path = tmp_path / "missing.pem" if problem == "missing" else tmp_path
    _, key = self_signed(tmp_path)
    extra = {"ssl_keyfile": key} if setting == "ssl_certfile" else {}
    with pytest.raises(ConfigurationError) as raised:
        client_options(StreamerSettings(security_protocol="SSL", **{setting: path}, **extra))
    message = str(raised.value)
    assert message.startswith(f"--{setting.replace('_', '-')} (STREAMER_{setting.upper()})")
    assert str(path) in message


def test_a_missing_key_file_names_its_setting(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    settings = StreamerSettings(
        security_protocol="SASL_SSL",
        sasl_username="pipeline",
        sasl_password="s3cret",
        ssl_certfile=cert,
        ssl_keyfile=tmp_path / "nope.key",
    )
    with pytest.raises(ConfigurationError, match=r"^--ssl-keyfile \(STREAMER_SSL_KEYFILE\)"):
        client_options(settings)


def test_a_key_file_without_a_certificate_is_refused(tmp_path: Path) -> None:
    # aiokafka loads a client key only with a certificate: the key was ignored silently and
    # the client went on without mTLS.
    _, key = self_signed(tmp_path)
    with pytest.raises(ConfigurationError, match="without --ssl-certfile"):
        client_options(StreamerSettings(security_protocol="SSL", ssl_keyfile=key))


def test_a_ca_file_that_is_not_pem_names_the_setting(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("just text\n")
    with pytest.raises(ConfigurationError, match=r"^--ssl-cafile .*cannot load") as raised:
        client_options(StreamerSettings(security_protocol="SSL", ssl_cafile=not_pem))
    assert str(not_pem) in str(raised.value)


def test_a_key_that_does_not_match_the_certificate_names_both_settings(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_key = self_signed(tmp_path / "other")
    with pytest.raises(ConfigurationError) as raised:
        client_options(
            StreamerSettings(security_protocol="SSL", ssl_certfile=cert, ssl_keyfile=other_key)
        )
    assert "--ssl-certfile" in str(raised.value) and "--ssl-keyfile" in str(raised.value)


def test_an_encrypted_key_takes_its_password_from_the_setting(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-pass"),
        )
    )
    base = {"security_protocol": "SSL", "ssl_certfile": cert, "ssl_keyfile": key}
    options = client_options(StreamerSettings(**base, ssl_key_password="key-pass"))
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    with pytest.raises(ConfigurationError, match="STREAMER_SSL_KEY_PASSWORD") as raised:
        client_options(StreamerSettings(**base, ssl_key_password="wrong"))
    assert "wrong" not in str(raised.value)


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


def test_a_runtime_with_bad_security_settings_fails_when_built(tmp_path: Path) -> None:
    # It failed only once running, after the worker pool had started and loaded its models.
    from streamer.stream import StreamRuntime, Topology

    settings = StreamerSettings(
        data_dir=tmp_path, input_topic=["orders"], security_protocol="SASL_SSL", workers=1
    )
    with pytest.raises(ConfigurationError, match="--sasl-username"):
        StreamRuntime(Topology.load(settings), settings)
