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


def many_pledges_text(chars: int, seed: int = 19) -> str:
    """``chars`` of short pledge sentences, each with its own amount: detection is linear in the
    text (it reads every sentence, each at most a bounded length), so this is expensive in
    proportion to its size however fast detection becomes; about 2 MB takes seconds."""
    rng = random.Random(seed)
    sentences: list[str] = []
    size = 0
    while size < chars:
        sentence = f"JD.com will invest RMB {rng.randint(1, 999)} million in Hubei project {len(sentences)}."
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)


def gzip_bomb(unpacked_bytes: int, prefix: bytes = b"") -> bytes:
    """A real gzip stream of ``prefix`` then zeros, ``unpacked_bytes`` long once gunzipped
    (about 1 KB per MB): built in pieces, so making it costs no memory."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [compressor.compress(prefix)]
    block = b"\0" * (1 << 20)
    left = unpacked_bytes - len(prefix)
    while left > 0:
        piece = block if left >= len(block) else block[:left]
        out.append(compressor.compress(piece))
        left -= len(piece)
    out.append(compressor.flush())
    return b"".join(out)


RSS_PROBE = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[2:], capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(str(peak_kb))
sys.stdout.write(result.stdout)
sys.stderr.write(result.stderr)
sys.exit(result.returncode)
"""


def run_measured(argv: list[str], rss_file: str, env: dict[str, str] | None = None, timeout: float = 600):
    """Run ``argv`` in a child and return (CompletedProcess, peak RSS in MB of the largest child):
    getrusage(RUSAGE_CHILDREN) in a fresh probe process, so only this command is measured."""
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, rss_file, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return result, int(Path(rss_file).read_text()) / 1024
