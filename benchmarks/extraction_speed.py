"""Extraction speed and accuracy: pledgewatch's parsers against raw trafilatura and news-please.

    python benchmarks/extraction_speed.py [--replica WARC] [--newsplease-python /path/to/venv/bin/python]
        [--repeats 3] [--json]

Every extractor reads the same pages: the article pages of the bundled sample web (both snapshots,
with the manifest's expected fields), the per-publisher fixtures (their expected JSON; the seeds among
them are real pages) and, with ``--replica``, the first ``--replica-pages`` (300) article pages of a
scaled replica WARC (``benchmarks/replica.py``: 50-150 KB pages like the real sites', no
expectations, speed only).

* ``pledgewatch``: the crawl's own path, ``parser_for(url)(body, url).record()`` (the publisher's parser,
  trafilatura as the fallback inside it).
* ``trafilatura``: ``trafilatura.bare_extraction(html, url=url, with_metadata=True)``, the generic
  library alone (pledgewatch's dependency; its default settings).
* ``news-please``: ``NewsPlease.from_html(html, url=url)``, run by ``--newsplease-python``, the
  interpreter of a *separate* venv (``python -m venv /tmp/np && /tmp/np/bin/pip install news-please``):
  news-please is never a dependency of pledgewatch. Its pages are sent through a pipe as JSON lines and
  it times each one itself, so the pipe is not counted.

Time is CPU time per page (``time.process_time``, the best of ``--repeats`` passes over all the pages),
which a loaded machine disturbs less than wall time. Accuracy counts, on the pages with expectations:
title exact; published day exact; body start (the expected first 60 characters found in the first
300 extracted); body end (the expected last 60 found in the last 300); text similar (difflib ratio of
the whitespace-normalised texts >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "pledgewatch" / "data"
FIXTURES = REPO / "tests" / "data" / "publishers"

NEWSPLEASE_RUNNER = r"""
import json, sys, time, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
from newsplease import NewsPlease
repeats = int(sys.argv[1])
pages = [json.loads(line) for line in sys.stdin]
best = [None] * len(pages)
results = [None] * len(pages)
for _ in range(repeats):
    for i, page in enumerate(pages):
        started = time.process_time()
        try:
            art = NewsPlease.from_html(page["html"], url=page["url"], fetch_images=False)
            got = {"title": art.title, "text": art.maintext or "",
                   "published": art.date_publish.isoformat() if art.date_publish else None}
        except Exception as exc:
            got = {"title": None, "text": "", "published": None, "error": repr(exc)}
        spent = time.process_time() - started
        best[i] = spent if best[i] is None else min(best[i], spent)
        results[i] = got
for got, spent in zip(results, best):
    got["cpu_s"] = spent
    print(json.dumps(got))
