"""Score pledge identity (which reports are one pledge, which one is new) on a labelled real set.

Identity is measured apart from detection: only rows the detector found *and* that are labelled
pledges count, so a better detector changes which rows are scored but not how. The rows run, in
publication order (dated rows by date, then undated ones in file order), each line one text,
through :func:`pledgewatch.ingest.record_report` on a temporary SQLite store, exactly as
``pledgewatch pledges extract --jsonl`` does; so the store links each report to what came before
it, as it would in a crawl.

Scores (the acceptance scoring of the real sets):

- pairwise identity: over every pair of scored rows, "same predicted pledge id" against "same
  ``group``": precision, recall, F1;
- "new" precision: of the scored rows flagged ``is_new``, the share that are the first report of
  their group in publication order (every later report is a repeat). ``new precision incl. FP``
  also counts the new flags on false detections (what an analyst sees as a wrong alert).

Rows marked ``uncertain`` still run through the store (they are real reports that a crawl would
link to); the table scores them apart: "not uncertain" (the acceptance rows) and "all rows".

Input: JSON Lines with ``id, sentence, published (YYYY-MM-DD, YYYY-MM, YYYY or null), outlet,
is_pledge, group, uncertain`` (the schema of the real sets). Not shipped with the repository.

Run: ``python benchmarks/identity_eval.py PATH/TO/pledges-dev.jsonl [--errors] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any


def parse_published(value: str | None) -> date | None:
    """YYYY-MM-DD, YYYY-MM (a page that shows the month) or YYYY, as the first day it can mean."""
    if not value:
        return None
    parts = value.strip().split("-")
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 1
    day = int(parts[2]) if len(parts) > 2 else 1
    return date(year, month, day)


def publication_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dated rows by date, then undated ones, each in file order (a stable sort)."""
    return sorted(
        rows, key=lambda r: (r.get("published") is None, parse_published(r.get("published")) or date.min)
    )


@dataclass
class Scored:
    """One detected row: its label and what the store made of it."""

    row: dict[str, Any]
    pledge_id: int
    is_new: bool


@dataclass
class IdentityResult:
    rows: int = 0
    detected: int = 0
    scored: int = 0
    pair_tp: int = 0
    pair_pred: int = 0
    pair_gold: int = 0
    new_flags: int = 0
    new_right: int = 0
    fp_new_flags: int = 0
    errors: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        precision = self.pair_tp / self.pair_pred if self.pair_pred else 1.0
        recall = self.pair_tp / self.pair_gold if self.pair_gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        flags = self.new_flags + self.fp_new_flags
        return {
            "rows": self.rows,
            "rows_detected": self.detected,
            "scored_true_positives": self.scored,
            "pairwise_precision": precision,
            "pairwise_recall": recall,
            "pairwise_f1": f1,
            "same_pairs_gold": self.pair_gold,
            "same_pairs_predicted": self.pair_pred,
            "new_precision": self.new_right / self.new_flags if self.new_flags else 1.0,
            "new_flags": self.new_flags,
            "new_precision_incl_fp": self.new_right / flags if flags else 1.0,
            "new_flags_on_false_detections": self.fp_new_flags,
        }


def run(rows: list[dict[str, Any]]) -> list[Scored]:
    """Every row, in publication order, through a fresh store; the rows in which a pledge was found."""
    from pledgewatch.ingest import record_report
    from pledgewatch.store import db

    found: list[Scored] = []
    with tempfile.TemporaryDirectory(prefix="pledgewatch-identity-") as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'identity.db'}")
        db.ensure_schema(engine)
        with db.session_factory(engine)() as session:
            for row in publication_order(rows):
                published = parse_published(row.get("published"))
                outcomes = record_report(
                    session, str(row["id"]), row["sentence"], published, row.get("outlet")
                )
                session.commit()
                if outcomes:
                    # One text is one sentence: its first pledge is the one the label records (rule 5).
                    found.append(Scored(row, outcomes[0].pledge.id, outcomes[0].is_new))
        engine.dispose()
    return found


def score(rows: list[dict[str, Any]], found: list[Scored], *, include_uncertain: bool) -> IdentityResult:
    """Pairwise identity and "new" precision on the detected rows labelled pledges."""
    result = IdentityResult(rows=len(rows), detected=len(found))
    first_of_group: dict[str, str] = {}
    for row in publication_order(rows):
        if row.get("is_pledge") and row.get("group"):
            first_of_group.setdefault(row["group"], row["id"])
    scored: list[Scored] = []
    for item in found:
        row = item.row
        if row.get("uncertain") and not include_uncertain:
            continue
        if not row.get("is_pledge") or not row.get("group"):
            result.fp_new_flags += item.is_new
            continue
        scored.append(item)
        if item.is_new:
            result.new_flags += 1
            first = first_of_group[row["group"]]
            if first == row["id"]:
                result.new_right += 1
            else:
                result.errors.append(
                    f"NEW   {row['id']} ({row.get('published')}): flagged new, but {first} reported "
                    f"{row['group']} before"
                )
    result.scored = len(scored)
    for a, b in combinations(scored, 2):
        same_gold, same_pred = a.row["group"] == b.row["group"], a.pledge_id == b.pledge_id
        result.pair_gold += same_gold
        result.pair_pred += same_pred
        result.pair_tp += same_gold and same_pred
        if same_gold and not same_pred:
            result.errors.append(
                f"SPLIT {a.row['id']}/{b.row['id']} ({a.row['group']}): pledges {a.pledge_id}/{b.pledge_id}"
            )
        elif same_pred and not same_gold:
            result.errors.append(
                f"MERGE {a.row['id']}/{b.row['id']} ({a.row['group']} / {b.row['group']}): "
                f"pledge {a.pledge_id}"
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="JSON Lines in the real sets' schema")
    parser.add_argument("--errors", action="store_true", help="list every split, merge and wrong new flag")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = run(rows)
    views = {
        "not uncertain": score(rows, found, include_uncertain=False),
        "all rows": score(rows, found, include_uncertain=True),
    }
    if args.errors:
        for name, result in views.items():
            print(f"## {name}", file=sys.stderr)
            for line in result.errors:
                print(line, file=sys.stderr)
    if args.json:
        print(json.dumps({name: result.metrics() for name, result in views.items()}, indent=2))
        return 0
    first = next(iter(views.values())).metrics()
    print(f"{first['rows']} rows, {first['rows_detected']} with a detected pledge")
    print(
        "| rows scored | true positives | identity P | identity R | identity F1 | new precision "
        "| incl. FP flags |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, result in views.items():
        m = result.metrics()
        print(
            f"| {name} | {m['scored_true_positives']} | {m['pairwise_precision']:.3f} | "
            f"{m['pairwise_recall']:.3f} | {m['pairwise_f1']:.3f} | {m['new_precision']:.3f} "
            f"({m['new_flags']}) | {m['new_precision_incl_fp']:.3f} (+{m['new_flags_on_false_detections']}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
