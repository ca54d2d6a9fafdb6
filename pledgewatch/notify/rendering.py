"""Jinja2 rendering for alerts, digests and the Atom feed, and the wording of a pledge.

Everything in these messages comes from the web (titles, sentences, outlet names), so HTML and XML
templates are autoescaped: a headline with ``<script>`` arrives as text, never as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pledgewatch.pledges import NUMBER_WORDS
from pledgewatch.store.models import Pledge
from pledgewatch.store.reports import first_report

_CURRENCY_PREFIX = {"CNY": "RMB ", "USD": "$", "HKD": "HK$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_VERBS = {
    "invest": "invest",
    "jobs": "create",
    "train": "train",
    "poverty": "help lift",
    "donate": "donate",
    "build": "build",
}
_AREA_UNITS = {"counties", "villages", "cities", "provinces", "towns", "regions"}


@dataclass(frozen=True)
class AlsoReported:
    """One other report of a pledge or story: who printed it, when, and where to read it.

    The alert's "Also reported by" and the digest's both show these, so they read the same.
    """

    outlet: str
    date: str
    url: str


@dataclass(frozen=True)
class ComposedMessage:
    """A message ready for any channel: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def format_number(value: float) -> str:
    """6e9 -> "6 bn", 2.5e6 -> "2.5 million", 9000 -> "9,000": how the press writes amounts."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{round(value / 1e9, 2):g} bn"
    if magnitude >= 1e6:
        return f"{round(value / 1e6, 2):g} million"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_amount(value: float | None, currency: str | None, unit: str | None) -> str:
    """ "RMB 6 bn", "$849 million", "9,000 jobs"; empty when the pledge has no amount."""
    if value is None:
        return ""
    number = format_number(value)
    if currency:
        prefix = _CURRENCY_PREFIX.get(currency.upper(), f"{currency.upper()} ")
        return f"{prefix}{number}"
    return f"{number} {unit}" if unit else number


_PREPOSITIONS = ("by ", "in ", "within ", "before ", "between ", "from ", "over ", "during ", "until ")


def format_horizon(pledge: Pledge) -> str:
    """The pledge's time frame in a few words, as the text words it.

    "over the next three years" -> "over 3 years", "by the end of 2025" -> "by the end of 2025",
    "between 2016 and 2020" -> "in 2016-2020", "this year" -> "in 2020", "in the coming weeks" as
    printed. The years alone are a fallback: for "by 2022" the start year is only the publication
    year, so "in 2019-2022" would say something the text does not; one year is never "2020-2020".
    """
    printed = " ".join((pledge.horizon or "").split())
    text = printed.lower()
    match = re.search(r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+years?\b", text)
    if match and not re.search(r"\b(?:19|20)\d\d\b", text):
        raw = match.group(1)
        years = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        lead = "within" if text.startswith("within") else "over"
        return f"{lead} {years} year{'s' if years != 1 else ''}"
    match = re.search(r"\b((?:19|20)\d\d)\s*(?:-|–|to|and|through)\s*((?:19|20)\d\d)\b", text)
    if match:
        return f"in {match.group(1)}-{match.group(2)}"
    match = re.search(r"\bby\s+(the\s+end\s+of\s+)?((?:19|20)\d\d)\b", text)
    if match:
        return f"by the end of {match.group(2)}" if match.group(1) else f"by {match.group(2)}"
    if text in {"this year", "next year"} and pledge.end_year:
        return f"in {pledge.end_year}"
    if text.startswith(_PREPOSITIONS):
        # The text's own words ("in the coming weeks", "between April and June", "by June 2021").
        return printed
    start, end = pledge.start_year, pledge.end_year
    if end is None:
        return f"in {start}" if start else ""
    if start is None or start == end:
        return f"in {end}"
    return f"by {end}"


# A commitment cue before the amount; what follows it up to the amount is the sentence's own verb.
_CUE = re.compile(
    r"\b(?:will|shall|would|to|plans?|planned|aims?|intends?|expects?|pledged|pledges|promised|"
    r"vowed|committed|has|have)\s+",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(?:(?:also|today|further|now|then|still|soon|jointly|to|be\s+able\s+to)\s+)+", re.IGNORECASE
)
_AMOUNT_TAIL = re.compile(
    r"(?:\s+|^)(?:more\s+than|over|at\s+least|about|around|nearly|almost|up\s+to|some|roughly|"
    r"another|a\s+further|an\s+additional|an\s+extra|rmb|cny|yuan|us|hk|\$|¥|€)+\s*$",
    re.IGNORECASE,
)
_NOT_VERBS = {"in", "on", "at", "for", "of", "with", "by", "to", "and", "the", "a", "an", "its", "their"}


def _amount_spellings(value: float) -> list[str]:
    """How a sentence may print ``value``: "100,000", "100000", "10 billion", "2 million", "one million"."""
    found = [f"{value:,.0f}", f"{value:.0f}"]
    for scale, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if value >= scale:
            number = round(value / scale, 3)
            found.append(f"{number:g} {word}")
            words = [w for w, n in NUMBER_WORDS.items() if n == number]
            found.extend(f"{w} {word}" for w in words)
            break
    found.extend(w for w, n in NUMBER_WORDS.items() if n == value)
    return found


def sentence_verb(sentence: str, value: float | None) -> str:
    """The verb the sentence uses for the amount ("hold", "help", "help sell"), or "" if unclear.

    Kind ``other`` has no verb of its own ("commit 100,000 enterprises" says nothing), so the
    headline borrows the sentence's: the words between the last commitment cue before the amount
    and the amount, when they are a short verb phrase.
    """
    if value is None or not sentence:
        return ""
    position = -1
    for spelling in _amount_spellings(value):
        match = re.search(r"(?<![\d,.])" + re.escape(spelling) + r"(?![\d,])", sentence, re.IGNORECASE)
        if match and (position < 0 or match.start() < position):
            position = match.start()
    if position < 0:
        return ""
    before = sentence[:position]
    cues = list(_CUE.finditer(before))
    if not cues:
        return ""
    phrase = _AMOUNT_TAIL.sub("", before[cues[-1].end() :]).strip()
    phrase = _FILLER.sub("", phrase).strip()
    words = phrase.split()
    if not words or any(not re.fullmatch(r"[A-Za-z-]+", w) for w in words):
        return ""
    if len(words) > 3 and words[0].lower() == "help" and words[-1].lower() not in _NOT_VERBS:
        # "help farmers in Hubei province sell" -> "help sell"
        return f"help {words[-1].lower()}"
    if len(words) > 5 or words[0].lower() in _NOT_VERBS:
        return ""
    return " ".join(w.lower() for w in words)


def pledge_headline(pledge: Pledge) -> str:
    """ "JD.com to invest RMB 6 bn in Hubei over 3 years": the pledge as a subject line."""
    amount = format_amount(pledge.amount_value, pledge.currency, pledge.amount_unit)
    unit = (pledge.amount_unit or "").lower()
    if pledge.kind in _VERBS:
        verb = "cover" if unit in _AREA_UNITS else _VERBS[pledge.kind]
    else:
        # Kind "other": the sentence's own verb, else a neutral one.
        report = first_report(pledge)
        verb = (
            sentence_verb(report.sentence, pledge.amount_value) if report is not None else ""
        ) or "commit to"
    parts = [f"{pledge.actor} to {verb}"]
    if amount:
        parts.append(amount)
    if pledge.kind == "poverty" and unit in {"people", "households", "farmers"}:
        parts.append("out of poverty")
    if pledge.region:
        parts.append(f"in {pledge.region}")
    horizon = format_horizon(pledge)
    if horizon:
        parts.append(horizon)
    return " ".join(parts)


def format_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """A time in the reader's zone (the schedule's), with its UTC offset so nobody has to guess."""
    if value is None:
        return "date unknown"
    local = value.astimezone(zone) if zone is not None else value
    return local.strftime("%Y-%m-%d %H:%M UTC%z").replace("UTC+0000", "UTC")


def format_date(value: datetime | None, zone: tzinfo | None = None) -> str:
    if value is None:
        return "date unknown"
    return (value.astimezone(zone) if zone is not None else value).strftime("%Y-%m-%d")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pledgewatch", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "atom.j2", "xml.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["amount"] = lambda p: format_amount(p.amount_value, p.currency, p.amount_unit)
    env.filters["headline"] = pledge_headline
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
