"""`pledgewatch report`: one self-contained HTML file of charts and tables about the archive's pledges.

Analysts would rather look than read, and they open such a report on a train, attach it to a
mail or archive it: so it is one file that needs no network. The charts are Vega-Lite
specifications made with Altair (validated against the Vega-Lite schema as they are built), drawn
in the browser by the Vega bundle that vl-convert ships, inlined once into the file (about 0.9 MB),
with tooltips that give every number. Why this and not matplotlib SVGs: the same specifications
serve the Datasette dashboard (datasette-dashboards draws Vega-Lite too), tooltips need no extra
code, and the two packages add four small pure-Python dependencies and one self-contained wheel
(vl-convert has no dependencies of its own), where matplotlib brings NumPy, Pillow and a font
stack. Both are in the optional ``[report]`` extra; without them the command says so in one line.

Every chart is followed by the numbers it draws, as a table, and every amount stays in its own
currency or unit; US-dollar figures are estimates (notify/fx.py) and say which year's rate they
used. The numbers come from store/aggregates.py over the pledges of ``pledges list`` with the
same filters, so the report and the listing agree.
"""

from __future__ import annotations

import html
import importlib.util
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from pledgewatch.errors import PledgewatchError
from pledgewatch.notify.fx import TotalEstimate, estimate_by_year, format_usd, rate_table
from pledgewatch.notify.rendering import format_amount, format_horizon, format_time, render
from pledgewatch.store.aggregates import NO_REGION, Coverage, Total, coverage, totals
from pledgewatch.store.listing import PledgeFilter, list_pledges
from pledgewatch.store.models import Pledge, utcnow
from pledgewatch.store.overrides import effective_pledge
from pledgewatch.store.reports import first_report

CHART_PACKAGES = ("altair", "vl_convert")
INSTALL_HINT = "the report's charts need Altair and vl-convert: pip install 'pledgewatch[report]'"
LARGEST = 10
MOST_REPORTED = 15


class ChartsUnavailable(PledgewatchError):
    """The optional charting packages are not installed (a runtime failure: exit 1, like `serve`)."""


def check_chart_packages() -> None:
    """Fail with one line naming the extra to install, before anything is read or written."""
    if any(importlib.util.find_spec(name) is None for name in CHART_PACKAGES):
        raise ChartsUnavailable(INSTALL_HINT)


@dataclass
class ReportPledge:
    """One pledge as the report's table prints it (and as its charts count it)."""

    pledge_id: int
    actor: str
    kind: str
    amount_value: float | None
    currency: str | None
    amount_unit: str | None
    unit: str
    amount: str
    usd: float | None
    usd_text: str
    usd_note: str
    # The year of the exchange rate the estimate used (None: no estimate).
    rate_year: int | None
    region: str
    horizon: str
    first_published: str
    url: str
    title: str
    outlet: str
    mentions: int
    articles: int
    outlets: int


@dataclass
class ReportTotal:
    actor: str
    kind: str
    unit: str
    pledges: int
    amount: str
    amount_value: float
    usd: float | None
    usd_text: str
    usd_note: str


@dataclass
class Chart:
    """One chart: its anchor, heading, explanation and Vega-Lite specification."""

    name: str
    title: str
    note: str
    spec: dict[str, Any]
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    filters: str
    generated: str
    pledges: list[ReportPledge]
    totals: list[ReportTotal]
    charts: list[Chart]
    rate_note: str
    rates: list[tuple[str, str, str]]  # currency, years, source
    undated: int = 0


def _amount(value: float | None, currency: str | None, unit: str | None, qualifier: str | None) -> str:
    text = format_amount(value, currency, unit)
    return f"{qualifier} {text}" if text and qualifier else (text or "no amount")


def _usd_fields(estimate: TotalEstimate | None, currency: str | None) -> tuple[float | None, str, str]:
    if estimate is None:
        return None, "", ""
    note = estimate.note + (" (part without a rate)" if estimate.partial else "")
    return estimate.usd, "" if currency == "USD" else format_usd(estimate.usd), note


