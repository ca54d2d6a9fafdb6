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

from pledgewatch.crawler.pledges import NUMBER_WORDS
from pledgewatch.store.models import Pledge

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


def format_horizon(pledge: Pledge) -> str:
    """ "over 3 years", "by 2025", "in 2016-2020": the pledge's time frame in a few words."""
    text = (pledge.horizon or "").lower()
    match = re.search(r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+years?\b", text)
    if match:
        raw = match.group(1)
        years = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        return f"over {years} year{'s' if years != 1 else ''}"
    if pledge.start_year and pledge.end_year and pledge.start_year != pledge.end_year:
        return f"in {pledge.start_year}-{pledge.end_year}"
    if pledge.end_year:
        return f"by {pledge.end_year}"
    return ""


def pledge_headline(pledge: Pledge) -> str:
    """ "JD.com to invest RMB 6 bn in Hubei over 3 years": the pledge as a subject line."""
    amount = format_amount(pledge.amount_value, pledge.currency, pledge.amount_unit)
    unit = (pledge.amount_unit or "").lower()
    verb = "cover" if unit in _AREA_UNITS else _VERBS.get(pledge.kind, "commit")
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
