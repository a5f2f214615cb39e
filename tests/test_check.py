"""`infergate check`: catches hand-edited and stale dist/, passes on a fresh clone, skips re-synth
when nothing changed, and never reports a stage that did not run as passed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infergate.check.run import StageResult, _run_stage
from infergate.check.treediff import compare_trees
from tests.conftest import REPO, assert_no_node_banner, make_project, requires_examples, run_infergate


def _stages_available(dist: Path) -> bool:
    """validate and lint both landed (their APIs exist and their rules import)."""
    stages = [_run_stage("validate", "infergate.validate", "validate_paths", [dist]),
              _run_stage("lint", "infergate.lint", "lint_paths", [dist])]
    return all(s.ran for s in stages)


@pytest.fixture(scope="module")
def synthesized_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A consumer project with the fixture environments (pattern1, pattern3) and its synthesized dist/."""
    root = make_project(tmp_path_factory.mktemp("template") / "project")
    result = run_infergate("synth", "--project", str(root))
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture()
def project(tmp_path: Path, synthesized_project: Path) -> Path:
    """A fresh copy of that project for one test to edit."""
    return Path(shutil.copytree(synthesized_project, tmp_path / "project"))


def test_hand_edited_dist_file_fails_with_a_diff(project: Path, cache_env: dict[str, str]) -> None:
    target = sorted((project / "dist").rglob("*.yaml"))[0]
    target.write_text(target.read_text() + "# hand edit\n")
    (project / "dist" / "stray.yaml").write_text("kind: ConfigMap\n")
    result = run_infergate("check", env=cache_env, cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    rel = target.relative_to(project).as_posix()
    assert f"--- a/{rel}" in result.stdout and "-# hand edit" in result.stdout
    assert f"{rel}: differs from a fresh synth" in result.stdout
    assert "dist/stray.yaml: not generated" in result.stdout
    assert "STALE: dist/ 1 changed, 0 missing, 1 extra" in result.stdout
    assert_no_node_banner(result.stdout + result.stderr)


def test_stale_dist_after_a_config_change_fails(project: Path, cache_env: dict[str, str]) -> None:
    envs = sorted(p for p in (project / "environments").glob("*.yaml") if not p.name.startswith("_"))
    assert len(envs) >= 2, "needs two environments to drop one"
    dropped = envs[-1]
    dropped.unlink()
    result = run_infergate("check", env=cache_env, cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"dist/{dropped.stem}/" in result.stdout and "not generated (hand-added or stale)" in result.stdout
    assert "STALE: dist/" in result.stdout


@requires_examples
def test_fresh_clone_is_fresh_and_stages_are_never_faked(tmp_path: Path, cache_env: dict[str, str]) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{REPO}", str(clone)], check=True,
                   capture_output=True, timeout=120)
    example = clone / "examples" / "pattern1"
    result = run_infergate("check", "--no-cache", env=cache_env, cwd=example)
    assert "fresh: dist/ matches a fresh synth" in result.stdout, result.stdout + result.stderr
    if _stages_available(example / "dist"):
        assert result.returncode == 0, result.stdout
        assert "check passed" in result.stdout
    else:  # a stage that has not landed fails the check instead of passing silently
        assert result.returncode == 1
        assert "not run:" in result.stdout and "check FAILED" in result.stdout


def test_second_run_skips_synth_and_a_dist_edit_invalidates(project: Path, cache_env: dict[str, str]) -> None:
    first = run_infergate("check", env=cache_env, cwd=project)
    assert "fresh: dist/ matches a fresh synth" in first.stdout, first.stdout + first.stderr
    second = run_infergate("check", env=cache_env, cwd=project)
    for _ in range(2):  # in a shared workspace a source file may change between two runs: re-pair
        if "synth skipped" in second.stdout:
            break
        first, second = second, run_infergate("check", env=cache_env, cwd=project)
    assert "fresh: dist/ unchanged inputs, synth skipped" in second.stdout
    assert second.returncode == first.returncode
    # identical inputs: validate and lint results are reused, not recomputed
    if _stages_available(project / "dist"):
        assert second.stdout.count("(cached: same inputs as an earlier run)") == 2
        strip = [line.split(" (cached")[0] for line in second.stdout.splitlines()]
        assert [line for line in first.stdout.splitlines() if not line.startswith("fresh")] == \
            [line for line in strip if not line.startswith("fresh")]
    target = sorted((project / "dist").rglob("*.yaml"))[0]
    target.write_text(target.read_text().replace("\n", "\n\n", 1))
    third = run_infergate("check", env=cache_env, cwd=project)
    assert third.returncode == 1 and "STALE" in third.stdout and "(cached" not in third.stdout
    no_cache = run_infergate("check", "--no-cache", env=cache_env, cwd=project)
    assert "synth skipped" not in no_cache.stdout and "(cached" not in no_cache.stdout


def test_env_selection_compares_only_that_environment(project: Path, cache_env: dict[str, str]) -> None:
    envs = sorted(p.stem for p in (project / "environments").glob("*.yaml") if not p.name.startswith("_"))
    other = project / "dist" / envs[-1]
    shutil.rmtree(other)  # the other environment is not part of this check
    result = run_infergate("check", "--env", envs[0], env=cache_env, cwd=project)
    assert "fresh: dist/ matches a fresh synth" in result.stdout, result.stdout + result.stderr


def test_outside_a_project_is_a_one_line_usage_error(tmp_path: Path, cache_env: dict[str, str]) -> None:
    result = run_infergate("check", env=cache_env, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "infergate init" in result.stderr


def test_missing_stage_is_reported_not_run_and_fails() -> None:
    stage = _run_stage("validate", "infergate._no_such_stage", "validate_paths", [])
    assert not stage.ran and stage.note == "not implemented" and stage.failed
    assert StageResult("lint", ran=True).failed is False


def test_broken_dependency_inside_a_stage_is_not_hidden(tmp_path: Path, monkeypatch) -> None:
    pkg = tmp_path / "brokenstage.py"
    pkg.write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        _run_stage("lint", "brokenstage", "lint_paths", [])
    assert importlib.util.find_spec("no_such_dependency_xyz") is None


def test_cache_key_text_is_stable_for_sets() -> None:
    from infergate.check.cache import canonical

    assert canonical({"b": frozenset({"y", "x", "z"}), "a": (1, None)}) == \
        '{"a": [1, null], "b": ["x", "y", "z"]}'


def test_tree_diff_names_changed_missing_and_extra_files(tmp_path: Path) -> None:
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    for root in (committed, fresh):
        (root / "env").mkdir(parents=True)
        (root / "env" / "same.yaml").write_text("a: 1\n")
    (committed / "env" / "edited.yaml").write_text("a: 1\n")
    (fresh / "env" / "edited.yaml").write_text("a: 2\n")
    (fresh / "env" / "new.yaml").write_text("b: 1\n")
    (committed / "env" / "old.yaml").write_text("c: 1")
    diff = compare_trees(committed, fresh)
    assert diff.changed == ["env/edited.yaml"]
    assert (diff.missing, diff.extra) == (["env/new.yaml"], ["env/old.yaml"])
    assert "-a: 1\n+a: 2\n" in diff.patch
    assert "--- /dev/null\n+++ b/dist/env/new.yaml" in diff.patch
    assert "\\ No newline at end of file" in diff.patch
    assert compare_trees(fresh, fresh).clean


def test_check_never_leaks_a_temp_dir(project: Path, cache_env: dict[str, str], tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run_infergate("check", "--no-cache", env={**cache_env, "TMPDIR": str(tmp)}, cwd=project)
    assert list(tmp.iterdir()) == []
    assert sorted(os.listdir(project)) == ["dist", "environments", "infergate.toml"]


def test_stage_fails_at_its_threshold() -> None:
    from infergate.core.findings import Finding, Severity

    warning = Finding("SEC602", "pod-not-hardened", Severity.WARNING, "not hardened")
    assert not StageResult("lint", ran=True, findings=[warning]).failed
    assert StageResult("lint", ran=True, findings=[warning], fail_on=Severity.WARNING).failed


def test_broken_environment_is_a_one_line_config_error(project: Path, cache_env: dict[str, str]) -> None:
    (project / "environments" / "broken.yaml").write_text("cluster: {name: [unclosed\n")
    result = run_infergate("check", env=cache_env, cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "broken.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_cache_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    from infergate.check.cache import prune

    for i in range(10):
        entry = tmp_path / f"{i:02d}.fresh"
        entry.write_text("")
        os.utime(entry, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "unrelated.txt").write_text("kept")
    prune(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["07.fresh", "08.fresh", "09.fresh", "unrelated.txt"]


def test_edited_environment_makes_dist_stale(project: Path, cache_env: dict[str, str]) -> None:
    import yaml

    env_file = sorted(p for p in (project / "environments").glob("*.yaml") if not p.name.startswith("_"))[0]
    doc = yaml.safe_load(env_file.read_text())
    doc["cluster"]["name"] = "renamed-cluster"
    env_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_infergate("check", env=cache_env, cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(line.startswith("+") and "renamed-cluster" in line for line in result.stdout.splitlines())
    assert f"dist/{env_file.stem}/" in result.stdout and "differs from a fresh synth" in result.stdout
