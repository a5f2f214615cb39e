"""Shared test fixtures: repository paths, the offline mirror, CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def mirror_dir() -> Path:
    value = os.environ.get("INFERGATE_MIRROR")
    return Path(value) if value else (REPO.parent / "shared")


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if not (path / "crds").is_dir():
        pytest.fail(f"offline mirror not found at {path}: set INFERGATE_MIRROR")
    return path


def run_infergate(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run([str(VENV_BIN / "infergate"), *args], capture_output=True, text=True,
                          env=merged, cwd=cwd or REPO, timeout=timeout, check=False)


EOL_BANNER_MARKERS = ("end-of-life", "!!!!!!!!", "is unsupported and has known compatibility issues")


def assert_no_node_banner(text: str) -> None:
    for marker in EOL_BANNER_MARKERS:
        assert marker not in text, f"Node banner leaked into output: {text[:500]}"
