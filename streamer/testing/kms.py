"""AWS KMS for tests: moto's server mode on a free loopback port, and keys made in it.

The key providers' real SDK (aioboto3) talks to it over HTTP, as it would to KMS. Needs
the ``dev`` extra (moto, boto3); test credentials (any value) must be in the environment.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from streamer.broker import free_port

#: The region every test key lives in.
KMS_TEST_REGION = "eu-west-1"

__all__ = ["KMS_TEST_REGION", "create_kms_key", "moto_kms"]


@contextlib.contextmanager
def moto_kms() -> Iterator[str]:
    """moto's KMS in server mode for the duration of the block; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def create_kms_key(endpoint: str) -> str:
    """A new symmetric key in the KMS at ``endpoint``; returns an alias naming it."""
    import boto3

    kms = boto3.client(
        "kms", endpoint_url=endpoint, region_name=KMS_TEST_REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    key_id = kms.create_key(Description="pii-streamer test KEK")["KeyMetadata"]["KeyId"]
    alias = f"alias/pii-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return alias
