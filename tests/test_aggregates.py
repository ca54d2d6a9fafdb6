"""Unit-correct totals (store/aggregates.py) and USD estimates (notify/fx.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers_search import add_hubei_pledge, seed_archive

from pledgewatch.notify.fx import estimate_by_year, format_usd, parse_rate_table, rate_table
from pledgewatch.store.aggregates import coverage, totals, unit_of
from pledgewatch.store.listing import PledgeFilter, list_pledges
from pledgewatch.store.models import Pledge, PledgeMention

REQUIRED = {"CNY", "USD", "EUR", "GBP", "THB"}


def test_the_rate_table_covers_the_currencies_and_years_with_a_source_for_each():
    table = rate_table()
    assert set(table.currencies) >= REQUIRED
    for code in table.currencies:
        assert set(range(2014, 2027)) <= set(table.per_usd[code]), code
        assert table.sources[code], f"{code} has no source"
    assert "Federal Reserve" in table.source_name and table.source_url.startswith("https://")
    # Plausible magnitudes: a transcription error of a factor 10 would show here.
    assert 6 < table.per_usd["CNY"][2020] < 7.5
    assert 0.6 < table.per_usd["GBP"][2020] < 0.9  # quoted as US$ per pound in the file
    assert 0.8 < table.per_usd["EUR"][2020] < 1


def test_a_pledge_uses_its_year_else_the_nearest_year_and_says_which():
    table = rate_table()
    in_2020 = table.estimate(6e9, "CNY", 2020)
    assert in_2020 is not None and in_2020.year == 2020 and not in_2020.nearest
    assert round(in_2020.usd / 1e6) == round(6e9 / table.per_usd["CNY"][2020] / 1e6)
    assert format_usd(in_2020.usd) == "≈ US$869 million"
    assert in_2020.note == "2020 average rate"
    early = table.estimate(1e9, "CNY", 2009)
    assert early is not None and early.year == 2014 and early.nearest
    assert "nearest year" in early.note
    late = table.estimate(1e9, "EUR", 2031)
    assert late is not None and late.year == 2026 and late.provisional
    # Counts have no dollar value; an unknown currency has no rate.
    assert table.estimate(9000, None, 2020) is None
    assert table.estimate(5, "XAU", 2020) is None


def test_a_total_converts_each_year_at_its_own_rate():
    table = parse_rate_table(
        '[source]\nname = "test"\nurl = "https://example.org"\n'
        "[currencies.CNY]\nper_usd = { 2018 = 5.0, 2020 = 10.0 }\n"
    )
    estimate = estimate_by_year({2018: 10.0, 2020: 10.0, None: 10.0}, "CNY", table)
    assert estimate is not None
    # 2018: 2 US$, 2020: 1 US$, undated: the latest year's rate (2020): 1 US$.
    assert estimate.usd == pytest.approx(4.0)
    assert estimate.years == (2018, 2020) and estimate.note == "2018-2020 average rates"


def _add_pledge(session, actor, kind, value, currency, unit, published, region=None):
    pledge = Pledge(
        key=f"{actor}:{kind}:{value}:{currency}:{unit}:{published.year}",
        actor=actor,
        kind=kind,
        amount_value=value,
        currency=currency,
        amount_unit=unit,
        region=region,
        first_published_at=published,
    )
    pledge.mentions.append(
        PledgeMention(
            sentence=f"{actor} will {kind} {value} {currency or unit}.",
            sentence_index=0,
            start_offset=0,
            end_offset=10,
            report_ref=f"test-{actor}-{kind}-{value}",
            published_at=published,
            is_new=True,
        )
    )
    session.add(pledge)
    session.flush()
    return pledge


def test_totals_never_add_different_units(sessions):
    with sessions() as session:
        ids = seed_archive(session)
        add_hubei_pledge(session, ids)
        when = datetime(2019, 5, 20, tzinfo=UTC)
        # Guangxi, as in the issue: 6 parks and 5,000 jobs must not become 5,006 of anything.
        _add_pledge(session, "JD.com", "build", 6, None, "facilities", when, "Guangxi")
        _add_pledge(session, "JD.com", "jobs", 5000, None, "jobs", when, "Guangxi")
        _add_pledge(
            session, "JD.com", "jobs", 3000, None, "jobs", datetime(2020, 1, 2, tzinfo=UTC), "Guangxi"
        )
        session.commit()

        pledges = list_pledges(session)
        by_region = totals(session, ("region",))
        guangxi = {row.unit: row for row in by_region if row.key == ("Guangxi",)}
        assert set(guangxi) == {"facilities", "jobs"}
        assert guangxi["facilities"].amount == 6 and guangxi["jobs"].amount == 8000
        assert guangxi["jobs"].pledges == 2 and guangxi["jobs"].by_year == {2019: 5000, 2020: 3000}

        # Every (group, unit) row sums exactly the listed pledges of that group and unit.
        for by in (("actor", "kind"), ("kind",), ("region",), ("actor", "year", "month")):
            rows = totals(session, by)
            assert len({(row.key, row.unit) for row in rows}) == len(rows)
            for row in rows:
                members = [
                    p
                    for p in pledges
                    if _key(p, by) == row.key and unit_of(p.currency, p.amount_unit) == row.unit
                ]
                assert row.pledges == len(members), (by, row)
                assert row.amount == pytest.approx(sum(p.amount_value or 0 for p in members)), (by, row)
            assert sum(row.pledges for row in rows) == len(pledges)

        # Filters mean what they mean for `pledges list`.
        only = PledgeFilter(actor="JD.com", since=datetime(2020, 1, 1, tzinfo=UTC))
        filtered = totals(session, ("actor",), only)
        assert sum(row.pledges for row in filtered) == len(list_pledges(session, only))
        # The Hubei pledge is reported twice in the seed archive (the blog and People's Daily).
        reach = coverage(session)
        assert set(reach) == {p.id for p in pledges}
        assert max(c.articles for c in reach.values()) >= 2


def _key(pledge, by):
    values = {
        "actor": pledge.actor,
        "kind": pledge.kind,
        "region": pledge.region,
        "year": pledge.first_published_at.year if pledge.first_published_at else None,
        "month": pledge.first_published_at.month if pledge.first_published_at else None,
    }
    return tuple(values[name] for name in by)


def test_totals_refuse_an_unknown_grouping(sessions):
    with sessions() as session, pytest.raises(ValueError, match="cannot group pledges by colour"):
        totals(session, ("colour",))
