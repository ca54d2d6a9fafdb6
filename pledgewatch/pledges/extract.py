"""Pledge detection: which sentences report a company's future commitment with a quantity.

Rules, not a model, so that every decision can be explained to an analyst and nothing is
downloaded. A sentence is a pledge when, for some quantity in it (money, or a number of people,
jobs, counties, facilities ...):

1. the nearest verb cue to the left of the quantity is a commitment or future cue ("will",
   "plans to", "pledged", "is expected to help", "has earmarked", "raises its pledge to") and not
   a past one ("had helped", "has sold", "donated", "as of");
2. the clause's subject is a company (named, or a pronoun / descriptor such as "it" or "the
   e-commerce giant" resolved to the company the text is about), not a government body, an
   analyst or a market statistic ("JD's revenue will reach ...");
3. nothing makes it hypothetical ("if", "could", "might").

The future part of a mixed sentence decides, and its quantity is the one extracted. Everything
here is pure (text in, :class:`PledgeCandidate` out); storing and identity live in
``pledgewatch.store.pledges``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import lru_cache

from pledgewatch.config import default_watchlist
from pledgewatch.pledges.regions import find_regions, join_regions

KINDS = ("invest", "jobs", "train", "poverty", "donate", "build", "other")


@dataclass(frozen=True)
class Sentence:
    text: str
    index: int
    start: int
    end: int


@dataclass
class PledgeCandidate:
    """One pledge as one sentence states it."""

    actor: str
    kind: str
    amount_value: float | None
    currency: str | None
    amount_unit: str | None
    qualifier: str | None
    region: str | None
    horizon: str | None
    start_year: int | None
    end_year: int | None
    sentence: str
    sentence_index: int
    start_offset: int
    end_offset: int
    # A conversion printed beside the amount ("($849 million)"): used only to link re-reports.
    alt_amount_value: float | None = None
    alt_currency: str | None = None
    # "raises its pledge to ...": the amount replaces an earlier one.
    is_revision: bool = False
    # "over the next three years": years computed from the publication date, so a re-report a
    # few weeks later may land one year off.
    horizon_relative: bool = False
    # Content words of the pledge's purpose, to tell apart two pledges of the same actor and amount.
    purpose: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = {
    "no",
    "nos",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "e.g",
    "i.e",
    "vs",
    "approx",
    "gov",
    "gen",
    "jr",
    "sr",
    "dept",
    "mt",
    "u.s",
    "u.k",
    "a.m",
    "p.m",
    "fig",
    "est",
}
# Company suffixes end a sentence only when a typical sentence opener follows.
_COMPANY_SUFFIXES = {"inc", "co", "ltd", "corp", "bros", "plc"}
_SENTENCE_OPENERS = {
    "The",
    "It",
    "He",
    "She",
    "They",
    "We",
    "This",
    "That",
    "These",
    "Those",
    "In",
    "On",
    "At",
    "According",
    "But",
    "However",
    "Meanwhile",
    "Also",
    "A",
    "An",
    "Its",
    "Last",
    "Earlier",
}
_BOUNDARY = re.compile(r"[.!?]+[\"”’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with their character offsets in ``text``.

    Lines are paragraphs (the text layer of an article keeps one paragraph per line). Inside a
    line, a full stop ends a sentence unless it belongs to an abbreviation ("No. 1", "Sept. 30"),
    an initial, a company suffix followed by more of the name ("JD.com Inc. said") or a number
    ("$3.12 bn").
    """
    sentences: list[Sentence] = []
    for line in re.finditer(r"[^\n]+", text):
        base = line.start()
        segment = line.group(0)
        start = 0
        for boundary in _BOUNDARY.finditer(segment):
            dot = boundary.start()
            word_match = re.search(r"([\w.'&-]+)$", segment[start:dot])
            word = word_match.group(1) if word_match else ""
            lower = word.lower().rstrip(".")
            if boundary.group(0).startswith(".") and boundary.group(0) == "." * len(boundary.group(0)):
                if lower in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                    continue
                if lower in _COMPANY_SUFFIXES:
                    following = re.match(r"\s+[\"“]?(\w+)", segment[boundary.end() :])
                    if not following or following.group(1) not in _SENTENCE_OPENERS:
                        continue
            end = boundary.end()
            _append(sentences, text, base + start, base + end)
            start = end
        _append(sentences, text, base + start, base + len(segment))
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start < 2:
        return
    sentences.append(Sentence(text[start:end], len(sentences), start, end))


# --------------------------------------------------------------------------- numbers

_WORD_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a hundred": 100,
    "one hundred": 100,
    "half a": 0.5,
}
_SCALES = {
    "trillion": 1e12,
    "tn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
    "hundred": 1e2,
}
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORDS = (
    r"half\s+a|a\s+hundred|one\s+hundred|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
)
_SCALE_WORDS = r"trillion|billion|million|thousand|hundred"
_SCALE_SHORT = r"tn|bn|mn|mln|m|k|b"
# A number: digits with an optional scale ("6 billion", "3.12bn", "849m"), or words that need a
# scale or a unit after them ("one million", "a billion", "two").
_NUMBER = (
    rf"(?:(?P<digits>{_DIGITS})(?:[\s-]*(?P<scale>(?:{_SCALE_WORDS})(?:[\s-]+(?:{_SCALE_WORDS}))?)\b"
    rf"|(?P<short>{_SCALE_SHORT})\b)?"
    rf"|(?P<words>\b(?:{_WORDS})\b|\ban?\b(?=[\s-]+(?:{_SCALE_WORDS})))"
    rf"(?:[\s-]+(?P<wscale>(?:{_SCALE_WORDS})(?:[\s-]+(?:{_SCALE_WORDS}))?)\b)?)"
)

_CURRENCY_BEFORE = {
    "rmb": "CNY",
    "cny": "CNY",
    "¥": "CNY",
    "us$": "USD",
    "usd": "USD",
    "$": "USD",
    "hk$": "HKD",
    "hkd": "HKD",
    "€": "EUR",
    "eur": "EUR",
}
_CURRENCY_AFTER = {
    "yuan": "CNY",
    "rmb": "CNY",
    "renminbi": "CNY",
    "cny": "CNY",
    "us dollars": "USD",
    "u.s. dollars": "USD",
    "dollars": "USD",
    "usd": "USD",
    "hong kong dollars": "HKD",
    "euros": "EUR",
}
_QUALIFIERS = {
    "more than": "more than",
    "over": "more than",
    "above": "more than",
    "in excess of": "more than",
    "upwards of": "more than",
    "exceeding": "more than",
    "at least": "at least",
    "no less than": "at least",
    "not less than": "at least",
    "about": "about",
    "around": "about",
    "approximately": "about",
    "roughly": "about",
    "some": "about",
    "an estimated": "about",
    "nearly": "nearly",
    "almost": "nearly",
    "close to": "nearly",
    "up to": "up to",
    "as much as": "up to",
    "as many as": "up to",
    "another": "additional",
    "an additional": "additional",
    "an extra": "additional",
    "a further": "additional",
}
_QUALIFIER_RE = re.compile(
    r"(?:^|\s)(" + "|".join(sorted((re.escape(q) for q in _QUALIFIERS), key=len, reverse=True)) + r")\s*$",
    re.IGNORECASE,
)

_MONEY_RE = re.compile(
    r"(?P<pre>RMB|CNY|US\$|USD|HK\$|HKD|EUR|\$|¥|€)?\s?"
    + _NUMBER
    + r"(?:[\s-]*(?P<post>yuan|RMB|renminbi|CNY|"
    r"U\.?S\.?\s+dollars|Hong\s+Kong\s+dollars|dollars|USD|euros)\b)?",
    re.IGNORECASE,
)

