"""Mapping the cloud services' entity types onto the engine's (Presidio's) names.

Policies name entity types the way Presidio does (``EMAIL_ADDRESS``, ``US_SSN``), so a
policy written for local detection applies unchanged to cloud results. The tables:

Azure AI Language (PII ``category``) -> engine

=====================================  ==============================
Azure category                         entity type
=====================================  ==============================
``Person``                             ``PERSON``
``PersonType``                         ``PERSON_TYPE``
``PhoneNumber``                        ``PHONE_NUMBER``
``Email``                              ``EMAIL_ADDRESS``
``Address``                            ``LOCATION``
``Organization``                       ``ORGANIZATION``
``URL``                                ``URL``
``IPAddress``                          ``IP_ADDRESS``
``DateTime`` / ``Date``                ``DATE_TIME``
``Age``                                ``AGE``
``CreditCardNumber``                   ``CREDIT_CARD``
``InternationalBankingAccountNumber``  ``IBAN_CODE``
``USSocialSecurityNumber``             ``US_SSN``
``USBankAccountNumber``                ``US_BANK_NUMBER``
``USDriversLicenseNumber``             ``US_DRIVER_LICENSE``
``USUKPassportNumber``                 ``US_PASSPORT``
``USIndividualTaxpayerIdentification`` ``US_ITIN``
``ABARoutingNumber``                   ``ABA_ROUTING_NUMBER``
``SWIFTCode``                          ``SWIFT_CODE``
``DrugEnforcementAgencyNumber``        ``MEDICAL_LICENSE``
``UKNationalInsuranceNumber``          ``UK_NINO``
``UKNationalHealthNumber``             ``UK_NHS``
``ESDNI``                              ``ES_NIF``
``BRCPFNumber``                        ``BR_CPF``
``ITFiscalCode``                       ``IT_FISCAL_CODE``
``ITDriversLicenseNumber``             ``IT_DRIVER_LICENSE``
``ITValueAddedTaxNumber``              ``IT_VAT_CODE``
``PLNationalID``                       ``PL_PESEL``
``FINationalID``                       ``FI_PERSONAL_IDENTITY_CODE``
``SGNationalRegistrationIdentity...``  ``SG_NRIC_FIN``
``AUBusinessNumber``                   ``AU_ABN``
``AUCompanyNumber``                    ``AU_ACN``
``AUTaxFileNumber``                    ``AU_TFN``
``AUMedicalAccountNumber``             ``AU_MEDICARE``
``INPermanentAccount``                 ``IN_PAN``
``INUniqueIdentificationNumber``       ``IN_AADHAAR``
=====================================  ==============================

AWS Comprehend (``DetectPiiEntities`` ``Type``) -> engine

==========================================  ========================
Comprehend type                             entity type
==========================================  ========================
``NAME``                                    ``PERSON``
``EMAIL``                                   ``EMAIL_ADDRESS``
``PHONE``                                   ``PHONE_NUMBER``
``ADDRESS``                                 ``LOCATION``
``SSN``                                     ``US_SSN``
``CREDIT_DEBIT_NUMBER``                     ``CREDIT_CARD``
``CREDIT_DEBIT_CVV``                        ``CREDIT_CARD_CVV``
``CREDIT_DEBIT_EXPIRY``                     ``CREDIT_CARD_EXPIRY``
``BANK_ACCOUNT_NUMBER``                     ``US_BANK_NUMBER``
``BANK_ROUTING``                            ``ABA_ROUTING_NUMBER``
``INTERNATIONAL_BANK_ACCOUNT_NUMBER``       ``IBAN_CODE``
``PASSPORT_NUMBER``                         ``US_PASSPORT``
``DRIVER_ID``                               ``US_DRIVER_LICENSE``
``US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER`` ``US_ITIN``
``UK_NATIONAL_INSURANCE_NUMBER``            ``UK_NINO``
``UK_NATIONAL_HEALTH_SERVICE_NUMBER``       ``UK_NHS``
``IN_PERMANENT_ACCOUNT_NUMBER``             ``IN_PAN``
``IN_VOTER_NUMBER``                         ``IN_VOTER``
``IP_ADDRESS``, ``URL``, ``DATE_TIME``,     the same name
``AGE``, ``PIN``, ``USERNAME``,
``PASSWORD``, ``SWIFT_CODE``, ...
==========================================  ========================

Any other type keeps its meaning under a predictable name: Azure's CamelCase categories
become upper snake case (``EUGPSCoordinates`` -> ``EUGPS_COORDINATES``), Comprehend's
names stay as they are. Such types get the policy's ``default_action`` like any other.
"""

from __future__ import annotations

import re
from functools import lru_cache

