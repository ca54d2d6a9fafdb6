"""One CLI style: the option parsers every command shares.

Why one module: the issue found each command parsing dates, choices, amounts and names its own way
(`search --since 30d` worked, `pledges list --since 30d` did not; `--kind JOBS` was refused while
actors were case-insensitive; an unknown `--actor` silently listed nothing). Every command that
takes a date, a choice, a company or a region parses it here, and says what is wrong in one line.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pledgewatch.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pledgewatch.pledges import ActorResolver


class OutputFormat(StrEnum):
    """``-f/--format`` of every listing command."""

    table = "table"
    json = "json"
    csv = "csv"


# 12h, 30d, 4w, 6m (months of 30 days), 1y: that long ago.
_RELATIVE = re.compile(r"^(\d+)\s*([hdwmy])$", re.IGNORECASE)
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7, "m": 24 * 30, "y": 24 * 365}
DATE_HELP = "YYYY-MM-DD (UTC), an ISO time, or 12h / 30d / 4w / 6m / 1y ago"


def parse_when(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    """A user's date: ``YYYY-MM-DD`` (a whole UTC day), an ISO time, or ``12h`` / ``30d`` ago.

    ``end=True`` turns a day into the exclusive bound after it, so ``--until 2020-04-30`` includes
    the 30th. Every command that takes a date takes all of these.
    """
    if value is None:
        return None
    try:
        return _parse_when(value.strip(), end)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date: use {DATE_HELP}") from None
    except OverflowError:
        # 999999d ago, the day after 9999-12-31, year 1 in a zone east of UTC: no UTC time exists.
        raise UsageError(f"{option} {value!r} is out of range (years 1 to 9999 in UTC)") from None


def _parse_when(text: str, end: bool) -> datetime:
    relative = _RELATIVE.match(text)
    if relative:
        hours = int(relative.group(1)) * _UNIT_HOURS[relative.group(2).lower()]
        return datetime.now(UTC) - timedelta(hours=hours)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def choice(value: str, choices: Sequence[str], option: str) -> str:
    """``value`` as one of ``choices``, whatever its case (``--kind JOBS`` is ``jobs``)."""
    wanted = value.strip().lower()
    for known in choices:
        if known.lower() == wanted:
            return known
    raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}{_closest(value, choices)}")


def _closest(value: str, known: Iterable[str]) -> str:
    names = sorted(set(known), key=str.lower)
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(value.strip().lower(), list(lowered), n=3, cutoff=0.5)
    return f" (closest: {', '.join(lowered[c] for c in close)})" if close else ""


def unknown_name(option: str, value: str, known: Iterable[str], what: str) -> UsageError:
    """``--actor 'Tencnet' is not a known company (closest: Tencent)``: one line, closest names."""
    known = list(known)
    hint = _closest(value, known)
    if not hint:
        hint = f" (known: {', '.join(sorted(known, key=str.lower)[:8])}{', ...' if len(known) > 8 else ''})"
    return UsageError(f"{option} {value!r} is not a known {what}{hint}")


def parse_amount(value: str, what: str) -> float:
    """ "6e9", "6000000000", "6 billion", "6bn", "1.5 million" -> base units."""
    text = value.strip().lower().replace(",", "").replace("_", "")
    scales = {
        "trillion": 1e12,
        "billion": 1e9,
        "bn": 1e9,
        "million": 1e6,
        "m": 1e6,
        "thousand": 1e3,
        "k": 1e3,
    }
    number, factor = text, 1.0
    for word, scale in scales.items():
        if text.endswith(word) and text[: -len(word)].strip():
            number, factor = text[: -len(word)].strip(), scale
            break
    try:
        amount = float(number) * factor
    except ValueError:
        amount = math.nan
    # float() also takes "nan" and "inf", which compare with nothing: they filtered silently.
    if not math.isfinite(amount):
        raise UsageError(f"{what}: not an amount: {value!r} (examples: 6e9, 6000000000, 6 billion)")
    return amount


def showing(shown: int, total: int, noun: str, plural: str | None = None) -> str:
    """ "3 pledges" when all are shown, "showing 3 of 5 pledges" when a limit cut the list."""
    plural = plural or f"{noun}s"
    word = noun if total == 1 else plural
    if shown < total:
        return f"showing {shown} of {total} {word}"
    return f"{total} {word}"


def known_actor(session: Session, value: str, resolver: ActorResolver, watchlist: Iterable[Any]) -> str:
    """The company ``--actor`` names, as stored (aliases resolved); a name that no pledge, watch-list
    entry or known company has is an error naming the closest ones (an empty list would read as
    "no pledges of that company")."""
    from sqlalchemy import select

    from pledgewatch.pledges import KNOWN_COMPANIES
    from pledgewatch.store.models import Pledge

    name = resolver.normalise(value)
    known = set(session.scalars(select(Pledge.actor).distinct()))
    known |= {entity.name for entity in watchlist} | set(KNOWN_COMPANIES)
    if name.lower() in {k.lower() for k in known}:
        return name
    raise unknown_name("--actor", value, known, "company")


# The WARC options of every command that crawls (crawl, worker): one wording, one behaviour.
ReplayOption = Annotated[
    Path | None,
    typer.Option(
        "--replay", help="Answer every request from this WARC instead of the network.", show_default=False
    ),
]
RecordOption = Annotated[
    Path | None,
    typer.Option("--record", help="Write every fetched response to this WARC.", show_default=False),
]
