"""`pledgewatch pledges extract --jsonl` on real-world input: partial dates, titles, bad lines, and
a stream that is interrupted (nothing processed before is lost)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow

HUNAN = "JD.com will invest 2 billion yuan in Hunan over the next five years."


def _lines(reports: list[object]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in reports)


def test_published_may_be_a_month_a_year_or_null(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        _lines(
            [
                {"id": "month", "text": HUNAN, "published": "2021-03"},
                {"id": "year", "text": HUNAN.replace("Hunan", "Hainan"), "published": "2019"},
                {"id": "none", "text": HUNAN.replace("Hunan", "Yunnan"), "published": None},
                {
                    "id": "day",
                    "text": HUNAN.replace("Hunan", "Henan"),
                    "published": "2020-07-01",
                    "title": "JD in Henan",
                },
            ]
        ),
        encoding="utf-8",
    )
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 0, result.stderr
    years = {
        line["id"]: (line["pledges"][0]["start_year"], line["pledges"][0]["end_year"])
        for line in map(json.loads, result.stdout.splitlines())
    }
    # "Over the next five years" counts from the year the page shows, even without a day.
    assert years == {"month": (2021, 2026), "year": (2019, 2024), "none": (None, None), "day": (2020, 2025)}
    one_file = run_cli("pledges", "extract", "-", "--published", "2021-03", input=HUNAN)
    assert json.loads(one_file.stdout)["pledges"][0]["start_year"] == 2021


def test_every_bad_line_is_named_once_and_the_rest_is_processed(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        _lines(
            [
                {"id": "a", "text": HUNAN, "published": "2021-03-01"},
                "{not json",
                {"id": "b", "published": "2021-03-02"},
                {"id": "c", "text": HUNAN, "published": "March 2021"},
                {"id": "d", "text": HUNAN, "title": 7},
                {"id": "e", "text": HUNAN.replace("Hunan", "Hainan"), "published": "2021-03-05"},
            ]
        ),
        encoding="utf-8",
    )
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 2
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a", "e"]
    named = [line for line in result.stderr.splitlines() if ": line " in line]
    assert [line.split(": line ")[1].split(":")[0] for line in named] == ["2", "3", "4", "5"]
    assert "not valid JSON" in named[0] and "'text'" in named[1]
    assert "'published'" in named[2] and "'title'" in named[3]
    assert "Traceback" not in result.stderr


def test_an_interrupted_stream_keeps_what_it_printed(tmp_path):
    """Reports are committed in batches; Ctrl-C in the middle of one still stores and prints the
    reports processed before it, so a rerun does not see them as new twice."""
    archive = tmp_path / "archive.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PLEDGEWATCH_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--db", str(archive), "pledges", "extract", "--jsonl", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # As from a terminal: a shell's background job (`cmd &`, as CI may be started) inherits
        # SIGINT ignored, and Python then installs no Ctrl-C handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdin is not None and process.stderr is not None
    provinces = ["Hunan", "Hainan", "Yunnan"]
    process.stdin.write(
        _lines([{"id": p, "text": HUNAN.replace("Hunan", p), "published": "2021-03-01"} for p in provinces])
    )
    # A bad line after them: its message on stderr says the three before it were processed.
    process.stdin.write("{not json\n")
    process.stdin.flush()
    deadline = time.monotonic() + 120
    seen = ""
    while "line 4" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    assert "line 4" in seen, seen
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert [json.loads(line)["id"] for line in stdout.splitlines()] == provinces
    listed = run_cli("--db", str(archive), "pledges", "list", "--format", "json")
    assert sorted(p["first_report"]["report_ref"] for p in json.loads(listed.stdout)) == sorted(provinces)


def test_a_commit_per_batch_not_per_report(tmp_path):
    """Storing 300 reports takes far fewer commits than reports (each commit syncs the disk)."""
    path = tmp_path / "in.jsonl"
    path.write_text(
        _lines([{"id": n, "text": HUNAN, "published": "2021-03-01"} for n in range(300)]), encoding="utf-8"
    )
    archive = tmp_path / "archive.db"
    script = tmp_path / "count_commits.py"
    script.write_text(
        "import atexit, sys\n"
        "from sqlalchemy import event\n"
        "from sqlalchemy.engine import Engine\n"
        "commits = []\n"
        "event.listen(Engine, 'commit', lambda conn: commits.append(1))\n"
        "atexit.register(lambda: print('commits', len(commits), file=sys.stderr))\n"
        "from pledgewatch.cli import main\n"
        "sys.argv = ['pledgewatch', *sys.argv[1:]]\n"
        "main()\n",
        encoding="utf-8",
    )
    args = ["--db", str(archive), "pledges", "extract", "--jsonl", str(path)]
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 300
    commits = int(result.stderr.rsplit("commits ", 1)[1].split()[0])
    assert commits < 30, commits
    assert Path(archive).exists()


def test_title_and_url_name_the_company_of_the_company(tmp_path):
    """A lone "the company" sentence: its line's headline or page URL names the actor; a line with
    neither keeps the actor as written, unresolved; a non-string url is a bad line."""
    text = "The company will invest 2 billion yuan in Hunan over the next five years."
    path = tmp_path / "in.jsonl"
    path.write_text(
        _lines(
            [
                {"id": "url", "text": text, "url": "https://example.com/2021/03/tencent-bets-on-hunan/"},
                {"id": "title", "text": text, "title": "Pinduoduo to expand in Hunan"},
                {"id": "none", "text": text},
                {"id": "bad", "text": text, "url": 5},
            ]
        ),
        encoding="utf-8",
    )
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 2 and "line 4: 'url' must be a string" in result.stderr
    actors = {line["id"]: line["pledges"][0]["actor"] for line in map(json.loads, result.stdout.splitlines())}
    assert actors == {"url": "Tencent", "title": "Pinduoduo", "none": "the company"}
