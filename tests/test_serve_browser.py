"""`pledgewatch serve`: a real Datasette server on 127.0.0.1, looked at in headless Chromium."""

from __future__ import annotations

import hashlib
import os
import re
import socket

import pytest
from conftest import REPO_ROOT, run_cli
from helpers_browser import chromium, free_port, run_chromium, served
from helpers_search import add_hubei_pledge, open_archive, seed_archive

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


@pytest.fixture
def served_archive(tmp_path):
    chromium()  # skip before building anything when there is no browser
    path = tmp_path / "archive.db"
    engine, session = open_archive(f"sqlite:///{path}")
    ids = seed_archive(session)
    add_hubei_pledge(session, ids)
    session.close()
    engine.dispose()
    with served(path) as base:
        yield base, path


@pytest.mark.slow
def test_canned_query_shows_the_pledge_in_a_browser(served_archive, tmp_path):
    base, path = served_archive
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # "New pledges this week": the Hubei pledge was detected just now.
    page = run_chromium("--dump-dom", f"{base}/archive/new_this_week", profile=tmp_path / "profile1")
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    assert "New pledges this week" in dom
    assert "JD.com" in dom and "Hubei" in dom
    assert "JD.com to Invest over RMB 6 Billion in Hubei" in dom  # first article's title
    rows = re.findall(r'<td class="col-region[^"]*">([^<]*)<', dom)
    assert rows == ["Hubei"]

    # Pledges by region, with the region typed into the canned query's form.
    by_region = f"{base}/archive/pledges_by_region?region="
    page = run_chromium("--dump-dom", f"{by_region}Hubei", profile=tmp_path / "p2")
    assert "Pledges by region" in page.stdout and "over the next three years" in page.stdout
    page = run_chromium("--dump-dom", f"{by_region}Tibet", profile=tmp_path / "p3")
    assert "0 results" in page.stdout and "over the next three years" not in page.stdout

    # A picture of the canned query for people (kept in tests/artifacts/, not committed).
    screenshot = ARTIFACTS / "serve-new-this-week.png"
    screenshot.unlink(missing_ok=True)
    shot = run_chromium(
        "--window-size=1600,1000",
        f"--screenshot={screenshot}",
        f"{base}/archive/new_this_week",
        profile=tmp_path / "p4",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000

    # The views with their facets (by outlet / source and kind).
    page = run_chromium("--dump-dom", f"{base}/archive/articles_overview", profile=tmp_path / "p5")
    assert "Articles with their story and outlet" in page.stdout
    facets = set(re.findall(r'class="facet-info[^"]*" id="facet-([a-z_]+)"', page.stdout))
    assert {"source", "outlet"} <= facets, facets
    page = run_chromium("--dump-dom", f"{base}/archive/pledges_overview", profile=tmp_path / "p6")
    facets = set(re.findall(r'class="facet-info[^"]*" id="facet-([a-z_]+)"', page.stdout))
    assert {"kind", "first_outlet"} <= facets, facets

    # The search box of the articles table uses the FTS index.
    page = run_chromium("--dump-dom", f"{base}/archive/articles?_search=Konjac", profile=tmp_path / "p7")
    titles = re.findall(r'<td class="col-title[^"]*">([^<]*)<', page.stdout)
    assert titles == ["JD ESG: JD&#39;s Ongoing Commitment to Rural Revitalization"] or titles == [
        "JD ESG: JD's Ongoing Commitment to Rural Revitalization"
    ], titles

    # Read-only: browsing changed nothing in the archive file.
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_serve_on_postgresql_says_it_needs_sqlite(postgres_schema_url):
    result = run_cli("--db", postgres_schema_url, "serve", "--port", str(free_port()))
    assert result.returncode == 2
    assert "needs a SQLite archive" in result.stderr and "pledgewatch search" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_serve_without_datasette_says_how_to_install(tmp_path):
    # A Python whose import system cannot find datasette (as without the [web] extra).
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import importlib.util, sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'datasette' or name.startswith('datasette.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'datasette' else _find(name, *a)\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = run_cli("--db", str(tmp_path / "a.db"), "serve", env=env)
    assert result.returncode == 1
    assert "pip install 'pledgewatch[web]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_serve_on_a_host_it_cannot_resolve_says_so_in_one_line(tmp_path):
    archive = tmp_path / "a.db"
    result = run_cli("--db", str(archive), "serve", "--host", "not-a-host", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "--host not-a-host: not an address this machine can listen on" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not archive.exists()  # checked before the archive is created


@pytest.mark.slow
def test_serve_on_a_port_in_use_names_the_port_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--db", str(tmp_path / "a.db"), "serve", "--port", str(port), timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