# Countable things a pledge promises, normalised to one unit name.
_UNITS: dict[str, str] = {}
for _unit, _forms in {
    "jobs": ("jobs", "job", "positions", "job positions", "posts", "vacancies", "job opportunities"),
    "households": ("households", "families"),
    "farmers": ("farmers", "growers", "herdsmen", "fruit growers"),
    "students": ("students", "graduates", "college graduates", "children", "pupils"),
    "teachers": ("teachers",),
    "people": (
        "people",
        "persons",
        "individuals",
        "residents",
        "citizens",
        "villagers",
        "rural residents",
        "professionals",
        "practitioners",
        "talents",
        "veterans",
        "women",
        "youths",
        "young people",
    ),
    "workers": (
        "workers",
        "employees",
        "staff",
        "couriers",
        "deliverymen",
        "riders",
        "staff members",
        "doctors",
        "nurses",
        "medical workers",
        "technicians",
        "drivers",
        "engineers",
        "programmers",
        "developers",
        "researchers",
        "scientists",
    ),
    "entrepreneurs": ("entrepreneurs", "livestreamers", "hosts"),
    "merchants": ("merchants", "sellers", "vendors", "retailers", "shop owners"),
    "enterprises": ("enterprises", "SMEs", "companies", "businesses", "firms", "startups", "brands"),
    "stores": ("stores", "shops", "outlets", "supermarkets", "pharmacies", "restaurants", "showrooms"),
    "warehouses": ("warehouses", "warehouse", "logistics centers", "distribution centers"),
    "facilities": (
        "facilities",
        "facility",
        "plants",
        "factories",
        "hubs",
        "parks",
        "bases",
        "data centers",
        "farms",
        "greenhouses",
        "laboratories",
        "labs",
    ),
    "centers": ("centers", "centres", "center", "centre"),
    "stations": ("stations", "station", "service stations", "delivery stations", "service points"),
    "schools": (
        "schools",
        "libraries",
        "classrooms",
        "colleges",
        "universities",
        "academies",
        "kindergartens",
    ),
    "hospitals": ("hospitals", "clinics"),
    "counties": ("counties", "county"),
    "villages": ("villages", "village", "towns", "townships"),
    "cities": ("cities",),
    "projects": ("projects", "programs", "programmes"),
    "events": ("activities", "events", "shows", "livestreams", "livestreaming sessions", "sessions"),
    "courses": ("courses", "classes", "training sessions"),
    "drones": ("drones", "drone", "unmanned aerial vehicles"),
    "vehicles": ("vehicles", "trucks", "vans", "robots"),
    "tons": ("tons", "tonnes"),
    "hectares": ("hectares", "mu"),
    "trees": ("trees",),
    "scholarships": ("scholarships",),
    "items": ("masks", "meals", "kits", "doses", "medical supplies", "items", "pieces"),
}.items():
    for _form in _forms:
        _UNITS[_form.lower()] = _unit

_NUMBER_RE = re.compile(_NUMBER + r"(?!\s*%|\s*per\s*cent|\s*percent|[\w$])", re.IGNORECASE)
# Words that end the noun phrase after a number ("200 counties with ...", "1,000 tons of ...").
_PHRASE_STOP = {
    "of",
    "in",
    "and",
    "or",
    "to",
    "the",
    "for",
    "from",
    "with",
    "by",
    "on",
    "at",
    "as",
    "per",
    "that",
    "which",
    "who",
    "its",
    "their",
    "this",
    "will",
    "across",
    "into",
    "over",
    "under",
    "a",
    "an",
    "each",
    "every",
    "nationwide",
    "worth",
    "within",
    "between",
    "during",
    "before",
    "after",
    "than",
    "more",
}
_MAX_UNIT_WORDS = 5


def _unit_after(sentence: str, position: int, number_start: int | None = None) -> tuple[str, int] | None:
    """The counted thing after a number: the last unit noun of the phrase that follows it.

    "5,000 village doctors in ..." counts doctors, "300 county-level delivery stations" stations.
    """
    tail = re.sub(r"[\"“”‘]", " ", sentence[position:])
    # "Asia No. 1 warehouses": a brand name inside the phrase, not its end.
    tail = re.sub(r"\bNo\.\s?(?=\d)", lambda m: "No-".ljust(len(m.group(0)), "-"), tail)
    # "small and medium-sized enterprises" is one modifier, not two phrases.
    tail = re.sub(r"\bsmall\s+and\s+medium(?=[\s-])", lambda m: re.sub(r"\s", "-", m.group(0)), tail)
    # "12 of its logistics parks" counts parks.
    tail = re.sub(r"^\s+of\s+(?:its|their|our)\s+", lambda m: " " * len(m.group(0)), tail)
    tokens = list(re.finditer(r"[A-Za-z][\w'’-]*|[^\sA-Za-z]", tail))
    head_text = sentence[: number_start if number_start is not None else position]
    # What a company builds is a facility, whoever it hires or trains is people.
    after_build_verb = bool(_BUILD_VERB_BEFORE.search(head_text))
    after_person_verb = bool(_PERSON_VERB_BEFORE.search(head_text))
    best: tuple[str, int] | None = None
    words = 0
    for index, token in enumerate(tokens):
        word = token.group(0)
        low = word.lower()
        if not word[0].isalpha() or low in _PHRASE_STOP:
            if low == "more" and index == 0:
                continue
            break
        words += 1
        if words > _MAX_UNIT_WORDS:
            break
        two = None
        if index + 1 < len(tokens):
            two = f"{low} {tokens[index + 1].group(0).lower()}"
        # "farmer-merchants" counts merchants: the head of a compound is its last part.
        head = low.rsplit("-", 1)[-1]
        if two in _UNITS:
            best = (_UNITS[two], position + tokens[index + 1].end())
        elif low in _UNITS:
            best = (_UNITS[low], position + token.end())
        elif head in _UNITS and head != low:
            best = (_UNITS[head], position + token.end())
        elif (
            best is None
            and after_build_verb
            and re.fullmatch(r"[a-z]+s", low)
            and low not in _NOT_FACILITIES
            and (
                index + 1 >= len(tokens)
                or not tokens[index + 1].group(0)[0].isalpha()
                or tokens[index + 1].group(0).lower() in _PHRASE_STOP
            )
        ):
            # "open 1,000 pharmacies", "build 50 libraries": what a company builds is a facility.
            best = ("facilities", position + token.end())
        elif (
            best is None
            and after_person_verb
            and re.fullmatch(r"[a-z]+s", low)
            and (
                index + 1 >= len(tokens)
                or not tokens[index + 1].group(0)[0].isalpha()
                or tokens[index + 1].group(0).lower() in _PHRASE_STOP
            )
        ):
            # "recruit 10,000 veterans": whatever a company hires or trains is people.
            best = ("people", position + token.end())
    return best


_BUILD_VERB_BEFORE = re.compile(
    r"\b(?:build|building|construct|constructing|open|opening|set\s+up|setting\s+up|establish|establishing)\s+"
    r"(?:about\s+|over\s+|more\s+than\s+|up\s+to\s+|another\s+|some\s+|nearly\s+|at\s+least\s+)?$",
    re.IGNORECASE,
)
_NOT_FACILITIES = {
    "years",
    "months",
    "days",
    "weeks",
    "times",
    "percent",
    "yuan",
    "dollars",
    "users",
    "orders",
}
_PERSON_VERB_BEFORE = re.compile(
    r"\b(?:hire|hiring|recruit|recruiting|employ|employing|train|training|cultivate|cultivating|educate|"
    r"offer\s+jobs\s+to|help)\s+(?:about\s+|over\s+|more\s+than\s+|up\s+to\s+|as\s+many\s+as\s+|another\s+|"
    r"some\s+|nearly\s+|at\s+least\s+)?$",
    re.IGNORECASE,
)


def _number_value(match: re.Match[str]) -> float | None:
    digits = match.group("digits")
    if digits:
        value = float(digits.replace(",", ""))
        scale = match.group("scale")
        short = match.group("short")
        if scale:
            for word in re.split(r"[\s-]+", scale.lower()):
                value *= _SCALES[word]
        elif short:
            value *= _SCALES[short.lower()]
        return value
    words = match.group("words")
    if words:
        base = _WORD_NUMBERS.get(re.sub(r"\s+", " ", words.lower()))
        if base is None:
            return None
        wscale = match.group("wscale")
        if wscale:
            for word in re.split(r"[\s-]+", wscale.lower()):
                base *= _SCALES[word]
        elif words.lower() in ("a", "an", "half a"):
            return None
        return float(base)
    return None


@dataclass
class Quantity:
    start: int
    end: int
    value: float
    currency: str | None
    unit: str | None
    qualifier: str | None
    # Inside brackets right after another amount, or "or $X": a conversion, not a new amount.
    is_conversion: bool = False


_YEAR_LIKE = re.compile(r"^(?:19|20)\d\d$")


