"""Pledges in the archive: linking each detected mention to a known pledge or a new one.

The store never runs pledge detection: :mod:`pledgewatch.ingest` does, and hands the candidates to
``link_article_candidates`` (an archived article) or ``link_report_candidates`` (a text that is not
an archived article, ``pledgewatch pledges extract``), which store pledges and mentions and return
what they found.

One concept, pledge identity: over 700 lines because deciding whether a report is a known pledge
weighs actor, kind, amount across currencies, regions, years and purpose words, each with its own
rule; listing pledges and their reports live in :mod:`pledgewatch.store.listing` and
:mod:`pledgewatch.store.reports`.

Identity. A mention belongs to a known pledge when the actor agrees, the kinds are compatible
(any kind of :data:`MONEY_FAMILY` for money, since real re-reports word one pledge as a fund, an
investment or a purchase; the same kind for counts), the amounts agree within
:data:`AMOUNT_TOLERANCE` after converting currencies at :data:`CNY_PER_UNIT` (a fixed yearly rate
table, or the conversion the text prints) - an indexed lookup narrowed in SQL to that actor, those
kinds and an amount window, never the whole table - and nothing contradicts: regions must be equal
when both are given, years equal when both are given (one year of slack when a horizon is
relative, "over the next three years", since a re-report weeks later may fall into the next
year), no "another 50 billion" on top of the known 50 billion. When neither region nor years agree
positively, the sentences must share purpose words (not the press's generic words,
:data:`GENERIC_STEMS`), more the further apart in time, so that "JD will invest 1 billion yuan in
drones" and "JD will invest 1 billion yuan in cold-chain logistics" stay two pledges. A revision
("raises its pledge to ...") matches on everything but the amount and updates the pledge.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, TextClause, bindparam, select, text, update
from sqlalchemy.orm import Session, selectinload

from pledgewatch.pledges import COMPARABLE_PERSON_UNITS, STOPWORDS, PledgeCandidate, purpose_words
from pledgewatch.pledges.regions import split_regions
from pledgewatch.store import overrides
from pledgewatch.store.models import Article, Pledge, PledgeMention, utcnow


@dataclass(frozen=True)
class MentionOutcome:
    pledge: Pledge
    mention: PledgeMention
    is_new: bool
    is_revision: bool
    # What this text itself states (the pledge may hold a revised amount or a completed region).
    candidate: PledgeCandidate | None = None


# Yuan per unit of currency, yearly averages (rounded; source: PBOC central parity rates). Only
# used to recognise a re-report stated in another currency, never shown as a value.
CNY_PER_UNIT: dict[str, dict[int, float]] = {
    "USD": {
        2013: 6.19,
        2014: 6.16,
        2015: 6.23,
        2016: 6.64,
        2017: 6.75,
        2018: 6.62,
        2019: 6.90,
        2020: 6.90,
        2021: 6.45,
        2022: 6.73,
        2023: 7.05,
        2024: 7.12,
        2025: 7.18,
        2026: 7.10,
    },
    "EUR": {
        2013: 8.17,
        2014: 8.17,
        2015: 6.97,
        2016: 7.35,
        2017: 7.63,
        2018: 7.81,
        2019: 7.73,
        2020: 7.87,
        2021: 7.63,
        2022: 7.08,
        2023: 7.62,
        2024: 7.79,
        2025: 8.10,
    },
    "GBP": {
        2013: 9.68,
        2014: 10.14,
        2015: 9.52,
        2016: 9.00,
        2017: 8.70,
        2018: 8.83,
        2019: 8.81,
        2020: 8.85,
        2021: 8.87,
        2022: 8.30,
        2023: 8.77,
        2024: 9.10,
        2025: 9.45,
    },
    "HKD": {
        2013: 0.798,
        2014: 0.794,
        2015: 0.803,
        2016: 0.856,
        2017: 0.866,
        2018: 0.845,
        2019: 0.880,
        2020: 0.889,
        2021: 0.830,
        2022: 0.859,
        2023: 0.900,
        2024: 0.911,
        2025: 0.922,
    },
}
# Re-reports round ("more than 6 billion" / "6.1 billion"); rate tables are approximate.
AMOUNT_TOLERANCE = 0.12
# The lowest and highest yuan rate of each currency: bounds of the SQL amount window.
_RATE_RANGE: dict[str, tuple[float, float]] = {
    currency: (min(table.values()), max(table.values())) for currency, table in CNY_PER_UNIT.items()
}


def to_cny(value: float | None, currency: str | None, year: int | None) -> float | None:
    if value is None or currency is None:
        return None
    if currency == "CNY":
        return value
    table = CNY_PER_UNIT.get(currency)
    if not table:
        return None
    years = sorted(table)
    year = min(max(year or years[-1], years[0]), years[-1])
    return value * table.get(year, table[years[-1]])


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or a <= 0 or b <= 0:
        return False
    return abs(a - b) / max(a, b) <= AMOUNT_TOLERANCE


def _amount_bucket(value: float | None) -> str:
    return "-" if not value or value <= 0 else f"{math.log10(value):.1f}"


def pledge_key(candidate: PledgeCandidate, year: int | None = None) -> str:
    """A readable identity key: actor, kind, region, years and the order of magnitude of the amount."""
    value = candidate.amount_value
    if candidate.currency:
        value = to_cny(value, candidate.currency, year) or value
    years = f"{candidate.start_year or '-'}-{candidate.end_year or '-'}"
    unit = (candidate.currency and "CNY") or candidate.amount_unit or "-"
    return "|".join(
        [candidate.actor, candidate.kind, candidate.region or "-", years, unit, _amount_bucket(value)]
    )[:255]


@dataclass(frozen=True, slots=True)
class _Said:
    """What one stored mention of a known pledge says, as identity compares it: read as plain rows,
    not as ORM objects with all their columns (at 100,000 articles, building the candidates' every
    mention as an object was most of a lookup's time, and re-reports keep adding mentions)."""

    amount_value: float | None
    currency: str | None
    published_at: datetime | None
    sentence: str
    stems: frozenset[str]


def _amounts_match(
    candidate: PledgeCandidate, year: int | None, pledge: Pledge, said: Sequence[_Said]
) -> bool:
    if (candidate.currency is None) != (pledge.currency is None):
        return False
    if candidate.currency is None:
        return _units_comparable(candidate.amount_unit, pledge.amount_unit) and _close(
            candidate.amount_value, pledge.amount_value
        )
    known = [(pledge.amount_value, pledge.currency)] + [(m.amount_value, m.currency) for m in said]
    mine = [(candidate.amount_value, candidate.currency)]
    if candidate.alt_amount_value is not None:
        mine.append((candidate.alt_amount_value, candidate.alt_currency))
    # Same currency on both sides: compare as stated; otherwise convert to yuan.
    for value, currency in mine:
        for other_value, other_currency in known:
            if currency == other_currency and _close(value, other_value):
                return True
    first_year = pledge.first_published_at.year if pledge.first_published_at else year
    # An undated report is converted at the rate of the known pledge's year: it re-tells it.
    year = year or first_year
    for value, currency in mine:
        if _close(to_cny(value, currency, year), to_cny(pledge.amount_value, pledge.currency, first_year)):
            return True
    return False


MONEY_KINDS = {"invest", "donate"}
# Kinds whose amount is money in real reports. One pledge of money is worded as an investment, a
# fund, a donation, poverty relief, a build-out or a purchase ("launch a 200 billion yuan fund" /
# "purchase 200 billion yuan of goods"), and the detector names the kind after the wording: for
# an amount of money these kinds are one family. Jobs and training pledges count persons.
MONEY_FAMILY = frozenset({"invest", "donate", "poverty", "build", "other"})
# Counts of persons are one family (pledgewatch.pledges.COMPARABLE_PERSON_UNITS: the person units
# and jobs): re-reports say "10,000 positions" or "10,000 veterans", "100,000 farmer-merchants" or
# "100,000 new-type farmers" for the same pledge.


# Places built are one family too: "150 drone airports" is re-reported as "150 drone bases".
FACILITY_LIKE_UNITS = frozenset(
    {"facilities", "airports", "bases", "warehouses", "centers", "centres", "parks", "stations", "hubs"}
)


def _units_comparable(a: str | None, b: str | None) -> bool:
    return (
        a == b
        or (a in COMPARABLE_PERSON_UNITS and b in COMPARABLE_PERSON_UNITS)
        or (a in FACILITY_LIKE_UNITS and b in FACILITY_LIKE_UNITS)
    )


def _years_conflict(candidate: PledgeCandidate, pledge: Pledge) -> bool:
    """Different target years. The end year decides when both have one: "by 2030" has no stated
    start, so its start year is the publication's, and a re-report a year later would differ."""
    relative = candidate.horizon_relative or _is_relative(pledge.horizon)
    slack = 1 if relative else 0
    pairs = [(candidate.end_year, pledge.end_year)]
    if candidate.end_year is None or pledge.end_year is None:
        pairs.append((candidate.start_year, pledge.start_year))
    return any(
        mine is not None and theirs is not None and abs(mine - theirs) > slack for mine, theirs in pairs
    )


def _is_relative(horizon: str | None) -> bool:
    text = (horizon or "").lower()
    return any(word in text for word in ("next", "coming", "following", "within", "this year", "years"))


@lru_cache(maxsize=4096)
def _regions(value: str | None) -> frozenset[str]:
    """The places of a region value, parsed once per distinct value (every lookup compares them)."""
    return frozenset(split_regions(value)) if value else frozenset()


def _agreement(candidate: PledgeCandidate, pledge: Pledge) -> tuple[bool, int]:
    """(compatible, strength of positive agreement) between a mention and a known pledge."""
    mine_regions = _regions(candidate.region)
    their_regions = _regions(pledge.region)
    # Regions conflict when they share no place. A report that adds a place ("Beijing, Sichuan":
    # a dateline or the capital's media read as a place) still agrees, though less.
    if mine_regions and their_regions and not mine_regions & their_regions:
        return False, 0
    if _years_conflict(candidate, pledge):
        return False, 0
    strength = 0
    if mine_regions and their_regions:
        # One set within the other is the same place told more or less precisely.
        strength += 2 if mine_regions <= their_regions or their_regions <= mine_regions else 1
    if candidate.end_year is not None and pledge.end_year is not None:
        # Equal years confirm; years within the slack of a relative horizon only do not conflict.
        exact = candidate.end_year == pledge.end_year and candidate.start_year in (None, pledge.start_year)
        strength += 2 if exact else 1
    return True, strength


# Stems (purpose_words' six letters) that real reports of any pledge carry and that say nothing
# about which pledge it is: how the press names a company ("tech giant"), who spoke, when, and
# the verbs of announcing. Real re-reports share few words, so one such word counted as shared
# purpose would merge two pledges of one actor and amount.
GENERIC_STEMS = frozenset(
    {
        "giant",
        "tech",
        "techno",
        "intern",
        "leadin",
        "larges",
        "major",
        "second",
        "retail",
        "retail-",
        "e-comm",
        "e-tail",
        "monday",
        "tuesda",
        "wednes",
        "thursd",
        "friday",
        "saturd",
        "sunday",
        "januar",
        "februa",
        "march",
        "april",
        "june",
        "july",
        "august",
        "septem",
        "octobe",
        "novemb",
        "decemb",
        "today",
        "yester",
        "earlie",
        "previo",
        "last",
        "recent",
        "later",
        "late",
        "week",
        "weeks",
        "month",
        "months",
        "announ",
        "report",
        "statem",
        "state-",
        "blog",
        "post",
        "media",
        "presid",
        "chairm",
        "founde",
        "execut",
        "chief",
        "head",
        "vice",
        "spokes",
        "manage",
        "offici",
        "said",
        "says",
        "told",
        "accord",
        "quoted",
        "news",
        "press",
        "launch",
        "launch-",
        "unveil",
        "revea",
        "disclo",
        "releas",
        "confir",
        "decide",
        "decisi",
        "intend",
        "intent",
        "promis",
        "promise",
        "vowed",
        "prepar",
        "set",
        "total",
        "worth",
        "approx",
        "roughl",
        "nearly",
        "almost",
        "least",
        "first",
        "frontl",
        "also",
        "further",
        "additi",
        "another",
        "more",
        "most",
        "much",
        "many",
        "part",
        "well",
        "build",
        "create",
        "provid",
        "increa",
        "expand",
        "suppor",
        "help",
        "develo",
        "make",
        "making",
        "domest",
        "percen",
        "people",
        "jobs",
        "posits",
        "positi",
        "stores",
        "store",
    }
)


@lru_cache(maxsize=4096)
def _purpose_stems(sentence: str, actor: str) -> frozenset[str]:
    """The distinctive purpose stems of a sentence; cached, since every lookup compares the known
    pledge's every mention and purpose_words runs the region matcher over the sentence."""
    actor_stems = {word.lower()[:6] for word in re.findall(r"[A-Za-z][A-Za-z-]+", actor)}
    words = {w for w in purpose_words(sentence, [actor]) if w not in GENERIC_STEMS and w not in actor_stems}
    return frozenset(words - _name_stems(sentence, actor))


def _stems_to_store(
    stored: str | None, stored_key: str | None, sentence: str, actor: str
) -> tuple[frozenset[str], dict[str, str] | None]:
    """A mention's purpose stems as stored (migration 0016), and the columns to store when they are
    missing or were made under another actor or other rules (None when they are current): computed
    once per mention, not once per lookup."""
    key = f"{PURPOSE_VERSION}|{actor}"
    if stored_key == key and stored is not None:
        return frozenset(stored.split()), None
    stems = _purpose_stems(sentence, actor)
    return stems, {"purpose_stems": " ".join(sorted(stems)), "purpose_key": key}


def _mention_stems(mention: PledgeMention, actor: str) -> frozenset[str]:
    """The mention's purpose stems (:func:`_stems_to_store`), set on it when they were not current."""
    stems, columns = _stems_to_store(mention.purpose_stems, mention.purpose_key, mention.sentence, actor)
    if columns is not None:
        mention.purpose_stems = columns["purpose_stems"]
        mention.purpose_key = columns["purpose_key"]
    return stems


def _purpose_overlap(candidate: PledgeCandidate, said: Sequence[_Said]) -> tuple[int, float]:
    """(shared purpose stems, shared / the smaller set) between a mention and a known pledge."""
    mine = _purpose_stems(candidate.sentence, candidate.actor)
    theirs: set[str] = set()
    for mention in said:
        theirs.update(mention.stems)
    if not mine or not theirs:
        return 0, 0.0
    shared = len(mine & theirs)
    return shared, shared / min(len(mine), len(theirs))


def _name_stems(sentence: str, actor: str) -> set[str]:
    """Stems of a capitalised word right after the actor's first word ("JD Logistics", "Ant
    Financial"): the actor's other names, not a purpose."""
    head = re.escape(re.split(r"[\s.]", actor, maxsplit=1)[0])
    return {m.lower()[:6] for m in re.findall(rf"\b{head}(?:\.com)?\s+([A-Z][a-z]+)", sentence)}


# What stored purpose stems were computed under: the rules that make them (this module's stems
# and generic words, pledgewatch.pledges.purpose_words), so that a change to either recomputes
# them instead of comparing against stale ones. The stop words are in the hash; bump the number for
# a change of other data the code reads.
PURPOSE_VERSION = hashlib.sha1(
    repr(
        (
            1,
            sorted(GENERIC_STEMS),
            sorted(STOPWORDS),
            purpose_words.__code__.co_code,
            purpose_words.__code__.co_consts,
            _purpose_stems.__wrapped__.__code__.co_code,
            _name_stems.__code__.co_code,
        )
    ).encode()
).hexdigest()[:10]


_ON_TOP = re.compile(
    r"\b(?:another|a\s+further|an\s+additional|an\s+extra)\s+(?:[$¥€£]|(?:RMB|US\$|CNY)\s*)?\d", re.IGNORECASE
)
# A re-report follows the first report within days or weeks. Within CLOSE_DAYS one shared purpose
# word confirms an equal amount; up to FAR_DAYS (or when a date is unknown) two; later three.
CLOSE_DAYS = 31
FAR_DAYS = 183


def _days_apart(said: Sequence[_Said], published: datetime | None) -> int | None:
    """Days between ``published`` and the nearest known mention of a pledge (None if unknown)."""
    if published is None:
        return None
    dates = [m.published_at for m in said if m.published_at is not None]
    return min((abs((published - d).days) for d in dates), default=None)


def _on_top(pledge: Pledge, said: Sequence[_Said]) -> bool:
    """Whether the known pledge is itself money on top of an earlier one ("another 50 billion")."""
    return pledge.qualifier == "additional" or any(_ON_TOP.search(m.sentence) for m in said)


def _shared_needed(days: int | None) -> int:
    if days is not None and days <= CLOSE_DAYS:
        return 1
    if days is None or days <= FAR_DAYS:
        return 2
    return 3


def _amount_bands(candidate: PledgeCandidate) -> list[tuple[str | None, float, float]]:
    """(currency, lowest, highest) of a stored amount (of a pledge or of a mention) that could equal
    the candidate's amount or its printed conversion, in any currency at any year's rate. Python
    decides exactly (:func:`_amounts_match`); each band is one index range seek, so the rows read
    are the few of the right size, however many pledges the actor or the archive has."""
    slack = 1 + AMOUNT_TOLERANCE
    amounts = [(candidate.amount_value, candidate.currency)]
    if candidate.alt_amount_value is not None:
        amounts.append((candidate.alt_amount_value, candidate.alt_currency))
    bands: list[tuple[str | None, float, float]] = []
    for value, currency in amounts:
        if value is None or value <= 0:
            continue
        bands.append((currency, value / slack, value * slack))
        if currency is None:
            continue
        rates = _RATE_RANGE.get(currency)
        if rates is None and currency != "CNY":
            continue
        low_cny, high_cny = (value * rates[0], value * rates[1]) if rates else (value, value)
        for other, (other_low, other_high) in {"CNY": (1.0, 1.0), **_RATE_RANGE}.items():
            if other != currency:
                bands.append((other, low_cny / other_high / slack, high_cny / other_low * slack))
    return bands


def _comparable_filters(candidate: PledgeCandidate) -> tuple[list[str], dict[str, Any]]:
    """SQL (conditions on ``pledges``, their parameters) for what :func:`_find_pledge` would reject
    in Python whatever the words: money against a count, units that are not comparable, end (or,
    without one, start) years more than a year apart. Looser than the Python rules (one year of
    slack always), never stricter, so the result is the same as comparing every pledge."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if candidate.currency is not None:
        conditions.append("pledges.currency IS NOT NULL")
    else:
        conditions.append("pledges.currency IS NULL")
        unit = candidate.amount_unit
        if unit is None:
            conditions.append("pledges.amount_unit IS NULL")
        else:
            units = {unit}
            for family in (COMPARABLE_PERSON_UNITS, FACILITY_LIKE_UNITS):
                if unit in family:
                    units |= set(family)
            conditions.append("pledges.amount_unit IN :units")
            params["units"] = sorted(units)
    for column, year in (
        ("pledges.end_year", candidate.end_year),
        ("pledges.start_year", candidate.start_year),
    ):
        if year is not None:
            conditions.append(f"({column} IS NULL OR {column} BETWEEN :year_low AND :year_high)")
            params.update(year_low=year - 1, year_high=year + 1)
            break
    return conditions, params


# Who may have stated a known pledge: the candidate's actor, or also pledges nobody named yet
# ("named"), only the actor (a revision), or anyone (a candidate whose actor is unresolved;
# ``actor_resolved`` is never NULL, so the IN keeps every row and the index still serves).
_ACTOR_SQL = {
    "named": ("pledges.actor = :actor", "pledges.actor_resolved = :unresolved"),
    "own": ("pledges.actor = :actor",),
    "any": ("pledges.actor_resolved IN (:resolved, :unresolved)",),
}


@lru_cache(maxsize=512)
def _candidates_sql(actors: str, conditions: tuple[str, ...], bands: tuple[bool, ...] | None) -> TextClause:
    """The id query of :func:`_candidate_ids` for one shape of candidate, built once per shape.

    Plain SQL text, cached: building it as SQLAlchemy expressions cost more than running it. Each
    amount band (``bands``: whether its currency is NULL) is one range seek of an index: pledges
    by actor (or unnamed), currency and amount (``ix_pledges_actor_currency_amount`` /
    ``ix_pledges_resolved_currency_amount``), mentions by currency and amount (a re-report in
    another currency or rounded, ``ix_pledge_mentions_currency_amount``)."""
    where = ["pledges.kind IN :kinds", "(" + " OR ".join(_ACTOR_SQL[actors]) + ")", *conditions]
    if bands is None:
        sql = "SELECT pledges.id FROM pledges WHERE " + " AND ".join(where) + " ORDER BY pledges.id"
    else:
        seeks = []
        for index, null_currency in enumerate(bands):
            currency = "currency IS NULL" if null_currency else f"currency = :currency_{index}"
            amount = f"{currency} AND amount_value BETWEEN :low_{index} AND :high_{index}"
            seeks += [
                f"SELECT pledges.id FROM pledges WHERE {actor} AND {amount}" for actor in _ACTOR_SQL[actors]
            ]
            seeks.append(f"SELECT pledge_id FROM pledge_mentions WHERE {amount}")
        # The few ids found drive the query (CROSS JOIN keeps SQLite from walking the actor's
        # pledges by the outer conditions instead; PostgreSQL plans it as a join either way).
        sql = (
            "SELECT pledges.id FROM (" + " UNION ".join(seeks) + ") AS found CROSS JOIN pledges"
            " WHERE pledges.id = found.id AND " + " AND ".join(where) + " ORDER BY pledges.id"
        )
    statement = text(sql).bindparams(bindparam("kinds", expanding=True))
    if any(":units" in condition for condition in conditions):
        statement = statement.bindparams(bindparam("units", expanding=True))
    return statement


@lru_cache(maxsize=1)
def _load_pledges() -> Select[tuple[Pledge]]:
    """The known pledges by id, in id order (the order the comparison breaks ties in); built once,
    at first use (building it configures the ORM mappers, which a process that never looks up a
    pledge should not pay for at import)."""
    return select(Pledge).where(Pledge.id.in_(bindparam("ids", expanding=True))).order_by(Pledge.id)


@lru_cache(maxsize=1)
def _load_said() -> Select[Any]:
    """What the known pledges' mentions say (:class:`_Said`), by pledge id, in mention id order."""
    mentions = PledgeMention.__table__.c
    return (
        select(
            mentions.pledge_id,
            mentions.id,
            mentions.amount_value,
            mentions.currency,
            mentions.published_at,
            mentions.sentence,
            mentions.purpose_stems,
            mentions.purpose_key,
        )
        .where(mentions.pledge_id.in_(bindparam("ids", expanding=True)))
        .order_by(mentions.id)
    )


def _said_of(session: Session, pledges: Sequence[Pledge]) -> dict[int, list[_Said]]:
    """The mentions of ``pledges`` as :class:`_Said`, their purpose stems as stored (migration 0016);
    stems missing or made under other rules or another actor are computed once and stored."""
    actors = {pledge.id: pledge.actor for pledge in pledges}
    said: dict[int, list[_Said]] = {pledge_id: [] for pledge_id in actors}
    ids = list(actors)
    stale: list[dict[str, Any]] = []
    for chunk in range(0, len(ids), _LOAD_CHUNK):
        for row in session.execute(_load_said(), {"ids": ids[chunk : chunk + _LOAD_CHUNK]}):
            stems, columns = _stems_to_store(
                row.purpose_stems, row.purpose_key, row.sentence, actors[row.pledge_id]
            )
            if columns is not None:
                stale.append({"id": row.id, **columns})
            said[row.pledge_id].append(
                _Said(row.amount_value, row.currency, row.published_at, row.sentence, stems)
            )
    if stale:
        # One bulk UPDATE by primary key. A mention object already in the session keeps its old
        # stems in memory: nothing reads them from the object but this module, from the rows.
        session.execute(update(PledgeMention), stale)
    return said


_LOAD_CHUNK = 5000


def _candidate_ids(
    session: Session, candidate: PledgeCandidate, kinds: list[str], resolved: bool
) -> list[int]:
    """The ids of the known pledges that could be the one ``candidate`` reports, narrowed in SQL.

    Not a revision: only pledges of the actor (and those nobody named yet), the kinds, comparable
    units and years whose amount or a mention's amount lies in one of the candidate's amount
    bands (:func:`_amount_bands`), each band an index range seek; a revision, whose amount
    changed, reads the actor's pledges of the kinds, units and years.
    """
    if not resolved:
        actors = "any"
    elif candidate.is_revision:
        actors = "own"
    else:
        actors = "named"
    conditions, params = _comparable_filters(candidate)
    params.update(kinds=kinds, actor=candidate.actor, resolved=True, unresolved=False)
    bands: tuple[bool, ...] | None = None
    if not candidate.is_revision:
        found = _amount_bands(candidate)
        if not found:
            return []
        bands = tuple(currency is None for currency, _, _ in found)
        for index, (currency, low, high) in enumerate(found):
            params.update({f"currency_{index}": currency, f"low_{index}": low, f"high_{index}": high})
    session.flush()  # a plain SQL text is not autoflushed: the pledges of this batch must be seen
    return list(session.scalars(_candidates_sql(actors, tuple(conditions), bands), params))


def _find_pledge(
    session: Session, candidate: PledgeCandidate, published: datetime | None
) -> tuple[Pledge | None, bool]:
    """(known pledge this mention reports, is it a revision of it?).

    Indexed lookup (:func:`_candidate_ids`): only this actor's pledges of a compatible kind
    whose amount (or a mention's amount) could equal the candidate's are read (a revision, whose
    amount changed, reads the actor's pledges of the kind). Real re-reports word the same money as
    "invest", "fund", "provide" or "purchase", so the kinds of :data:`MONEY_FAMILY` are one for
    money; counts must be of one kind and comparable units. Then nothing may contradict (region,
    years, "another") and something must confirm (region, years, or shared purpose words, fewer
    the closer in time; each mention's words are stored with it, not recomputed).

    An actor the detector could not resolve ("It will also set up a 20 billion yuan fund" on its
    own; ``actor_resolved`` false, the actor as written) is looked up among every company's pledges
    of that amount, and must share one purpose word more: a re-report so found names its company.
    """
    year = published.year if published else None
    resolved = getattr(candidate, "actor_resolved", True) is not False
    if candidate.is_revision:
        kinds = sorted(MONEY_KINDS) if candidate.kind in MONEY_KINDS else [candidate.kind]
    elif candidate.currency is not None:
        kinds = sorted(MONEY_FAMILY | {candidate.kind})
    else:
        kinds = [candidate.kind]
    if not resolved and candidate.is_revision:
        return None, False  # a revision of whose pledge? Nothing to narrow the amount by.
    ids = _candidate_ids(session, candidate, kinds, resolved)
    known: list[Pledge] = []
    for chunk in range(0, len(ids), _LOAD_CHUNK):
        known += session.scalars(_load_pledges(), {"ids": ids[chunk : chunk + _LOAD_CHUNK]}).all()
    said_of = _said_of(session, known)
    best: tuple[float, Pledge, list[_Said]] | None = None
    for pledge in known:
        said = said_of[pledge.id]
        named_elsewhere = pledge.actor != candidate.actor
        compatible, strength = _agreement(candidate, pledge)
        if not compatible:
            continue
        if (candidate.currency is None) != (pledge.currency is None):
            continue
        if candidate.currency is None and not _units_comparable(candidate.amount_unit, pledge.amount_unit):
            continue
        shared, overlap = _purpose_overlap(candidate, said)
        if candidate.is_revision:
            if pledge.kind != candidate.kind and strength < 2 and shared < 2:
                continue
            score = strength + overlap
            if (strength or shared >= 2 or overlap >= 0.34) and (best is None or score > best[0]):
                best = (score, pledge, said)
            continue
        if not _amounts_match(candidate, year, pledge, said):
            continue
        if _ON_TOP.search(candidate.sentence) and not _on_top(pledge, said):
            # "another 50 billion yuan": a new pledge on top of the known one.
            continue
        needed = _shared_needed(_days_apart(said, published))
        if not resolved or named_elsewhere:
            # Any company's pledge of this amount: the words must say it is this one.
            if shared < needed + 1:
                continue
        elif strength < 2 and shared < needed:
            # Neither place nor years confirm it: shared purpose words must.
            continue
        score = strength + shared + overlap + (pledge.kind == candidate.kind)
        if best is None or score > best[0]:
            best = (score, pledge, said)
    if best is None:
        return None, False
    _, pledge, said = best
    if candidate.is_revision:
        return pledge, not _amounts_match(candidate, year, pledge, said)
    return pledge, False


EVIDENCE_TEXT_KEYS = ("cue", "quantity", "subject")


def candidate_evidence(candidate: PledgeCandidate) -> dict[str, Any] | None:
    """The candidate's evidence as stored on its mention (JSON-safe), None when it carries none.

    The agreed keys (the cue, the quantity and the subject as printed; a learned decision's score
    and features) are checked and normalised; other keys the detector adds ("actor_source") are
    kept when their value is a plain string, number or truth value, so the JSON always stores.
    """
    raw = getattr(candidate, "evidence", None) or {}
    evidence: dict[str, Any] = {}
    for key in EVIDENCE_TEXT_KEYS:
        value = raw.get(key)
        if value not in (None, ""):
            evidence[key] = str(value)
    score = raw.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
        evidence["score"] = float(score)
    features = raw.get("features")
    if isinstance(features, list | tuple) and features:
        evidence["features"] = [str(f) for f in features]
    for key, value in raw.items():
        if key in evidence or key in ("score", "features") or value in (None, ""):
            continue
        if isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
            evidence[str(key)] = value
    return evidence or None


def as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _store_candidates(
    session: Session,
    candidates: Sequence[PledgeCandidate],
    existing: list[PledgeMention],
    published: datetime | None,
    source_name: str | None,
    article: Article | None,
    report_ref: str | None,
) -> list[MentionOutcome]:
    year = published.year if published else None
    outcomes: list[MentionOutcome] = []
    unclaimed = list(existing)
    for candidate in candidates:
        pledge, is_revision = _find_pledge(session, candidate, published)
        # The analyst's merges and splits (store/overrides.py) decide over identity.
        pledge, is_revision = overrides.redirect(
            session, pledge, is_revision, candidate.sentence, article, report_ref
        )
        if (
            pledge is not None
            and pledge.actor != candidate.actor
            and getattr(candidate, "actor_resolved", True) is not False
        ):
            # A pledge first reported as "it will ..." now has its company named.
            pledge.actor = candidate.actor
            pledge.actor_resolved = True
            pledge.key = pledge_key(candidate, published.year if published else None)
            pledge.updated_at = utcnow()
        # The same report processed again (an edited article): update its mention in place.
        previous = next(
            (m for m in unclaimed if pledge is not None and m.pledge_id == pledge.id),
            None,
        )
        if previous is None and pledge is None:
            # Same actor, kind and place/time as a mention this report had before: an edit that
            # changed the amount. The nearest such sentence is the edited one.
            edited = [
                m
                for m in unclaimed
                if m.pledge.actor == candidate.actor
                and m.pledge.kind == candidate.kind
                and (m.pledge.currency is None) == (candidate.currency is None)
                and _agreement(candidate, m.pledge)[0]
            ]
            index = candidate.sentence_index
            edited.sort(key=lambda m, index=index: abs(m.sentence_index - index))
            previous = edited[0] if edited else None
            if previous is not None:
                # An edit changed the amount of a pledge this report states: a revision.
                pledge, is_revision = previous.pledge, True
        is_new = False
        if pledge is None:
            pledge = Pledge(
                key=pledge_key(candidate, year),
                actor=candidate.actor,
                actor_resolved=getattr(candidate, "actor_resolved", True) is not False,
                kind=candidate.kind,
                amount_value=candidate.amount_value,
                currency=candidate.currency,
                amount_unit=candidate.amount_unit,
                qualifier=candidate.qualifier,
                region=candidate.region,
                horizon=candidate.horizon,
                start_year=candidate.start_year,
                end_year=candidate.end_year,
                revision=0,
                first_published_at=published,
            )
            session.add(pledge)
            session.flush()
            is_new = True
        else:
            if _complete(pledge, candidate, published):
                pledge.updated_at = utcnow()
            if is_revision:
                pledge.amount_value = candidate.amount_value
                pledge.currency = candidate.currency
                pledge.amount_unit = candidate.amount_unit
                pledge.qualifier = candidate.qualifier
                pledge.revision += 1
                pledge.key = pledge_key(candidate, year)
                pledge.updated_at = utcnow()
        if previous is not None and is_revision:
            # An edit changed the amount: the old sentence stays as history (withdrawn), and the
            # revised one is a mention of its own, so that it is alerted once like any revision.
            unclaimed.remove(previous)
            previous.withdrawn_at = utcnow()
            previous.pledge.updated_at = utcnow()
            previous = None
        if previous is not None:
            unclaimed.remove(previous)
            mention = previous
            if (mention.sentence, mention.amount_value, mention.currency) != (
                candidate.sentence,
                candidate.amount_value,
                candidate.currency,
            ):
                pledge.updated_at = utcnow()  # the report now words it differently
            if mention.sentence != candidate.sentence:
                mention.purpose_key = None  # its stored purpose stems are the old sentence's
            mention.sentence = candidate.sentence
            mention.sentence_index = candidate.sentence_index
            mention.start_offset = candidate.start_offset
            mention.end_offset = candidate.end_offset
            mention.amount_value = candidate.amount_value
            mention.currency = candidate.currency
            mention.evidence = candidate_evidence(candidate)
            mention.is_revision = mention.is_revision or is_revision
            outcomes.append(MentionOutcome(pledge, mention, False, is_revision, candidate))
            continue
        mention = PledgeMention(
            pledge=pledge,
            article_id=article.id if article is not None else None,
            report_ref=report_ref,
            source_name=source_name,
            sentence=candidate.sentence,
            sentence_index=candidate.sentence_index,
            start_offset=candidate.start_offset,
            end_offset=candidate.end_offset,
            amount_value=candidate.amount_value,
            currency=candidate.currency,
            evidence=candidate_evidence(candidate),
            is_new=is_new,
            is_revision=is_revision,
            published_at=published,
        )
        _mention_stems(mention, pledge.actor)  # stored once with the mention, read by later lookups
        session.add(mention)
        if not is_new:
            # A report more: the pledge's feed entry lists it (and may link it as first report).
            pledge.updated_at = utcnow()
        session.flush()
        outcomes.append(MentionOutcome(pledge, mention, is_new, is_revision, candidate))
    # What an edit no longer says is no longer reported by this text; the mention is kept
    # (withdrawn), so the pledge, its history and any alert made for it stay valid.
    now = utcnow()
    for stale in unclaimed:
        stale.withdrawn_at = now
        stale.pledge.updated_at = now
    session.flush()
    return outcomes


def _complete(pledge: Pledge, candidate: PledgeCandidate, published: datetime | None) -> bool:
    """A later report may add what the first one left out (a region, the years); True if it did."""
    before = (pledge.region, pledge.start_year, pledge.end_year, pledge.horizon, pledge.qualifier)
    before_published = pledge.first_published_at
    if pledge.region is None and candidate.region:
        pledge.region = candidate.region
    if pledge.end_year is None and candidate.end_year is not None:
        pledge.start_year, pledge.end_year = candidate.start_year, candidate.end_year
        pledge.horizon = candidate.horizon
    if pledge.qualifier is None and candidate.qualifier:
        pledge.qualifier = candidate.qualifier
    if published is not None and (pledge.first_published_at is None or published < pledge.first_published_at):
        pledge.first_published_at = published
    after = (pledge.region, pledge.start_year, pledge.end_year, pledge.horizon, pledge.qualifier)
    return after != before or pledge.first_published_at is not before_published


def link_article_candidates(
    session: Session, article: Article, candidates: Sequence[PledgeCandidate], new_article: bool = False
) -> list[MentionOutcome]:
    """Store the detected pledges of ``article``; processing it again updates, never duplicates.

    ``new_article``: the article was inserted in this transaction, so it has no mentions yet (the
    query for them is skipped: a crawl's every new article paid it)."""
    published = article.published_at or article.fetched_at
    existing = (
        []
        if new_article
        else list(
            session.scalars(
                select(PledgeMention)
                .where(PledgeMention.article_id == article.id, PledgeMention.withdrawn_at.is_(None))
                .options(selectinload(PledgeMention.pledge))
                .order_by(PledgeMention.id)
            )
        )
    )
    source_name = article.outlet or (article.source.name if article.source is not None else None)
    return _store_candidates(session, candidates, existing, published, source_name, article, None)


def link_report_candidates(
    session: Session,
    report_ref: str,
    candidates: Sequence[PledgeCandidate],
    published: date | datetime | None,
    source: str | None,
) -> list[MentionOutcome]:
    """Store the detected pledges of a text that is not an archived article, known by ``report_ref``."""
    when = as_datetime(published)
    existing = list(
        session.scalars(
            select(PledgeMention)
            .where(PledgeMention.report_ref == report_ref, PledgeMention.withdrawn_at.is_(None))
            .options(selectinload(PledgeMention.pledge))
            .order_by(PledgeMention.id)
        )
    )
    return _store_candidates(session, candidates, existing, when, source, None, report_ref)
