"""The engine works without the nlp extra: NER is then simply not a default detector."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys

for name in ("spacy", "presidio_analyzer", "tldextract"):
    sys.modules[name] = None  # as if not installed: importing them raises ImportError
from streamer import RedactionService, DETECTORS
from streamer.errors import DependencyMissingError
assert "ner" not in DETECTORS.default_names(), DETECTORS.default_names()
with RedactionService() as svc:
    assert "[EMAIL_ADDRESS_" in svc.redact("mail jane@example.com").redacted_text
try:
    RedactionService(detectors=["ner"])
except DependencyMissingError as exc:
    assert "nlp" in str(exc), exc
else:
    raise AssertionError("ner built without spaCy")
print("ok")
"""


def test_engine_imports_and_runs_without_spacy_and_presidio() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
