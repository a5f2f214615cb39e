"""The published hooks and this repository's own copies of them stay the same hooks."""

from __future__ import annotations

import subprocess

import yaml

from tests.conftest import REPO, VENV_BIN

SAME = ("files", "types", "types_or", "pass_filenames", "require_serial", "args")


def test_manifest_and_config_are_valid_for_pre_commit() -> None:
    for command, path in (("validate-manifest", ".pre-commit-hooks.yaml"),
                          ("validate-config", ".pre-commit-config.yaml")):
        result = subprocess.run([str(VENV_BIN / "pre-commit"), command, str(REPO / path)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_local_hooks_mirror_the_published_ones() -> None:
    published = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    local = {h["id"]: h for repo in config["repos"] if repo["repo"] == "local" for h in repo["hooks"]}
    for hook_id, hook in published.items():
        assert hook["language"] == "python" and "docker" not in hook["entry"]
        mine = local[hook_id]
        assert mine["entry"] == f".venv/bin/{hook['entry']}", hook_id
        for key in SAME:
            assert mine.get(key) == hook.get(key), (hook_id, key)
    # check runs validate and lint itself: only it runs on every commit
    assert "stages" not in local["infergate-check"]
