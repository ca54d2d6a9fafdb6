"""Horizons: the time frame of a pledge ("over the next three years", "by 2025", "2021-2023")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pledgewatch.pledges._data import load
from pledgewatch.pledges.cues import _governing_cue, _is_future

# Spelled-out numbers of horizons ("over the next three years"); templating reads them too.
NUMBER_WORDS: dict[str, int] = load("horizons")["number_words"]
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
