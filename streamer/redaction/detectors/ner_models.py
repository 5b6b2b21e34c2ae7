"""Loading spaCy pipelines for NER: offline, lean, and with errors that say what to install.

Nothing here reaches the network. Presidio's own loader downloads a missing spaCy model,
and tldextract (which Presidio's e-mail recognizer uses) downloads the public suffix
list on first use; :func:`load_ner_pipeline` refuses to download, and
:func:`use_bundled_public_suffix_list` points tldextract at the snapshot bundled in its
wheel before anything of Presidio runs.

Only the components NER needs are loaded (``tok2vec`` and ``ner``, or a transformer);
the tagger, parser, lemmatizer and the like cost time and give NER nothing. The tokenizer
splits ``key=value`` pairs (:func:`split_key_values`).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import Any

from streamer.errors import ConfigurationError, DependencyMissingError
from streamer.redaction.exceptions import NerModelMissingError

#: Components a spaCy pipeline may hold that NER does not use.
UNNEEDED_COMPONENTS = (
    "tagger",
    "morphologizer",
    "parser",
    "senter",
    "sentencizer",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "textcat",
    "textcat_multilabel",
    "entity_linker",
    "spancat",
)
#: Where the fields of a log line split: a ``key=value`` pair at the ``=`` and a quote
#: after it, JSON written into the line at ``":"`` and ``","`` (``{"user":"Maria``),
#: values separated by ``;`` or ``|`` (``42;Jean Dupont;``).
LOG_FIELD_INFIXES = (r"""=["']?""", r'"[:,]"?', r"(?<=\w)[;|](?=\w)")


def ner_dependencies_installed() -> bool:
    """Whether presidio-analyzer and spaCy can be imported (without importing them)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None for name in ("presidio_analyzer", "spacy")
        )
    except (ImportError, ValueError):  # a broken install, or one blocked in sys.modules
        return False


def model_installed(model: str) -> bool:
    """Whether ``model`` is an installed spaCy model package or a model directory."""
    if Path(model).is_dir():
        return True
    try:
        return importlib.util.find_spec(model) is not None
    except (ImportError, ValueError):
        return False


def ner_available(models: dict[str, str]) -> bool:
    """Whether the NER detector can be built: its libraries and every model installed."""
    return ner_dependencies_installed() and all(model_installed(m) for m in models.values())


@cache
def use_bundled_public_suffix_list() -> None:
    """Make tldextract use the public suffix list bundled in its wheel, never the network.

    tldextract's module-level extractor (what ``tldextract.extract`` and so Presidio's
    e-mail recognizer call) would fetch the list from the internet on first use.
    """
    try:
        import tldextract
        import tldextract.tldextract as implementation
    except ImportError:  # Presidio not installed: nothing will call it
        return
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    implementation.TLD_EXTRACTOR = offline


def quiet_transformers_import() -> None:
    """Keep Hugging Face ``transformers`` from warning on import that PyTorch is missing.

    Presidio imports ``transformers`` whenever it is installed (``presidio-evaluator``
    brings it), and it prints that advisory to stderr in every worker; spaCy models do
    not use PyTorch. A ``TRANSFORMERS_VERBOSITY`` the user set is kept.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_ner_pipeline(language: str, model: str) -> Any:
    """The spaCy pipeline ``model`` for ``language`` with only what NER needs.

    Raises :class:`NerModelMissingError` (naming the setting and the package) when the
    model is not installed, and :class:`DependencyMissingError` without spaCy.
    """
    try:
        import spacy
    except ImportError:
        raise DependencyMissingError("the NER detector", "spacy", "nlp") from None
    if not model_installed(model):
        raise NerModelMissingError(language, model)
    nlp = spacy.load(model, exclude=list(UNNEEDED_COMPONENTS))
    if "ner" not in nlp.pipe_names:
        raise ConfigurationError(
            f"spaCy model {model!r} for language {language!r} has no 'ner' component; name a "
            "model with named entity recognition in the setting ner_models (STREAMER_NER_MODELS)"
        )
    split_key_values(nlp)
    return nlp


def split_key_values(nlp: Any) -> None:
    """Make ``nlp``'s tokenizer split the fields of log lines (``LOG_FIELD_INFIXES``).

    spaCy's rules keep ``holder="John`` one token, and the model then sees no name in
    ``holder="John Smith"`` (or only ``Smith``, leaving ``John`` in the clean log line);
    likewise ``{"user":"Maria`` and ``42;Jean``.
    """
    from spacy.util import compile_infix_regex

    infixes = [*nlp.Defaults.infixes, *LOG_FIELD_INFIXES]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
