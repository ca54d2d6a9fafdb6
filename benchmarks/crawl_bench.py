"""Crawl cost at scale against Scrapy's own ceiling (issue 15): one JSON object of figures.

1. Builds (or reuses from ``benchmarks/.cache``) the scaled replica of ``benchmarks/replica.py``:
   a WARC of N articles of the three sites and one with 50 newer articles added.
2. Runs ``scrapy bench`` (Scrapy's own local-server crawl, no pipelines) for ``--bench-seconds``:
   the framework's ceiling on this machine at this minute, ``scrapy_bench_pages_per_s``.
3. Crawls the replica cold into a fresh archive, replaying the WARC as ``pledgewatch crawl
   --replay`` does (in a child process running :func:`pledgewatch.crawler.crawl.run_crawl`, which
   samples its CPU time, and its store workers', each time an article is stored):
   ``pages_per_s`` (responses / wall time), CPU per stored article in the first and the last
   quarter of the articles, by order of storing (flat cost: the two are equal), ``peak_rss_mb``
   (the crawl process's maximum resident set, its ``VmHWM``; ``analysis_worker_peak_rss_mb`` the
   largest store worker's; ``crawl_tree_peak_rss_mb`` the largest sum of the crawl's and all its
   workers' resident sets at one sample, the pages they share counted in each;
   ``crawl_tree_peak_pss_mb`` the same as proportional sets, every 50th article, each shared page
   counted once: what the machine must hold) and
   ``rss_growth_kb_per_article`` (resident set from the first quarter's end to the
   last article, per article: what the crawl keeps per page it reads).
4. Crawls the same WARC again, nothing changed, with the CLI (``python -m pledgewatch crawl``, a
   new process as the daemon's schedule starts): ``unchanged_crawl_cpu_s`` is that process's whole
   user + system CPU, start-up included, and ``unchanged_crawl_requests``.
5. Crawls the WARC with 50 new articles: ``requests_per_new_article`` (responses / new articles).

Run: ``python benchmarks/crawl_bench.py --articles 1000 --json`` (SQLite in a temporary folder),
or ``--backend postgresql --db postgresql+psycopg://postgres@127.0.0.1:5432/pw_bench_crawl`` (an
empty database, e.g. from ``createdb``; the benchmark refuses one that holds an archive).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIG = "[crawl]\nwindow_days = 0\nmax_pages_per_listing = 10000\n"


def scrapy_bench(seconds: int) -> dict[str, Any]:
    """``scrapy bench`` for ``seconds``: pages per second from its final stats."""
    with tempfile.TemporaryDirectory() as tmp:  # outside any Scrapy project
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "bench",
                "-s",
                f"CLOSESPIDER_TIMEOUT={seconds}",
                "-s",
                "LOG_LEVEL=INFO",
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    log = done.stderr + done.stdout
    responses = re.search(r"'response_received_count': (\d+)", log)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", log)
    if not responses or not elapsed:
        return {"scrapy_bench_pages_per_s": None, "scrapy_bench_error": log[-500:]}
    return {
        "scrapy_bench_pages_per_s": round(int(responses.group(1)) / float(elapsed.group(1)), 1),
        "scrapy_bench_pages": int(responses.group(1)),
    }


_TICK = os.sysconf("SC_CLK_TCK")


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory figure of ``/proc/PID/status`` (``VmHWM``, ``VmRSS``) in MB; 0 when unreadable.

    Not ``getrusage().ru_maxrss``: Linux copies a parent's high-water mark into the child it forks
    and keeps it across ``exec``, so the crawl child would report this process's peak (building a
    10,000-article replica holds every padded page, ~830 MB) instead of its own.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(rf"{field}:\s+(\d+)", status)
    return int(match.group(1)) / 1024 if match else 0.0


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def tree_rss_mb() -> float:
    """Resident MB of this process and its live children together: the crawl and its store workers."""
    return status_mb("VmRSS") + sum(status_mb("VmRSS", pid) for pid in _children())


def tree_pss_mb() -> float:
    """Proportional MB of this process and its live children (``Pss`` of ``smaps_rollup``): each
    shared page (the interpreter, the libraries the store workers map too) counted once across
    them, what the crawl takes of the machine's memory. Slower to read than ``VmRSS``: sampled."""
    total = 0.0
    for pid in ["self", *map(str, _children())]:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE)
        total += int(match.group(1)) / 1024 if match else 0.0
    return total


