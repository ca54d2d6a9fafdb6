"""Figures for docs/reliability.md: a replayed crawl meeting a slow article (budget 2 s), SIGTERM
during a long analysis (3 runs), and SIGTERM while a request hangs on a live server (3 runs).
Run from the repository root with the venv active: python benchmarks/reliability_sigterm.py
(scratch files go to a temporary folder)."""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]
    import test_analysis_budget as budget

    out = Path(tempfile.mkdtemp())
    warc = budget._site_with_a_slow_article(out, 100_000)
    started = time.monotonic()
    process = budget._crawl(out, warc, budget=2)
    stdout, _ = process.communicate()
    print(
        f"budget 2 s: exit {process.returncode} in {time.monotonic() - started:.1f} s: {json.loads(stdout)}"
    )
    for run in range(3):
        for path in out.glob("a.db*"):
            path.unlink()
        process = budget._crawl(out, warc, budget=3000)
        while not budget._analysis_worker_running(process.pid):
            time.sleep(0.2)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate()
        deferred = json.loads(stdout)["analysis_deferred"]
        print(f"SIGTERM run {run}: stopped after {time.monotonic() - sent:.2f} s, {deferred} deferred")
    hung_download()


def hung_download() -> None:
    """SIGTERM while one request hangs (the server answers after 60 s, timeout 120 s)."""
    import test_validators_midway as midway

    for run in range(3):
        out = Path(tempfile.mkdtemp())
        with midway.serve() as (proxy, _site):
            process = midway._crawl(out, proxy, [f"{midway.SITE}/wp-sitemap.xml", f"{midway.SITE}/page/2/"])
            midway._wait_for_validators(out / "a.db", process)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, _ = process.communicate()
            summary = json.loads(stdout.strip().splitlines()[-1])
            print(
                f"SIGTERM with a hung request, run {run}: stopped after {time.monotonic() - sent:.2f} s, "
                f"status {summary['status']}, articles_new {summary['articles_new']}"
            )


if __name__ == "__main__":
    main()