def find_quantities(sentence: str) -> list[Quantity]:
    """Money amounts and counts of things in ``sentence``, in order, without overlaps."""
    found: list[Quantity] = []
    for match in _MONEY_RE.finditer(sentence):
        pre, post = match.group("pre"), match.group("post")
        if not (pre or post):
            continue
        if not (match.group("digits") or match.group("wscale")):
            continue
        value = _number_value(match)
        if value is None:
            continue
        if pre and pre.lower() == "$" and match.start() > 0 and sentence[match.start() - 1].isalpha():
            # "HK$" and "US$" are matched whole; a bare "S$"/"NT$" is not ours.
            continue
        currency = _CURRENCY_BEFORE.get(pre.lower()) if pre else None
        if currency is None and post:
            currency = _CURRENCY_AFTER.get(re.sub(r"\s+", " ", post.lower()))
        start = match.start() if pre else match.start("digits") if match.group("digits") else match.start()
        found.append(Quantity(start, match.end(), value, currency, None, None))
    for match in _NUMBER_RE.finditer(sentence):
        if any(q.start <= match.start() < q.end or match.start() <= q.start < match.end() for q in found):
            continue
        digits = match.group("digits")
        if not (digits or match.group("words")):
            continue
        if digits and _YEAR_LIKE.match(digits) and not match.group("scale"):
            continue
        if match.start() > 0 and (
            sentence[match.start() - 1] in "$¥€.-/:" or sentence[match.start() - 1].isalpha()
        ):
            continue
        if re.search(r"\bNo\.?\s*$", sentence[: match.start()]):
            continue
        value = _number_value(match)
        if value is None:
            continue
        unit = _unit_after(sentence, match.end(), match.start())
        if unit is None:
            continue
        start = match.start("digits") if digits else match.start("words")
        quantity = Quantity(start, unit[1], value, None, unit[0], None)
        if re.match(r"\s+more\b", sentence[match.end() :]):
            quantity.qualifier = "additional"
        found.append(quantity)
    found.sort(key=lambda q: q.start)
    for index, quantity in enumerate(found):
        before = sentence[: quantity.start]
        qualifier = _QUALIFIER_RE.search(before)
        if qualifier and quantity.qualifier is None:
            quantity.qualifier = _QUALIFIERS[re.sub(r"\s+", " ", qualifier.group(1).lower())]
        if index and found[index - 1].currency and quantity.currency:
            gap = sentence[found[index - 1].end : quantity.start]
            if re.fullmatch(
                r"\s*(?:\(\s*(?:about|around|approximately|roughly|some)?\s*|,?\s*or\s+(?:about\s+)?)", gap
            ):
                quantity.is_conversion = True
    return found


# --------------------------------------------------------------------------- cues

# Cues that put what follows in the future, or make it a commitment.
_FUTURE_CUES = [
    r"will(?:\s+also|\s+further|\s+jointly|\s+continue\s+to)?",
    r"['’]ll",
    r"would",
    r"shall",
    r"plans?\s+to",
    r"planning\s+to",
    r"planned\s+to",
    r"(?:has|have|had)\s+planned",
    r"is\s+planning",
    r"aims?\s+to",
    r"aiming\s+to",
    r"aimed\s+to",
    r"(?:has\s+|have\s+)?pledged(?:\s+to)?",
    r"pledges?(?:\s+to)?",
    r"pledging\s+to",
    r"(?:has\s+|have\s+)?(?:promised|vowed)(?:\s+to)?",
    r"promises\s+to",
    r"vows\s+to",
    r"(?:is|are)\s+committed\s+to",
    r"(?:has\s+|have\s+)?committed(?:\s+to)?",
    r"commits\s+to",
    r"intends?\s+to",
    r"expects?\s+to",
    r"(?:is|are|was|were)\s+expected\s+to",
    r"expected\s+to",
    r"(?:is|are)\s+set\s+to",
    r"(?:is|are)\s+going\s+to",
    r"(?:is|are)\s+to",
    r"seeks?\s+to",
    r"targets?",
    r"(?:has\s+|have\s+)?set\s+(?:a|an|the|itself\s+a)\s+(?:[\w-]+\s+)?(?:target|goal)\s+(?:of|to)",
    r"(?:target|goal)\s+(?:of|is\s+to)",
    r"hopes?\s+to",
    r"(?:has\s+|have\s+)?earmarked",
    r"earmarks?",
    r"(?:has\s+|have\s+)?set\s+aside",
    r"sets\s+aside",
    r"(?:has\s+|have\s+)?allocated",
    r"allocates?",
    r"to\s+(?:invest|build|create|donate|train|provide|set\s+up|open|hire|recruit|help|add|spend|inject|pour|sell|"
    r"buy|purchase|procure|source|contribute|cultivate|establish)",
    r"(?:over|in|within|during)\s+the\s+(?:next|coming)",
    r"by\s+(?:the\s+end\s+of\s+)?20\d\d",
]
_REVISION_CUE = (
    r"(?:rais|increas|boost|lift|expand|doubl|up|rais)(?:es|ed|ing|s|e)?\s+(?:its|the|their|his|her)?\s*"
    r"(?:[\w-]+\s+){0,3}?(?:pledge|commitment|investment(?:\s+plan)?|target|budget|donation|plan)s?"
)
_PAST_CUES = [
    r"(?:had|has|have)\s+(?:already\s+|so\s+far\s+|also\s+|now\s+)?(?:been\s+)?\w+(?:ed|en|ne|wn|ld|lt|ht|ut|un|ng)\b",
    r"(?:invested|donated|sold|helped|achieved|raised|provided|created|trained|lifted|launched|opened|built|"
    r"spent|completed|delivered|reached|recorded|exceeded|distributed|hired|employed|generated|totaled|totalled|"
    r"posted|recycled|collected|registered|found|signed|set\s+up|established|brought|put|gave|offered|"
    r"contributed|shipped|handled|covered|benefited|benefitted|attracted|served|was|were|grew|rose|jumped|"
    r"surged|increased|accounted|exempted|announced\s+(?=[\w\s-]*\d))",
    r"as\s+of",
    r"so\s+far",
    r"to\s+date",
    r"in\s+the\s+past",
    r"over\s+the\s+(?:past|last)",
    r"last\s+year",
    r"since\s+(?:19|20)\d\d",
    r"from\s+\w+\s+(?:19|20)\d\d\s+to",
]
_CUE_RE = re.compile(
    "|".join(
        [rf"(?P<rev>\b{_REVISION_CUE}\b)"]
        + [
            rf"(?P<fut{i}>\b{c}\b)" if c[0] != "[" else rf"(?P<fut{i}>{c}\b)"
            for i, c in enumerate(_FUTURE_CUES)
        ]
        + [rf"(?P<past{i}>\b{c}\b)" for i, c in enumerate(_PAST_CUES)]
    ),
    re.IGNORECASE,
)
_DENIAL_RE = re.compile(
    r"\b(?:denied|denies|deny|dismissed|rejected|refuted)\b|\bno\s+plans?\s+to\b|\b(?:will|would|does|did)\s+not\b|"
    r"\bwon['’]t\b|\bnot\s+(?:plan|intend|expect)|\bruled\s+out\b|\bscrapped\b|\bcancel+ed\b|\bshelved\b",
    re.IGNORECASE,
)
# Money a company raises, receives or pays for a deal is not something it pledges to spend.
_FINANCE_RE = re.compile(
    r"\b(?:IPO|initial\s+public\s+offering|listing|share\s+sale|placement|bonds?|notes|"
    r"funding\s+round|valuation|buyback|repurchase|dividends?|acquisition|takeover|merger|stake)\b"
    r"|\b(?:raise|raising|receive|receiving|secure|securing|obtain|acquire|acquiring|borrow|borrowing|"
    r"repurchase|buy\s+back)\b",
    re.IGNORECASE,
)


def _is_finance(sentence: str, cue_start: int, quantity: Quantity) -> bool:
    """Capital raising or a deal around the amount, unless the amount's own verb is "invest"
    ("would raise its stake in Cainiao ... by investing 5.3 billion yuan" is a pledge)."""
    finance = list(_FINANCE_RE.finditer(sentence, cue_start, min(len(sentence), quantity.end + 60)))
    if not finance:
        return False
    last_before = max((m.end() for m in finance if m.start() < quantity.start), default=cue_start)
    return not _INVEST_VERB_RE.search(sentence, last_before, quantity.start)