def tree_cpu() -> tuple[float, float]:
    """(CPU seconds of this process and its live and reaped children, largest child's peak RSS MB).

    Pledge detection runs in a worker process (pledgewatch.ingest.PledgeAnalyzer), so the crawl's
    cost per article is this process's CPU plus the worker's (read from /proc while it lives)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    peak = 0.0
    for pid in _children():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / _TICK
        peak = max(peak, status_mb("VmHWM", pid))
    return total, peak


def child_cold(db_url: str, warc: str, config_path: str) -> None:
    """In the child: one cold crawl with CPU sampled per stored article; JSON on the last line."""
    from pledgewatch.config import load_config
    from pledgewatch.crawler.crawl import run_crawl

    samples: list[tuple[int, float, float]] = []  # (articles stored, CPU s, resident MB)
    worker_peak = [0.0]
    tree_peak = [0.0]
    tree_pss_peak = [0.0]

    def progress(summary: Any) -> None:
        stored = summary.articles_new + summary.duplicates
        if not samples or stored > samples[-1][0]:
            cpu, peak = tree_cpu()
            samples.append((stored, cpu, status_mb("VmRSS")))
            worker_peak[0] = max(worker_peak[0], peak)
            tree_peak[0] = max(tree_peak[0], tree_rss_mb())
            if len(samples) % 50 == 0:
                tree_pss_peak[0] = max(tree_pss_peak[0], tree_pss_mb())

    start_wall, start_cpu = time.perf_counter(), tree_cpu()[0]
    summary = run_crawl(load_config(Path(config_path)), db_url, replay=warc, progress=progress)
    wall, cpu = time.perf_counter() - start_wall, tree_cpu()[0] - start_cpu
    peak = status_mb("VmHWM")
    print(
        json.dumps(
            {
                "summary": summary.to_json(),
                "wall_s": wall,
                "cpu_s": cpu,
                "samples": samples,
                "peak_rss_mb": peak,
                "worker_peak_rss_mb": worker_peak[0],
                "tree_peak_rss_mb": tree_peak[0],
                "tree_peak_pss_mb": tree_pss_peak[0],
                "status": summary.status,
            }
        )
    )


def _quartiles(samples: list[tuple[int, float, float]], total: int) -> tuple[float | None, float | None]:
    """CPU ms per article while the first and the last quarter of ``total`` articles were stored."""
    if total < 8 or not samples:
        return None, None

    def cpu_at(count: int) -> float:
        return next(cpu for stored, cpu, _ in samples if stored >= count)

    quarter = total // 4
    first = (cpu_at(quarter) - cpu_at(1)) / (quarter - 1) * 1000
    last = (cpu_at(total) - cpu_at(total - quarter)) / quarter * 1000
    return round(first, 1), round(last, 1)


def _rss_growth(samples: list[tuple[int, float, float]], total: int) -> float | None:
    """KB of resident set per article stored from the end of the first quarter to the last article.

    The first quarter is left out: it fills the scheduler's queue (a sitemap or listing announces
    thousands of articles at once) and warms caches, a cost paid once per crawl."""
    if total < 8 or not samples:
        return None
    quarter = next(s for s in samples if s[0] >= total // 4)
    end = next(s for s in samples if s[0] >= total)
    if end[0] <= quarter[0]:
        return None
    return round((end[2] - quarter[2]) * 1024 / (end[0] - quarter[0]), 1)


def cli_crawl(db_url: str, warc: Path, config_path: Path) -> dict[str, Any]:
    """``python -m pledgewatch crawl --replay WARC --json`` in a new process: its summary and CPU."""
    command = [sys.executable, "-m", "pledgewatch", "--config", str(config_path), "--db", db_url]
    command += ["crawl", "--replay", str(warc), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only this child was reaped meanwhile
    if done.returncode != 0:
        raise SystemExit(f"crawl failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stdout = done.stdout
    return {"summary": json.loads(stdout), "wall_s": wall, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--extra", type=int, default=50, help="new articles for the third crawl")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (with --backend postgresql)")
    parser.add_argument("--bench-seconds", type=int, default=10, help="how long scrapy bench runs")
    parser.add_argument("--no-scrapy-bench", action="store_true")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--child-cold", nargs=3, metavar=("DB", "WARC", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_cold:
        child_cold(*args.child_cold)
        return 0
    sys.path.insert(0, str(HERE))
    import replica

    def say(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr)

    started = time.perf_counter()
    first_warc, later_warc = replica.build(args.articles, args.extra)
    say(f"replica: {first_warc} ({time.perf_counter() - started:.0f} s)")
    result: dict[str, Any] = {"articles": args.articles, "backend": args.backend}
    result["load_average_start"] = round(os.getloadavg()[0], 2)
    if not args.no_scrapy_bench:
        result.update(scrapy_bench(args.bench_seconds))
        say(f"scrapy bench: {result.get('scrapy_bench_pages_per_s')} pages/s")
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "bench.toml"
        config_path.write_text(CONFIG, encoding="utf-8")
        if args.backend == "sqlite":
            db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        else:
            if not args.db:
                parser.error("--backend postgresql needs --db URL (an empty database)")
            db_url = args.db
            from sqlalchemy import create_engine, inspect

            engine = create_engine(db_url)
            if inspect(engine).get_table_names():
                parser.error(f"{db_url} is not empty: give an empty database (createdb)")
            engine.dispose()
        cold = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child-cold",
                db_url,
                str(first_warc),
                str(config_path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if cold.returncode != 0:
            raise SystemExit(f"cold crawl failed: {cold.stderr.strip()[-800:]}")
        data = json.loads(cold.stdout.strip().splitlines()[-1])
        summary = data["summary"]
        samples = [tuple(s) for s in data["samples"]]
        first_q, last_q = _quartiles(samples, summary["articles_new"])
        result.update(
            {
                "cold_status": data["status"],
                "cold_articles_stored": summary["articles_new"],
                "cold_duplicates": summary["duplicates"],
                "cold_pledges_new": summary["pledges_new"],
                "cold_pages": summary["pages_fetched"],
                "cold_wall_s": round(data["wall_s"], 1),
                "cold_cpu_s": round(data["cpu_s"], 1),
                "pages_per_s": round(summary["pages_fetched"] / data["wall_s"], 1),
                "cpu_ms_per_article_first_quartile": first_q,
                "cpu_ms_per_article_last_quartile": last_q,
                "peak_rss_mb": round(data["peak_rss_mb"], 0),
                "rss_growth_kb_per_article": _rss_growth(samples, summary["articles_new"]),
                "analysis_worker_peak_rss_mb": round(data["worker_peak_rss_mb"], 0),
                "crawl_tree_peak_rss_mb": round(data["tree_peak_rss_mb"], 0),
                "crawl_tree_peak_pss_mb": round(data["tree_peak_pss_mb"], 0),
            }
        )
        say(f"cold: {summary['articles_new']} articles, {result['pages_per_s']} pages/s")
        unchanged = cli_crawl(db_url, first_warc, config_path)
        result["unchanged_crawl_cpu_s"] = round(unchanged["cpu_s"], 2)
        result["unchanged_crawl_wall_s"] = round(unchanged["wall_s"], 2)
        result["unchanged_crawl_requests"] = unchanged["summary"]["pages_fetched"]
        result["unchanged_crawl_articles_new"] = unchanged["summary"]["articles_new"]
        say(f"unchanged: {result['unchanged_crawl_cpu_s']} s CPU")
        later = cli_crawl(db_url, later_warc, config_path)
        new = later["summary"]["articles_new"]
        result["new_articles_stored"] = new
        result["new_crawl_requests"] = later["summary"]["pages_fetched"]
        result["requests_per_new_article"] = (
            round(later["summary"]["pages_fetched"] / new, 2) if new else None
        )
        if args.backend == "postgresql":
            from sqlalchemy import create_engine, text

            engine = create_engine(db_url)
            with engine.begin() as connection:  # leave the database empty again, as it was given
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
    if result.get("scrapy_bench_pages_per_s"):
        result["ratio_to_scrapy_bench"] = round(result["pages_per_s"] / result["scrapy_bench_pages_per_s"], 3)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    result["total_wall_s"] = round(time.perf_counter() - started, 0)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
