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

Then, side by side, a real labelled set (``--real PATH``, default ``../shared/real/pledges-dev.jsonl``
when it exists) scored as its README's acceptance does (see :func:`evaluate_real`), for all its
pages and for the two halves of a fixed page split (:func:`page_half`: A was developed on, B held
out).

Run: ``python benchmarks/pledges_eval.py [--split dev|heldout|all] [--json] [--real PATH]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
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
# The real labelled sentences (not in the repository: a sibling checkout's shared folder).
DEFAULT_REAL = REPO.parent / "shared" / "real" / "pledges-dev.jsonl"
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


# --------------------------------------------------------------------------- real sets


def load_real(path: Path) -> list[dict[str, Any]]:
    """Rows of a real labelled set (schema in ../shared/real/README.md), in file order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def page_half(row: dict[str, Any]) -> str:
    """The fixed page split of a real set, decided before any rule was written for it: pages whose
    URL hashes to an even first digit are "A" (rules were developed looking at these), the others
    "B" (held out: scored, never read while writing rules)."""
    digest = hashlib.sha1(row["source_url"].encode("utf-8")).hexdigest()
    return "A" if int(digest[0], 16) % 2 == 0 else "B"


def parse_published(value: str | None) -> date | None:
    """YYYY-MM-DD, YYYY-MM or YYYY (a page often shows only the month) as a date."""
    if not value:
        return None
    parts = [int(p) for p in value.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def publication_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dated rows by date, then the undated ones, each in file order (a stable sort)."""
    return sorted(rows, key=lambda r: (r.get("published") is None, r.get("published") or ""))


_COUNTRY_LEVEL = re.compile(
    r"^(?:china|global|worldwide|overseas|nationwide|rural china|lower-tier china|china and global|"
    r"(?:[\w-]+(?:,\s*|\s+and\s+))*[\w-]+\s+china)$",
    re.IGNORECASE,
)


def _specific_region(gold: str | None) -> str | None:
    """The label's region when it names a place more specific than the country, else None."""
    from pledgewatch.pledges.regions import normalise_region

    if not gold or _COUNTRY_LEVEL.match(gold.strip()):
        return None
    return normalise_region(gold) or gold


def _actor_right(gold: str | None, pred: str | None) -> bool:
    """Same company; a unit of a watched company ("JD Logistics", "JD Daojia") may be its parent,
    and a label's parenthesis ("Dada Now (Dada Group)") names the same company either way."""
    if not gold or not pred:
        return False
    from pledgewatch.pledges.actors import default_resolver

    resolver = default_resolver()
    names = {gold, *re.findall(r"\(([^)]+)\)", gold), re.sub(r"\s*\([^)]*\)", "", gold)}
    canonical = {resolver.normalise(n).lower() for n in names} | {n.lower() for n in names}
    return resolver.normalise(pred).lower() in canonical