_CONDITIONAL_RE = re.compile(
    r"\b(?:if|unless|provided\s+that|could|might|would\s+have|hypothetical(?:ly)?|in\s+theory|"
    r"were\s+it|should\s+\w+\s+be\s+approved)\b|\bmay\b"
)
# Words after the quantity that put it in the past despite a future cue further left.
_PAST_AFTER_RE = re.compile(
    r"^[^.;]{0,60}?\b(?:last\s+year|so\s+far|to\s+date|in\s+the\s+past|over\s+the\s+past|ago|previously|"
    r"already|as\s+of)\b",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------- actors

# Companies outside the watch list that the outlets report pledges of: alias -> canonical name.
KNOWN_COMPANIES: dict[str, tuple[str, ...]] = {
    "Alibaba": (
        "Alibaba",
        "Alibaba Group",
        "Alibaba Group Holding",
        "Taobao",
        "Tmall",
        "Ant Group",
        "Alipay",
        "Cainiao",
    ),
    "Pinduoduo": ("Pinduoduo", "PDD", "Pinduoduo Inc"),
    "Suning": ("Suning", "Suning.com", "Suning Cloud Store", "Suning Holdings", "Suning Group"),
    "Tencent": ("Tencent", "Tencent Holdings", "WeChat"),
    "Meituan": ("Meituan", "Meituan Dianping"),
    "Douyin": ("Douyin",),
    "ByteDance": ("ByteDance",),
    "Baidu": ("Baidu",),
    "Kuaishou": ("Kuaishou",),
    "Xiaomi": ("Xiaomi",),
    "Huawei": ("Huawei",),
    "Didi": ("Didi", "Didi Chuxing"),
    "NetEase": ("NetEase",),
    "Vipshop": ("Vipshop",),
    "Haier": ("Haier",),
    "Lenovo": ("Lenovo",),
    "SF Express": ("SF Express",),
    "Walmart": ("Walmart",),
    "Beidahuang Group": ("Beidahuang Group", "Beidahuang"),
}
# The configuration's default watch list, so pledges and relevance agree without a config file.
_DEFAULT_WATCHLIST: dict[str, tuple[str, ...]] = {
    entity.name: tuple(entity.aliases) for entity in default_watchlist()
}
_COMPANY_PATTERN = re.compile(
    r"\b(?!The\b|A\b|An\b|This\b)((?:[A-Z][\w&'.-]*\s+){1,3}?)(Group|Co\.?|Company|Inc\.?|Corp\.?|Corporation|"
    r"Ltd\.?|Holdings|Technologies)(?!\w)"
)
_PRONOUN_RE = re.compile(
    r"\b(?:it|its|we|our|they|their|which|the\s+(?:[\w-]+\s+){0,2}?(?:company|firm|group|giant|retailer|e-tailer|"
    r"platform|major|player|operator|conglomerate|partners|two\s+sides|parties|tech\s+firm))\b"
    r"|\bthe\s+(?:[\w-]+\s+){0,2}?(?:project|program|programme|plan|initiative|cooperation|partnership|agreement|"
    r"deal|investment|fund|center|centre|facility|park|base|hub|campaign|scheme|venture)\b",
    re.IGNORECASE,
)
_GOVERNMENT_RE = re.compile(
    r"\b(?:government|governments|ministry|council|office|commission|bureau|authorities|administration|"
    r"department|officials?|state|country|nation|province|provinces|city|municipality|county|prefecture|"
    r"party|NDRC|PBOC|MOFCOM|central\s+bank|regulators?|premier|president\s+Xi|Xi\s+Jinping|China|Beijing|"
    r"provincial|municipal|local\s+authorities|the\s+region|governor|mayor)\b"
    # "State" alone, not "state-owned"; proper names (China, Beijing) keep their capital.
    r"(?!-owned)",
    re.IGNORECASE,
)
_ANALYST_RE = re.compile(
    r"\b(?:analysts?|research|researchers|estimates?|forecasts?|consultancy|consultants|brokerage|"
    r"iResearch|Morgan\s+Stanley|Goldman\s+Sachs|Nomura|Mizuho|eMarketer|Statista|economists?|survey|"
    r"report\s+(?:by|from)|according\s+to\s+(?:a|the)\s+(?:report|study|forecast))\b",
    re.IGNORECASE,
)
_STAT_RE = re.compile(
    r"\b(?:revenue|revenues|sales|GMV|turnover|profit|profits|earnings|income|market|markets|transactions|"
    r"orders|users|shoppers|consumers|valuation|value|prices|exports|imports|output|GDP|economy|spending|"
    r"volume|volumes|share|shares|growth|population|size|traffic|parcels|packages|deliveries)\b",
    re.IGNORECASE,
)


_STAT_BEFORE_RE = re.compile(
    _STAT_RE.pattern
    + r"\s+(?:(?:of|to|at|will|would|reach\w*|top\w*|exceed\w*|hit\w*|surpass\w*|grow\w*|ris\w*|increas\w*|"
    r"be|by)\s+){1,3}(?:more\s+than\s+|about\s+|over\s+|some\s+)?$|" + _STAT_RE.pattern + r"\s*$",
    re.IGNORECASE,
)


# Subjects that are events or documents, not actors: "The festival will feature 5,000 sessions".
_NON_ACTOR_RE = re.compile(
    r"\b(?:festival|event|fair|expo|exhibition|conference|forum|summit|report|survey|study|index|ranking|"
    r"season|holiday|ceremony|promotion|sale)s?\b",
    re.IGNORECASE,
)


class ActorResolver:
    """Finds company names in text and normalises them to the watch list or a known company."""

    def __init__(self, watchlist: dict[str, Sequence[str]] | None = None) -> None:
        table: dict[str, str] = {}
        for name, aliases in KNOWN_COMPANIES.items():
            for alias in aliases:
                table[alias.lower()] = name
        self.watched: set[str] = set()
        for name, aliases in (watchlist if watchlist is not None else _DEFAULT_WATCHLIST).items():
            self.watched.add(name)
            for alias in (name, *aliases):
                if alias.strip():
                    table[alias.strip().lower()] = name
        self._table = table
        names = sorted(table, key=len, reverse=True)
        self._pattern = re.compile(
            "|".join(rf"(?<![\w]){re.escape(n)}(?![\w])" if n.isascii() else re.escape(n) for n in names),
            re.IGNORECASE,
        )

    @classmethod
    def from_entities(cls, entities: Iterable[object]) -> ActorResolver:
        """From config ``WatchEntity`` objects (anything with ``name`` and ``aliases``)."""
        return cls({e.name: list(e.aliases) for e in entities})  # type: ignore[attr-defined]

    def companies(self, text: str) -> list[tuple[int, int, str]]:
        """Company mentions: (start, end, canonical name), in order."""
        found: list[tuple[int, int, str]] = []
        for match in self._pattern.finditer(text):
            surface = match.group(0)
            # Aliases are proper nouns: "jd" in a URL-ish lowercase word is not a mention,
            # and an e-mail address ("liuchang61@jd.com") neither.
            if surface[:1].islower() and surface.isascii():
                continue
            if match.start() > 0 and text[match.start() - 1] in "@./":
                continue
            found.append((match.start(), match.end(), self._table[surface.lower()]))
        for match in _COMPANY_PATTERN.finditer(text):
            if any(s <= match.start() < e or match.start() <= s < match.end() for s, e, _ in found):
                continue
            head = match.group(1).strip()
            if _GOVERNMENT_RE.search(head) or head.split()[0] in _SENTENCE_OPENERS:
                continue
            name = f"{head} {match.group(2).rstrip('.')}"
            canonical = self._table.get(name.lower()) or self._table.get(head.lower()) or name
            found.append((match.start(), match.end(), canonical))
        found.sort()
        return found

    def normalise(self, name: str) -> str:
        """A user's actor filter ("jd", "Jingdong") as stored; unknown names are kept as given."""
        return self._table.get(name.strip().lower(), name.strip())


@lru_cache(maxsize=1)
def default_resolver() -> ActorResolver:
    """The built-in watch list (JD.com) and known companies, compiled once."""
    return ActorResolver()


def subject_company(resolver: ActorResolver, text: str) -> str | None:
    """The company an article is about: the most mentioned, watch-list companies first on ties."""
    counts = Counter(name for _, _, name in resolver.companies(text))
    if not counts:
        return None
    return max(counts, key=lambda n: (counts[n], n in resolver.watched))


def _sentence_subject(resolver: ActorResolver, sentence: str) -> str | None:
    """The company a sentence is about: its first company mention that is not a possessive modifier."""
    mentions = resolver.companies(sentence)
    for _start, end, name in mentions:
        following = sentence[end : end + 2]
        if following in ("'s", "’s") and re.match(
            r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]
        ):
            continue
        return name
    return mentions[0][2] if mentions else None


