"""An emulator of AWS Comprehend ``DetectPiiEntities`` (the JSON 1.1 protocol).

Speaks ``POST /`` with ``X-Amz-Target: Comprehend_20171127.DetectPiiEntities`` and a
``{"Text", "LanguageCode"}`` body, as botocore sends it, and answers
``{"Entities": [{"Score", "Type", "BeginOffset", "EndOffset"}]}``. Errors come in the
service's shape (``{"__type": ..., "message": ...}``): ``TextSizeLimitExceededException``
over 100 KB, ``UnsupportedLanguageException`` for languages other than ``en``/``es``,
``UnrecognizedClientException`` for an access key other than ``api_key`` (when set),
``ThrottlingException`` (429 with ``Retry-After``) and ``InternalServerException``.
The SigV4 signature is required but not verified.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson

from streamer.cloud.emulators.base import Emulator, Fault, retry_after_header
from streamer.cloud.entities import ENGINE_TO_AWS

TARGET_PREFIX = "Comprehend_20171127."
MAX_TEXT_BYTES = 100_000
LANGUAGES = ("en", "es")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")

_FAULT_TYPES = {
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


class ComprehendEmulator(Emulator):
    """AWS Comprehend PII detection, locally."""

    service = "aws"

    def add_routes(self, app: Any) -> None:
        app.router.add_post("/", self.serve)

    def authorize(self, request: Any) -> None:
        authorization = request.headers.get("Authorization", "")
        match = _CREDENTIAL.search(authorization)
        if not authorization.startswith("AWS4-HMAC-SHA256") or match is None:
            raise Fault(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
        expected = self.settings.api_key
        if expected is not None and match.group(1) != expected:
            raise Fault(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )

    async def answer(self, request: Any, body: bytes) -> Any:
        target = request.headers.get("X-Amz-Target", "")
        if target != TARGET_PREFIX + "DetectPiiEntities":
            raise Fault(400, "UnknownOperationException", "Only DetectPiiEntities is emulated.")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Fault(400, "SerializationException", "Request body is not valid JSON.") from None
        text = payload.get("Text") if isinstance(payload, dict) else None
        language = payload.get("LanguageCode") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not text:
            raise Fault(400, "InvalidRequestException", "Text must be a non-empty string.")
        if language not in LANGUAGES:
            raise Fault(
                400,
                "UnsupportedLanguageException",
                "Amazon Comprehend can't process the language of the input text.",
            )
        if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            raise Fault(
                400,
                "TextSizeLimitExceededException",
                "Input text size exceeds limit. Max length of request text allowed is 100000 "
                "bytes.",
            )
        (spans,) = self.detect([text])
        entities = [
            {
                "Score": round(span.score, 4),
                "Type": ENGINE_TO_AWS.get(span.entity_type, span.entity_type),
                "BeginOffset": span.start,
                "EndOffset": span.end,
            }
            for span in spans
        ]
        return self.json({"Entities": entities}, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def error_response(self, fault: Fault) -> Any:
        error_type = _FAULT_TYPES.get(fault.status, fault.code)
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), **retry_after_header(fault.retry_after)}
        return self.json(
            {"__type": error_type, "message": fault.message}, status=fault.status, headers=headers
        )
