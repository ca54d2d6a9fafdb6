"""Evaluate pledge detection, field extraction and pledge identity on tests/data/pledges_eval.jsonl.

Every item is run, in file order, through ``record_report`` on a temporary SQLite store, exactly as
``pledgewatch pledges extract --jsonl`` does, and compared with the gold labels (see
tests/data/PLEDGE_RULES.md):

- detection, sentence level: a predicted pledge sentence is right when it overlaps a gold pledge
  sentence; precision, recall, F1;
- fields, on the gold pledges paired with a prediction in the same sentence (by kind, then order):
  actor, kind, amount (within 1 %), currency, unit, qualifier, region (as a set of provinces),
  start and end year;
- identity: over all pairs of paired mentions, "same pledge id" against "same gold group"
  (pairwise precision and recall);
- alerts: precision of ``is_new`` (a mention flagged new is right when it is the first mention of
  its gold group in the stream; a flag on a wrong detection counts as wrong).

Run: ``python benchmarks/pledges_eval.py [--split dev|heldout|all] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / "tests" / "data" / "pledges_eval.jsonl"
FIELDS = (
    "actor",
    "kind",
    "amount_value",
    "currency",
    "amount_unit",
    "qualifier",
    "region",
    "start_year",
    "end_year",
)


def load_items(path: Path = DEFAULT_DATA, split: str = "all") -> list[dict[str, Any]]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if split == "all" or i["split"] == split]


def _field_equal(name: str, gold: Any, pred: Any) -> bool:
    if name == "amount_value":
        if gold is None or pred is None:
            return gold is pred
        return abs(gold - pred) <= 0.01 * abs(gold)
    if name == "region":

        def as_set(value: Any) -> set[str]:
            return {p.strip() for p in (value or "").split(",") if p.strip()}

        return as_set(gold) == as_set(pred)
    if name == "actor":
        return (gold or "").lower() == (pred or "").lower()
    return gold == pred


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


@dataclass
class Result:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    sentences: int = 0
    field_right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paired: int = 0
    gold_pledges: int = 0
    pred_pledges: int = 0
    pair_tp: int = 0
    pair_pred: int = 0
    pair_gold: int = 0
    new_flags: int = 0
    new_right: int = 0
    errors: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        fields = {name: (self.field_right[name] / self.paired if self.paired else 1.0) for name in FIELDS}
        return {
            "sentences": self.sentences,
            "gold_pledge_sentences": self.tp + self.fn,
            "detection": {"precision": p, "recall": r, "f1": f1, "tp": self.tp, "fp": self.fp, "fn": self.fn},
            "fields": fields,
            "field_accuracy_mean": sum(fields.values()) / len(fields),
            "pledges": {"gold": self.gold_pledges, "predicted": self.pred_pledges, "paired": self.paired},
            "identity": {
                "pairwise_precision": self.pair_tp / self.pair_pred if self.pair_pred else 1.0,
                "pairwise_recall": self.pair_tp / self.pair_gold if self.pair_gold else 1.0,
                "same_pairs_gold": self.pair_gold,
                "same_pairs_predicted": self.pair_pred,
            },
            "is_new_precision": self.new_right / self.new_flags if self.new_flags else 1.0,
            "is_new_flags": self.new_flags,
        }


def evaluate(items: list[dict[str, Any]], db_url: str | None = None) -> Result:
    """Run ``items`` in order through a fresh store and score them against their gold labels."""
    from pledgewatch.ingest import record_report
    from pledgewatch.pledges import split_sentences
    from pledgewatch.store import db

    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(db_url or f"sqlite:///{Path(tmp) / 'eval.db'}")
        db.ensure_schema(engine)
        factory = db.session_factory(engine)
        result = Result()
        seen_groups: set[str] = set()
        # (gold group, predicted pledge id) of every paired mention, for pairwise identity.
        paired_ids: list[tuple[str, int]] = []
        with factory() as session:
            for item in items:
                text = item["text"]
                result.sentences += len(split_sentences(text))
                published = date.fromisoformat(item["published"]) if item.get("published") else None
                outcomes = record_report(session, item["id"], text, published, item.get("source"))
                session.commit()
                preds = [
                    (o.candidate, o.pledge.id, o.is_new, (o.mention.start_offset, o.mention.end_offset))
                    for o in outcomes
                    if o.candidate is not None
                ]
                result.pred_pledges += len(preds)
                gold = item["gold"]
                result.gold_pledges += len(gold)
                gold_spans: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
                for g in gold:
                    start = text.index(g["sentence"])
                    gold_spans[(start, start + len(g["sentence"]))].append(g)
                pred_spans: dict[tuple[int, int], list[Any]] = defaultdict(list)
                for pred in preds:
                    pred_spans[pred[3]].append(pred)
                matched_gold: dict[tuple[int, int], tuple[int, int]] = {}
                for pspan in pred_spans:
                    best = max(gold_spans, key=lambda g: _overlap(g, pspan), default=None)
                    if best is not None and _overlap(best, pspan) > 0 and best not in matched_gold.values():
                        matched_gold[pspan] = best
                        result.tp += 1
                    else:
                        result.fp += 1
                        result.errors.append(f"FP {item['id']}: {text[pspan[0] : pspan[1]][:140]}")
                        for pred in pred_spans[pspan]:
                            if pred[2]:
                                result.new_flags += 1
                for gspan in gold_spans:
                    if gspan not in matched_gold.values():
                        result.fn += 1
                        result.errors.append(f"FN {item['id']}: {text[gspan[0] : gspan[1]][:140]}")
                # Pair gold pledges and predictions within each matched sentence: kind first, then order.
                gold_order = {id(g): n for n, g in enumerate(gold)}
                for pspan, gspan in matched_gold.items():
                    left = list(gold_spans[gspan])
                    preds_here = list(pred_spans[pspan])
                    pairs = []
                    for pred in list(preds_here):
                        same_kind = [g for g in left if g["kind"] == pred[0].kind]
                        if same_kind:
                            pairs.append((same_kind[0], pred))
                            left.remove(same_kind[0])
                            preds_here.remove(pred)
                    for pred, g in zip(list(preds_here), list(left), strict=False):
                        pairs.append((g, pred))
                        preds_here.remove(pred)
                        left.remove(g)
                    for pred in preds_here:
                        result.errors.append(f"EXTRA {item['id']}: {pred[0].kind} {pred[0].amount_value}")
                        if pred[2]:
                            result.new_flags += 1
                    for g, pred in sorted(pairs, key=lambda p: gold_order[id(p[0])]):
                        result.paired += 1
                        candidate = pred[0]
                        for name in FIELDS:
                            if _field_equal(name, g[name], getattr(candidate, name)):
                                result.field_right[name] += 1
                            else:
                                got = getattr(candidate, name)
                                result.errors.append(
                                    f"FIELD {item['id']} {name}: gold={g[name]!r} pred={got!r}"
                                )
                        first = g["group"] not in seen_groups
                        seen_groups.add(g["group"])
                        if pred[2]:
                            result.new_flags += 1
                            result.new_right += int(first)
                            if not first:
                                result.errors.append(
                                    f"NEW {item['id']}: flagged new, group {g['group']} known"
                                )
                        elif first:
                            result.errors.append(
                                f"KNOWN {item['id']}: not flagged new, group {g['group']} is new"
                            )
                        paired_ids.append((g["group"], pred[1]))
                    for g in left:
                        seen_groups.add(g["group"])
                for g in gold:
                    seen_groups.add(g["group"])
        engine.dispose()
    for (g1, p1), (g2, p2) in combinations(paired_ids, 2):
        same_gold, same_pred = g1 == g2, p1 == p2
        result.pair_gold += same_gold
        result.pair_pred += same_pred
        result.pair_tp += same_gold and same_pred
        if same_gold != same_pred:
            result.errors.append(f"IDENTITY groups {g1}/{g2} -> pledges {p1}/{p2}")
    return result


def evaluate_sampleweb() -> dict[str, Any]:
    """Detection on the sample web's articles against its manifest (written by another helper).

    Fields are compared under the manifest's conventions where they differ from ours only in
    spelling (units through our unit vocabulary); regions such as "Northeast China" that the
    manifest keeps as printed count as mismatches.
    """
    from datetime import datetime

    from pledgewatch.ingest import record_report
    from pledgewatch.pledges import PERSON_UNITS
    from pledgewatch.pledges import UNITS as _UNITS
    from pledgewatch.sampleweb import load_manifest
    from pledgewatch.store import db

    articles = sorted((a for a in load_manifest()["articles"] if a.get("text")), key=lambda a: a["published"])
    engine = db.make_engine("sqlite://")
    db.ensure_schema(engine)
    tp = fp = fn = paired = agree = 0
    right: dict[str, int] = defaultdict(int)
    with db.session_factory(engine)() as session:
        for article in articles:
            published = datetime.fromisoformat(article["published"])
            outcomes = record_report(session, article["key"], article["text"], published, article["source"])
            session.commit()
            found: dict[str, Any] = {}
            for outcome in outcomes:
                found.setdefault(outcome.candidate.sentence, outcome)
            expected = {p["sentence"]: p for p in article["expected_pledges"]}
            fp += sum(1 for sentence in found if sentence not in expected)
            for sentence, gold in expected.items():
                outcome = found.get(sentence)
                if outcome is None:
                    fn += 1
                    continue
                tp += 1
                paired += 1
                agree += outcome.is_new == (gold["new_or_known"] == "new")
                unit = gold.get("amount_unit")
                if unit:
                    unit = _UNITS.get(unit.lower(), _UNITS.get(unit.split()[-1].lower(), unit))
                    unit = "people" if unit in PERSON_UNITS and gold["kind"] != "jobs" else unit
                    unit = "jobs" if gold["kind"] == "jobs" else unit
                for name in FIELDS:
                    expected_value = unit if name == "amount_unit" else gold.get(name)
                    right[name] += _field_equal(name, expected_value, getattr(outcome.candidate, name))
    engine.dispose()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "articles": len(articles),
        "expected_pledges": tp + fn,
        "detection": {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        },
        "fields": {name: right[name] / paired if paired else 1.0 for name in FIELDS},
        "new_or_known_agreement": agree / paired if paired else 1.0,
    }


def _table(reports: dict[str, dict[str, Any]]) -> str:
    rows: list[tuple[str, ...]] = [("metric", *reports)]

    def add(label: str, getter: Any) -> None:
        rows.append((label, *(getter(m) for m in reports.values())))

    add("items / sentences", lambda m: f"{m['items']} / {m['sentences']}")
    add("gold pledge sentences", lambda m: str(m["gold_pledge_sentences"]))
    add("detection precision", lambda m: f"{m['detection']['precision']:.3f}")
    add("detection recall", lambda m: f"{m['detection']['recall']:.3f}")
    add("detection F1", lambda m: f"{m['detection']['f1']:.3f}")
    for name in FIELDS:
        add(f"field {name}", lambda m, n=name: f"{m['fields'][n]:.3f}")
    add("field accuracy (mean)", lambda m: f"{m['field_accuracy_mean']:.3f}")
    add("identity pairwise precision", lambda m: f"{m['identity']['pairwise_precision']:.3f}")
    add("identity pairwise recall", lambda m: f"{m['identity']['pairwise_recall']:.3f}")
    add("is_new precision", lambda m: f"{m['is_new_precision']:.3f} ({m['is_new_flags']} flags)")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--split", default="each", help="dev, heldout, heldout2, all, or each (every split, then all)"
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--errors", action="store_true", help="list every error (for the dev split)")
    parser.add_argument("--db", help="database URL instead of a temporary SQLite file")
    parser.add_argument(
        "--sampleweb", action="store_true", help="also check detection against the sample web's manifest"
    )
    args = parser.parse_args(argv)
    if args.split == "each":
        splits = [*dict.fromkeys(i["split"] for i in load_items(args.data)), "all"]
    else:
        splits = [args.split]
    reports: dict[str, dict[str, Any]] = {}
    for split in splits:
        items = load_items(args.data, split)
        # Identity runs over the whole stream: a split is scored on its own items only.
        result = evaluate(items, args.db)
        reports[split] = {"items": len(items), **result.metrics()}
        if args.errors:
            print(f"## errors ({split})", file=sys.stderr)
            for line in result.errors:
                print(line, file=sys.stderr)
    sampleweb = evaluate_sampleweb() if args.sampleweb else None
    if args.json:
        print(json.dumps({**reports, **({"sampleweb": sampleweb} if sampleweb else {})}, indent=2))
        return 0
    print(_table(reports))
    if sampleweb:
        d = sampleweb["detection"]
        scores = f"P {d['precision']:.3f} R {d['recall']:.3f} F1 {d['f1']:.3f}"
        counts = f"{sampleweb['articles']} articles, {sampleweb['expected_pledges']} expected pledges"
        agreement = f"new/known agreement {sampleweb['new_or_known_agreement']:.3f}"
        print(f"\nsample web manifest: {counts}; detection {scores}; {agreement}")
        print("fields: " + ", ".join(f"{name} {value:.3f}" for name, value in sampleweb["fields"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