# --------------------------------------------------------------------------- horizon

# Spelled-out numbers of horizons ("over the next three years"); templating reads them too.
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "decade": 10,
}
_HORIZON_RES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:between|from)\s+(?P<a>(?:19|20)\d\d)\s+(?:and|to|through)\s+(?P<b>(?:19|20)\d\d)\b",
            re.IGNORECASE,
        ),
        "range",
    ),
    (re.compile(r"\b(?:during|in|for)?\s*(?:the\s+)?(?P<a>20\d\d)\s*[-–]\s*(?P<b>(?:20)?\d\d)\b"), "range"),
    (
        re.compile(
            r"\b(?:over|in|within|during|for)\s+(?:the\s+)?(?:next|coming|following)\s+(?:(?:\d+|one|two|three|four|"
            r"five|six|seven|eight|nine)\s+(?:to|or)\s+)?(?P<n>\d+|one|two|three|four|"
            r"five|six|seven|eight|nine|ten)\s+years\b"
            r"|\b(?:over|in|within|during)\s+the\s+(?:next|coming)\s+(?P<d>decade)\b"
            r"|\b(?:within|over)\s+(?:a\s+period\s+of\s+)?(?P<n2>\d+|two|three|four|five|six|seven|eight|ten)\s+years\b"
            r"|\bin\s+(?P<n3>two|three|four|five|ten|\d)\s+years(?:['’]\s*time)?\b",
            re.IGNORECASE,
        ),
        "relative",
    ),
    (re.compile(r"\bby\s+(?:the\s+end\s+of\s+)?(?:the\s+year\s+)?(?P<b>20\d\d)\b", re.IGNORECASE), "by"),
    (re.compile(r"\bby\s+(?:the\s+end\s+of\s+)?(?P<next>next|this)\s+year\b", re.IGNORECASE), "by-relative"),
    (re.compile(r"\b(?P<this>this|next)\s+year\b(?!['’]s)", re.IGNORECASE), "year"),
    (
        re.compile(
            r"\b(?:in|over|within|during)\s+the\s+(?:coming|next|following)\s+(?:few\s+)?(?:\w+\s+)?(?:weeks|months|days)\b"
            r"|\bbetween\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)"
            r"\s+and\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)\b"
            r"|\bby\s+the\s+end\s+of\s+(?:the\s+year|(?:January|February|March|April|May|June|July|August|September|"
            r"October|November|December))\b",
        ),
        "this-year",
    ),
    (
        re.compile(
            r"\b(?:in|during|for|throughout)\s+(?:the\s+)?(?:fiscal\s+(?:year\s+)?)?(?P<a>20\d\d)\b(?!\s*[-–])"
            r"(?:\s+fiscal\s+year)?",
            re.IGNORECASE,
        ),
        "single",
    ),
]


@dataclass(frozen=True)
class Horizon:
    start: int
    end: int
    text: str
    start_year: int | None
    end_year: int | None
    relative: bool


def find_horizons(sentence: str, published: date | None) -> list[Horizon]:
    """Every time-frame phrase in ``sentence`` with the years it stands for, in text order."""
    year = published.year if published else None
    found: list[Horizon] = []
    for pattern, kind in _HORIZON_RES:
        for match in pattern.finditer(sentence):
            if any(h.start <= match.start() < h.end or match.start() <= h.start < match.end() for h in found):
                continue
            text = match.group(0).strip()
            span = (match.start() + len(match.group(0)) - len(match.group(0).lstrip()), match.end())
            if kind == "range":
                a = int(match.group("a"))
                b_text = match.group("b")
                b = int(b_text) if len(b_text) == 4 else (a // 100) * 100 + int(b_text)
                if b < a:
                    continue
                found.append(Horizon(*span, text, a, b, False))
            elif kind == "relative":
                n_text = match.group("n") or match.group("n2") or match.group("n3") or match.group("d")
                n = int(n_text) if n_text.isdigit() else NUMBER_WORDS.get(n_text.lower(), 0)
                found.append(Horizon(*span, text, year, year + n if year else None, True))
            elif kind == "by":
                b = int(match.group("b"))
                found.append(Horizon(*span, text, year if year and year <= b else None, b, False))
            elif kind == "by-relative":
                b = (year + (1 if match.group("next").lower() == "next" else 0)) if year else None
                found.append(Horizon(*span, text, year, b, True))
            elif kind == "this-year":
                found.append(Horizon(*span, text, year, year, True))
            elif kind == "year":
                y = (year if match.group("this").lower() == "this" else year + 1) if year else None
                found.append(Horizon(*span, text, y, y, True))
            elif kind == "single":
                a = int(match.group("a"))
                if year is not None and a < year:
                    continue
                found.append(Horizon(*span, text, a, a, False))
    found.sort(key=lambda h: h.start)
    return found


def find_horizon(sentence: str, published: date | None) -> tuple[str | None, int | None, int | None, bool]:
    """(horizon text, start year, end year, relative?) of the first time frame in ``sentence``."""
    horizons = find_horizons(sentence, published)
    if not horizons:
        return None, None, None, False
    h = horizons[0]
    return h.text, h.start_year, h.end_year, h.relative


# --------------------------------------------------------------------------- kinds

_KIND_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("poverty", re.compile(r"\bpoverty\b|\bimpoverished\b|\bpoor\b|out of poverty", re.IGNORECASE)),
    (
        "train",
        re.compile(r"\btrain\w*|\bteach\w*|\beducat\w*|\bskills?\b|\bcultivat\w*|\btutor\w*", re.IGNORECASE),
    ),
    (
        "build",
        re.compile(
            r"\bbuild\w*|\bconstruct\w*|\bset\s+up\b|\bopen\w*|\bestablish\w*|\blaunch\w*|\binstall\w*|\bdeploy\w*",
            re.IGNORECASE,
        ),
    ),
]
_DONATE_RE = re.compile(
    r"\bdonat\w*|\bcontribut\w*|\bcharit\w*|\brelief\b|\bgift\w*|\bgive\b|\bgiving\b|\bpublic\s+welfare\b|"
    r"\bin\s+aid\b|\bscholarship",
    re.IGNORECASE,
)
# Money a company promises to move through its platform (sales, purchases) is not an investment.
_TRADE_RE = re.compile(
    r"\b(?:sell|sales|purchas\w*|procure\w*|buy|source|worth\s+of|orders|consumption\s+vouchers|coupons)\b",
    re.IGNORECASE,
)
_JOBS_VERB_RE = re.compile(
    r"\b(?:hire|hiring|recruit\w*|employ\w*|jobs?|workforce|headcount)\b", re.IGNORECASE
)
_BUILD_UNITS = {"warehouses", "facilities", "centers", "stations", "schools", "hospitals", "stores"}
_POVERTY_UNITS = {"people", "households", "farmers", "counties", "villages", "students"}
_TRAIN_UNITS = {
    "people",
    "farmers",
    "students",
    "teachers",
    "workers",
    "entrepreneurs",
    "merchants",
    "households",
}


_DONATE_VERB_RE = re.compile(
    r"\b(?:donat\w*|contribut\w*|give|giving|gives|grant|provide\s+relief)\b", re.IGNORECASE
)
_INVEST_VERB_RE = re.compile(
    r"\b(?:invest\w*|spend\w*|inject\w*|pour\w*|put|plough\w*|channel\w*|allocat\w*|earmark\w*|"
    r"set\s+aside|set\s+up|establish|fund)\b",
    re.IGNORECASE,
)


