"""What a command imports at start, and that the shortcuts taken there leave every package whole.

A crawl that finds nothing new (the daemon's usual run) imports neither the pledge detector nor the
whole of courlan; whatever needs them later (a new article, trafilatura) still gets all of them.
Each check runs in a fresh interpreter: this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pledgewatch.pledges


def _run(script: str) -> object:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_every_name_the_pledges_package_exports_is_there() -> None:
    """The package's names load on first use; each one of ``__all__`` must resolve, and a name
    that is not there is an AttributeError (an ImportError for ``from ... import``), not None."""
    for name in pledgewatch.pledges.__all__:
        assert getattr(pledgewatch.pledges, name) is not None, name
    assert set(pledgewatch.pledges.__all__) <= set(dir(pledgewatch.pledges))
    try:
        from pledgewatch.pledges import no_such_name  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("an unknown name imported")


def test_the_crawl_and_the_cli_start_without_the_detector_or_courlan() -> None:
    loaded = _run(
        "import sys, json\n"
        "import pledgewatch.cli, pledgewatch.ingest, pledgewatch.crawler.pipelines\n"
        "print(json.dumps(sorted(m for m in sys.modules if m in {"
        "'pledgewatch.pledges.extract', 'pledgewatch.pledges.cues', 'pledgewatch.store.pledges',"
        " 'courlan', 'urllib3', 'tldextract'})))\n"
    )
    assert loaded == []


def test_courlan_imported_after_the_url_rules_is_whole_and_trafilatura_works() -> None:
    """The URL rules take one pattern of courlan without its package; a later ``import courlan``
    (trafilatura's) must still find every module of it."""
    result = _run(
        "import json\n"
        "from pledgewatch.records import generic_canonical\n"
        "url = generic_canonical('https://www.chinadaily.com.cn/a/202401/02/WS1.html?utm_source=x&id=3').url\n"
        "import courlan, trafilatura\n"
        "text = trafilatura.extract('<html><body><article><p>' + 'JD will invest in Hubei. ' * 30"
        " + '</p></article></body></html>')\n"
        "print(json.dumps([url, courlan.clean.TRACKERS_RE.pattern != '', courlan.filters.__name__,"
        " text[:23]]))\n"
    )
    url, has_pattern, filters_module, text = result  # type: ignore[misc]
    assert "utm_source" not in url and "id=3" in url
    assert has_pattern and filters_module == "courlan.filters"
    assert text == "JD will invest in Hubei"
