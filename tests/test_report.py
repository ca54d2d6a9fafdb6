"""The digest's summary and `pledgewatch report` on the demo archive, checked against `pledges list`.

What an analyst relies on: every new pledge is a row of the digest's summary with its amount, a
total never mixes units, and the HTML report opens offline in a browser with every chart drawn and
the same numbers as `pledges list --format json`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import defaultdict

import pytest
from conftest import REPO_ROOT, run_cli
from helpers_browser import run_chromium as _run_chromium
from lxml import html as lxml_html

from pledgewatch.notify.fx import rate_table
from pledgewatch.notify.rendering import format_amount
from pledgewatch.store.aggregates import unit_of

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHARTS = ["time-pledges", "time-usd", "by-kind", "by-region", "largest", "coverage"]

pytestmark = pytest.mark.slow

# The report must open offline: every host resolves to nowhere, so a CDN script would not load.
run_chromium = functools.partial(_run_chromium, offline=True, timeout=180)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = run_cli("--db", str(out / "demo.db"), "pledges", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return out, json.loads(listed.stdout)


def _unit(pledge: dict) -> str:
    return unit_of(pledge["currency"], pledge["amount_unit"])


def _amount(pledge: dict) -> str:
    text = format_amount(pledge["amount_value"], pledge["currency"], pledge["amount_unit"])
    return f"{pledge['qualifier']} {text}" if pledge["qualifier"] and text else text


def test_digest_summary_lists_every_new_pledge_and_totals_per_unit(demo):
    out, pledges = demo
    page = lxml_html.fromstring((out / "digest.html").read_text(encoding="utf-8"))
    summary = page.get_element_by_id("summary")
    # The summary opens the digest: before the detailed pledges and the first outlet.
    body = page.text_content()
    assert body.index("This digest at a glance") < body.index("New pledges in their words")

    # The demo's digest is the first one: every pledge of the archive is new in it, once.
    rows = summary.xpath(".//tr[@class='summary-pledge']")
    # Each pledge once; every watch-list pledge (JD.com: its articles are relevant) is there. Pledges
    # of other companies appear when a relevant article states them.
    shown = [int(r.get("data-pledge-id")) for r in rows]
    assert len(shown) == len(set(shown)) and set(shown) <= {p["id"] for p in pledges}
    assert {p["id"] for p in pledges if p["actor"] == "JD.com"} <= set(shown)
    by_id = {p["id"]: p for p in pledges}
    for row in rows:
        pledge = by_id[int(row.get("data-pledge-id"))]
        cells = [cell.text_content().strip() for cell in row.xpath("./td")]
        actor, kind, amount, usd, region, _horizon, _report = cells
        assert actor.startswith(pledge["actor"]) and kind == pledge["kind"]
        assert amount == _amount(pledge)
        assert region == (pledge["region"] or "")
        # A monetary pledge in yuan has its dollar estimate and the year of the rate.
        if pledge["currency"] == "CNY":
            year = pledge["first_published"][:4]
            assert usd.startswith("≈ US$") and f"{year} average rate" in usd, (usd, pledge)
        else:
            assert usd == ""
        link = row.xpath(".//a/@href")
        assert link and link[0] in {m["url"] for m in pledge["mentions"]}

    # Totals per watched company (JD.com in the default watch list): one row per kind and unit,
    # each equal to the sum of the listed pledges of that kind and unit.
    expected: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for pledge in pledges:
        if pledge["actor"] == "JD.com":
            expected[(pledge["actor"], pledge["kind"], _unit(pledge))].append(pledge)
    totals = summary.xpath(".//tr[@class='summary-total']")
    seen = {(t.get("data-actor"), t.get("data-kind"), t.get("data-unit")): t for t in totals}
    assert set(seen) == set(expected)
    assert len(seen) == len(totals)
    for key, members in expected.items():
        row = seen[key]
        assert int(row.get("data-pledges")) == len(members)
        assert float(row.get("data-amount")) == pytest.approx(sum(p["amount_value"] or 0 for p in members))
        amount = row.xpath("./td[@class='total-amount']")[0].text_content()
        # The printed total names the one unit of its row and no other.
        units = {_unit(p) for p in pledges}
        named = {u for u in units if u in amount or ({"CNY": "RMB"}.get(u, "§") in amount)}
        assert named == {key[2]}, (amount, named)
    # The Guangxi case of the issue: jobs and parks are separate rows, never 5,006 of anything.
    assert ("JD.com", "jobs", "jobs") in seen and ("JD.com", "build", "facilities") in seen

    # In a browser (no network): the summary on top, a picture for people and the docs.
    profile = out / "chromium-profile"
    dom = run_chromium("--dump-dom", (out / "digest.html").as_uri(), profile=profile)
    assert dom.returncode == 0 and '<section id="summary"' in dom.stdout, dom.stderr[-2000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "digest-summary.png"
    screenshot.unlink(missing_ok=True)
    run_chromium(
        "--window-size=900,1400",
        f"--screenshot={screenshot}",
        (out / "digest.html").as_uri(),
        profile=profile,
    )
    assert screenshot.exists() and screenshot.stat().st_size > 50_000

    # The text part has the same summary, readably.
    text = (out / "digest.txt").read_text(encoding="utf-8")
    top = text.index("AT A GLANCE")
    assert top < text.index("NEW PLEDGES") < text.index("CHINA DAILY\n")
    assert "JD.com, invest: more than RMB 6 bn (≈ US$869 million, 2020 average rate), Hubei" in text
    assert re.search(r"JD\.com\s+jobs\s+4 pledges \(4 new\)\s+44,000 jobs", text)


def test_report_opens_offline_with_every_chart_and_the_numbers_of_pledges_list(demo, tmp_path):
    out, pledges = demo
    report = tmp_path / "new" / "folder" / "report.html"
    result = run_cli("--db", str(out / "demo.db"), "report", "--out", str(report))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"wrote {report}"
    page = report.read_text(encoding="utf-8")
    # Self-contained: no script, stylesheet or image is fetched from anywhere.
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)
    assert markup.count("<script>") == 2 and not re.search(
        r"<(script|link|img|iframe)[^>]+(src|href)=", markup
    )
    assert "@import" not in markup and "url(" not in markup

    dom = run_chromium("--dump-dom", report.as_uri(), profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = lxml_html.fromstring(dom.stdout)
    assert rendered.xpath("//body/@data-charts") == ["rendered"]
    for name in CHARTS:
        (chart,) = rendered.xpath(f"//div[@id='chart-{name}']")
        assert chart.get("data-rendered") == "true", (name, chart.text_content()[:300])
        # Vega drew marks into an SVG (bars are paths in the mark group).
        assert chart.xpath(".//svg//g[contains(@class,'mark-rect')]//path"), name

    # The numbers: every pledge of `pledges list`, with its amount; totals by company, kind and unit.
    rows = rendered.xpath("//table[@id='pledges-table']//tr[@class='pledge']")
    assert [int(r.get("data-pledge-id")) for r in rows] == [p["id"] for p in pledges]
    for row, pledge in zip(rows, pledges, strict=True):
        amount = row.get("data-amount")
        assert (float(amount) if amount else None) == pledge["amount_value"]
        assert row.get("data-unit") == _unit(pledge)
        articles = int(row.xpath("./td")[-1].text_content())
        assert articles == len({m["article_id"] for m in pledge["mentions"] if m["article_id"]})
    expected: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for pledge in pledges:
        expected[(pledge["actor"], pledge["kind"], _unit(pledge))].append(pledge)
    totals = rendered.xpath("//table[@id='totals-table']//tr[@class='total']")
    got = {(t.get("data-actor"), t.get("data-kind"), t.get("data-unit")): t for t in totals}
    assert set(got) == set(expected) and len(got) == len(totals)
    for key, members in expected.items():
        assert int(got[key].get("data-pledges")) == len(members)
        assert float(got[key].get("data-amount")) == pytest.approx(
            sum(p["amount_value"] or 0 for p in members)
        )
    # The largest pledge by its dollar estimate comes first.
    largest = rendered.xpath("//section[@id='largest']//table//tr/td[1]")
    table = rate_table()
    biggest = max(
        (p for p in pledges if p["currency"] and p["amount_value"]),
        key=lambda p: table.estimate(p["amount_value"], p["currency"], int(p["first_published"][:4])).usd,
    )
    assert largest and largest[0].text_content().startswith(f"#{biggest['id']} {biggest['actor']} ")
    # The exchange rates used are listed with their source.
    assert "Federal Reserve G.5A" in rendered.get_element_by_id("rates").text_content()

    # A picture for people (and the docs), made offline.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    shot = run_chromium(
        "--window-size=1100,2600", f"--screenshot={screenshot}", report.as_uri(), profile=tmp_path / "p2"
    )
    assert screenshot.exists() and screenshot.stat().st_size > 50_000, shot.stderr[-2000:]


def test_report_filters_match_pledges_list(demo, tmp_path):
    out, _ = demo
    archive = str(out / "demo.db")
    args = ["--since", "2019-01-01", "--until", "2020-06-01", "--actor", "jd"]
    listed = run_cli("--db", archive, "pledges", "list", *args, "--format", "json")
    expected = [p["id"] for p in json.loads(listed.stdout)]
    assert expected, listed.stderr
    report = tmp_path / "jd.html"
    result = run_cli("--db", archive, "report", *args, "--out", str(report))
    assert result.returncode == 0, result.stderr
    page = lxml_html.fromstring(report.read_text(encoding="utf-8"))
    assert [int(i) for i in page.xpath("//tr[@class='pledge']/@data-pledge-id")] == expected
    assert "company JD.com, first reported from 2019-01-01, through 2020-06-01" in page.text_content()


def test_report_refuses_bad_input_in_one_line(demo, tmp_path):
    out, _ = demo
    archive = str(out / "demo.db")
    cases = [
        (["--since", "last tuesday"], "--since 'last tuesday' is not a date"),
        (["--since", "2020-01-01", "--until", "2019-01-01"], "--since must be before --until"),
        (["--until", "999999999d"], "out of range"),
    ]
    for extra, message in cases:
        result = run_cli("--db", archive, "report", *extra, "--out", str(tmp_path / "r.html"))
        assert result.returncode == 2, (extra, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run_cli("--db", archive, "report", "--out", str(folder))
    assert result.returncode == 2 and "is a folder" in result.stderr
    missing = run_cli("report")
    assert missing.returncode == 2 and "--out" in missing.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_a_missing_archive_and_creates_nothing(tmp_path):
    archive = tmp_path / "nowhere" / "archive.db"
    result = run_cli("--db", str(archive), "report", "--out", str(tmp_path / "out" / "r.html"))
    assert result.returncode == 2, result.stderr
    assert "no archive at" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not archive.parent.exists() and not (tmp_path / "out").exists()


def test_report_without_the_chart_packages_says_how_to_install(tmp_path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import importlib.util\n"
        "_find = importlib.util.find_spec\n"
        "_blocked = ('altair', 'vl_convert')\n"
        "importlib.util.find_spec = lambda name, *a: None if name in _blocked else _find(name, *a)\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = run_cli("--db", str(tmp_path / "a.db"), "report", "--out", str(tmp_path / "r.html"), env=env)
    assert result.returncode == 1, result.stderr
    assert "pip install 'pledgewatch[report]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()
