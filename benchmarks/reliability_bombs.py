"""Figures for docs/reliability.md: peak RSS of gzip and WARC bombs via `import`, `crawl --replay`
and a sitemap. Run from the repository root with the venv active: python benchmarks/reliability_bombs.py
(scratch files go to a temporary folder)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "tests" / "reliability"
SITEMAP_PROBE = """
import sys, time
sys.path.insert(0, {helpers!r})
from helpers_reliability import gzip_bomb
from pledgewatch.crawler.discovery import parse_sitemap
data = gzip_bomb(1 << 30, b"<urlset>")
started = time.time()
page = parse_sitemap(data, "https://jdcorporateblog.com/s.xml.gz")
print(f"packed {{len(data)}} bytes, refused in {{time.time() - started:.2f}} s, {{len(page.links)}} links")
"""


def main() -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(HELPERS)]
    import test_decompression_bombs as bombs
    from helpers_crawl import db_rows, tiny_config
    from helpers_reliability import run_measured

    out = Path(tempfile.mkdtemp())
    env = bombs._env()
    warc = bombs._bomb_site(out)
    print(f"WARC: {warc.stat().st_size} bytes, one record of 1 GiB once decoded")
    for name in ("import", "replay"):
        db = out / f"{name}.db"
        argv = [sys.executable, "-m", "pledgewatch", "--db", str(db)]
        if name == "import":
            argv += ["import", str(warc), "--json"]
        else:
            argv += ["--config", str(tiny_config(out / "c.toml")), "crawl", "--replay", str(warc), "--json"]
        started = time.time()
        result, peak = run_measured(argv, str(out / "rss"), env=env)
        articles = db_rows(db, "SELECT COUNT(*) FROM articles")[0][0]
        lines = [line for line in result.stderr.splitlines() if "cap" in line]
        print(f"{name}: exit {result.returncode}, peak RSS {peak:.0f} MB, {time.time() - started:.1f} s,")
        print(f"  {articles} articles stored; {lines[:1]}")
    script = out / "probe.py"
    script.write_text(SITEMAP_PROBE.format(helpers=str(HELPERS)), encoding="utf-8")
    result, peak = run_measured([sys.executable, str(script)], str(out / "rss"), env=env)
    print(f"sitemap: {result.stdout.strip()}, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
