"""Quantities: money amounts and counts of things ("RMB 6 billion", "10,000 jobs", "200 counties").

The vocabularies (number words, scales, currencies, qualifiers, units) live in
``data/quantities.json``; this module holds the rules that read them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from pledgewatch.pledges._data import load

_TABLES = load("quantities")
_WORD_NUMBERS: dict[str, float] = _TABLES["word_numbers"]
_SCALES: dict[str, float] = _TABLES["scales"]
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


_CURRENCY_BEFORE: dict[str, str] = _TABLES["currency_before"]
_CURRENCY_AFTER: dict[str, str] = _TABLES["currency_after"]
_QUALIFIERS: dict[str, str] = _TABLES["qualifiers"]
_QUALIFIER_RE = re.compile(
    r"(?:^|\s)(" + "|".join(sorted((re.escape(q) for q in _QUALIFIERS), key=len, reverse=True)) + r")\s*$",
    re.IGNORECASE,
)

# The leading lookaheads let the engine skip, in one test, every position where no amount can
# start (inside words, punctuation), instead of trying each alternative there.
_MONEY_RE = re.compile(
    rf"(?=[\d$¥€]|(?:rmb|cny|us\$|usd|hk\$|hkd|eur)|\b(?:{_WORDS}|an?)[\s-]+(?:{_SCALE_WORDS}))(?P<pre>RMB|CNY|US\$|USD|HK\$|HKD|EUR|\$|¥|€)?\s?"
    + _NUMBER
    + r"(?:[\s-]*(?P<post>yuan|RMB|renminbi|CNY|"
    r"U\.?S\.?\s+dollars|Hong\s+Kong\s+dollars|dollars|USD|euros)\b)?",
    re.IGNORECASE,
)

# Countable things a pledge promises, normalised to one unit name.
UNITS: dict[str, str] = {form.lower(): unit for unit, forms in _TABLES["units"].items() for form in forms}
_UNITS = UNITS
# Whoever a pledge counts (farmers, teachers, entrepreneurs ...) is reported as people.
PERSON_UNITS: frozenset[str] = frozenset(_TABLES["person_units"])
# Counts of persons that two reports of one pledge may use interchangeably ("10,000 positions" /
# "10,000 veterans"): the person units and jobs. The store compares units with this set.
COMPARABLE_PERSON_UNITS: frozenset[str] = PERSON_UNITS | {"jobs"}

_NUMBER_RE = re.compile(
    # Number words start with one of these letters: other words are skipped in one test.
    r"(?=\d|\b[aAoOtTfFsSeEnNhH])" + _NUMBER + r"(?!\s*%|\s*per\s*cent|\s*percent|[\w$])",
    re.IGNORECASE,
)
# Words that end the noun phrase after a number ("200 counties with ...", "1,000 tons of ...").
_PHRASE_STOP = frozenset(_TABLES["phrase_stop"])
_MAX_UNIT_WORDS = 5
# How far around a number its unit and verb are looked for (characters). Both bound the work per
# number, so detection stays linear in the sentence's length.
_UNIT_WINDOW = 200
_VERB_WINDOW = 80


def _unit_after(sentence: str, position: int, number_start: int | None = None) -> tuple[str, int] | None:
    """The counted thing after a number: the last unit noun of the phrase that follows it.

    "5,000 village doctors in ..." counts doctors, "300 county-level delivery stations" stations.
    """
    # A unit phrase is at most a few words: looking further would make long sentences quadratic.
    tail = re.sub(r"[\"“”‘]", " ", sentence[position : position + _UNIT_WINDOW])
    # "Asia No. 1 warehouses": a brand name inside the phrase, not its end.
    tail = re.sub(r"\bNo\.\s?\d+", lambda m: "No" + "-" * (len(m.group(0)) - 2), tail)
    # "small and medium-sized enterprises" is one modifier, not two phrases.
    tail = re.sub(r"\bsmall\s+and\s+medium(?=[\s-])", lambda m: re.sub(r"\s", "-", m.group(0)), tail)
    # "12 of its logistics parks" counts parks.
    tail = re.sub(r"^\s+of\s+(?:its|their|our)\s+", lambda m: " " * len(m.group(0)), tail)
    tokens = list(re.finditer(r"[A-Za-z][\w'’-]*|[^\sA-Za-z]", tail))
    head_end = number_start if number_start is not None else position
    head_text = sentence[max(0, head_end - _VERB_WINDOW) : head_end]
    # What a company builds is a facility, whoever it hires or trains is people.
    after_build_verb = bool(_BUILD_VERB_BEFORE.search(head_text))
    after_person_verb = bool(_PERSON_VERB_BEFORE.search(head_text))
    after_count_verb = bool(_COUNT_VERB_BEFORE.search(head_text))
    best: tuple[str, int] | None = None
    words = 0
    for index, token in enumerate(tokens):
        word = token.group(0)
        low = word.lower()
        if not word[0].isalpha() or low in _PHRASE_STOP:
            if low == "more" and index == 0:
                continue
            break
        if not low.endswith("ly"):
            # Adverbs ("highly automated") do not lengthen the noun phrase.
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
        elif best is None and re.fullmatch(r"[a-z]{2,}s", low) and _ends_phrase(tokens, index):
            # A plural noun that ends the phrase, named by the verb before the number: "open 1,000
            # pharmacies" (what a company builds is a facility), "recruit 10,000 veterans" (whoever
            # it hires or trains is people), "sign up 10,000 new suppliers" (a count the verb
            # commits, of whatever it names: the lexicon cannot list every noun).
            if after_build_verb and low not in _NOT_FACILITIES:
                best = ("facilities", position + token.end())
            elif after_person_verb:
                best = ("people", position + token.end())
            elif after_count_verb and low not in _NOT_FACILITIES:
                best = (low, position + token.end())
    return best


def _ends_phrase(tokens: list[re.Match[str]], index: int) -> bool:
    """Whether the token at ``index`` is the last word of its noun phrase."""
    if index + 1 >= len(tokens):
        return True
    following = tokens[index + 1].group(0)
    return not following[0].isalpha() or following.lower() in _PHRASE_STOP


_BUILD_VERB_BEFORE = re.compile(
    r"\b(?:build|building|construct|constructing|open|opening|set\s+up|setting\s+up|establish|establishing)\s+"
    r"(?:about\s+|over\s+|more\s+than\s+|up\s+to\s+|another\s+|some\s+|nearly\s+|at\s+least\s+)?$",
    re.IGNORECASE,
)
_NOT_FACILITIES = frozenset(_TABLES["not_facilities"])
_PERSON_VERB_BEFORE = re.compile(
    r"\b(?:hire|hiring|recruit|recruiting|employ|employing|train|training|cultivate|cultivating|educate|"
    r"offer\s+jobs\s+to|help)\s+(?:about\s+|over\s+|more\s+than\s+|up\s+to\s+|as\s+many\s+as\s+|another\s+|"
    r"some\s+|nearly\s+|at\s+least\s+)?$",
    re.IGNORECASE,
)


_COUNT_VERB_BEFORE = re.compile(
    r"\b(?:sign\s+up|add|adding|deploy|deploying|roll\s+out|rolling\s+out|install|installing|introduce|"
    r"introducing|launch|launching|plant|planting|onboard|onboarding|support|supporting|serve|serving|"
    r"connect|connecting|bring\s+in|recruit|partner\s+with|cover|covering|donate|donating|provide|providing|offer|"
    r"offering|give\s+away|giving\s+away|distribute|distributing)\s+"
    r"(?:about\s+|over\s+|more\s+than\s+|up\s+to\s+|as\s+many\s+as\s+|another\s+|some\s+|nearly\s+|"
    r"at\s+least\s+)?$",
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


# Percentage targets ("reduce its total carbon emissions by 50%", "100% renewable electricity").
_PERCENT_RE = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:\.\d+)?)\s*(?:%|per\s*cent\b|percent\b)", re.IGNORECASE
)
_WORKFORCE_BY = re.compile(
    r"\b(?:workforce|headcount|staff|employees|payroll)\s+by\s+(?:about\s+|around\s+|over\s+|more\s+than\s+|"
    r"another\s+|nearly\s+|at\s+least\s+)?$",
    re.IGNORECASE,
)
_NO_BEFORE = re.compile(r"\bNo\.?\s*$")
_MORE_AFTER = re.compile(r"\s+more\b")
_SHARE_OF_AFTER = re.compile(r"\s*of\s+(?:which|them|these|those)\b")
_YEAR_LIKE = re.compile(r"^(?:19|20)\d\d$")


def find_quantities(sentence: str, percents: bool = False) -> list[Quantity]:
    """Money amounts and counts of things in ``sentence``, in order, without overlaps.

    ``percents`` adds percentages (unit "percent"): pledge detection wants percentage targets
    ("cut emissions by 50%"), other callers count things only.
    """
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
        after = _CURRENCY_AFTER.get(re.sub(r"\s+", " ", post.lower())) if post else None
        if after is not None and (currency is None or pre == "$"):
            # "$10 billion RMB": a bare dollar sign is the writer's habit, the named currency after
            # the number is the currency.
            currency = after
        start = match.start() if pre else match.start("digits") if match.group("digits") else match.start()
        found.append(Quantity(start, match.end(), value, currency, None, None))
    # Money amounts are sorted and do not overlap: one pointer finds the one a number may be in.
    money = list(found)
    money_index = 0
    for match in _NUMBER_RE.finditer(sentence):
        while money_index < len(money) and money[money_index].end <= match.start():
            money_index += 1
        if money_index < len(money) and money[money_index].start < match.end():
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
        if _NO_BEFORE.search(sentence, max(0, match.start() - 8), match.start()):
            continue
        value = _number_value(match)
        if value is None:
            continue
        unit = _unit_after(sentence, match.end(), match.start())
        if unit is None and _WORKFORCE_BY.search(sentence, max(0, match.start() - 60), match.start()):
            # "increase its workforce by 15,000": the number counts jobs.
            unit = ("jobs", match.end())
        if unit is None:
            continue
        start = match.start("digits") if digits else match.start("words")
        quantity = Quantity(start, unit[1], value, None, unit[0], None)
        if _MORE_AFTER.match(sentence, match.end()):
            quantity.qualifier = "additional"
        found.append(quantity)
    found.sort(key=lambda q: q.start)
    starts = [q.start for q in found]
    for match in _PERCENT_RE.finditer(sentence) if percents else ():
        inside = bisect_right(starts, match.start()) - 1
        if inside >= 0 and found[inside].end > match.start():
            continue
        if _SHARE_OF_AFTER.match(sentence, match.end()):
            # "67% of which are for logistics": a share of the amount before, not a target.
            continue
        found.append(Quantity(match.start(), match.end(), float(match.group("num")), None, "percent", None))
    found.sort(key=lambda q: q.start)
    for index, quantity in enumerate(found):
        qualifier = _QUALIFIER_RE.search(sentence, max(0, quantity.start - 40), quantity.start)
        if qualifier and quantity.qualifier is None:
            quantity.qualifier = _QUALIFIERS[re.sub(r"\s+", " ", qualifier.group(1).lower())]
        if index and found[index - 1].currency and quantity.currency:
            gap = sentence[found[index - 1].end : quantity.start]
            if re.fullmatch(
                r"\s*(?:\(\s*(?:about|around|approximately|roughly|some)?\s*|,?\s*or\s+(?:about\s+)?)", gap
            ):
                quantity.is_conversion = True
    return found
