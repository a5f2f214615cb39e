"""The published hooks are native Python hooks; this repository runs its check over every example project."""

from __future__ import annotations

import subprocess

import yaml

from tests.conftest import REPO, VENV_BIN


def test_manifest_and_config_are_valid_for_pre_commit() -> None:
    for command, path in (("validate-manifest", ".pre-commit-hooks.yaml"),
                          ("validate-config", ".pre-commit-config.yaml")):
        result = subprocess.run([str(VENV_BIN / "pre-commit"), command, str(REPO / path)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_published_hooks_are_native_python_and_check_runs_on_every_commit() -> None:
    published = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(published) == {"infergate-check", "infergate-validate", "infergate-lint"}
    for hook in published.values():
        assert hook["language"] == "python" and "docker" not in hook["entry"]
        assert hook["entry"].startswith("infergate ")
    assert "stages" not in published["infergate-check"]


def test_this_repository_checks_every_example_project() -> None:
    """The tool repository is no project: its own check hook runs once per examples/*/ project."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    local = {h["id"]: h for repo in config["repos"] if repo["repo"] == "local" for h in repo["hooks"]}
    check = local["infergate-check"]
    assert "examples/*/infergate.toml" in check["entry"] and "--project" in check["entry"]
    assert "stages" not in check


def test_lint_and_validate_default_to_the_projects_tree_so_hooks_hard_code_no_path(tmp_path) -> None:
    """The lint hook names no path: in a project it lints the project's dist/ (whatever the project file
    calls it); a repository without a project passes its own tree in `args:`."""
    from tests.conftest import make_project, run_infergate

    published = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert "args" not in published["infergate-lint"] and "args" not in published["infergate-validate"]
    project = make_project(tmp_path / "p", {}, settings='dist = "rendered"\n')
    (project / "rendered" / "e").mkdir(parents=True)
    (project / "rendered" / "e" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\n"
        "spec: {hostNetwork: true, containers: [{name: c, image: busybox:1.36}]}\n")
    lint = run_infergate("lint", "--select", "SEC601", cwd=project / "environments")
    assert lint.returncode == 1 and "rendered/e/pod.yaml" in lint.stdout and "SEC601" in lint.stdout
    validate = run_infergate("validate", cwd=project)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    plain = tmp_path / "plain"  # no project: ./dist, or the paths given
    (plain / "manifests").mkdir(parents=True)
    (plain / "manifests" / "pod.yaml").write_text((project / "rendered" / "e" / "pod.yaml").read_text())
    missing = run_infergate("lint", cwd=plain)
    assert missing.returncode == 2 and "dist" in missing.stdout + missing.stderr
    given = run_infergate("lint", "--select", "SEC601", "manifests", cwd=plain)
    assert given.returncode == 1 and "manifests/pod.yaml" in given.stdout