def _pledge_row(pledge: Pledge, reach: Coverage | None, zone: tzinfo | None) -> ReportPledge:
    year = pledge.first_published_at.year if pledge.first_published_at else None
    estimate = rate_table().estimate(pledge.amount_value, pledge.currency, year)
    report = first_report(pledge, archived=True) or first_report(pledge)
    article = report.article if report is not None else None
    outlet = ""
    if article is not None:
        outlet = article.outlet or (article.source.title if article.source is not None else "")
    elif report is not None:
        outlet = report.source_name or ""
    unit = (pledge.currency or "").upper() or pledge.amount_unit or "(no unit)"
    return ReportPledge(
        pledge_id=pledge.id,
        actor=pledge.actor,
        kind=pledge.kind,
        amount_value=pledge.amount_value,
        currency=pledge.currency,
        amount_unit=pledge.amount_unit,
        unit=unit,
        amount=_amount(pledge.amount_value, pledge.currency, pledge.amount_unit, pledge.qualifier),
        usd=estimate.usd if estimate else None,
        usd_text=format_usd(estimate.usd) if estimate and pledge.currency != "USD" else "",
        usd_note=estimate.note if estimate else "",
        rate_year=estimate.year if estimate else None,
        region=pledge.region or "",
        horizon=format_horizon(pledge),
        first_published=format_time(pledge.first_published_at, zone)[:10]
        if pledge.first_published_at
        else "",
        url=article.canonical_url if article is not None else "",
        title=(article.title if article is not None else "") or "",
        outlet=outlet,
        mentions=reach.mentions if reach else 0,
        articles=reach.articles if reach else 0,
        outlets=reach.outlets if reach else 0,
    )


def _total_row(total: Total) -> ReportTotal:
    estimate = estimate_by_year(total.by_year, total.currency) if total.is_money else None
    usd, usd_text, usd_note = _usd_fields(estimate, total.currency)
    return ReportTotal(
        actor=str(total.key[0]),
        kind=str(total.key[1]),
        unit=total.unit,
        pledges=total.pledges,
        amount=format_amount(total.amount, total.currency, total.amount_unit)
        if total.amount
        else "no amount",
        amount_value=total.amount,
        usd=usd,
        usd_text=usd_text,
        usd_note=usd_note,
    )


def describe_filters(filters: PledgeFilter, zone: tzinfo | None) -> str:
    parts = []
    if filters.actor:
        parts.append(f"company {filters.actor}")
    if filters.since:
        parts.append(f"first reported from {format_time(filters.since, zone)[:10]}")
    if filters.until:
        # --until DAY (a UTC day) counts the day whole, which the filter stores as the next UTC
        # midnight: name the day the user typed, not the exclusive bound.
        bound = filters.until.astimezone(UTC)
        if bound.time() == time(0):
            parts.append(f"through {(bound - timedelta(days=1)).date().isoformat()}")
        else:
            parts.append(f"before {format_time(filters.until, zone)[:16]}")
    return ", ".join(parts) or "every pledge in the archive"