def _kind(quantity: Quantity, clause: str, window: str, after: str, donor: bool = False) -> str:
    """The kind of pledge, from the counted unit and the verbs around the quantity.

    ``window`` runs from the commitment cue to the quantity ("will invest"), ``after`` is what
    follows the quantity ("... in donations"), ``clause`` the whole clause of the quantity.
    """
    if quantity.unit == "jobs":
        return "jobs"
    if quantity.currency:
        if _DONATE_VERB_RE.search(window):
            return "donate"
        if _TRADE_RE.search(window) or re.match(
            r"\s*(?:worth\s+of|of\s+(?:goods|products|coupons)|in\s+(?:[\w-]+\s+)?(?:vouchers|coupons|discounts))",
            after,
        ):
            return "other"
        verbs = [(m.start(), "donate") for m in _DONATE_VERB_RE.finditer(window)]
        verbs += [(m.start(), "invest") for m in _INVEST_VERB_RE.finditer(window)]
        if verbs:
            return max(verbs)[1] if not donor else "donate"
        if donor or _DONATE_RE.search(after):
            return "donate"
        return "invest"
    if _DONATE_VERB_RE.search(window):
        return "donate"
    if (
        quantity.unit in ("workers", "people", "students")
        and _JOBS_VERB_RE.search(clause)
        and not _KIND_RULES[1][1].search(clause)
    ):
        return "jobs"
    for kind, pattern in _KIND_RULES:
        if kind == "build" and quantity.unit not in _BUILD_UNITS:
            continue
        if kind == "poverty" and quantity.unit not in _POVERTY_UNITS:
            continue
        if kind == "train" and quantity.unit not in _TRAIN_UNITS:
            continue
        if pattern.search(clause):
            return kind
    return "other"


# --------------------------------------------------------------------------- extraction

_STOPWORDS = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "with",
        "by",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "will",
        "would",
        "its",
        "it",
        "their",
        "this",
        "that",
        "these",
        "those",
        "more",
        "than",
        "over",
        "about",
        "around",
        "up",
        "into",
        "over",
        "next",
        "three",
        "two",
        "years",
        "year",
        "million",
        "billion",
        "yuan",
        "rmb",
        "dollars",
        "company",
        "which",
        "who",
        "also",
        "said",
        "says",
        "help",
        "new",
        "local",
        "through",
        "such",
        "other",
        "all",
        "per",
        "has",
        "have",
        "had",
        "while",
        "can",
        "could",
        "should",
        "shall",
        "may",
        "might",
        "plan",
        "plans",
        "aims",
        "aim",
        "pledged",
        "pledge",
        "pledges",
        "invest",
        "investment",
        "commit",
        "committed",
        "commitment",
        "announced",
        "including",
        "into",
        "out",
        "than",
        "expected",
        "boost",
    ]
)
# Words every report of this beat uses: they say nothing about which pledge it is.
_STOPWORDS |= set(
    [
        "provincial",
        "government",
        "governments",
        "agreement",
        "agreements",
        "signed",
        "online",
        "local",
        "city",
        "county",
        "province",
        "official",
        "officials",
        "companies",
        "group",
        "firm",
        "e-commerce",
        "platform",
        "platforms",
        "china",
        "chinese",
        "country",
        "national",
        "nationwide",
        "daily",
        "learned",
    ]
)


def purpose_words(text: str, names: Iterable[str]) -> list[str]:
    """Content words (6-letter stems) that say what a pledge is for, to tell two pledges apart.

    Names, units, numbers and places are left out: they are compared on their own.
    """
    skip = {n.lower() for n in names}
    for _, _, provinces in find_regions(text):
        skip.update(p.lower() for p in provinces)
    words: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z-]+", text):
        low = word.lower()
        if low in _STOPWORDS or low in skip or len(low) < 4 or low in _WORD_NUMBERS:
            continue
        if low in _SCALES or low in _QUALIFIERS or re.fullmatch(r"(?:19|20)\d\d", low):
            continue
        stem = low[:6]
        if stem not in words:
            words.append(stem)
    return words


def _clause_start(sentence: str, position: int) -> int:
    """Where the clause around ``position`` begins: after "that", a semicolon or an opening quote."""
    head = sentence[:position]
    best = 0
    for match in re.finditer(r"[;:“”\"]|\b(?:that|which|while|whereas|but|after|before)\b", head):
        if match.group(0).lower() == "which":
            # A relative clause already closed by a comma ("X, which opened ..., plans to") is
            # parenthetical: the clause goes on from before it.
            if "," in head[match.end() :]:
                continue
            best = match.start()
        else:
            best = match.end()
    return best


@dataclass
class _Context:
    resolver: ActorResolver
    published: date | None
    subject: str | None
    previous_subjects: list[str]
    # (sentence index, provinces) of the last sentences that named a place.
    previous_regions: list[tuple[int, str]] = field(default_factory=list)
    sentence_index: int = 0


def _resolve_actor(sentence: str, cue_start: int, ctx: _Context) -> tuple[str | None, str]:
    """(actor, why) for the clause whose verb cue starts at ``cue_start``; actor None = not a company."""
    clause_start = _clause_start(sentence, cue_start)
    # Appositives and relative clauses between commas ("Walmart, a partner of JD, plans to";
    # "The retailer, which opened a Sichuan warehouse in 2012, plans to") are not the subject.
    span = _mask_parentheticals(sentence[clause_start:cue_start])
    companies = [m for m in ctx.resolver.companies(sentence) if m[0] < cue_start]
    in_span = [
        m
        for m in companies
        if m[0] >= clause_start and span[m[0] - clause_start : m[1] - clause_start].strip()
    ]
    # The nearest typed word left of the cue decides whose commitment it is.
    nearest: list[tuple[int, str]] = []
    for _, end, _ in in_span:
        nearest.append((end, "company"))
    for match in _STAT_RE.finditer(span):
        # "JD's revenue will reach": a statistic is the subject, not a commitment.
        nearest.append((clause_start + match.end(), "stat"))
    for match in _PRONOUN_RE.finditer(span):
        nearest.append((clause_start + match.end(), "pronoun"))
    # A place or an authority after a preposition ("confident in Northeast China", "met with the
    # governor") is an object, not the subject.
    # An authority or a place is the subject only at the end of the span, right before the verb
    # ("Hubei province plans to", "China aims to"), not as a modifier ("its first Sichuan warehouse").
    subject_zone = _last_words_start(span, 4)
    for match in _GOVERNMENT_RE.finditer(span):
        if match.start() >= subject_zone and not _after_preposition(span, match.start()):
            nearest.append((clause_start + match.end(), "government"))
    for match in _ANALYST_RE.finditer(span):
        nearest.append((clause_start + match.end(), "analyst"))
    for match in _NON_ACTOR_RE.finditer(span):
        nearest.append((clause_start + match.end(), "non-actor"))
    for start, end, _ in find_regions(span):
        if start >= subject_zone and not _after_preposition(span, start):
            nearest.append((clause_start + end, "government"))
    nearest.sort()
    last = nearest[-1][1] if nearest else None
    if last in ("stat", "analyst", "non-actor"):
        return None, last
    if in_span and last in ("company", None):
        return in_span[-1][2], "named"
    if last == "government" and not in_span:
        # "JD and the provincial government will ..." keeps JD; a government alone is no company.
        return None, "government"
    if in_span:
        return in_span[-1][2], "named"
    if last == "pronoun" and len(nearest) > 1 and nearest[-2][1] == "government":
        # "The commerce ministry said it will ...": the pronoun is the authority.
        return None, "government"
    # Pronoun, descriptor or no subject: the company this sentence, or the text, is about.
    if re.search(r"\b(?:we|our)\b", span, re.IGNORECASE):
        after = ctx.resolver.companies(sentence[cue_start:])
        if after:
            return after[0][2], "speaker"
    if companies:
        return _first_non_possessive(sentence, companies), "coreference"
    after = ctx.resolver.companies(sentence[cue_start:])
    speaker = re.search(r"\b(?:said|says|according to)\b", sentence[cue_start:], re.IGNORECASE)
    if after and speaker:
        return after[0][2], "speaker"
    agent = re.search(r"\bwill\s+be\s+\w+\s+by\s+", sentence[cue_start:], re.IGNORECASE)
    if agent:
        by = ctx.resolver.companies(sentence[cue_start + agent.end() :])
        if by and by[0][0] == 0:
            return by[0][2], "passive agent"
    for name in ctx.previous_subjects[::-1]:
        return name, "previous sentence"
    if ctx.subject:
        return ctx.subject, "article subject"
    return None, "no actor"


_PARENTHETICAL = re.compile(
    r",\s*(?:which|who|whose|where|a|an|the|one\s+of|its|formerly|also|once)\b[^,;“”\"]*,\s*", re.IGNORECASE
)


def _mask_parentheticals(span: str) -> str:
    """``span`` with appositives and relative clauses blanked out, offsets unchanged."""
    return _PARENTHETICAL.sub(lambda m: " " * len(m.group(0)), span)


def _last_words_start(span: str, count: int) -> int:
    starts = [m.start() for m in re.finditer(r"\S+", span)]
    return starts[-count] if len(starts) >= count else 0


