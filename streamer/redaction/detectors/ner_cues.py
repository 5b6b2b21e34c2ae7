"""English context cues: people and places a small NER model misses, found by the words
around them.

Each cue is a few words that, in English, stand right before (or after) a name of a
known kind; the capitalised words there are taken as that kind. A cue only ever
confirms capitalised words (``Ask the dr. about it`` finds nothing), and never words
of :data:`~.ner_words.NOT_NAMES` or function words (``Hi there``, ``Dear Sir``).

People:

- a **title**: ``Mr``, ``Mrs``, ``Ms``, ``Dr``, ... (``Dr. Zofia Nowak-Lis``);
- a **name cue**: ``name is``, ``name:``, ``name?``, ``call me``, a byline (``directed
  by``, ``written by``, ...), or a naming verb (``named``, ``nicknamed``);
- a **greeting**: ``Hi``, ``Hello``, ``Dear``, ... (``Hi Ewan,``);
- a **speech verb** before or after: ``said Anders``, ``says Weld``, ``shouted at John``,
  ``Sophia shouted``;
- a **relation**: ``my kid Fern``, ``her husband Tom``, ``assistant to Gréta Halász``;
- a **contact verb**: ``Call John at ...``, ``please email Maria about ...``, ``spoke to
  Ines yesterday`` (the name must end the clause or come before a word such as ``at``,
  ``about``, ``tomorrow``, a phone number or an e-mail address; ``Call Support at ...``
  and other teams are not people);
- a **verb only people do**: ``Mika lives on ...``, ``Ana works at ...``, ``was born``
  (not ``Everything works again``);
- a **gendered pronoun** referring back: ``Dmitar Ruedl listed his top 20``, ``had given
  Csanád his address``;
- being **spoken to**: ``Renátó, can I please speak to ...``;
- the **answer to a question about a name**: ``What's the name on the account? User:
  Csenger Gábor``;
- an e-mail **display name**: ``"Jane Doe" <jane.doe@example.com>``;
- a **sign-off** at the end of a text or line: ``Thanks, Dillon Bullock``, ``Kind
  regards,\nAnna``;
- a **field label** at the start of a line: ``From:``, ``To:``, ``Contact:``,
  ``Customer:``, ``Patient:``, ``Emergency contact - Amara Nwosu (mother)``, ...; the
  name ends the line or a comma follows it (``Beneficiary: Olena Kovalenko, IBAN ...``);
- the **speakers** of a dialogue: two or more lines of ``Name: speech``;
- whom a **delivery** is for: ``Parcel for Bartosz Wiśniewski left at the door``;
- a passenger's name as **airlines** write it, with its title: ``SMITHERS/AMELIA MS``;
- whom a **payment** names: ``Refund to account holder Olena Kovalenko``, ``beneficiary
  Kwame Mensah``;
- a **role and number** before a first and last name in a sentence: ``Employee 4412
  Jane Doe (jane.doe@example.com) was terminated`` (not ``Customer 4412 Account Locked``);
- a **state only people are in**: ``Why is Sven so impulsive?``, ``Kwame is off sick``;
- a **self-introduction** or **thanks** in lower-case chat, where the model finds
  nothing: ``its me, priya ramanathan``, ``my name is li wei``, ``this is tomasz nowak
  from ...``, ``i'm sarah connor``, ``hi, it's tom hanson here``, ``thanks kwame``,
  ``hi olivia, ...``, ``my son, luca``, ``my wife's name is meera`` (the name ends the
  clause, and no word of it says how one is: ``i'm sorry``, ``it's raining here``,
  ``thanks again``).

Places:

- a **movement or location cue**: ``flew to``, ``moved here from``, ``based in``,
  ``lives in``, ``I'm in``, ``originally from``, ``home city``;
- a **field label**: ``Where:``, ``City:``, ``Town:``, ``Location:``, ``Country:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from streamer.redaction.detectors.ner_words import (
    FUNCTION_WORDS,
    MONTHS_AND_DAYS,
    NAME_WORD,
    NOT_NAMES,
    TEAMS,
    TITLE_WORDS,
    TITLES,
    UPPER,
)
from streamer.redaction.spans import Span

CUE_SCORE = 0.85
WEAK_CUE_SCORE = 0.7
PLACE_CUE_SCORE = 0.6

_NAME = rf"((?:{NAME_WORD})(?:[ \t]+{NAME_WORD}){{0,3}})"
_SHORT_NAME = rf"((?:{NAME_WORD})(?:[ \t]+{NAME_WORD}){{0,2}})"
_TITLED_NAME = re.compile(rf"\b(?:{TITLES})\.?[ \t]+{_NAME}")
_NAME_CUE = re.compile(
    r"(?i:\bname(?:[ \t]+is|[ \t]*:|'s|\?)|\bcalls?[ \t]+me|\bcalled[ \t]+me"
    r"|\b(?-i:(?:nick)?named)(?:[ \t]+(?:him|her|them|me|us))?"  # not Named Entity ...
    r"|\b(?:directed|written|produced|composed|posted|signed|created|edited|reported"
    r"|authored|performed|photographed|narrated|illustrated)[ \t]+by[ \t]*:?)"
    rf"[ \t]+{_NAME}"
)
_GREETING = re.compile(
    r"(?:^|(?<=[\s\"'(]))(?i:hi|hello|hey|hiya|dear|greetings|good[ \t]+(?:morning|afternoon"
    rf"|evening))[ \t]*,?[ \t]+{_SHORT_NAME}(?=[ \t]*[,!.:;\n\r-]|$)",
    re.MULTILINE,
)
_SPEECH_VERBS = (
    r"said|says|asked|asks|replied|replies|told|tells|shouted|shouts|yelled|yells|wrote"
    r"|writes|added|adds|explained|explains|answered|answers|whispered|whispers|cried"
    r"|exclaimed|exclaims|laughed|screamed|texted|emailed|messaged"
)
_SPEECH_BEFORE = re.compile(rf"\b(?:{_SPEECH_VERBS})(?:[ \t]+(?:at|to))?[ \t]+{_SHORT_NAME}")
_SPEECH_AFTER = re.compile(
    rf"(?<![\w'\u2019-]){_SHORT_NAME}[ \t]+(?:{_SPEECH_VERBS})\b(?![ \t]+by\b)"
)
_RELATIVES = (
    r"kid|child|son|daughter|wife|husband|partner|mother|father|mom|mum|dad|brother|sister"
    r"|friend|colleague|boss|uncle|aunt|cousin|grandmother|grandfather|grandma|grandpa"
    r"|granddaughter|grandson|nephew|niece|neighbou?r|fianc[\u00e9e]e?|girlfriend|boyfriend"
    r"|landlord|landlady|tenant|roommate|flatmate|stepson|stepdaughter|stepmother|stepfather"
)
_RELATION = re.compile(
    rf"(?i:\b(?:my|our|his|her|their|your)[ \t]+(?:{_RELATIVES})"
    r"|\bassistant[ \t]+to)"
    rf"[ \t]+{_SHORT_NAME}"
)
#: Verbs (and verb phrases) whose object is a person: ``Call John at 5``.
CONTACT_VERBS = (
    r"call|called|calling|phone|phoned|ring|rang|text|texted|e-?mail|e-?mailed|message"
    r"|messaged|contact|contacted|ping|pinged|ask(?:ed)?(?:[ \t]+for)?|tell|told|thank|thanked"
    r"|remind|reminded|notify|notified|invite|invited|cc|dm|meet|met|(?:reach(?:ed)?|reaching)"
    r"[ \t]+out[ \t]+to|(?:talk(?:ed)?|speak|spoke|chat(?:ted)?)[ \t]+(?:to|with)"
    r"|(?:forward(?:ed)?|escalated?|assign(?:ed)?|hand(?:ed)?[ \t]+(?:it|this)[ \t]+)[ \t]*to"
)
_CONTACT = re.compile(
    rf"(?<![\w'\u2019-])(?i:{CONTACT_VERBS})[ \t]+(?:{TITLES}\.?[ \t]+)?{_SHORT_NAME}"
    r"(?=[ \t]*(?:[,.!?;:)]|$)|[ \t]+(?:at|on|about|re|regarding|for|tomorrow|today|tonight"
    r"|asap|now|back|again|later|soon|and|or|if|when|before|after|with|from|in|by|directly"
    r"|yesterday|please)\b"
    r"|[ \t]+(?:[+(]?\d[\d \t().-]{5,}\d|[\w.+-]+@))",  # Contact Wong Ka Ming +852 9123 4567
    re.MULTILINE,
)
_PERSON_VERB = re.compile(
    rf"(?<![\w'\u2019-]){_SHORT_NAME}[ \t]+(?:lives|lived|(?:works|worked)[ \t]+(?:at|for|as)"
    r"|was[ \t]+born|grew[ \t]+up|got[ \t]+married|is[ \t]+married|passed[ \t]+away)\b"
)
# A gendered pronoun that refers back to a name: "Dmitar Ruedl listed his top 20",
# "had given Csanád his address" (a verb, the name, then his or her).
_PRONOUN_AFTER_VERB = re.compile(
    rf"(?<![\w'\u2019-]){_SHORT_NAME}[ \t]+[a-z]+[ \t]+(?:his|her|himself|herself)\b"
)
_PRONOUN_AFTER_NAME = re.compile(rf"\b[a-z]+[ \t]+{_SHORT_NAME}[ \t]+(?:his|her)\b")
# What follows a name that ends here: punctuation, the line's end or a lower-case word
# (not another capitalised word: "Parcel for Apartment 4B", "Employee 4412 Benefits").
_NAME_ENDS = r"(?=[ \t]*(?:[,.!?;:()\-\u2013\u2014]|$)|[ \t]+[a-z])"
# Whom a delivery is for: "Parcel for Bartosz Wiśniewski left at the door"
_ADDRESSEE = re.compile(
    r"\b(?i:parcels?|packages?|packets?|deliver(?:y|ies)|shipments?|letters?|envelopes?"
    r"|consignments?|flowers)[ \t]+(?:(?:is|was|are|were)[ \t]+)?(?i:for|to)[ \t]+"
    rf"{_SHORT_NAME}{_NAME_ENDS}",
    re.MULTILINE,
)
# A person's role and number before their first and last name, in a sentence (not a
# heading: "Customer 4412 Account Locked"): "Employee 4412 Jane Doe (jane@x.io) was
# terminated", "Emp. 0098 Olusegun Adeyemi on sick leave", "Customer #5512 Anna Berg, ..."
_NUMBERED_PERSON = re.compile(
    r"\b(?i:employee|emp\.|staff|customer|client|patient|tenant|driver|courier|student"
    r"|candidate|applicant|contractor|resident|member|passenger|guest)[ \t]+"
    r"(?:(?i:no\.?|id|nr\.?)[ \t]*)?#?[ \t]*\d[\w-]*[ \t]+"
    rf"((?:{NAME_WORD})(?:[ \t]+{NAME_WORD}){{1,2}})(?=[ \t]*[,;(]|[ \t]+-[ \t]|[ \t]+[a-z])",
    re.MULTILINE,
)
# How only a person is: "Why is Sven so impulsive?", "Ines was very upset"
_PERSON_STATES = (
    r"impulsive|rude|upset|angry|furious|pregnant|unwell|grumpy|moody|lazy|nervous|anxious"
    r"|jealous|depressed|stressed|exhausted|annoyed|impatient|hostile|drunk|divorced"
    r"|unemployed|retired|injured|hospitali[sz]ed|unhappy|arrogant|selfish|stubborn|shy"
    r"|sad|off[ \t]+sick|out[ \t]+sick|on[ \t]+(?:(?:sick|maternity|paternity|parental"
    r"|annual)[ \t]+)?leave|on[ \t]+(?:holiday|vacation)"
)
_ADVERB = r"(?:[ \t]+(?:so|very|really|always|too|quite|being|getting|often|never|still))?"
_PERSON_STATE = re.compile(
    rf"(?<![\w'\u2019-]){_SHORT_NAME}[ \t]+(?:is|was|seems|seemed|looks|looked|feels|felt"
    rf"|gets|got|became|has[ \t]+been){_ADVERB}[ \t]+(?:{_PERSON_STATES})\b"
)
_PERSON_STATE_ASKED = re.compile(
    rf"\b(?i:is|was|isn't|wasn't|does|did)[ \t]+{_SHORT_NAME}{_ADVERB}[ \t]+(?:feel[ \t]+)?"
    rf"(?:{_PERSON_STATES})\b"
)
# Someone spoken to: "Renátó, can I please speak to ...", "Anna, could you ..."
_VOCATIVE = re.compile(
    rf"(?:^|(?<=[.!?\n\r\"]))[ \t]*{_SHORT_NAME},[ \t]+(?i:can|could|would|will|do|did|are"
    r"|have|please|thank|thanks|let|i'm|i[ \t]+am|i[ \t]+need|i[ \t]+want|we[ \t]+need)\b",
    re.MULTILINE,
)
#: Words that start a sentence before a comma and are nobody's name.
_INTERJECTIONS = frozenset(
    " ".join(
        [
            "also however sorry ok okay well so now yes no again still anyway actually btw oh",
            "ah um right sure great cool perfect fine thanks thank please hello hi hey listen",
            "look honestly seriously guys everyone team folks sir madam friends otherwise then",
            "today tomorrow yesterday besides meanwhile finally first second lastly alright",
        ]
    ).split()
)
# The answer to a question about a name: "What's the name on the account? User: Csenger Gábor"
_NAME_ANSWER = re.compile(
    r"(?i:\bname\b)[^?\n\r]{0,40}\?[ \t]*(?:\r?\n[ \t]*)?(?:\w+[ \t]*:[ \t]*)?"
    rf"{_NAME}[ \t]*$",
    re.MULTILINE,
)
# An e-mail address's display name: "Jane Doe" <jane.doe@example.com>, Jane Doe <jd@x.io>
_DISPLAY_NAME = re.compile(
    rf"(?:^|(?<=[\s:,;(]))[\"\u201c']?{_NAME}[\"\u201d']?[ \t]*<[^<>\s@]+@[^<>\s@]+>"
)
# A sign-off, the name last on its line: "Thanks, Dillon Bullock", "Kind regards,\nAnna"
_SIGN_OFF = re.compile(
    r"(?i:\b(?:thanks|thank[ \t]+you|many[ \t]+thanks|regards|best[ \t]+regards|kind[ \t]+regards"
    r"|warm[ \t]+regards|best|cheers|sincerely|yours[ \t]+(?:truly|sincerely)|cordially))"
    rf"[ \t]*[,!.\-\u2013\u2014]?[ \t]*(?:\r?\n[ \t]*)?{_NAME}[ \t]*[.!]?[ \t]*$",
    re.MULTILINE,
)
_PERSON_FIELD = re.compile(
    r"^[ \t]*(?i:from|to|cc|attn|attention|(?:emergency[ \t]+|billing[ \t]+)?contact"
    r"|customer|client|patient|employee|recipient|sender|author|owner|signed|applicant"
    r"|passenger|guest|driver|next[ \t]+of[ \t]+kin|beneficiary|payee|card[ \t]?holder"
    r"|account[ \t]+holder|assignee|assigned[ \t]+to|agent|caller|requester|guardian)"
    # a colon or a dash after the label; a note in brackets after the name: (mother)
    r"[ \t]*(?::|[ \t]-|[ \t]?[\u2013\u2014])[ \t]*"
    rf"{_NAME}[ \t]*(?:\([^()\n\r]{{1,30}}\)[ \t]*)?(?:$|,)",  # Beneficiary: Jo Li, IBAN ...
    re.MULTILINE,
)
# A passenger's name as airlines write it (reservations, boarding passes, e-tickets):
# SURNAME/GIVEN NAMES and a title, "SMITHERS/AMELIA MS", "PRICE-HOLLIS/JONATHAN MR";
# one side has four letters or more (not TCP/IP MS Windows, CI/CD MS Teams).
_AIRLINE_NAME = re.compile(
    r"(?<![\w/])(?=[A-Z'-]{4,}/|[A-Z'-]{2,3}/[A-Z'-]{4})"
    r"([A-Z][A-Z'-]+/[A-Z][A-Z'-]*(?: [A-Z][A-Z'-]*){0,2}?)"
    r" (?:MR|MRS|MS|MISS|MSTR|DR|MX)(?![\w/])"
)
# Whom a payment names, in a sentence: "Refund to account holder Olena Kovalenko."
_PAYMENT_PARTY = re.compile(
    r"\b(?i:account[ \t]+holder|card[ \t]?holder|beneficiary|payee|remitter|policy[ \t]?holder)"
    rf"[ \t]+{_SHORT_NAME}{_NAME_ENDS}",
    re.MULTILINE,
)
# Dialogue: "Molly: You saved my life!" (a speaker, a colon, then speech)
_SPEAKER_LINE = re.compile(
    rf"^[ \t]*({UPPER}[^\W\d_]+(?:[ \t]+{UPPER}[^\W\d_]+)?)[ \t]*:[ \t]*"
    r"(?:[\"\u201c'].*|\S+(?:[ \t]+\S+){2,}[.?!\"\u201d]+[ \t]*)$",
    re.MULTILINE,
)
#: Words before a colon that label a line rather than name a speaker.
LABELS = frozenset(
    " ".join(
        [
            "agent note notes question answer subject re q a comment comments reply message",
            "summary description status update warning error info tip example quote",
            # roles in call and chat transcripts
            "caller operator visitor rep representative bot assistant system interviewer",
            "interviewee moderator host speaker advisor adviser associate specialist",
            "technician supervisor receptionist dispatcher patient nurse doctor physician",
            "clinician pharmacist member buyer seller driver rider passenger tenant landlord",
            "candidate recruiter me you",
        ]
    ).split()
)
#: Words that start a group of people, not a name (``To: All Staff``, ``Dear Every Member``).
_QUANTIFIERS = frozenset(["all", "every", "each", "any", "both", "most", "some", "many"])
#: Days a delivery may be for that are nobody's name ("Package for Christmas delivery").
_OCCASIONS = frozenset(
    ["christmas", "xmas", "easter", "halloween", "thanksgiving", "hanukkah", "diwali", "eid"]
)
#: Whom a greeting may address that is nobody's name.
_ADDRESSEES = frozenset(
    " ".join(
        [
            "team all everyone everybody folks guys there support sir madam customer friends",
            "colleagues world again",
        ]
    ).split()
)

_PLACE = rf"({NAME_WORD}(?:[ \t]+{NAME_WORD}){{0,2}})"
_PLACE_CUE = re.compile(
    r"(?i:\b(?:lives?|lived|living|moved|moving|move|flew|fly|flying|travel(?:l?ing|l?ed)?"
    r"|returned|return|arrived|arrive|based|born|located|situated|staying|stayed|visit(?:ed|ing)?"
    r"|trip|city|town|village|here)"
    r"(?:[ \t]+(?:here|back|there|now|today|currently))?[ \t]+(?:in|to|from|at|near)"
    r"|\b(?:lives?|lived|living|located|situated)[ \t]+on"  # lives on Dobrovského 1394
    r"|\b(?:i'm|i[ \t]+am|we're|we[ \t]+are)(?:[ \t]+(?:now|currently))?[ \t]+in"  # not on
    r"|\boriginally[ \t]+from"
    rf"|\bhome[ \t]?(?:town|city|country)|\bcity[ \t]+of|\btown[ \t]+of)[ \t]+{_PLACE}"
)
_PLACE_FIELD = re.compile(
    r"^[ \t]*(?i:where|city|town|location|country|place|venue|hometown|region|state"
    r"|province)[ \t]*:[ \t]*"
    rf"({NAME_WORD}(?:[ \t]+{NAME_WORD}){{0,3}})",
    re.MULTILINE,
)
_LEGAL_FORM_AT_END = re.compile(
    r"(?i:\b(?:ltd|limited|inc|corp|corporation|company|plc|llc|gmbh|ag|sa|spa|nv|bv|ab"
    r"|holdings|group|bank|fund|trust|partners))\.?$"
)


# A name written in lower case, as in chat, after the words that introduce oneself: "my
# name is priya ramanathan", "its me, kwame", "this is tomasz nowak from the warehouse".
# The model finds nothing in lower case, and other cues need capitals.
_LOWER_WORD = r"[^\W\d_][^\W\d_'\u2019-]*(?:['\u2019-][^\W\d_]+)*"
_SELF_INTRODUCTION = re.compile(
    r"(?<![\w'\u2019-])(?i:(?:my|his|her|their|[a-z]+['\u2019]s)[ \t]+name[ \t]+is|my[ \t]+name's"
    r"|name[ \t]*:|call[ \t]+me"
    r"|it'?s[ \t]+me[ \t]*,?"
    rf"|this[ \t]+is(?=[ \t]+{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD})?[ \t]+(?:from|here|speaking"
    r"|calling)\b))"
    rf"[ \t]+({_LOWER_WORD}(?:[ \t]+{_LOWER_WORD}){{0,2}})"
)
#: Lower-case words after those cues that are nobody's name ("call me back", "my name
#: is spelled wrong", "name: unknown", "this is jake here").
_NOT_LOWER_NAMES = frozenset(
    " ".join(
        [
            "again here back still also just really very sorry calling speaking writing",
            "from btw lol pls plz thx ty spelled spelt wrong incorrect correct missing",
            "showing listed different same changed new old now later soon tomorrow today",
            "tonight anytime whenever maybe urgently immediately unknown none null test",
            "anonymous na tbd",
            # what follows "this is" and "call me" in a complaint: "this is urgent from ..."
            "urgent important critical serious fine great good bad ok okay awful terrible",
            "ridiculous unacceptable crazy weird strange broken fixed done annoying",
            "frustrating confusing unclear normal possible impossible perfect amazing",
        ]
    ).split()
)


# "i'm sarah connor", "hi, it's tom hanson here", "thanks kwame": the name must end the
# clause (the line, a comma, "here", "from", ...) and no word of it may be one that
# describes how one is ("i'm sorry.", "it's broken here", "thanks again").
_CLAUSE_END = (
    r"(?=[ \t]*(?:[,.!?;:()\-\u2013\u2014]|$)|[ \t]+(?:here|from|speaking|calling|and|with"
    r"|at|btw)\b)"
)
_LOWER_NAME = rf"({_LOWER_WORD}(?:[ \t]+{_LOWER_WORD})?)"
_INTRODUCED_NAME = re.compile(
    r"(?<![\w'\u2019-])(?:(?i:i['\u2019]?m|i[ \t]+am)|(?i:it['\u2019]?s)(?=[ \t]+"
    rf"{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD})?[ \t]+(?:here|from|speaking|calling)\b)"
    r"|(?<![\w'\u2019-])(?i:hi|hey|hello|hiya|yes|yeah)[ \t]*,?[ \t]+(?i:it['\u2019]?s))"
    rf"[ \t]+{_LOWER_NAME}{_CLAUSE_END}",
    re.MULTILINE,
)
# Whom one greets, at the start of a line: "hi olivia, thanks for the help"; and a
# relation named after a comma: "order placed by my son, luca"
_GREETED_NAME = re.compile(
    r"(?:^|(?<=[\n\r\"(]))[ \t]*(?:[^\W\d_]+[ \t]*:[ \t]*)?(?i:hi|hey|hello|hiya|dear)[ \t]+"
    rf"({_LOWER_WORD})(?=[ \t]*(?:[,!.]|$))"
    rf"|\b(?i:my|our)[ \t]+(?:{_RELATIVES}),[ \t]+{_LOWER_NAME}(?=[ \t]*(?:[,.!?;]|$))",
    re.MULTILINE,
)
_THANKED_NAME = re.compile(
    r"(?<![\w'\u2019-])(?i:thanks|thank[ \t]+you|thx|ty|cheers|bye|regards)"
    rf"(?:[ \t]+(?i:so|very)[ \t]+much)?[ \t]*,?[ \t]+{_LOWER_NAME}(?=[ \t]*(?:[,.!]|$))",
    re.MULTILINE,
)
#: Lower-case words that say how someone is or feels ("i'm sorry", "it's broken here"),
#: whom one thanks that is nobody's name ("thanks guys"), and fillers.
_STATES = frozenset(
    " ".join(
        [
            "sorry afraid confused lost stuck done finished ready fine good well alright",
            "happy unhappy sad upset angry mad furious annoyed frustrated disappointed tired",
            "sick ill unwell busy free available away out off home back in on up down late",
            "early new locked charged blocked logged signed based located stranded",
            "worried concerned interested sure unsure certain positive scared",
            "pleased satisfied dissatisfied unsatisfied shocked surprised amazed impressed",
            "desperate stressed exhausted broke alive dead serious curious hungry cold hot",
            "warm dark quiet loud slow fast same similar gone closed open empty full",
            "raining snowing sunny night morning evening midnight noon everything",
            "not never always really totally completely absolutely literally actually",
            "currently still only just also too so very pretty quite super kinda sorta",
            "honestly seriously definitely probably basically genuinely truly fully",
            "nearly almost getting going doing using trying waiting having looking writing",
            "calling contacting reaching messaging asking leaving moving working talking",
            "guys mate man bro dude buddy pal everyone everybody all team folks friends",
            "sir maam madam love babe dear lol haha xx xo anyway though tho heaps alot lots",
            "loads much advance bye cya later cheers appreciated noted received confirmed",
            "resolved sorted solved awesome brilliant nice cool thx ty ya yall",
            "one customer client member user subscriber guest owner buyer seller student",
            "unable able allowed supposed meant told forced required glad grateful owed",
            "outside inside downstairs upstairs abroad overseas nearby outdoors indoors",
            "online offline onsite remote far different free missing pregnant intolerant",
            "patient absent present confident hesitant vegan vegetarian deaf blind single",
            "married divorced widowed retired elderly disabled allergic diabetic autistic",
            "kindly both anyways fam ladies gents lads boys girls hun hon honey sweetie",
            "darling sweetheart people peeps mine yours world quick mum mom dad there",
            "support sales billing service helpdesk admin blank ugh argh sigh omg wtf hmm",
        ]
    ).split()
)
# Shapes of such words: waiting, trying (not ming, jing); subscribed, disgusted (not
# ahmed, mohamed, rasheed, khaled); furious, grateful, impulsive, eligible, homeless;
# originally, currently (not kelly, kimberly).
_STATE_SHAPE = re.compile(
    r"[^\W\d_]{3,}ing|[^\W\d_]{3,}(?<![me])(?<!al)ed|[^\W\d_]+(?:ous|ful|less|able|ible)"
    r"|[^\W\d_]{3,}ive|[^\W\d_]{5,}(?<!er)ly"
)


def _names_no_state(value: str) -> bool:
    """Whether no word of a lower-case name found by :data:`_INTRODUCED_NAME` or
    :data:`_THANKED_NAME` is a state, a filler or a common word."""
    for word in value.split():
        if (
            not word.islower()
            or len(word) < 2
            or word in FUNCTION_WORDS
            or word in NOT_NAMES
            or word in _NOT_LOWER_NAMES
            or word in _STATES
            or _STATE_SHAPE.fullmatch(word)
        ):
            return False
    return True


def lowercase_names(text: str) -> list[Span]:
    """People whose names are written in lower case after a self-introduction."""
    lowered = text.lower()
    spans = [
        Span(*match.span(match.lastindex or 1), "PERSON", WEAK_CUE_SCORE, "ner")
        for pattern, triggers in (
            (_INTRODUCED_NAME, ("i'm", "i\u2019m", "im ", "i am", "it's", "its ", "it\u2019s")),
            (_THANKED_NAME, ("thank", "thx", "ty", "cheers", "bye", "regards")),
            (_GREETED_NAME, ("hi", "hey", "hello", "dear", "my ", "our ")),
        )
        if any(trigger in lowered for trigger in triggers)
        for match in pattern.finditer(text)
        if _names_no_state(match.group(match.lastindex or 1))
    ]
    if not any(cue in lowered for cue in ("name", "call me", "s me", "this is")):
        return spans
    for match in _SELF_INTRODUCTION.finditer(text):
        start = end = match.start(1)
        for word in re.finditer(r"\S+", match.group(1)):
            value = word.group()
            folded = value.lower()
            if (
                not value.islower()
                or len(value) < 2
                or folded in FUNCTION_WORDS
                or folded in NOT_NAMES
                or folded in _NOT_LOWER_NAMES
            ):
                break
            end = match.start(1) + word.end()
        if end > start:
            spans.append(Span(start, end, "PERSON", WEAK_CUE_SCORE, "ner"))
    return spans


def english_cues(text: str) -> list[Span]:
    """People and places found by the English cues of this module."""
    lowered = text.lower()
    spans = list(_people(text, lowered))
    spans.extend(_places(text, lowered))
    spans.extend(_speakers(text))
    return spans


def _is_name(value: str) -> bool:
    words = value.lower().split()
    return bool(words) and not any(
        word in NOT_NAMES or word in FUNCTION_WORDS for word in (words[0], words[-1])
    )


def _person(text: str, match: re.Match[str], group: int, score: float) -> Span | None:
    start, end = match.span(group)
    while end > start and text[end - 1] == ".":
        end -= 1
    value = text[start:end]
    if (
        not _is_name(value)
        or value.lower() in _ADDRESSEES
        or any(word in TEAMS for word in value.lower().split())
        or value.split()[0].lower() in _INTERJECTIONS
        or value.split()[0].lower() in _QUANTIFIERS
        or _LEGAL_FORM_AT_END.search(value)
    ):
        return None
    return Span(start, end, "PERSON", score, "ner")


# Each cue with its score and the strings (lower case) a text must hold for it to match
# at all: a substring test is much cheaper than running the pattern.
_SPEECH_STEMS = (
    "said", "says", "ask", "repl", "told", "tell", "shout", "yell", "wrote", "write", "add",
    "explain", "answer", "whisper", "cried", "exclaim", "laugh", "scream", "texted",
    "emailed", "messaged",
)  # fmt: skip
_CONTACT_STEMS = (
    "call", "phon", "ring", "rang", "text", "mail", "messag", "contact", "ping", "ask",
    "tell", "told", "thank", "remind", "notif", "invit", "cc ", "dm ", "meet", "met ",
    "out to", "talk", "speak", "spoke", "chat", "forward", "escalat", "assign", "hand",
)  # fmt: skip
_DELIVERY_STEMS = (
    "parcel", "packag", "packet", "deliver", "shipment", "letter", "envelope", "consignment",
    "flowers",
)  # fmt: skip
_ROLE_STEMS = (
    "employee", "emp.", "staff", "customer", "client", "patient", "tenant", "driver", "courier",
    "student", "candidate", "applicant", "contractor", "resident", "member", "passenger",
    "guest",
)  # fmt: skip
_STATE_STEMS = (
    "impulsive", "rude", "upset", "angry", "furious", "pregnant", "unwell", "grumpy", "moody",
    "lazy", "nervous", "anxious", "jealous", "depressed", "stressed", "exhausted", "annoyed",
    "impatient", "hostile", "drunk", "divorced", "unemployed", "retired", "injured", "hospitali",
    "unhappy", "arrogant", "selfish", "stubborn", "shy", "sad", "sick", "leave", "holiday",
    "vacation",
)  # fmt: skip
_PERSON_CUES: tuple[tuple[re.Pattern[str], float, tuple[str, ...]], ...] = (
    (_TITLED_NAME, CUE_SCORE, tuple(sorted(TITLE_WORDS))),
    (_NAME_CUE, CUE_SCORE, ("name", "call", " by")),
    (_GREETING, WEAK_CUE_SCORE, ("hi", "hello", "hey", "dear", "greetings", "good")),
    (_SPEECH_BEFORE, WEAK_CUE_SCORE, _SPEECH_STEMS),
    (_SPEECH_AFTER, WEAK_CUE_SCORE, _SPEECH_STEMS),
    (_RELATION, WEAK_CUE_SCORE, ("my ", "our ", "his ", "her ", "their ", "your ", "assistant")),
    (_CONTACT, WEAK_CUE_SCORE, _CONTACT_STEMS),
    (_PERSON_VERB, WEAK_CUE_SCORE, ("live", "work", "born", "grew", "married", "passed")),
    (_PERSON_FIELD, WEAK_CUE_SCORE, (":", "-", "\u2013", "\u2014")),
    (_DISPLAY_NAME, WEAK_CUE_SCORE, ("@",)),
    (
        _SIGN_OFF,
        WEAK_CUE_SCORE,
        ("thank", "regards", "best", "cheers", "sincerely", "yours", "cordially"),
    ),
    (_PRONOUN_AFTER_VERB, WEAK_CUE_SCORE, ("his", "her")),
    (_PRONOUN_AFTER_NAME, WEAK_CUE_SCORE, ("his", "her")),
    (_VOCATIVE, WEAK_CUE_SCORE, (",",)),
    (_NAME_ANSWER, CUE_SCORE, ("?",)),
    (_AIRLINE_NAME, CUE_SCORE, ("/",)),
    (_ADDRESSEE, WEAK_CUE_SCORE, _DELIVERY_STEMS),
    (_PAYMENT_PARTY, WEAK_CUE_SCORE, ("holder", "beneficiary", "payee", "remitter")),
    (_NUMBERED_PERSON, WEAK_CUE_SCORE, _ROLE_STEMS),
    (_PERSON_STATE, WEAK_CUE_SCORE, _STATE_STEMS),
    (_PERSON_STATE_ASKED, WEAK_CUE_SCORE, _STATE_STEMS),
)
_PLACE_CUES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        _PLACE_CUE,
        (
            "liv", "mov", "fl", "trav", "return", "arriv", "based", "born", "locat", "situat",
            "stay", "visit", "trip", "city", "town", "village", "here", "i'm", "i am", "we're",
            "we are", "originally", "home",
        ),
    ),
    (_PLACE_FIELD, (":",)),
)  # fmt: skip


def _people(text: str, lowered: str) -> Iterator[Span]:
    for pattern, score, triggers in _PERSON_CUES:
        if not any(trigger in lowered for trigger in triggers):
            continue
        for match in pattern.finditer(text):
            span = _person(text, match, 1, score)
            if span is not None and not (  # "Package for Monday delivery"
                pattern is _ADDRESSEE
                and (
                    MONTHS_AND_DAYS.fullmatch(match.group(1))
                    or match.group(1).lower() in _OCCASIONS
                )
            ):
                yield span


def _places(text: str, lowered: str) -> Iterator[Span]:
    for pattern, triggers in _PLACE_CUES:
        if not any(trigger in lowered for trigger in triggers):
            continue
        for match in pattern.finditer(text):
            start, end = match.span(1)
            while end > start and text[end - 1] in ".,":
                end -= 1
            value = text[start:end]
            if (
                _is_name(value)
                and _LEGAL_FORM_AT_END.search(value) is None
                and not MONTHS_AND_DAYS.fullmatch(value)  # "moving on Monday"
            ):
                yield Span(start, end, "LOCATION", PLACE_CUE_SCORE, "ner")


def _speakers(text: str) -> list[Span]:
    """Speaker labels of a dialogue: two or more lines of ``Name: speech``."""
    if "\n" not in text:
        return []
    found = [
        m
        for m in _SPEAKER_LINE.finditer(text)
        if m.group(1).lower() not in NOT_NAMES and m.group(1).lower() not in LABELS
    ]
    if len(found) < 2:
        return []
    return [Span(m.start(1), m.end(1), "PERSON", WEAK_CUE_SCORE, "ner") for m in found]
