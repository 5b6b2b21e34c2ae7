"""Words of application logs and payment forms that NER takes for names (no model needed)."""

from __future__ import annotations

import pytest

from streamer.redaction.detectors.ner_rules import refine_spans
from streamer.redaction.spans import Span


def refined(text: str, value: str, entity_type: str) -> list[str]:
    """What is left of the model's ``entity_type`` span over ``value`` in ``text``."""
    start = text.index(value)
    spans = [Span(start, start + len(value), entity_type, 0.85, "ner")]
    return [text[s.start : s.end] for s in refine_spans(text, spans, None, "en")]


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
    assert refined(text, value, entity_type) == []


def test_a_name_on_a_log_line_is_still_kept() -> None:
    text = "INFO support: ticket opened by Maria Garcia"
    start = text.index("Maria Garcia")
    spans = [Span(start, start + len("Maria Garcia"), "PERSON", 0.85, "ner")]
    assert [text[s.start : s.end] for s in refine_spans(text, spans, None, "en")] == [
        "Maria Garcia"
    ]


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        # syslog's timestamp starts with the month: the model took "Mar" for a name
        ("Mar 14 09:27:17 web-01 sshd[23146]: Accepted publickey", "Mar", "PERSON"),
        # classes in code on log lines
        ("ValueError: invalid email: bob@@example.com", "ValueError", "ORGANIZATION"),
        ("WARN [main] com.acme.payment.CardProcessor: declined", "CardProcessor", "ORGANIZATION"),
        (
            "ERROR [main] c.a.o.OrderController - Created",
            "OrderController - Created",
            "ORGANIZATION",
        ),
        # a browser's user agent names products and platforms
        (
            '"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X)"',
            "CPU iPhone OS",
            "ORGANIZATION",
        ),
        ('"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome"', "Gecko", "LOCATION"),
    ],
)
def test_dates_code_and_user_agents_on_log_lines_are_not_names(
    text: str, value: str, entity_type: str
) -> None:
    assert refined(text, value, entity_type) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Please call Mr. Smith", "Smith"),
        ("Dr.Patel will see you", "Patel"),
        ("Ask Mar about the 14 boxes", "Mar"),
        ('user="Maria Garcia" agent="Mozilla/5.0 (X11)"', "Maria Garcia"),
    ],
)
def test_names_next_to_dots_months_and_user_agents_are_kept(text: str, value: str) -> None:
    assert refined(text, value, "PERSON") == [value]


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        # the method of an HTTP request, before its path
        ("POST /login HTTP/1.1 status=401", "POST", "ORGANIZATION"),
        ('10.0.0.1 - - "DELETE /api/orders/9 HTTP/1.1" 204', "DELETE", "ORGANIZATION"),
        # or alone, as a JSON log's method field holds it ({"method": "POST"})
        ("POST", "POST", "ORGANIZATION"),
        (" PATCH ", "PATCH", "ORGANIZATION"),
        # log levels beyond ERROR ({"severity": "CRITICAL"})
        ("CRITICAL", "CRITICAL", "ORGANIZATION"),
        ("[SEVERE] disk almost full", "SEVERE", "ORGANIZATION"),
        # units of data and rates after their number
        ("eth0: link up, 1000 Mbps, full duplex", "Mbps", "PERSON"),
        ("5 GB free, 2 GiB used", "GiB", "PERSON"),
        ("download at 12 MB/s", "12 MB/s", "ORGANIZATION"),
    ],
)
def test_http_methods_and_units_on_log_lines_are_not_names(
    text: str, value: str, entity_type: str
) -> None:
    assert refined(text, value, entity_type) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Meeting with Dan Post at noon", "Dan Post"),  # a method word without a path
        ("Ask Kb about the 2 GB quota", "Kb"),  # a unit word with no number before it
    ],
)
def test_names_like_methods_and_units_are_kept(text: str, value: str) -> None:
    assert refined(text, value, "PERSON") == [value]