def build_report(
    session: Session,
    filters: PledgeFilter | None = None,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> Report:
    """The report's numbers and charts for the pledges ``pledges list`` shows with ``filters``."""
    check_chart_packages()
    filters = filters or PledgeFilter()
    reach = coverage(session, filters)
    # The analyst's corrections apply (store/overrides.py); the totals below count the machine's.
    pledges = [
        _pledge_row(effective_pledge(p), reach.get(p.id), zone) for p in list_pledges(session, filters)
    ]
    by_actor_kind = [_total_row(t) for t in totals(session, ("actor", "kind"), filters)]
    table = rate_table()
    used: dict[str, set[int]] = {}
    for row in pledges:
        if row.currency and row.rate_year is not None:
            used.setdefault(row.currency.upper(), set()).add(row.rate_year)
    rates = [
        (code, ", ".join(f"{y}: {table.per_usd[code][y]:g}" for y in sorted(years)), table.sources[code])
        for code, years in sorted(used.items())
        if code != "USD"
    ]
    charts = [
        _time_chart(session, filters, "pledges", "Pledges over time, by company", "Number of pledges"),
        _time_chart(
            session, filters, "usd", "Monetary pledges over time, by company", "≈ US$ (estimate; G = bn)"
        ),
        _group_chart(session, filters, "kind", "Pledges by kind"),
        _group_chart(session, filters, "region", "Pledges by region"),
        _largest_chart(pledges),
        _coverage_chart(pledges),
    ]
    undated = sum(1 for row in pledges if not row.first_published)
    return Report(
        title="pledgewatch report",
        filters=describe_filters(filters, zone),
        generated=format_time(now or utcnow(), zone),
        pledges=pledges,
        totals=by_actor_kind,
        charts=charts,
        rate_note=(
            "US-dollar figures (≈ US$) are estimates: each amount at the yearly average exchange rate of "
            "its first publication year (the nearest year in the table otherwise), from "
            f"{table.source_name} ({table.source_url}). Amounts in different currencies or units are "
            "never added; only their estimates are."
        ),
        rates=rates,
        undated=undated,
    )


# -- charts --------------------------------------------------------------------------------------


def _altair() -> Any:
    import altair as alt

    return alt


def _finish(chart: Any) -> dict[str, Any]:
    """The chart as a Vega-Lite dict (Altair validates it here), sized to the page's width."""
    spec: dict[str, Any] = chart.properties(width="container").to_dict()
    spec.setdefault("config", {}).update({"view": {"stroke": None}, "font": "Helvetica, Arial, sans-serif"})
    return spec


def _time_chart(session: Session, filters: PledgeFilter, measure: str, title: str, axis: str) -> Chart:
    alt = _altair()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for total in totals(session, ("actor", "year", "month"), filters):
        actor, year, month = total.key
        if year is None or month is None:
            continue
        key = (f"{int(year):04d}-{int(month):02d}", str(actor))  # type: ignore[call-overload]
        row = rows.setdefault(key, {"month": key[0], "company": key[1], "pledges": 0, "usd": 0.0})
        row["pledges"] += total.pledges
        if total.is_money:
            estimate = estimate_by_year(total.by_year, total.currency)
            if estimate is not None:
                row["usd"] += estimate.usd
    values = sorted(rows.values(), key=lambda r: (r["month"], r["company"]))
    # Both time charts share their scale of time and their colours (a company keeps its colour).
    companies = sorted({r["company"] for r in values})
    months = sorted({r["month"] for r in values})
    yearly = bool(months) and int(months[-1][:4]) - int(months[0][:4]) >= 3
    if measure == "usd":
        values = [r for r in values if r["usd"] > 0]
    for row in values:
        row["year"] = row["month"][:4]
        row["usd_text"] = format_usd(row["usd"]) if row["usd"] else ""
    if yearly:
        years = [str(y) for y in range(int(months[0][:4]), int(months[-1][:4]) + 1)]
        x = alt.X(
            "year:O", title="Year of first report", scale=alt.Scale(domain=years), axis=alt.Axis(labelAngle=0)
        )
        when = alt.Tooltip("year:O", title="Year")
    else:
        x = alt.X("month:T", timeUnit="yearmonth", title="Month of first report")
        when = alt.Tooltip("month:T", timeUnit="yearmonth", title="Month")
    y_field = "pledges" if measure == "pledges" else "usd"
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                f"sum({y_field}):Q",
                title=axis,
                axis=alt.Axis(format="~s") if measure == "usd" else alt.Axis(tickMinStep=1, format="d"),
            ),
            color=alt.Color("company:N", title="Company", scale=alt.Scale(domain=companies)),
            tooltip=[
                alt.Tooltip("company:N", title="Company"),
                when,
                alt.Tooltip(f"sum({y_field}):Q", title=axis, format=",.0f" if measure == "usd" else "d"),
            ],
        )
        .properties(height=260)
    )
    header = ["Month", "Company", "Pledges", "≈ US$ (estimate)"]
    table = [[r["month"], r["company"], str(r["pledges"]), r["usd_text"]] for r in values]
    period = "year" if yearly else "month"
    note = (
        f"Pledges by the {period} of their first report, stacked by company."
        if measure == "pledges"
        else f"The US-dollar estimate of monetary pledges by the {period} of their first report; "
        "counts (jobs, people) have no dollar value and are left out here."
    )
    return Chart(f"time-{measure}", title, note, _finish(chart), table, header)


def _group_chart(session: Session, filters: PledgeFilter, group: str, title: str) -> Chart:
    alt = _altair()
    values = []
    for total in totals(session, (group,), filters):
        name = str(total.key[0]) if total.key[0] is not None else (NO_REGION if group == "region" else "")
        estimate = estimate_by_year(total.by_year, total.currency) if total.is_money else None
        values.append(
            {
                group: name,
                "unit": total.unit,
                "pledges": total.pledges,
                "total": format_amount(total.amount, total.currency, total.amount_unit)
                if total.amount
                else "",
                "usd": format_usd(estimate.usd) if estimate and total.currency != "USD" else "",
            }
        )
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", sort="-x", title=group.capitalize(), axis=alt.Axis(labelLimit=280)),
            x=alt.X("sum(pledges):Q", title="Number of pledges", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("unit:N", title="Unit"),
            tooltip=[
                alt.Tooltip(f"{group}:N", title=group.capitalize()),
                alt.Tooltip("unit:N", title="Unit"),
                alt.Tooltip("pledges:Q", title="Pledges"),
                alt.Tooltip("total:N", title="Total in its unit"),
                alt.Tooltip("usd:N", title="≈ US$ (estimate)"),
            ],
        )
        .properties(height=max(120, 22 * len({v[group] for v in values})))
    )
    note = (
        "Number of pledges, coloured by unit; the table gives each unit's total (never added across units)."
    )
    if group == "region":
        note += (
            " A region is as the pledge names it (a pledge for three provinces is one row); no offline "
            "province map is drawn: bars compare better than shades."
        )
    rows = [[v[group], v["unit"], str(v["pledges"]), v["total"], v["usd"]] for v in values]
    header = [group.capitalize(), "Unit", "Pledges", "Total", "≈ US$ (estimate)"]
    return Chart(f"by-{group}", title, note, _finish(chart), rows, header)


