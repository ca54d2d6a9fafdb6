"""Headless Chromium and a served archive, for the tests that look at what a person sees.

One place for the browser's flags (every network feature off, so a page that needs the network
fails) and for starting `pledgewatch serve` on a free port and stopping it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium() -> str:
    """The browser's path, or the test is skipped with how to install it."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")


def run_chromium(
    *args: str, profile: Path, offline: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with background networking off; ``offline`` also resolves every host to
    nowhere, so a page that loads a CDN script fails instead of passing."""
    flags = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ]
    if offline:
        flags += ["--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000"]
    return subprocess.run([*flags, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"pledgewatch serve exited with {process.returncode}: {stderr}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def served(archive: Path) -> Iterator[str]:
    """`pledgewatch serve` on ``archive`` at a free port; its base URL, once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--db", str(archive), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/-/versions.json", process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
