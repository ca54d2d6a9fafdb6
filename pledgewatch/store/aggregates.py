"""Totals of pledges that never add different units: the SQL behind the digest summary and reports.

"RMB 10 bn + 5,000 jobs + 6 parks" is not a number. Every total here is grouped by the pledge's
currency *and* its unit (a monetary pledge has a currency and no unit, a count a unit and no
currency), on top of whatever the caller groups by (company, kind, region, month). Totals also
keep their amounts per publication year, because the US-dollar estimate (notify/fx.py) converts
each year at that year's rate.

The pledges counted are those of ``pledges list`` with the same filters
(:func:`pledgewatch.store.listing.current_pledges`): a report's numbers match the listing's.
Written with SQLAlchemy expressions only (``extract`` for years and months), so the same queries
run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, extract, func, select
from sqlalchemy.orm import Session

from pledgewatch.store.listing import PledgeFilter, current_pledges
from pledgewatch.store.models import Article, Pledge, PledgeMention, Source

NO_UNIT = "(no unit)"
NO_REGION = "(no region)"

# What a total may be grouped by, besides currency and unit (always).
GROUPS: dict[str, ColumnElement[object]] = {
    "actor": Pledge.actor,
    "kind": Pledge.kind,
    "region": Pledge.region,
    "year": extract("year", Pledge.first_published_at),
    "month": extract("month", Pledge.first_published_at),
}


def unit_of(currency: str | None, amount_unit: str | None) -> str:
    """The one unit a total is in: the currency code (CNY), else the counted unit (jobs)."""
    return (currency or "").upper() or amount_unit or NO_UNIT


@dataclass
class Total:
    """Pledges of one group in one unit: how many, and the sum of their amounts.

    ``key`` holds the values of the grouping columns in the order asked. ``by_year`` splits the
    sum by first-publication year (None: undated) for the USD estimate; ``without_amount`` counts
    the pledges of the group that state no amount (they count as pledges, not in the sum).
    """

    key: tuple[object, ...]
    currency: str | None
    amount_unit: str | None
    pledges: int = 0
    amount: float = 0.0
    without_amount: int = 0
    by_year: dict[int | None, float] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return unit_of(self.currency, self.amount_unit)

    @property
    def is_money(self) -> bool:
        return bool(self.currency)


def _int(value: object) -> int | None:
    # extract() comes back as a float on SQLite's CAST and a Decimal on PostgreSQL.
    return None if value is None else int(value)  # type: ignore[call-overload]


def totals(
    session: Session, by: Sequence[str] = ("actor", "kind"), filters: PledgeFilter | None = None
) -> list[Total]:
    """Pledge counts and amount sums grouped by ``by`` (names of :data:`GROUPS`), currency and unit.

    Ordered by the grouping values, then unit; never one row for two units.
    """
    unknown = [name for name in by if name not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group pledges by {', '.join(unknown)}")
    ids = current_pledges(filters).with_only_columns(Pledge.id).scalar_subquery()
    year = GROUPS["year"]
    columns = [GROUPS[name] for name in by]
    statement = (
        select(
            *columns,
            Pledge.currency,
            Pledge.amount_unit,
            year,
            func.count(Pledge.id),
            func.count(Pledge.amount_value),
            func.sum(Pledge.amount_value),
        )
        .where(Pledge.id.in_(ids))
        .group_by(*columns, Pledge.currency, Pledge.amount_unit, year)
    )
    grouped: dict[tuple[object, ...], Total] = {}
    width = len(columns)
    for row in session.execute(statement):
        values = tuple(
            _int(v) if name in ("year", "month") else v for name, v in zip(by, row[:width], strict=True)
        )
        currency, amount_unit, row_year, count, with_amount, amount = row[width:]
        key = (*values, (currency or "").upper() or None, amount_unit)
        total = grouped.get(key)
        if total is None:
            total = grouped[key] = Total(
                key=values, currency=(currency or "").upper() or None, amount_unit=amount_unit
            )
        total.pledges += int(count)
        total.without_amount += int(count) - int(with_amount)
        if amount is not None:
            total.amount += float(amount)
            stamp = _int(row_year)
            total.by_year[stamp] = total.by_year.get(stamp, 0.0) + float(amount)
    return sorted(grouped.values(), key=lambda t: (tuple(_sort_value(v) for v in t.key), t.unit))


def _sort_value(value: object) -> tuple[int, str]:
    if value is None:
        return (1, "")
    if isinstance(value, int):
        return (0, f"{value:012d}")
    return (0, str(value).lower())


@dataclass(frozen=True)
class Coverage:
    """How widely a pledge was reported: its current reports, their articles and outlets."""

    pledge_id: int
    mentions: int
    articles: int
    outlets: int

    @property
    def rereports(self) -> int:
        """Reports after the first (a second sentence of the same article counts as none)."""
        return max(self.articles - 1, 0)


def coverage(session: Session, filters: PledgeFilter | None = None) -> dict[int, Coverage]:
    """Per pledge of ``filters``: current mentions, distinct archived articles and outlets.

    An outlet is the one printed on the page (syndication: "China Daily" on People's Daily) or
    else the publisher, as the overview views and the digest name it.
    """
    ids = current_pledges(filters).with_only_columns(Pledge.id).scalar_subquery()
    outlet = func.coalesce(Article.outlet, Source.title, PledgeMention.source_name)
    statement = (
        select(
            PledgeMention.pledge_id,
            func.count(PledgeMention.id),
            func.count(func.distinct(PledgeMention.article_id)),
            func.count(func.distinct(outlet)),
        )
        .outerjoin(Article, Article.id == PledgeMention.article_id)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(PledgeMention.pledge_id.in_(ids), PledgeMention.withdrawn_at.is_(None))
        .group_by(PledgeMention.pledge_id)
    )
    found: dict[int, Coverage] = {}
    for pledge_id, mentions, articles, outlets in session.execute(statement):
        found[int(pledge_id)] = Coverage(int(pledge_id), int(mentions), int(articles), int(outlets))
    return found


def units_of(rows: Iterable[Total]) -> set[str]:
    """The units a list of totals is in (a check for tests and callers: one per row, by design)."""
    return {row.unit for row in rows}