"""


@dataclass
class Page:
    url: str
    html: bytes
    expected: dict | None  # title, published, text (any may be missing)


@dataclass
class Score:
    pages: int = 0
    cpu_s: float = 0.0
    checked: dict[str, list[int]] = field(default_factory=dict)

    def check(self, name: str, ok: bool) -> None:
        cell = self.checked.setdefault(name, [0, 0])
        cell[0] += ok
        cell[1] += 1


def _norm(text: str) -> str:
    return " ".join(text.split())


def _warc_pages(path: Path) -> dict[str, bytes]:
    pages: dict[str, bytes] = {}
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                pages[record.rec_headers.get_header("WARC-Target-URI")] = record.content_stream().read()
    return pages


def load_pages(replica: Path | None, replica_pages: int = 300) -> list[Page]:
    pages: list[Page] = []
    manifest = json.loads((SAMPLE / "sampleweb-manifest.json").read_text(encoding="utf-8"))
    articles = {a["url"]: a for a in manifest["articles"]}
    for snapshot, info in manifest["snapshots"].items():
        warc = SAMPLE / ("sampleweb.warc.gz" if snapshot == "first" else info["warc"])
        bodies = _warc_pages(warc)
        for url in info["article_urls"]:
            article = dict(articles[url])
            if snapshot != "first" and "later" in article:
                article.update(article["later"])
            if len(article.get("page_urls", [url])) > 1:
                continue  # multi-page stories: only the crawl joins pages, not the other extractors
            pages.append(Page(url, bodies[url], article))
    for expected_path in sorted(FIXTURES.glob("**/article.expected.json")):
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        if expected.get("page_urls"):
            continue
        pages.append(Page(expected["url"], (expected_path.parent / "article.html").read_bytes(), expected))
    if replica:
        from pledgewatch.spiders.publisher import publisher_for_url

        taken = 0
        for url, body in _warc_pages(replica).items():
            publisher = publisher_for_url(url)
            if publisher and publisher.article_id(url) and taken < replica_pages:
                pages.append(Page(url, body, None))
                taken += 1
    return pages


def _timed(pages: list[Page], repeats: int, extract: Callable[[Page], dict]) -> list[tuple[dict, float]]:
    """(fields, best CPU seconds of ``repeats``) per page: the best, so a busy minute weighs less."""
    out: list[tuple[dict, float]] = []
    for page in pages:
        best, got = float("inf"), {}
        for _ in range(repeats):
            started = time.process_time()
            got = extract(page)
            best = min(best, time.process_time() - started)
        out.append((got, best))
    return out


def run_pledgewatch(pages: list[Page], repeats: int) -> list[tuple[dict, float]]:
    from pledgewatch.spiders.parsing import ExtractionError, parser_for

    def extract(page: Page) -> dict:
        try:
            record = parser_for(page.url)(page.html, page.url).record()
        except ExtractionError as exc:
            return {"title": None, "text": "", "published": None, "error": str(exc)}
        published = record.published.isoformat() if record.published else None
        return {"title": record.title, "text": record.text, "published": published}

    return _timed(pages, repeats, extract)


def run_trafilatura(pages: list[Page], repeats: int) -> list[tuple[dict, float]]:
    import trafilatura

    def extract(page: Page) -> dict:
        doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        if doc is not None and not isinstance(doc, dict):
            doc = doc.as_dict()
        doc = doc or {}
        return {"title": doc.get("title"), "text": doc.get("text") or "", "published": doc.get("date")}

    return _timed(pages, repeats, extract)


def run_newsplease(pages: list[Page], repeats: int, python: str) -> list[tuple[dict, float]]:
    feed = "".join(
        json.dumps({"url": p.url, "html": p.html.decode("utf-8", "replace")}) + "\n" for p in pages
    )
    done = subprocess.run(
        [python, "-c", NEWSPLEASE_RUNNER, str(repeats)],
        input=feed,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [(row, row.pop("cpu_s")) for row in rows]


def _same_day(got: str | None, expected: str | None) -> bool:
    if not got or not expected:
        return False
    try:
        return datetime.fromisoformat(got).date() == datetime.fromisoformat(expected).date()
    except ValueError:
        return got[:10] == expected[:10]


def score(pages: list[Page], results: list[tuple[dict, float]]) -> Score:
    total = Score()
    for page, (got, spent) in zip(pages, results, strict=True):
        total.pages += 1
        total.cpu_s += spent
        want = page.expected
        if not want:
            continue
        text, expected_text = _norm(got.get("text") or ""), _norm(want.get("text") or "")
        if "title" in want:
            total.check("title", _norm(got.get("title") or "") == _norm(want["title"]))
        if want.get("published"):
            total.check("published day", _same_day(got.get("published"), want["published"]))
        start = _norm(want.get("body_start") or expected_text[:60])[:60]
        end = _norm(want.get("body_end") or expected_text[-60:])[-60:]
        if start:
            total.check("body start", start in text[:300])
        if end:
            total.check("body end", end in text[-300:])
        if expected_text:
            ratio = SequenceMatcher(None, text, expected_text, autojunk=False).ratio()
            total.check("text >= 0.9 similar", ratio >= 0.9)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replica", type=Path, help="a replica WARC whose article pages are timed too")
    parser.add_argument("--replica-pages", type=int, default=300, help="how many of its article pages")
    parser.add_argument("--newsplease-python", help="python of a separate venv with news-please installed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    pages = load_pages(args.replica, args.replica_pages)
    labelled = [p for p in pages if p.expected]
    timed = {"labelled": labelled, "replica": [p for p in pages if not p.expected]}
    runners = {
        "pledgewatch": lambda ps: run_pledgewatch(ps, args.repeats),
        "trafilatura": lambda ps: run_trafilatura(ps, args.repeats),
    }
    if args.newsplease_python:
        runners["news-please"] = lambda ps: run_newsplease(ps, args.repeats, args.newsplease_python)
    report: dict[str, dict] = {}
    for name, run in runners.items():
        entry: dict[str, object] = {}
        for set_name, subset in timed.items():
            if not subset:
                continue
            result = score(subset, run(subset))
            entry[set_name] = {
                "pages": result.pages,
                "cpu_ms_per_page": round(1000 * result.cpu_s / result.pages, 2),
                **(
                    {"correct": {k: f"{ok}/{n}" for k, (ok, n) in result.checked.items()}}
                    if result.checked
                    else {}
                ),
            }
        report[name] = entry
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, entry in report.items():
        for set_name, row in entry.items():
            correct = ", ".join(f"{k} {v}" for k, v in row.get("correct", {}).items())
            print(
                f"{name:<12} {set_name:<9} {row['pages']:>5} pages "
                f"{row['cpu_ms_per_page']:>8.2f} ms/page  {correct}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
