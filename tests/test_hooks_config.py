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