def _label(row: ReportPledge) -> str:
    where = f" in {row.region}" if row.region else ""
    return f"#{row.pledge_id} {row.actor} {row.kind}{where}"


def _largest_chart(pledges: list[ReportPledge]) -> Chart:
    alt = _altair()
    money = sorted((p for p in pledges if p.usd is not None), key=lambda p: (-(p.usd or 0), p.pledge_id))
    values = [
        {
            "pledge": _label(p),
            "usd": round(p.usd or 0.0, 2),
            "usd_text": format_usd(p.usd) if p.currency != "USD" else format_amount(p.usd, "USD", None),
            "amount": p.amount,
            "rate": p.usd_note,
            "first": p.first_published,
        }
        for p in money[:LARGEST]
    ]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar(color="#c8102e")
        .encode(
            y=alt.Y("pledge:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("usd:Q", title="≈ US$ (estimate)", axis=alt.Axis(format="~s")),
            tooltip=[
                alt.Tooltip("pledge:N", title="Pledge"),
                alt.Tooltip("amount:N", title="Amount"),
                alt.Tooltip("usd_text:N", title="≈ US$ (estimate)"),
                alt.Tooltip("rate:N", title="Rate used"),
                alt.Tooltip("first:N", title="First reported"),
            ],
        )
        .properties(height=max(120, 26 * len(values)))
    )
    rows = [[v["pledge"], v["amount"], v["usd_text"], v["rate"], v["first"]] for v in values]
    header = ["Pledge", "Amount", "≈ US$ (estimate)", "Rate used", "First reported"]
    note = (
        f"The {LARGEST} largest monetary pledges by their US-dollar estimate (G = billion, M = million); "
        "counts of jobs or people are in the table of pledges below."
    )
    return Chart("largest", "Largest pledges", note, _finish(chart), rows, header)


def _coverage_chart(pledges: list[ReportPledge]) -> Chart:
    alt = _altair()
    ranked = sorted(pledges, key=lambda p: (-p.articles, -p.outlets, -(p.usd or 0), p.pledge_id))
    values = [
        {
            "pledge": _label(p),
            "articles": p.articles,
            "outlets": p.outlets,
            "rereports": max(p.articles - 1, 0),
            "amount": p.amount,
        }
        for p in ranked[:MOST_REPORTED]
    ]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar(color="#5b7fa6")
        .encode(
            y=alt.Y("pledge:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("articles:Q", title="Articles reporting it", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[
                alt.Tooltip("pledge:N", title="Pledge"),
                alt.Tooltip("amount:N", title="Amount"),
                alt.Tooltip("articles:Q", title="Articles"),
                alt.Tooltip("rereports:Q", title="Re-reports"),
                alt.Tooltip("outlets:Q", title="Outlets"),
            ],
        )
        .properties(height=max(120, 22 * len(values)))
    )
    rows = [[v["pledge"], str(v["articles"]), str(v["rereports"]), str(v["outlets"])] for v in values]
    header = ["Pledge", "Articles", "Re-reports", "Outlets"]
    note = (
        "How widely each pledge was covered: the archived articles that report it now (the first report "
        "and its re-reports) and the outlets they come from."
    )
    return Chart("coverage", "Re-report counts", note, _finish(chart), rows, header)


# -- HTML ----------------------------------------------------------------------------------------


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>" or "<!--" can end it early)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript that vl-convert ships, for the Vega-Lite
    version Altair writes: inlined so the report opens without a network."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    bundle: str = vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())
    if "</script" in bundle.lower():  # never the case so far; checked because it would break the page
        bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    return bundle


def render_report(report: Report) -> str:
    """The report as one HTML page: the charts' JavaScript and data inlined, nothing fetched."""
    specs = {chart.name: chart.spec for chart in report.charts}
    return render(
        "report.html.j2",
        report=report,
        bundle=vega_bundle(),
        specs_json=_script_json(specs),
        escape=html.escape,
    )
