"""The digest's one-screen summary: this period's new pledges as a table, then totals per company.

An analyst should know what happened in a minute, before reading any article: who pledged what,
how much (with a US-dollar estimate to compare currencies), where, by when, and a link; then how
much each watched company has pledged on record, per kind and per unit, with a bar to compare.
Totals never add different units (store/aggregates.py); the bars compare US-dollar estimates for
money and amounts of the same unit for counts, so a bar never sets jobs against yuan.

Mail clients drop scripts, external images and most CSS, so the HTML part draws everything with
tables and inline styles (templates/digest.html.j2), and the text part as aligned lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from pledgewatch.notify.fx import estimate_by_year, format_usd, rate_table
from pledgewatch.notify.rendering import format_amount, format_horizon
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store.aggregates import Total, totals, unit_of
from pledgewatch.store.models import Pledge
from pledgewatch.store.overrides import effective_pledge

# Widest bar in the text part, in characters.
TEXT_BAR = 20


@dataclass
class SummaryPledge:
    """One row of the summary's pledge table."""

    pledge_id: int
    status: str  # new | revised
    actor: str
    kind: str
    amount: str
    usd: str
    usd_note: str
    region: str
    horizon: str
    url: str
    title: str
    outlet: str
    watched: bool


@dataclass
class SummaryTotal:
    """One row of the totals table: a company's pledges of one kind in one unit."""

    actor: str
    kind: str
    unit: str
    pledges: int
    new: int
    amount: str
    usd: str
    usd_note: str
    amount_value: float = 0.0
    # Share of the widest bar of its scale (USD for money, the same unit for counts), 0-100.
    bar: int = 0
    scale: str = ""

    @property
    def text_bar(self) -> str:
        return "#" * max(1, round(self.bar * TEXT_BAR / 100)) if self.bar else ""


@dataclass
class DigestSummary:
    pledges: list[SummaryPledge]
    totals: list[SummaryTotal]
    # Said under the tables: where the rates come from, and that USD figures are estimates.
    rate_note: str = ""
    watched: list[str] = field(default_factory=list)


def _amount(pledge: Pledge) -> str:
    amount = format_amount(pledge.amount_value, pledge.currency, pledge.amount_unit)
    return f"{pledge.qualifier} {amount}" if amount and pledge.qualifier else amount


def summary_pledge(
    pledge: Pledge, status: str, url: str, title: str, outlet: str, watched: bool
) -> SummaryPledge:
    """A pledge as a summary row, with its USD estimate at its first publication year's rate."""
    year = pledge.first_published_at.year if pledge.first_published_at else None
    estimate = rate_table().estimate(pledge.amount_value, pledge.currency, year)
    return SummaryPledge(
        pledge_id=pledge.id,
        status=status,
        actor=pledge.actor,
        kind=pledge.kind,
        amount=_amount(pledge) or "no amount",
        usd=format_usd(estimate.usd) if estimate and pledge.currency != "USD" else "",
        usd_note=estimate.note if estimate and pledge.currency != "USD" else "",
        region=pledge.region or "",
        horizon=format_horizon(pledge),
        url=url,
        title=title,
        outlet=outlet,
        watched=watched,
    )


def summary_totals(
    rows: Sequence[Total], new_ids_by_group: dict[tuple[object, ...], int]
) -> list[SummaryTotal]:
    """Totals rows (grouped by actor and kind) as the summary prints them, with their bars."""
    printed: list[SummaryTotal] = []
    widths: dict[str, float] = {}
    values: list[tuple[SummaryTotal, str, float]] = []
    for row in rows:
        actor, kind = str(row.key[0]), str(row.key[1])
        estimate = estimate_by_year(row.by_year, row.currency) if row.is_money else None
        amount = format_amount(row.amount, row.currency, row.amount_unit) if row.amount else ""
        item = SummaryTotal(
            actor=actor,
            kind=kind,
            unit=row.unit,
            pledges=row.pledges,
            new=new_ids_by_group.get((actor, kind, row.unit), 0),
            amount=amount or "no amount",
            amount_value=row.amount,
            usd=format_usd(estimate.usd) if estimate and row.currency != "USD" else "",
            usd_note=(estimate.note + (", part without a rate" if estimate.partial else ""))
            if estimate
            else "",
        )
        scale, value = ("USD", estimate.usd) if estimate else (row.unit, row.amount)
        if row.is_money and estimate is None:
            scale = row.unit  # a currency without a rate compares with itself only
        widths[scale] = max(widths.get(scale, 0.0), value)
        values.append((item, scale, value))
        printed.append(item)
    rows_per_scale: dict[str, int] = {}
    for _, scale, _ in values:
        rows_per_scale[scale] = rows_per_scale.get(scale, 0) + 1
    for item, scale, value in values:
        widest = widths[scale]
        item.scale = scale
        # A bar compares rows of one scale: a unit with a single row has nothing to compare with.
        if rows_per_scale[scale] > 1 and widest > 0 and value > 0:
            item.bar = max(1, round(100 * value / widest))
    return printed


def build_summary(
    session: Session,
    new_pledges: Sequence[tuple[int, str, str, str, str]],
    watchlist: Watchlist,
) -> DigestSummary:
    """The summary of a digest whose new (or revised) pledges are ``new_pledges``: tuples of
    (pledge id, status, url, title, outlet) in the digest's order."""
    pledges: list[SummaryPledge] = []
    new_by_group: dict[tuple[object, ...], int] = {}
    for pledge_id, status, url, title, outlet in new_pledges:
        machine = session.get(Pledge, pledge_id)
        if machine is None:
            continue
        pledge = effective_pledge(machine)  # the analyst's corrections (store/overrides.py)
        row = summary_pledge(pledge, status, url, title, outlet, bool(watchlist.match(pledge.actor)))
        pledges.append(row)
        if status == "new":
            group = (pledge.actor, pledge.kind, unit_of(pledge.currency, pledge.amount_unit))
            new_by_group[group] = new_by_group.get(group, 0) + 1
    watched_rows = [row for row in totals(session, ("actor", "kind")) if watchlist.match(str(row.key[0]))]
    table = rate_table()
    return DigestSummary(
        pledges=pledges,
        totals=summary_totals(watched_rows, new_by_group),
        rate_note=(
            f"US-dollar figures are estimates at the yearly average rate of the pledge's first "
            f"publication year (nearest year in the table otherwise), from {table.source_name}; "
            f"the pledged amount is the one in its own currency."
        ),
        watched=watchlist.names,
    )