_PREPOSITION_BEFORE = re.compile(
    r"\b(?:in|of|for|to|with|from|across|into|on|at|under|throughout|around|by|about)\s+(?:the\s+|its\s+|their\s+)?"
    r"(?:[\w'’-]+\s+){0,2}$",
    re.IGNORECASE,
)


def _after_preposition(span: str, start: int) -> bool:
    return bool(_PREPOSITION_BEFORE.search(span[:start]))


_NOT_SUBJECT_BEFORE = re.compile(
    r"\b(?:following|after|like|unlike|than|including|besides|with|from|under|to|for|of|by|and)\s+"
    r"(?:the\s+|its\s+|rival\s+|peer\s+)?$",
    re.IGNORECASE,
)


def _first_non_possessive(sentence: str, companies: list[tuple[int, int, str]]) -> str:
    """The antecedent of a pronoun among the companies named before it in the sentence: the last
    that can be a subject ("Following Tencent, ... Pinduoduo announced that it will" -> Pinduoduo),
    not an object ("with JD"), a comparison ("following Tencent") or a possessive rival."""
    for start, end, name in reversed(companies):
        if re.match(r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]):
            continue
        if re.match(r"['’]s\b", sentence[end:]):
            # "JD's Hubei plan": JD can still be meant, but a non-possessive mention is better.
            continue
        if _NOT_SUBJECT_BEFORE.search(sentence[:start]):
            continue
        return name
    for _, end, name in companies:
        if not re.match(r"['’]s\s+(?:rival|competitor|peer|partner)", sentence[end:]):
            return name
    return companies[0][2]


_MODAL_BEFORE = re.compile(
    r"\b(?:will|would|shall|to|can|['’]ll)\s+(?:\w+ly\s+|also\s+|further\s+|jointly\s+|then\s+)?$",
    re.IGNORECASE,
)
_REVISION_RE = re.compile(rf"\b{_REVISION_CUE}\b", re.IGNORECASE)


def _governing_cue(sentence: str, position: int) -> re.Match[str] | None:
    """The nearest verb cue left of ``position`` (the quantity), past or future.

    A past form that follows a modal ("will put", "to set up") is a base form, not the past.
    """
    best: re.Match[str] | None = None
    for match in _CUE_RE.finditer(sentence[:position]):
        if (match.lastgroup or "").startswith("past") and _MODAL_BEFORE.search(sentence[: match.start()]):
            continue
        best = match
    return best


def _main_future_cue(sentence: str, before: int) -> int | None:
    """Start of the nearest future cue before ``before`` in the same clause, if any."""
    clause_start = _clause_start(sentence, before)
    found = None
    for match in _CUE_RE.finditer(sentence, clause_start, before):
        if _is_future(match) and not re.match(r"to\s", match.group(0), re.IGNORECASE):
            found = match.start()
    return found


def _is_future(match: re.Match[str]) -> bool:
    group = match.lastgroup or ""
    return group == "rev" or group.startswith("fut")


# Where the reporting part of a sentence begins: ", the company said on Monday", "Liu told a forum".
_ATTRIBUTION_RE = re.compile(
    r"(?:,\s*|\s+)(?:[\w'’.-]+\s+){0,6}?(?:said|says|told|announced|added|noted|according\s+to)\b"
    r"|,\s*(?:at|during)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?(?:ceremony|conference|forum|event|summit|meeting)\b",
    re.IGNORECASE,
)


def _attribution_start(sentence: str, after: int) -> int:
    match = _ATTRIBUTION_RE.search(sentence, after)
    return match.start() if match else len(sentence)


# Editors' notes and corrections report what an article said before ("An earlier version gave
# the amount ... as RMB 10 billion"): past speech about the text, never a pledge of their own.
_CORRECTION_RE = re.compile(
    r"\beditor['’]?s\s+note\b|^\s*(?:correction|clarification)s?\s*[:\-–—]"
    r"|\b(?:an?|the)\s+(?:earlier|previous|prior|original)\s+version(?:\s+of\s+(?:this|the)\s+"
    r"(?:article|story|report|post|piece))?\s+(?:\w+\s+)?(?:said|gave|stated|reported|misstated|"
    r"incorrectly|wrongly|erroneously|misreported|put|listed|cited)\b",
    re.IGNORECASE,
)


def extract_sentence(sentence: Sentence, ctx: _Context) -> list[PledgeCandidate]:
    """The pledges one sentence states (usually none or one; one per kind of quantity)."""
    text = sentence.text
    quantities = find_quantities(text)
    if not quantities or _CORRECTION_RE.search(text):
        return []
    candidates: list[PledgeCandidate] = []
    seen_kinds: set[str] = set()
    for index, quantity in enumerate(quantities):
        if quantity.is_conversion:
            continue
        # The amount a pledge is raised *from* is the old figure, not the pledge.
        lead = text[max(0, quantity.start - 12) : quantity.start].lower()
        if re.search(r"\bfrom\s*(?:rmb|\$|us\$|¥)?\s*$", lead) or re.search(r"\bup\s+from\s*$", lead):
            continue
        revision = _REVISION_RE.search(text[: quantity.start])
        cue = _governing_cue(text, quantity.start)
        actor_position: int | None = None
        if revision is not None and (cue is None or cue.start() <= revision.end() + 40):
            cue = revision
        elif (cue is None or not _is_future(cue)) and _announced_package(text, quantity):
            # "JD announced RMB10 billion in support for merchants": a package for future spending.
            cue = _announced_package(text, quantity)
            revision = None
        elif cue is None or not _is_future(cue):
            # "JD's 3-billion-yuan commitment to Sichuan will focus on ...": the amount names a
            # commitment that the clause's future verb then talks about.
            cue = _nominal_commitment(text, quantity)
            if cue is None:
                continue
            actor_position = quantity.start
            revision = None
        else:
            revision = None
        if _PAST_AFTER_RE.match(text[quantity.end :]) and not cue.group(0).lower().startswith(
            ("will", "plan")
        ):
            continue
        between = text[cue.end() : quantity.start]
        if _STAT_BEFORE_RE.search(between) and not re.search(
            r"\b(?:invest|donat|spend|inject|pour|allocat|earmark|fund)\w*", between, re.IGNORECASE
        ):
            # "is expected to post revenue of", "sales to reach": a statistic, not a commitment.
            continue
        if _CONDITIONAL_RE.search(text[: quantity.start]) or _CONDITIONAL_RE.search(between):
            continue
        if _DENIAL_RE.search(text[: quantity.start]):
            continue
        if _is_finance(text, cue.start(), quantity):
            continue
        if actor_position is None and re.match(r"to\s", cue.group(0), re.IGNORECASE):
            # "X will work with JD to train 10,000 workers": the subject is the main verb's, X.
            main = _main_future_cue(text, cue.start())
            if main is not None:
                actor_position = main
        actor, _why = _resolve_actor(text, actor_position if actor_position is not None else cue.start(), ctx)
        if actor is None:
            continue
        # The quantity's own clause: from the verb cue (or the previous quantity) to the next one.
        clause_start = max(cue.start(), quantities[index - 1].end if index else 0)
        clause_end = quantities[index + 1].start if index + 1 < len(quantities) else len(text)
        clause = text[clause_start:clause_end]
        donor = bool(re.search(r"\bfoundation\b|\bcharity\b", text[: cue.start()], re.IGNORECASE))
        window = text[cue.start() : quantity.start]
        after = text[quantity.end : min(clause_end, quantity.end + 80)]
        kind = _kind(quantity, clause, window, after, donor)
        if kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        alt_value = alt_currency = None
        if index + 1 < len(quantities) and quantities[index + 1].is_conversion:
            alt_value, alt_currency = quantities[index + 1].value, quantities[index + 1].currency
        scope_end = _attribution_start(text, quantity.end)
        subject_span = text[_clause_start(text, cue.start()) : cue.start()]
        region = _region(text, cue.start(), scope_end, ctx, _PROJECT_SUBJECT.search(subject_span) is not None)
        horizon = _horizon(text, cue.start(), scope_end, ctx.published)
        candidates.append(
            PledgeCandidate(
                actor=actor,
                kind=kind,
                amount_value=quantity.value,
                currency=quantity.currency,
                # Job pledges count jobs, whoever fills them ("hire 20,000 couriers").
                amount_unit=_output_unit(quantity, kind),
                qualifier=quantity.qualifier,
                region=region,
                horizon=horizon.text if horizon else None,
                start_year=horizon.start_year if horizon else None,
                end_year=horizon.end_year if horizon else None,
                sentence=text,
                sentence_index=sentence.index,
                start_offset=sentence.start,
                end_offset=sentence.end,
                alt_amount_value=alt_value,
                alt_currency=alt_currency,
                is_revision=revision is not None,
                horizon_relative=bool(horizon and horizon.relative),
                purpose=purpose_words(text[cue.end() : scope_end], [actor]),
            )
        )
    return candidates


