"""`pledgewatch pledges extract` and `pledges list` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_pledges import seed_body


def _write_jsonl(path: Path, reports: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reports), encoding="utf-8")
    return path


def _seed_reports() -> list[dict]:
    return [
        {"id": "jd-blog", "text": seed_body("000"), "published": "2020-04-08", "source": "jd"},
        {"id": "esg", "text": seed_body("002"), "published": "2021-04-16", "source": "jd"},
        {"id": "people", "text": seed_body("003"), "published": "2020-04-30", "source": "people"},
    ]


@pytest.mark.slow
def test_extract_jsonl_is_a_stream_of_reports(tmp_path):
    path = _write_jsonl(tmp_path / "in.jsonl", _seed_reports())
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["jd-blog", "esg", "people"]
    (hubei,) = lines[0]["pledges"]
    assert hubei["is_new"] is True
    assert (hubei["actor"], hubei["kind"], hubei["amount_value"], hubei["currency"]) == (
        "JD.com",
        "invest",
        6e9,
        "CNY",
    )
    assert (hubei["region"], hubei["start_year"], hubei["end_year"]) == ("Hubei", 2020, 2023)
    assert set(hubei) >= {"pledge_id", "amount_unit", "horizon", "sentence"}
    assert lines[1]["pledges"] == []
    rereport = [p for p in lines[2]["pledges"] if p["actor"] == "JD.com"]
    assert [(p["pledge_id"], p["is_new"]) for p in rereport] == [(hubei["pledge_id"], False)]


@pytest.mark.slow
def test_extract_uses_a_temporary_store_unless_db_is_given(tmp_path):
    path = _write_jsonl(tmp_path / "in.jsonl", _seed_reports()[:1])
    for _ in range(2):
        result = run_cli("pledges", "extract", "--jsonl", str(path))
        assert json.loads(result.stdout)["pledges"][0]["is_new"] is True
    db_file = tmp_path / "archive.db"
    first = run_cli("--db", str(db_file), "pledges", "extract", "--jsonl", str(path))
    second = run_cli("pledges", "extract", "--db", str(db_file), "--jsonl", str(path))
    assert json.loads(first.stdout)["pledges"][0]["is_new"] is True
    # The same report again: the known pledge, not a second one.
    assert json.loads(second.stdout)["pledges"][0]["is_new"] is False


@pytest.mark.slow
def test_extract_bad_input_names_the_line_and_exits_2(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "JD will invest 1 billion yuan in Anhui."}\n{"id": "b", "text": \n')
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 2
    assert "line 2" in result.stderr and "Traceback" not in result.stderr
    # Issue 13: a bad line no longer stops the run; the good line before it is processed.
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a"]
    path.write_text('{"id": "a", "text": "x", "published": "yesterday"}\n')
    result = run_cli("pledges", "extract", "--jsonl", str(path))
    assert result.returncode == 2 and "line 1" in result.stderr and "published" in result.stderr
    missing = run_cli("pledges", "extract", "--jsonl", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.slow
def test_extract_one_file_or_stdin(tmp_path):
    text = "JD.com will invest 2 billion yuan in Hunan over the next five years."
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    from_file = run_cli("pledges", "extract", str(path), "--published", "2021-03-01")
    from_stdin = run_cli("pledges", "extract", "-", "--published", "2021-03-01", input=text)
    for result in (from_file, from_stdin):
        assert result.returncode == 0, result.stderr
        (pledge,) = json.loads(result.stdout)["pledges"]
        assert (pledge["region"], pledge["start_year"], pledge["end_year"]) == ("Hunan", 2021, 2026)


@pytest.mark.slow
def test_list_formats_and_filters(tmp_path, db_url):
    reports = [
        *_seed_reports(),
        {"id": "northeast", "text": seed_body("001"), "published": "2018-08-24", "source": "chinadaily"},
    ]
    path = _write_jsonl(tmp_path / "in.jsonl", reports)
    assert run_cli("--db", db_url, "pledges", "extract", "--jsonl", str(path)).returncode == 0

    table = run_cli("--db", db_url, "pledges", "list", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "Hubei" in table.stdout and "JD.com" in table.stdout

    as_json = run_cli(
        "--db", db_url, "pledges", "list", "--actor", "Jingdong", "--region", "Hubei", "--format", "json"
    )
    pledges = json.loads(as_json.stdout)
    assert len(pledges) == 1
    hubei = pledges[0]
    assert hubei["first_report"]["report_ref"] == "jd-blog"
    assert [m["report_ref"] for m in hubei["mentions"]] == ["jd-blog", "people"]

    as_csv = run_cli(
        *("--db", db_url, "pledges", "list", "--region", "Northeast China"),
        *("--min-amount", "10 billion", "--format", "csv"),
    )
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    # The Northeast pledge, stated twice in its article (the report and the CEO's quote).
    assert {row["pledge_id"] for row in rows} and len({row["pledge_id"] for row in rows}) == 1
    assert len(rows) == 2
    assert rows[0]["amount_value"] == "20000000000" and rows[0]["currency"] == "CNY"
    assert rows[0]["first_published"] == "2018-08-24" and rows[0]["is_first_report"] == "yes"
    assert rows[1]["is_first_report"] == "no"
    assert rows[0]["region"] == "Heilongjiang, Jilin, Liaoning"

    # --until names a day and includes it, as search and report do: the Northeast pledge was first
    # reported on 2018-08-24, the Hubei one in 2020.
    def listed(*args: str) -> set[str]:
        done = run_cli("--db", db_url, "pledges", "list", *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        return {p["region"] for p in json.loads(done.stdout)}

    assert "Heilongjiang, Jilin, Liaoning" in listed("--until", "2018-08-24")
    assert "Hubei" not in listed("--until", "2018-08-24")
    assert listed("--since", "2018-08-24", "--until", "2018-08-24") == listed("--until", "2018-08-24")
    assert "Heilongjiang, Jilin, Liaoning" not in listed("--until", "2018-08-23")

    none = run_cli("--db", db_url, "pledges", "list", "--kind", "donate", "--format", "csv")
    assert none.stdout.splitlines()[0].startswith("pledge_id,actor,kind")
    assert len(none.stdout.splitlines()) == 1


@pytest.mark.slow
def test_list_bad_options_exit_2(tmp_path):
    db_file = str(tmp_path / "a.db")
    for args in (["--since", "last week"], ["--min-amount", "lots"], ["--kind", "promise"]):
        result = run_cli("--db", db_file, "pledges", "list", *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr and result.stderr.startswith("error:")