def evaluate_real(
    rows: list[dict[str, Any]], db_url: str | None = None, no_context: bool = False
) -> dict[str, Any]:
    """Score a real set the way its README's acceptance does.

    Every row is one text (as ``pledges extract --jsonl`` feeds it), fed in publication order
    through a temporary store, with its page's URL as context (``url``: a crawled article always
    has one; ``no_context`` leaves it out). Rows marked uncertain go through the store (they are part of the
    stream) but are not scored. Detection is P/R/F1 of ``is_pledge``; amount (within 1 %) and
    actor are scored on true positives, from the sentence's first candidate; region only where
    the label names a place more specific than the country; identity pairwise over true
    positives with a group; "new" precision over every row flagged new (a flag on a false
    positive is wrong; the first report of a group in publication order is new).
    """
    from pledgewatch.ingest import record_report
    from pledgewatch.pledges.regions import split_regions
    from pledgewatch.store import db

    ordered = publication_order(rows)
    tp = fp = fn = tn = 0
    amount_right = actor_right = 0
    region_right = region_total = 0
    new_flags = new_right = 0
    identity: list[tuple[str, int]] = []
    errors: list[str] = []
    seen_groups: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(db_url or f"sqlite:///{Path(tmp) / 'real.db'}")
        db.ensure_schema(engine)
        with db.session_factory(engine)() as session:
            for row in ordered:
                outcomes = record_report(
                    session,
                    row["id"],
                    row["sentence"],
                    parse_published(row.get("published")),
                    row.get("outlet"),
                    url=None if no_context else row.get("source_url"),
                )
                session.commit()
                outcomes = [o for o in outcomes if o.candidate is not None]
                group = row.get("group") if row["is_pledge"] else None
                first = bool(group) and group not in seen_groups
                if group:
                    seen_groups.add(group)
                if row.get("uncertain"):
                    continue
                predicted = bool(outcomes)
                flagged_new = any(o.is_new for o in outcomes)
                if flagged_new:
                    new_flags += 1
                    new_right += int(first and row["is_pledge"])
                    if not (first and row["is_pledge"]):
                        errors.append(f"NEW {row['id']}: flagged new, group {group} known or not a pledge")
                if predicted and row["is_pledge"]:
                    tp += 1
                    cand = outcomes[0].candidate
                    gold_amount = row.get("amount_value")
                    if gold_amount is not None and cand.amount_value is not None:
                        ok = abs(cand.amount_value - gold_amount) <= 0.01 * abs(gold_amount)
                    else:
                        ok = gold_amount is None and cand.amount_value is None
                    amount_right += ok
                    if not ok:
                        errors.append(f"AMOUNT {row['id']}: gold={gold_amount} pred={cand.amount_value}")
                    if _actor_right(row.get("actor"), cand.actor):
                        actor_right += 1
                    else:
                        errors.append(f"ACTOR {row['id']}: gold={row.get('actor')!r} pred={cand.actor!r}")
                    gold_region = _specific_region(row.get("region"))
                    if gold_region:
                        region_total += 1
                        if split_regions(gold_region) == split_regions(cand.region):
                            region_right += 1
                        else:
                            errors.append(
                                f"REGION {row['id']}: gold={row.get('region')!r} pred={cand.region!r}"
                            )
                    if group:
                        identity.append((group, outcomes[0].pledge.id))
                elif predicted:
                    fp += 1
                    c = outcomes[0].candidate
                    errors.append(f"FP {row['id']} ({c.actor}, {c.amount_value}): {row['sentence'][:150]}")
                elif row["is_pledge"]:
                    fn += 1
                    errors.append(f"FN {row['id']}: {row['sentence'][:150]}")
                else:
                    tn += 1
        engine.dispose()
    pair_tp = pair_pred = pair_gold = 0
    for (g1, p1), (g2, p2) in combinations(identity, 2):
        pair_gold += g1 == g2
        pair_pred += p1 == p2
        pair_tp += g1 == g2 and p1 == p2
        if (g1 == g2) != (p1 == p2):
            errors.append(f"IDENTITY groups {g1}/{g2} -> pledges {p1}/{p2}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    ip = pair_tp / pair_pred if pair_pred else 1.0
    ir = pair_tp / pair_gold if pair_gold else 1.0
    return {
        "rows": len(rows),
        "scored": tp + fp + fn + tn,
        "gold_pledges": tp + fn,
        "detection": {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        },
        "amount_within_1pct": amount_right / tp if tp else 1.0,
        "actor": actor_right / tp if tp else 1.0,
        "region": region_right / region_total if region_total else 1.0,
        "region_scored": region_total,
        "identity": {
            "pairwise_precision": ip,
            "pairwise_recall": ir,
            "pairwise_f1": 2 * ip * ir / (ip + ir) if ip + ir else 0.0,
            "same_pairs_gold": pair_gold,
        },
        "new_precision": new_right / new_flags if new_flags else 1.0,
        "new_flags": new_flags,
        "errors": errors,
    }


def _side_by_side(columns: dict[str, dict[str, Any]]) -> str:
    """Own set and real sets in one table, on the metrics both can report."""
    rows: list[tuple[str, ...]] = [("metric", *columns)]

    def add(label: str, getter: Any) -> None:
        rows.append((label, *(getter(m) for m in columns.values())))

    add("scored sentences", lambda m: str(m["scored"]))
    add("gold pledge sentences", lambda m: str(m["gold_pledges"]))
    add("detection precision", lambda m: f"{m['detection']['precision']:.3f}")
    add("detection recall", lambda m: f"{m['detection']['recall']:.3f}")
    add("detection F1", lambda m: f"{m['detection']['f1']:.3f}")
    add("amount within 1% (TPs)", lambda m: f"{m['amount_within_1pct']:.3f}")
    add("actor right (TPs)", lambda m: f"{m['actor']:.3f}")
    add("region right (specific)", lambda m: f"{m['region']:.3f} ({m['region_scored']})")
    add("identity pairwise P", lambda m: f"{m['identity']['pairwise_precision']:.3f}")
    add("identity pairwise R", lambda m: f"{m['identity']['pairwise_recall']:.3f}")
    add("identity pairwise F1", lambda m: f"{m['identity']['pairwise_f1']:.3f}")
    add("new precision", lambda m: f"{m['new_precision']:.3f} ({m['new_flags']} flags)")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def own_as_real(metrics: dict[str, Any]) -> dict[str, Any]:
    """The own set's metrics under the real sets' names, for the side-by-side table."""
    ip, ir = metrics["identity"]["pairwise_precision"], metrics["identity"]["pairwise_recall"]
    return {
        "scored": metrics["sentences"],
        "gold_pledges": metrics["gold_pledge_sentences"],
        "detection": metrics["detection"],
        "amount_within_1pct": metrics["fields"]["amount_value"],
        "actor": metrics["fields"]["actor"],
        "region": metrics["fields"]["region"],
        "region_scored": metrics["pledges"]["paired"],
        "identity": {**metrics["identity"], "pairwise_f1": 2 * ip * ir / (ip + ir) if ip + ir else 0.0},
        "new_precision": metrics["is_new_precision"],
        "new_flags": metrics["is_new_flags"],
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
    parser.add_argument(
        "--real",
        type=Path,
        default=DEFAULT_REAL if DEFAULT_REAL.exists() else None,
        help="a real labelled set (default ../shared/real/pledges-dev.jsonl when it exists)",
    )
    parser.add_argument("--no-real", action="store_true", help="skip the real set")
    parser.add_argument(
        "--real-errors",
        choices=("A", "B", "all"),
        help="list the real set's errors (A: development half)",
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
    real: dict[str, dict[str, Any]] = {}
    if args.real is not None and not args.no_real:
        rows = load_real(args.real)
        real["real (all pages)"] = evaluate_real(rows, args.db)
        for half in ("A", "B"):
            real[f"real pages {half}"] = evaluate_real([r for r in rows if page_half(r) == half], args.db)
        # The same rows with the text alone (no page URL): what a caller without context gets.
        real["real, text only"] = evaluate_real(rows, args.db, no_context=True)
        if args.real_errors:
            key = "real (all pages)" if args.real_errors == "all" else f"real pages {args.real_errors}"
            print(f"## errors ({key})", file=sys.stderr)
            for line in real[key]["errors"]:
                print(line, file=sys.stderr)
    if args.json:
        payload = {**reports, **({"sampleweb": sampleweb} if sampleweb else {})}
        payload.update({k: {n: v for n, v in m.items() if n != "errors"} for k, m in real.items()})
        print(json.dumps(payload, indent=2))
        return 0
    print(_table(reports))
    if real:
        own = own_as_real(reports["all"]) if "all" in reports else own_as_real(next(iter(reports.values())))
        print("\n" + _side_by_side({"own set (all)": own, **real}))
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
