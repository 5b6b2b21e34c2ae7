"""Keeping the cloud SDKs' debug logs free of personal data and credentials.

At DEBUG, botocore logs whole requests and responses (the text sent for detection, the
``Authorization`` header with the access key id) and parsed response bodies. An operator
turning on debug logging to chase a problem must not leak the stream's personal data, so
the SDK loggers that carry request or response content drop their DEBUG records. Their
INFO and higher records (retries, credential source) pass, except azure-core's HTTP
logging policy, which logs every request and response (URL, headers) at INFO: two
multi-line records per request would bury the stream's own log, so only its warnings pass.
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
)
#: Loggers that log every request at INFO.
REQUEST_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy",)


class DropRecordsBelow(logging.Filter):
    """Rejects records below ``level``."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


_DROP_DEBUG = DropRecordsBelow(logging.INFO)
_DROP_INFO = DropRecordsBelow(logging.WARNING)


def silence_sdk_content_logs() -> None:
    """Attach the filters to the content and per-request loggers (idempotent)."""
    for names, drop in ((CONTENT_LOGGERS, _DROP_DEBUG), (REQUEST_LOGGERS, _DROP_INFO)):
        for name in names:
            logger = logging.getLogger(name)
            if drop not in logger.filters:
                logger.addFilter(drop)
