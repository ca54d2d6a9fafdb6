"""Pledge detection speed in process, and its cost on long number-heavy text (issue 19).

Detection runs over every text of ``tests/data/pledges_eval.jsonl`` and the sample web's articles
(pure NLP, no store), repeated until at least ``--seconds`` have passed, and reports sentences per
second. ``--adversarial`` also times texts of 1k, 10k and 100k characters from families that
were quadratic before (digits and commas; a one-sentence list of amounts by province; numbers
and cue words), so growth shows as a ratio per tenfold length.

Run: ``python benchmarks/pledges_speed.py [--seconds 5] [--adversarial]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def corpus() -> list[tuple[str, date | None]]:
    """(text, published) of the own set's items and the sample web's articles."""
    from pledgewatch.sampleweb import load_manifest

    texts: list[tuple[str, date | None]] = []
    for line in (REPO / "tests" / "data" / "pledges_eval.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            published = date.fromisoformat(item["published"]) if item.get("published") else None
            texts.append((item["text"], published))
    for article in load_manifest()["articles"]:
        if article.get("text"):
            texts.append((article["text"], date.fromisoformat(article["published"][:10])))
    return texts


def adversarial(length: int) -> dict[str, str]:
    """Texts of about ``length`` characters from the families that were quadratic."""
    provinces = ["Hubei", "Sichuan", "Henan", "Hebei", "Shandong", "Jiangsu", "Zhejiang", "Yunnan"]
    unit = ", ".join(f"RMB {n} million for {p}" for n, p in zip(range(10, 90, 10), provinces, strict=True))
    families = {
        "digits and commas": "1,234, " * (length // 7),
        "amounts by province (one sentence)": "JD will invest " + (unit + ", ") * (length // (len(unit) + 2)),
        "numbers and cue words": "will plan to 5,000 jobs and 300 stores " * (length // 39),
        "no full stops": "JD will invest 6 billion yuan in Hubei and " * (length // 43),
    }
    return {name: text[:length] for name, text in families.items()}


def main(argv: list[str] | None = None) -> int:
    from pledgewatch.pledges import extract_pledges, split_sentences

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--adversarial", action="store_true")
    args = parser.parse_args(argv)
    texts = corpus()
    sentences = sum(len(split_sentences(text)) for text, _ in texts)
    extract_pledges("JD will invest RMB 6 billion in Hubei.")  # compile the matchers once
    rounds = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < args.seconds or rounds == 0:
        for text, published in texts:
            extract_pledges(text, published)
        rounds += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU time is the figure to compare: on a shared machine wall time also counts other processes.
    print(
        f"{len(texts)} texts, {sentences} sentences x {rounds} rounds: "
        f"{sentences * rounds / cpu:,.0f} sentences/s of CPU time "
        f"({sentences * rounds / elapsed:,.0f} sentences/s wall clock, load {os.getloadavg()[0]:.1f})"
    )
    if args.adversarial:
        print("\n| family | 1k chars | 10k chars | 100k chars |")
        print("|---|---|---|---|")
        names = list(adversarial(1000))
        for name in names:
            cells = []
            for length in (1_000, 10_000, 100_000):
                text = adversarial(length)[name]
                t0 = time.perf_counter()
                extract_pledges(text)
                cells.append(f"{time.perf_counter() - t0:.3f} s")
            print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
