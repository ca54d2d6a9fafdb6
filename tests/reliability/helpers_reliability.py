"""Inputs that are expensive for real (no mocks): seeded, bounded, built in the test."""

from __future__ import annotations

import random


def number_heavy_text(chars: int, seed: int = 19) -> str:
    """One long sentence of amounts ("RMB 12,345, 678,901, ..."): issue 19's slowest family for
    pledge detection (seconds at 5,000 characters before the nlp rewrite; still far over a
    0.2 s budget at 200,000 characters after it, which is what the tests rely on)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < chars:
        part = f"{rng.randint(1, 999)},{rng.randint(100, 999)}"
        parts.append(part)
        size += len(part) + 2
    return "JD.com will invest RMB " + ", ".join(parts) + " yuan in Hubei over the next three years."


def peak_rss_mb(pid_rusage_kb: int) -> float:
    """ru_maxrss (KiB on Linux) as MB."""
    return pid_rusage_kb / 1024