_COMMITMENT_NOUN_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+){0,4}?(?:commitment|pledge|plan|package|investment|fund|program|programme|initiative|"
    r"expansion|budget|scheme|campaign|drive)s?\b",
    re.IGNORECASE,
)


_PASSIVE_FUTURE_AFTER = re.compile(
    r"^[^.;,]{0,40}?\b(?:will|would|shall|is\s+to|are\s+to|is\s+set\s+to|are\s+set\s+to|is\s+expected\s+to|"
    r"are\s+expected\s+to)\s+be\s+(?:\w+ly\s+)?\w+(?:ed|en|lt|wn|ne|ut)\b",
    re.IGNORECASE,
)


_ANNOUNCE_VERBS = r"announced|unveiled|launched|rolled\s+out|introduced|set\s+up|established|created|started"
_ANNOUNCE_BEFORE = re.compile(rf"\b(?P<verb>{_ANNOUNCE_VERBS})\s+(?:[\w-]+\s+){{0,2}}?$", re.IGNORECASE)
_FUND_OF_BEFORE = re.compile(
    rf"\b(?P<verb>{_ANNOUNCE_VERBS})\s+(?:[\w'’-]+\s+){{0,5}}?(?:fund|package|program|programme|plan|initiative)\s+"
    r"(?:of|worth)\s+(?:about\s+|around\s+|over\s+|more\s+than\s+)?$",
    re.IGNORECASE,
)
_PARTICIPLE_BEFORE = re.compile(
    r"\b(?P<verb>investing|spending|injecting|pouring|allocating|earmarking|contributing)\s+(?:a\s+total\s+of\s+)?"
    r"(?:about\s+|around\s+|over\s+|more\s+than\s+|up\s+to\s+)?$",
    re.IGNORECASE,
)
_PACKAGE_AFTER = re.compile(
    r"^\s*(?:of\s+|in\s+)?(?:[\w-]+\s+){0,2}?(?:support|subsidies|funding|investment|aid|relief|package|fund|"
    r"stimulus|plan|program|programme|initiative)\b",
    re.IGNORECASE,
)
_FORWARD_HORIZON_AFTER = re.compile(
    r"^[^.;]{0,40}?\b(?:(?:in|over|within)\s+(?:the\s+)?(?:next\s+|coming\s+)?(?:\d+|two|three|four|five|six|seven|"
    r"eight|nine|ten)\s+years|by\s+20\d\d)\b",
    re.IGNORECASE,
)


def _announced_package(sentence: str, quantity: Quantity) -> re.Match[str] | None:
    """A package for future spending announced or set up in the past tense, or None:

    "announced RMB10 billion in support", "unveiled a 10-billion-yuan support package", "set up a
    poverty relief fund of 10 billion yuan", "announced a fund, investing 10 billion RMB in five
    years". A fund set up to be spent is a commitment, whatever the tense of its announcement.
    """
    head, tail = sentence[: quantity.start], sentence[quantity.end :]
    tail = re.sub(r"^\s*\([^)]{0,40}\)", "", tail)
    match = _ANNOUNCE_BEFORE.search(head)
    if match is not None and _PACKAGE_AFTER.match(tail):
        return match
    match = _FUND_OF_BEFORE.search(head)
    if match is not None:
        return match
    match = _PARTICIPLE_BEFORE.search(head)
    if match is not None and _FORWARD_HORIZON_AFTER.match(tail):
        return match
    return None


def _nominal_commitment(sentence: str, quantity: Quantity) -> re.Match[str] | None:
    """The future verb of a clause whose subject is an amount-named commitment ("Jingdong's
    3-billion-yuan commitment to Sichuan will focus on"), or of a future passive ("About 3,000
    stores will be opened by JD"), if any."""
    after = sentence[quantity.end :]
    if not (_COMMITMENT_NOUN_AFTER.match(after) or _PASSIVE_FUTURE_AFTER.match(after)):
        return None
    for match in _CUE_RE.finditer(sentence, quantity.end):
        if (match.lastgroup or "").startswith("past") and _MODAL_BEFORE.search(sentence[: match.start()]):
            continue
        return match if _is_future(match) else None
    return None


# Whoever a pledge counts (farmers, teachers, entrepreneurs ...) is reported as people.
PERSON_UNITS = {"people", "farmers", "merchants", "workers", "students", "teachers", "entrepreneurs"}


def _output_unit(quantity: Quantity, kind: str) -> str | None:
    if quantity.currency:
        return None
    if kind == "jobs":
        return "jobs"
    return "people" if quantity.unit in PERSON_UNITS else quantity.unit


def _horizon(sentence: str, cue_start: int, scope_end: int, published: date | None) -> Horizon | None:
    """The pledge's time frame: the first after the verb cue, else the last before it in its clause."""
    horizons = [h for h in find_horizons(sentence, published) if h.start < scope_end]
    after = [h for h in horizons if h.start >= cue_start]
    if after:
        return after[0]
    # Before the cue ("Over the next five years, JD will ..."; "... in Liaoning over the next three
    # years, which will provide"), unless it belongs to a past clause ("which invested ... in 2017").
    before = []
    for h in horizons:
        cue = _governing_cue(sentence, h.start)
        if cue is None or _is_future(cue):
            before.append(h)
    return before[-1] if before else None


_ANAPHORIC_PLACE = re.compile(
    r"\b(?:the|that|this)\s+(?:province|region|city|municipality|area)\b", re.IGNORECASE
)


_PROJECT_SUBJECT = re.compile(
    r"\b(?:the|this|these|that)\s+(?:[\w-]+\s+){0,2}?(?:project|projects|park|parks|center|centers|centre|"
    r"centres|hub|hubs|base|facility|facilities|plant|factory|warehouse|warehouses|venture|campus)\b",
    re.IGNORECASE,
)


def _region(
    sentence: str, cue_start: int, scope_end: int, ctx: _Context, refers_back: bool = False
) -> str | None:
    """Provinces of the pledge: named after the verb cue (not in the attribution), else anywhere
    before it; "the province", or a subject such as "the project", refers back to the last place
    the text named."""
    regions = [r for r in find_regions(sentence) if r[0] < scope_end]
    after = [names for start, _, names in regions if start >= cue_start]
    chosen = after or [names for _, _, names in regions]
    if not chosen:
        if ctx.previous_regions:
            index, provinces = ctx.previous_regions[-1]
            # "the province" may look further back; "the project" only at the sentence before.
            if _ANAPHORIC_PLACE.search(sentence[cue_start:scope_end]) or (
                refers_back and index >= ctx.sentence_index - 1
            ):
                return provinces
        return None
    # "Northeast China, comprising Heilongjiang, Jilin and Liaoning provinces": one region.
    provinces: set[str] = set()
    for names in chosen:
        provinces.update(names)
    return join_regions(provinces)


def extract_pledges(
    text: str,
    published: date | datetime | None = None,
    resolver: ActorResolver | None = None,
    subject: str | None = None,
) -> list[PledgeCandidate]:
    """Every pledge stated in ``text`` (an article body or a short report), in text order.

    ``published`` turns relative horizons ("over the next three years") into years; ``subject``
    is the company the text is about when the caller knows it (otherwise the most mentioned one).
    """
    resolver = resolver or default_resolver()
    if isinstance(published, datetime):
        published = published.date()
    ctx = _Context(resolver, published, subject or subject_company(resolver, text), [])
    candidates: list[PledgeCandidate] = []
    for sentence in split_sentences(text):
        ctx.sentence_index = sentence.index
        candidates.extend(extract_sentence(sentence, ctx))
        own = _sentence_subject(resolver, sentence.text)
        if own:
            ctx.previous_subjects = [*ctx.previous_subjects[-2:], own]
        places = find_regions(sentence.text)
        if places:
            ctx.previous_regions = [*ctx.previous_regions[-2:], (sentence.index, join_regions(places[-1][2]))]
    return candidates
