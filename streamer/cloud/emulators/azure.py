"""An emulator of Azure AI Language PII entity recognition (synchronous analyze-text).

Speaks ``POST /language/:analyze-text?api-version=2023-04-01`` (and 2022-05-01) with
``kind: PiiEntityRecognition``, as ``azure-ai-textanalytics`` sends it, and answers in the
service's shape: per document ``entities`` (``text``, ``category``, ``offset``,
``length``, ``confidenceScore``), ``redactedText`` and ``warnings``; per-document errors
for empty or oversized documents; request errors for more than 5 documents; 401 for a
wrong key; 429 with ``Retry-After`` when throttling. Offsets follow the request's
``stringIndexType`` (``UnicodeCodePoint``, or ``Utf16CodeUnit``; ``TextElement_v8`` is
served as code points).

With a ``service_principal`` it is also an Azure AD authority: ``POST
/{tenant}/oauth2/v2.0/token`` issues bearer tokens for the client-credentials grant, so
``ClientSecretCredential(authority=<emulator>)`` works against it. Azure SDKs only send
bearer tokens over https, so run it with TLS for that (``streamer emulate azure --tls``).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import orjson

from streamer.cloud.emulators.base import Emulator, Fault, retry_after_header
from streamer.cloud.entities import ENGINE_TO_AZURE

API_VERSIONS = ("2023-04-01", "2022-05-01")
MAX_DOCUMENTS = 5
MAX_DOCUMENT_CHARS = 5120
MODEL_VERSION = "2023-09-01"


def _utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


class AzureLanguageEmulator(Emulator):
    """Azure AI Language PII detection, locally. ``service_principal`` is
    ``(tenant_id, client_id, client_secret)`` to accept for Azure AD tokens."""

    service = "azure"

    def __init__(
        self, *args: Any, service_principal: tuple[str, str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.service_principal = service_principal
        self._tokens: set[str] = set()

    def add_routes(self, app: Any) -> None:
        app.router.add_post("/language/:analyze-text", self.serve)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)

    # --- Azure AD ------------------------------------------------------------------------

    async def _token(self, request: Any) -> Any:
        form = await request.post()
        principal = self.service_principal
        if principal is None:
            return self.json({"error": "invalid_request"}, status=404)
        tenant, client_id, client_secret = principal
        if request.match_info["tenant"] != tenant:
            return self.json(
                {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."},
                status=400,
            )
        if form.get("grant_type") != "client_credentials":
            return self.json({"error": "unsupported_grant_type"}, status=400)
        if form.get("client_id") != client_id or not secrets.compare_digest(
            str(form.get("client_secret", "")), client_secret
        ):
            return self.json(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                status=401,
            )
        token = secrets.token_urlsafe(32)
        self._tokens.add(token)
        return self.json(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    def authorize(self, request: Any) -> None:
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        expected = self.settings.api_key
        if key is not None:
            if expected is None or secrets.compare_digest(key, expected):
                return
        else:
            authorization = request.headers.get("Authorization", "")
            if authorization.startswith("Bearer "):
                token = authorization.removeprefix("Bearer ")
                if token in self._tokens or (expected is None and self.service_principal is None):
                    return
            elif expected is None and self.service_principal is None:
                return
        raise Fault(
            401,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
            "to provide a valid key for an active subscription and use a correct regional "
            "API endpoint for your resource.",
        )

    # --- analyze-text --------------------------------------------------------------------

    async def answer(self, request: Any, body: bytes) -> Any:
        api_version = request.query.get("api-version")
        if api_version not in API_VERSIONS:
            raise Fault(
                404,
                "404",
                f"Resource not found: api-version must be one of {', '.join(API_VERSIONS)}.",
            )
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Fault(400, "InvalidRequest", "Request body is not valid JSON.") from None
        if not isinstance(payload, dict) or payload.get("kind") != "PiiEntityRecognition":
            raise Fault(400, "InvalidRequest", "Only kind PiiEntityRecognition is supported here.")
        documents = (payload.get("analysisInput") or {}).get("documents")
        if not isinstance(documents, list) or not documents:
            raise Fault(400, "InvalidRequest", "Request contains no documents.")
        if len(documents) > MAX_DOCUMENTS:
            raise Fault(
                400,
                "InvalidDocumentBatch",
                f"Batch request contains too many records. Max {MAX_DOCUMENTS} records are "
                "permitted.",
            )
        parameters = payload.get("parameters") or {}
        index_type = parameters.get("stringIndexType", "TextElement_v8")
        categories = set(parameters.get("piiCategories") or ())
        valid: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for document in documents:
            text = document.get("text")
            doc_id = str(document.get("id", ""))
            if not isinstance(text, str) or not text.strip():
                errors.append(_document_error(doc_id, "Document text is empty."))
            elif len(text) > MAX_DOCUMENT_CHARS:
                errors.append(
                    _document_error(
                        doc_id,
                        "A document within the request was too large to be processed. Limit "
                        f"document size to: {MAX_DOCUMENT_CHARS} text elements.",
                    )
                )
            else:
                valid.append(document)
        found = self.detect([document["text"] for document in valid])
        results = []
        for document, spans in zip(valid, found, strict=True):
            text = document["text"]
            entities = []
            redacted = list(text)
            for span in spans:
                category = ENGINE_TO_AZURE.get(span.entity_type, span.entity_type)
                if categories and category not in categories:
                    continue
                start, end = span.start, span.end
                if index_type == "Utf16CodeUnit":
                    start, end = _utf16_offset(text, start), _utf16_offset(text, end)
                entity: dict[str, Any] = {
                    "text": text[span.start : span.end],
                    "category": category,
                    "offset": start,
                    "length": end - start,
                    "confidenceScore": round(span.score, 2),
                }
                if category == "DateTime":
                    entity["subcategory"] = "Date"
                entities.append(entity)
                redacted[span.start : span.end] = ["*"] * (span.end - span.start)
            results.append(
                {
                    "id": str(document.get("id", "")),
                    "entities": entities,
                    "redactedText": "".join(redacted),
                    "warnings": [],
                }
            )
        return self.json(
            {
                "kind": "PiiEntityRecognitionResults",
                "results": {"documents": results, "errors": errors, "modelVersion": MODEL_VERSION},
            },
            headers={"apim-request-id": str(uuid.uuid4()), "x-envoy-upstream-service-time": "1"},
        )

    def error_response(self, fault: Fault) -> Any:
        error: dict[str, Any] = {"code": str(fault.status), "message": fault.message}
        if fault.status == 400:
            error = {
                "code": "InvalidRequest",
                "message": "Invalid Request.",
                "innererror": {"code": fault.code, "message": fault.message},
            }
        elif fault.status >= 500:
            error = {"code": fault.code, "message": fault.message}
        return self.json(
            {"error": error}, status=fault.status, headers=retry_after_header(fault.retry_after)
        )


def _document_error(doc_id: str, message: str) -> dict[str, Any]:
    return {
        "id": doc_id,
        "error": {
            "code": "InvalidArgument",
            "message": "Invalid document in request.",
            "innererror": {"code": "InvalidDocument", "message": message},
        },
    }
