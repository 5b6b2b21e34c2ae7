"""Words and word shapes the NER rules share: what is a name word, what is never a name.

Used by :mod:`.ner_rules`, :mod:`.ner_cues`, :mod:`.ner_extend` and the street address
detector. All comparisons with the word lists are lower case.
"""

from __future__ import annotations

import re

#: A letter that is not lower case (any script).
UPPER = "[^\\W\\d_a-z\u00df-\u00ff]"
#: A capitalised (or upper-case) word, or an initial: ``Zofia``, ``Nowak-Lis``, ``O'Neil``, ``J.``
NAME_WORD = f"(?:{UPPER}[\\w'\u2019-]*\\.?|{UPPER}\\.)"
#: Courtesy and academic titles written before a name.
TITLES = r"(?i:mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|lady|lord|madam|mme|mlle|herr|frau)"
#: The same titles as a set of words, with the job titles that also stand before names.
TITLE_WORDS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "sir",
        "dame",
        "lady",
        "lord",
        "madam",
        "mme",
        "mlle",
        "herr",
        "frau",
    ]
)

#: Words NER often tags that are not personal data on their own.
NOT_NAMES = frozenset(
    " ".join(
        [
            "iban bic swift ssn atm pin otp asap ceo cfo cto coo vp hr it id ids faq ok okay",
            "fyi eta sms mms email e-mail url usb vat gdpr pii api sdk sql visa",
            "mastercard amex bot user admin customer client sir madam dear hello hi hey",
            "thanks regards dob tel fax ref acct ip ips cvv cvc aba rtn",
            "username password login passcode",
            # log levels, which start every line of an application log
            "debug info warn warning error fatal critical crit severe notice verbose",
            # the states of orders, payments and accounts, which events write in upper
            # case ("status": "DECLINED") and NER takes for organisations
            "approved declined pending rejected cancelled canceled completed active inactive",
            "shipped delivered refunded suspended expired failed succeeded settled voided",
            "disputed processing",
            # sales regions
            "emea apac apj latam amer",
            # currencies (ISO 4217), which NER takes for organisations
            "usd eur gbp jpy chf cny cad aud nzd sek nok dkk pln czk huf inr brl mxn zar",
            "rub try krw sgd hkd",
        ]
    ).split()
)

#: What a contact verb may address that is nobody's name: teams, desks, services.
TEAMS = frozenset(
    " ".join(
        [
            "support sales billing service services helpdesk help desk team it hr security",
            "legal finance accounts accounting reception operator management marketing stop",
            "start home back emergency police ambulance now me us them customer care",
            "technical tech operations ops engineering dispatch front office center centre",
        ]
    ).split()
)

#: Words that with :data:`TEAMS` make up the name of a team, not of a person or a company
#: (``Customer Support``, ``The Billing Team``, ``Dear Valued Customer``).
TEAM_NAME_WORDS = TEAMS | frozenset(
    " ".join(
        [
            "team teams the our your dear valued department dept success relations experience",
            "customers client clients desk",
        ]
    ).split()
)

#: English function words: never part of a name when capitalised at a sentence start,
#: and two of them make an upper-case span a shouted sentence, not a name.
FUNCTION_WORDS = frozenset(
    " ".join(
        [
            "i a an the to of in on at is are am be was were can could will would do does did",
            "not no and or but if so as by for from with into onto my me you your we our us",
            "it its this that these those what why how when where who which there here then",
            "he she his her him they them their please yes everything everyone everybody",
            "something someone somebody nothing nobody anything anyone anybody",
        ]
    ).split()
)

#: Particles inside surnames: Eliane van der Vlist, Ludwig von Mises, Maria da Silva.
SURNAME_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "bin",
        "al",
        "el",
    ]
)
#: Particles inside place names: Ždár nad Sázavou, Caxias do Sul, Odernheim am Glan,
#: Hrušovany u Brna, Dole pri Litiji, Châlons-en-Champagne, Stratford upon Avon.
PLACE_PARTICLES = frozenset(
    " ".join(
        [
            "nad pod pri pred u na ob am an im bei der den de del della di da do dos das",
            "du des la le les lès lez sur sous upon",
        ]
    ).split()
)
#: Suffixes written after a person's name.
NAME_SUFFIXES = frozenset(
    ["jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "md", "dds", "dvm", "esq", "esq.", "cpa"]
)

#: Month and weekday names and abbreviations (English).
MONTHS_AND_DAYS = re.compile(
    r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b"
)
