"""The daemon's memory over many scheduled runs: does `pledgewatch run` stay flat for months?

    python benchmarks/daemon_rss.py [--runs 500] [--interval 1] [--warc WARC] [--json]

Starts `pledgewatch run` on a fresh SQLite archive with a crawl every ``--interval`` seconds replaying
``--warc`` (default: the bundled sample web, so the first run archives it and every later run is the
daemon's steady state: nothing new), alerts on (a real SMTP server on 127.0.0.1, aiosmtpd, takes the
mail) and a digest every 30 s. It reads the daemon process's resident memory (VmRSS in
/proc/PID/status; the crawls run in child processes, which exit after each run, so the daemon's own
RSS is what would grow) after every finished crawl, found in the daemon's log, until ``--runs``
crawls finished, then stops it with SIGTERM and prints the RSS at chosen runs, the largest, and the
growth per 100 runs over the second half (the first runs carry imports and caches that settle).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
FINISHED = re.compile(r"crawl [\w,]+ \(run \d+\): (\w+)")


class _Sink:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages += 1
        return "250 OK"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--interval", type=int, default=1, help="seconds between scheduled crawls")
    parser.add_argument("--warc", type=Path, default=REPO / "pledgewatch" / "data" / "sampleweb.warc.gz")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--samples", type=Path, help="append each run's RSS to this JSON-lines file as it goes"
    )
    args = parser.parse_args(argv)

    sink = _Sink()
    with socket.socket() as probe:  # aiosmtpd needs a port number up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    work = Path(tempfile.mkdtemp(prefix="pw-daemon-rss-"))
    config = work / "pledgewatch.toml"
    config.write_text(
        f'[schedule]\ncrawl = "every {args.interval}s"\ndigest = "every 30s"\n\n'
        f'[crawl]\nreplay = "{args.warc}"\nwindow_days = 0\n\n'
        f'[email]\nhost = "127.0.0.1"\nport = {smtp.port}\nrecipients = ["analyst@example.org"]\n'
        'alert_on = "all"\nalert_max_age_days = 0\n',
        encoding="utf-8",
    )
    db = work / "archive.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--config", str(config), "--db", str(db), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    samples: list[tuple[int, float]] = []
    statuses: dict[str, int] = {}
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            match = FINISHED.search(line)
            if not match:
                if "Traceback" in line or "error" in line.lower():
                    print(line.rstrip(), file=sys.stderr)
                continue
            statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
            samples.append((len(samples) + 1, rss_mb(daemon.pid)))
            if args.samples:
                with args.samples.open("a", encoding="utf-8") as out:
                    out.write(
                        json.dumps({"run": samples[-1][0], "rss_mb": samples[-1][1], "t": time.time()}) + "\n"
                    )
            if not args.json and len(samples) % 50 == 0:
                print(f"run {len(samples)}: daemon RSS {samples[-1][1]:.1f} MB", file=sys.stderr)
            if len(samples) >= args.runs:
                break
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
        smtp.stop()
    if not samples:
        print("error: the daemon finished no crawl (see its log above)", file=sys.stderr)
        return 1
    rss = dict(samples)
    half = samples[len(samples) // 2 :]
    growth = (half[-1][1] - half[0][1]) / max(half[-1][0] - half[0][0], 1) * 100
    result = {
        "runs": len(samples),
        "statuses": statuses,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "rss_mb_at_run": {
            str(n): round(rss[n], 1) for n in (1, 10, 50, 100, 250, 500, len(samples)) if n in rss
        },
        "rss_mb_max": round(max(r for _, r in samples), 1),
        "rss_mb_growth_per_100_runs_second_half": round(growth, 2),
        "mails_received": sink.messages,
        "daemon_exit_code": daemon.returncode,
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
