"""Words of application logs and payment forms that NER takes for names (no model needed)."""

from __future__ import annotations

import pytest

from streamer.redaction.detectors.ner_rules import refine_spans
from streamer.redaction.spans import Span


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        ("2024-05-17 09:42:13,512 INFO auth: login ok", "INFO", "ORGANIZATION"),
        ("WARN kyc-worker: document check returned", "WARN", "ORGANIZATION"),
        ("ERROR [payment-svc] charge failed", "ERROR", "PERSON"),
        ("DEBUG sms-gateway: sent", "DEBUG", "ORGANIZATION"),
        ("exp 09/28, CVV I won't send", "CVV", "ORGANIZATION"),
    ],
)
def test_log_levels_and_card_words_are_not_names(text: str, value: str, entity_type: str) -> None:
    start = text.index(value)
    spans = [Span(start, start + len(value), entity_type, 0.85, "ner")]
    assert refine_spans(text, spans, None, "en") == []


def test_a_name_on_a_log_line_is_still_kept() -> None:
    text = "INFO support: ticket opened by Maria Garcia"
    start = text.index("Maria Garcia")
    spans = [Span(start, start + len("Maria Garcia"), "PERSON", 0.85, "ner")]
    assert [text[s.start : s.end] for s in refine_spans(text, spans, None, "en")] == [
        "Maria Garcia"
    ]
