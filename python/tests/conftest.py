"""Shared fixtures: the repository root and the command line built by `cargo build`/`cargo test`."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def huber_bin() -> str:
    """The `huber` command: $HUBER_BIN, else the workspace's debug or release build, else PATH."""
    if os.environ.get("HUBER_BIN"):
        return os.environ["HUBER_BIN"]
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "huber"
        if path.exists():
            return str(path)
    found = shutil.which("huber")
    if found is None:
        raise RuntimeError("no huber command: run `cargo build` first (or set HUBER_BIN)")
    return found


@pytest.fixture(scope="session")
def cli():
    """Runs the command line in the repository root; returns stdout, or raises with stderr."""
    exe = huber_bin()

    def run(*args, stdin=None, check=True):
        proc = subprocess.run(
            [exe, *map(str, args)], cwd=ROOT, input=stdin, capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"huber {' '.join(map(str, args))}: {proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def conformance():
    with open(ROOT / "fixtures/conformance/manifest.json") as f:
        return json.load(f)
