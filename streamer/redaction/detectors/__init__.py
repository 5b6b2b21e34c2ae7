"""The built-in detectors and the registry that names them.

=====================  ======================  ==========================================
name                   entity                  how it decides
=====================  ======================  ==========================================
``email``              ``EMAIL_ADDRESS``       address shape, letter TLD
``phone``              ``PHONE_NUMBER``        ``phonenumbers`` validity, default regions
``us_ssn``             ``US_SSN``              issuing rules; bare digits need context
``us_itin``            ``US_ITIN``             9xx and the ITIN groups; bare digits need
                                               context
``uk_nino``            ``UK_NINO``             HMRC's prefix rules, suffix A-D; the specimen
                                               ``QQ 12 34 56 C`` needs context
``es_nif``             ``ES_NIF``              Spanish DNI and NIE, check letter
``br_cpf``             ``BR_CPF``              two check digits; bare digits need context
``national_ids``       (the nine below)        runs the nine below as one, by default
``br_cnpj``            ``BR_CNPJ``             two check digits; needs context
``de_tax_id``          ``DE_TAX_ID``           digit rule, mod 11,10; needs context
``fr_nir``             ``FR_NIR``              key (mod 97); needs context
``it_fiscal_code``     ``IT_FISCAL_CODE``      check letter; lower case needs context
``nl_bsn``             ``NL_BSN``              eleven test; needs context
``in_aadhaar``         ``IN_AADHAAR``          Verhoeff; needs context
``in_pan``             ``IN_PAN``              shape; not a person's (4th letter P)
                                               needs context
``au_tfn``             ``AU_TFN``              weighted mod 11; needs context
``au_medicare``        ``AU_MEDICARE``         check digit; needs context
``pl_pesel``           ``PL_PESEL``            birth date, check digit; needs context
``se_personnummer``    ``SE_PERSONNUMMER``     birth date, Luhn; needs context
``mx_curp``            ``MX_CURP``             shape, state code, check digit
``credit_card``        ``CREDIT_CARD``         Luhn, issuer prefix, consistent groups
``card_cvv``           ``CREDIT_CARD_CVV``     3-4 digits with a CVV word nearby
``iban``               ``IBAN_CODE``           country length, mod 97
``ip_address``         ``IP_ADDRESS``          IPv4, :mod:`ipaddress`; not versions
``ipv6_address``       ``IP_ADDRESS``          IPv6 incl. compressed, :mod:`ipaddress`
``url``                ``URL``                 scheme or ``www.``; profile links
                                               (``github.com/lmartin``)
``us_bank_number``     ``US_BANK_NUMBER``      digits with an account word nearby
``aba_routing``        ``ABA_ROUTING_NUMBER``  ABA checksum, a routing word nearby
``us_passport``        ``US_PASSPORT``         US and other passport shapes with a
                                               passport word nearby
``us_driver_license``  ``US_DRIVER_LICENSE``   state shapes with a licence word nearby
``date_of_birth``      ``DATE_TIME``           a real date with a birth word nearby
``mention``            ``PERSON``              the handle of an @mention (``@sarah.k``)
``health_id``          ``HEALTH_ID``           an id with a medical record or health
                                               plan member word nearby
``field_name``         ``PERSON``,             a JSON field named for a person's name
                       ``LOCATION``            (``first_name``) or a street, town or
                                               postcode
``street_address``     ``LOCATION``            street, house number, unit, box, and the
                       (addresses)             place names and postcodes after them
``ner``                ``PERSON``,             Presidio + spaCy NER (setting ``ner_models``),
                       ``LOCATION``,           refined by :mod:`.ner_rules`; needs the
                       ``ORGANIZATION``        ``nlp`` extra and the model installed;
                       (``NRP``, ``DATE_TIME`` ``NRP`` and ``DATE_TIME`` with the setting
                       by setting)             ``ner_entities``
=====================  ======================  ==========================================
"""

from __future__ import annotations

from streamer.redaction.detector import Detector, PatternDetector
from streamer.redaction.detectors.address import StreetAddressDetector
from streamer.redaction.detectors.credit_card import CardSecurityCodeDetector, CreditCardDetector
from streamer.redaction.detectors.date_of_birth import DateOfBirthDetector
from streamer.redaction.detectors.email import EmailDetector
from streamer.redaction.detectors.field_name import FieldNameDetector
from streamer.redaction.detectors.hard_negatives import find_hard_negatives
from streamer.redaction.detectors.health_ids import HealthIdDetector
from streamer.redaction.detectors.iban import IbanDetector
from streamer.redaction.detectors.ip_address import IPv4Detector, IPv6Detector
from streamer.redaction.detectors.mention import MentionDetector
from streamer.redaction.detectors.national_ids import (
    NATIONAL_IDS_BY_WORD,
    AuMedicareDetector,
    AuTfnDetector,
    BrCnpjDetector,
    BrCpfDetector,
    DeTaxIdDetector,
    EsNifDetector,
    FrNirDetector,
    InAadhaarDetector,
    InPanDetector,
    ItFiscalCodeDetector,
    MxCurpDetector,
    NationalIdsDetector,
    NlBsnDetector,
    PlPeselDetector,
    SePersonnummerDetector,
    UkNinoDetector,
)
from streamer.redaction.detectors.ner_models import (
    model_installed,
    ner_available,
    ner_dependencies_installed,
)
from streamer.redaction.detectors.phone import PhoneDetector
from streamer.redaction.detectors.url import UrlDetector
from streamer.redaction.detectors.us_ids import (
    AbaRoutingDetector,
    UsBankNumberDetector,
    UsDriverLicenseDetector,
    UsPassportDetector,
)
from streamer.redaction.detectors.us_ssn import UsItinDetector, UsSsnDetector
from streamer.redaction.registry import DetectorFactory, DetectorRegistry
from streamer.settings import StreamerSettings

