"""`pledgewatch serve` on the demo archive: totals per unit, readable cells, and a chart, in Chromium.

The issue's cases: "Pledge totals by region and currency" summed 6 parks and 5,000 jobs in Guangxi
to 5,006; the pledges view showed 10000000000.0 and raw timestamps under a screen of column notes;
the database page led with `select * from apscheduler_jobs`; nothing drew a picture.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict

import pytest
from conftest import REPO_ROOT, run_cli
from helpers_browser import chromium, run_chromium, served
from lxml import html as lxml_html

from pledgewatch.cli.search import datasette_metadata
from pledgewatch.notify.rendering import format_amount
from pledgewatch.store.aggregates import unit_of

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = run_cli("--db", str(out / "demo.db"), "pledges", "list", "--format", "json")
    return out / "demo.db", json.loads(listed.stdout)


def _unit(pledge: dict) -> str:
    return unit_of(pledge["currency"], pledge["amount_unit"])


def test_every_canned_total_groups_by_unit_and_matches_pledges_list(demo):
    archive, pledges = demo
    queries = datasette_metadata("demo")["databases"]["demo"]["queries"]  # type: ignore[index]
    summing = {name: q for name, q in queries.items() if "sum(" in q["sql"].lower()}
    assert {"pledge_totals_by_region", "pledge_totals_by_company", "totals_by_kind_and_unit"} <= set(summing)
    group_columns = {
        "pledge_totals_by_region": ("region",),
        "pledge_totals_by_company": ("actor", "kind"),
        "totals_by_kind_and_unit": ("kind",),
    }
    connection = sqlite3.connect(archive)
    connection.row_factory = sqlite3.Row
    try:
        for name, query in summing.items():
            assert re.search(r"group by .*\bunit\b", query["sql"], re.IGNORECASE), name
            rows = [dict(row) for row in connection.execute(query["sql"], {"region": "", "actor": ""})]
            by = group_columns[name]
            expected: dict[tuple, list[dict]] = defaultdict(list)
            for pledge in pledges:
                key = tuple(pledge[c] or ("(no region)" if c == "region" else "") for c in by)
                expected[(*key, _unit(pledge))].append(pledge)
            got = {(*(row[c] for c in by), row["unit"]): row for row in rows}
            assert set(got) == set(expected), name
            for key, members in expected.items():
                assert got[key]["pledges"] == len(members), (name, key)
                assert got[key]["total_amount"] == pytest.approx(sum(p["amount_value"] or 0 for p in members))
        # The row: Guangxi is 6 facilities and 5,000 jobs, not 5,006.
        guangxi = connection.execute(queries["pledge_totals_by_region"]["sql"] + "", {}).fetchall()
        rows = {(r["unit"], r["total_amount"]) for r in guangxi if r["region"] == "Guangxi"}
        assert rows == {("facilities", 6.0), ("jobs", 5000.0)}
    finally:
        connection.close()


@pytest.fixture
def served_demo(demo, tmp_path):
    chromium()
    archive, pledges = demo
    with served(archive) as base:
        yield base, pledges


def _dom(url: str, profile) -> lxml_html.HtmlElement:
    page = run_chromium("--virtual-time-budget=10000", "--dump-dom", url, profile=profile)
    assert page.returncode == 0, page.stderr[-2000:]
    return lxml_html.fromstring(page.stdout)


def _shot(url: str, name: str, profile, size: str = "1400,1000") -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / name
    screenshot.unlink(missing_ok=True)
    shot = run_chromium(
        "--virtual-time-budget=10000",
        f"--window-size={size}",
        f"--screenshot={screenshot}",
        url,
        profile=profile,
    )
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]


def test_pledges_view_and_a_chart_in_a_browser(served_demo, tmp_path):
    base, pledges = served_demo

    # The database page starts with the pledges, before the SQL box and the tables.
    page = run_chromium("--dump-dom", f"{base}/demo", profile=tmp_path / "p1").stdout
    assert page.index('class="pw-start"') < page.index('class="sql"') < page.index('id="tables"')
    assert "apscheduler_jobs" not in page.split('id="tables"')[1].split("hidden table")[0]
    _shot(f"{base}/demo", "serve-database.png", tmp_path / "p2")

    # The pledges view: amounts as the press writes them, times readable, notes folded.
    dom = _dom(f"{base}/demo/pledges_overview?_sort=pledge_id", tmp_path / "p3")
    notes = dom.xpath("//details[@class='pw-column-notes']")
    assert notes and notes[0].get("open") is None
    assert notes[0].xpath(".//summary")[0].text_content().startswith("Column notes (")
    amounts = {
        int(row.xpath("./td[contains(@class,'col-pledge_id')]")[0].text_content()): row.xpath(
            "./td[contains(@class,'col-amount_value')]"
        )[0]
        .text_content()
        .strip()
        for row in dom.xpath("//table[contains(@class,'rows-and-columns')]//tbody/tr")
    }
    # Every pledge's amount as the digest writes it (ids depend on the demo crawl's order).
    assert amounts == {
        p["id"]: format_amount(p["amount_value"], p["currency"], p["amount_unit"]) for p in pledges
    }
    assert {"RMB 20 bn", "5,000 jobs", "6 facilities"} <= set(amounts.values())
    times = [t.text_content() for t in dom.xpath("//td[contains(@class,'col-first_published_at')]")]
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", t.strip()) for t in times), times[:3]
    units = {t.text_content().strip() for t in dom.xpath("//td[contains(@class,'col-unit')]")}
    assert units == {_unit(p) for p in pledges}
    _shot(f"{base}/demo/pledges_overview", "serve-pledges.png", tmp_path / "p4")

    # The chart page: Vega-Lite charts drawn from the canned queries, with no network.
    dom = _dom(f"{base}/-/dashboards/pledges", tmp_path / "p5")
    for chart in ("per-month", "by-kind"):
        (container,) = dom.xpath(f"//div[@id='chart-{chart}']")
        assert "vega-embed" in (container.get("class") or ""), chart
        assert container.xpath(".//canvas | .//svg"), chart
    table = dom.xpath("//div[@id='chart-kind-table']//table")
    assert table and "facilities" in table[0].text_content()
    _shot(f"{base}/-/dashboards/pledges", "serve-dashboard.png", tmp_path / "p6", "1400,1000")
