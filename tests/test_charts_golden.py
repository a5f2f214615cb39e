"""Golden files per chart: each folder (= chart = Argo CD Application) of a synthesized test environment
equals tests/golden/<env>/<folder>/ byte for byte.

The environments under tests/golden/envs/ exercise the options pattern1/pattern3 leave at one value.
After an intended chart change, regenerate and review the diff:

    INFERGATE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_charts_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from infergate.project.discovery import require_project
from infergate.synth.run import synthesize
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
ENV_DIR = GOLDEN / "envs"
UPDATE = os.environ.get("INFERGATE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "dist"
    synthesize(require_project(GOLDEN), None, out)
    if UPDATE:
        for env_out in out.iterdir():
            shutil.rmtree(GOLDEN / env_out.name, ignore_errors=True)
            shutil.copytree(env_out, GOLDEN / env_out.name)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _golden_charts() -> list[str]:
    charts = []
    for env in sorted(p.stem for p in ENV_DIR.glob("*.yaml")):
        charts += [f"{env}/{d.name}" for d in sorted((GOLDEN / env).iterdir()) if d.is_dir()] \
            if (GOLDEN / env).is_dir() else [f"{env}/<missing>"]
    return charts


def test_the_same_charts_exist(synthesized: Path) -> None:
    for env in sorted(p.stem for p in ENV_DIR.glob("*.yaml")):
        made = sorted(d.name for d in (synthesized / env).iterdir())
        kept = sorted(d.name for d in (GOLDEN / env).iterdir()) if (GOLDEN / env).is_dir() else []
        assert made == kept, "charts added or removed: regenerate the golden files (see module docstring)"


@pytest.mark.parametrize("chart", _golden_charts())
def test_chart_matches_golden(synthesized: Path, chart: str) -> None:
    made, kept = _files(synthesized / chart), _files(GOLDEN / chart)
    assert made.keys() == kept.keys(), f"{chart}: objects added or removed"
    for name in made:
        assert made[name] == kept[name], f"{chart}/{name} differs from its golden file"


def test_fleet_matches_golden(synthesized: Path) -> None:
    assert _files(synthesized / "fleet") == _files(GOLDEN / "fleet")