#: Every detector pii-streamer knows by name. Register your own here.
DETECTORS = DetectorRegistry()

_PATTERN_DETECTORS: tuple[type[PatternDetector], ...] = (
    EmailDetector,
    UsSsnDetector,
    UsItinDetector,
    UkNinoDetector,
    EsNifDetector,
    BrCpfDetector,
    ItFiscalCodeDetector,
    InPanDetector,
    MxCurpDetector,
    CreditCardDetector,
    CardSecurityCodeDetector,
    IbanDetector,
    IPv4Detector,
    IPv6Detector,
    UrlDetector,
    UsBankNumberDetector,
    AbaRoutingDetector,
    UsPassportDetector,
    UsDriverLicenseDetector,
    DateOfBirthDetector,
    MentionDetector,
    HealthIdDetector,
)


def _factory(cls: type[PatternDetector]) -> DetectorFactory:
    return lambda _settings: cls()


for _cls in _PATTERN_DETECTORS:
    DETECTORS.register(str(_cls.name), _factory(_cls), entities=(str(_cls.entity_type),))

DETECTORS.register(
    "national_ids",
    lambda _settings: NationalIdsDetector(),
    entities=tuple(str(cls.entity_type) for cls in NATIONAL_IDS_BY_WORD),
)
# Each of those alone, for a policy that names it; by default they run as national_ids.
for _cls in NATIONAL_IDS_BY_WORD:
    DETECTORS.register(
        str(_cls.name), _factory(_cls), entities=(str(_cls.entity_type),), default=False
    )

DETECTORS.register(
    "field_name", lambda _settings: FieldNameDetector(), entities=FieldNameDetector.entities
)
DETECTORS.register(
    "street_address", lambda _settings: StreetAddressDetector(), entities=("LOCATION",)
)
DETECTORS.register(
    "phone",
    lambda settings: PhoneDetector(regions=settings.default_regions),
    entities=("PHONE_NUMBER",),
)


def _build_ner(settings: StreamerSettings) -> Detector:
    from streamer.redaction.detectors.ner import NerDetector

    return NerDetector(
        settings.ner_models, entities=settings.ner_entities, batch_size=settings.ner_batch_size
    )


def _ner_models_installed(settings: StreamerSettings) -> bool:
    return ner_available(settings.ner_models)


def _ner_models_missing(settings: StreamerSettings) -> str | None:
    from streamer.redaction.exceptions import NerModelMissingError

    for language, model in settings.ner_models.items():
        if not model_installed(model):
            return str(NerModelMissingError(language, model))
    return None


DETECTORS.register(
    "ner",
    _build_ner,
    entities=("PERSON", "LOCATION", "ORGANIZATION"),  # NRP, DATE_TIME by setting
    available=ner_dependencies_installed,
    installed=_ner_models_installed,
    missing=_ner_models_missing,
)

#: Names of the pattern (non-NER) detectors, in registration order.
PATTERN_DETECTOR_NAMES: tuple[str, ...] = (
    *(str(c.name) for c in _PATTERN_DETECTORS),
    "national_ids",
    "field_name",
    "street_address",
    "phone",
)

__all__ = [
    "DETECTORS",
    "AbaRoutingDetector",
    "AuMedicareDetector",
    "AuTfnDetector",
    "BrCnpjDetector",
    "BrCpfDetector",
    "PATTERN_DETECTOR_NAMES",
    "CardSecurityCodeDetector",
    "CreditCardDetector",
    "DateOfBirthDetector",
    "DeTaxIdDetector",
    "Detector",
    "EmailDetector",
    "EsNifDetector",
    "FieldNameDetector",
    "FrNirDetector",
    "HealthIdDetector",
    "IPv4Detector",
    "IPv6Detector",
    "IbanDetector",
    "InAadhaarDetector",
    "InPanDetector",
    "ItFiscalCodeDetector",
    "MentionDetector",
    "MxCurpDetector",
    "NationalIdsDetector",
    "NlBsnDetector",
    "PatternDetector",
    "PhoneDetector",
    "PlPeselDetector",
    "SePersonnummerDetector",
    "StreetAddressDetector",
    "UkNinoDetector",
    "UrlDetector",
    "UsBankNumberDetector",
    "UsDriverLicenseDetector",
    "UsItinDetector",
    "UsPassportDetector",
    "UsSsnDetector",
    "find_hard_negatives",
]
