"""Keeping the cloud SDKs' debug logs free of personal data and credentials.

At DEBUG, botocore logs whole requests and responses (the text sent for detection, the
``Authorization`` header with the access key id) and parsed response bodies. An operator
turning on debug logging to chase a problem must not leak the stream's personal data, so
the SDK loggers that carry request or response content drop their DEBUG records. Their
INFO and higher records (retries, credential source) pass.
"""

from __future__ import annotations

import logging

#: Loggers whose DEBUG records hold request or response content.
CONTENT_LOGGERS = (
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.auth",
    "botocore.httpsession",
    "aiobotocore.endpoint",
    "aiobotocore.parsers",
    "aiobotocore.httpsession",
    "azure.core.pipeline.policies.http_logging_policy",
)


class DropDebugRecords(logging.Filter):
    """Rejects records below INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


_FILTER = DropDebugRecords()


def silence_sdk_content_logs() -> None:
    """Attach the filter to every content logger (idempotent)."""
    for name in CONTENT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