AZURE_TO_ENGINE: dict[str, str] = {
    "Person": "PERSON",
    "PersonType": "PERSON_TYPE",
    "PhoneNumber": "PHONE_NUMBER",
    "Email": "EMAIL_ADDRESS",
    "Address": "LOCATION",
    "Organization": "ORGANIZATION",
    "URL": "URL",
    "IPAddress": "IP_ADDRESS",
    "DateTime": "DATE_TIME",
    "Date": "DATE_TIME",
    "Age": "AGE",
    "CreditCardNumber": "CREDIT_CARD",
    "InternationalBankingAccountNumber": "IBAN_CODE",
    "USSocialSecurityNumber": "US_SSN",
    "USBankAccountNumber": "US_BANK_NUMBER",
    "USDriversLicenseNumber": "US_DRIVER_LICENSE",
    "USUKPassportNumber": "US_PASSPORT",
    "USIndividualTaxpayerIdentification": "US_ITIN",
    "ABARoutingNumber": "ABA_ROUTING_NUMBER",
    "SWIFTCode": "SWIFT_CODE",
    "DrugEnforcementAgencyNumber": "MEDICAL_LICENSE",
    "UKNationalInsuranceNumber": "UK_NINO",
    "UKNationalHealthNumber": "UK_NHS",
    "ESDNI": "ES_NIF",
    "BRCPFNumber": "BR_CPF",
    "ITFiscalCode": "IT_FISCAL_CODE",
    "ITDriversLicenseNumber": "IT_DRIVER_LICENSE",
    "ITValueAddedTaxNumber": "IT_VAT_CODE",
    "PLNationalID": "PL_PESEL",
    "FINationalID": "FI_PERSONAL_IDENTITY_CODE",
    "SGNationalRegistrationIdentityCardNumber": "SG_NRIC_FIN",
    "AUBusinessNumber": "AU_ABN",
    "AUCompanyNumber": "AU_ACN",
    "AUTaxFileNumber": "AU_TFN",
    "AUMedicalAccountNumber": "AU_MEDICARE",
    "INPermanentAccount": "IN_PAN",
    "INUniqueIdentificationNumber": "IN_AADHAAR",
}

AWS_TO_ENGINE: dict[str, str] = {
    "NAME": "PERSON",
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "ADDRESS": "LOCATION",
    "SSN": "US_SSN",
    "CREDIT_DEBIT_NUMBER": "CREDIT_CARD",
    "CREDIT_DEBIT_CVV": "CREDIT_CARD_CVV",
    "CREDIT_DEBIT_EXPIRY": "CREDIT_CARD_EXPIRY",
    "BANK_ACCOUNT_NUMBER": "US_BANK_NUMBER",
    "BANK_ROUTING": "ABA_ROUTING_NUMBER",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "IBAN_CODE",
    "PASSPORT_NUMBER": "US_PASSPORT",
    "DRIVER_ID": "US_DRIVER_LICENSE",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER": "US_ITIN",
    "UK_NATIONAL_INSURANCE_NUMBER": "UK_NINO",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER": "UK_NHS",
    "IN_PERMANENT_ACCOUNT_NUMBER": "IN_PAN",
    "IN_VOTER_NUMBER": "IN_VOTER",
}


def _inverse(table: dict[str, str], preferred: dict[str, str]) -> dict[str, str]:
    inverse: dict[str, str] = {}
    for service_name, engine_name in table.items():
        inverse.setdefault(engine_name, service_name)
    inverse.update(preferred)
    return inverse


#: Engine type -> Azure category, for the emulator (the first name in the table wins).
ENGINE_TO_AZURE: dict[str, str] = _inverse(AZURE_TO_ENGINE, {"DATE_TIME": "DateTime"})
#: Engine type -> Comprehend type, for the emulator.
ENGINE_TO_AWS: dict[str, str] = _inverse(AWS_TO_ENGINE, {})

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Z0-9_]+")


def _snake_upper(name: str) -> str:
    converted = _NON_WORD.sub("_", _CAMEL_BOUNDARY.sub("_", name).upper()).strip("_")
    return converted or "UNKNOWN"


@lru_cache(maxsize=1024)
def azure_entity_type(category: str, subcategory: str | None = None) -> str:
    """The engine's name for an Azure PII category (and subcategory)."""
    mapped = AZURE_TO_ENGINE.get(category)
    if mapped is not None:
        return mapped
    if subcategory and subcategory in AZURE_TO_ENGINE:
        return AZURE_TO_ENGINE[subcategory]
    return _snake_upper(category)


@lru_cache(maxsize=1024)
def aws_entity_type(pii_type: str) -> str:
    """The engine's name for a Comprehend PII entity type."""
    return AWS_TO_ENGINE.get(pii_type) or _snake_upper(pii_type)
