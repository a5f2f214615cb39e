"""The published hooks (.pre-commit-hooks.yaml) through the real pre-commit client, installed from a
local git repository holding this repository's HEAD package files, into a consumer git repo: clean
passes, a planted violation fails.

The hook environment is cached under the user cache (PRE_COMMIT_HOME) and keyed by the package content
(tests/hookrepo.py), so only a commit that changes the package pays for the install (~25-45 s); pip is
held to requirements.lock by PIP_CONSTRAINT.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import time
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from infergate.crds.lockfile import cache_root
from tests.conftest import REPO, VENV_BIN, assert_no_node_banner, requires_examples
from tests.hookrepo import hook_repo

pytestmark = [pytest.mark.slow, requires_examples]
EXAMPLE = "examples/pattern1"
HOOK_IDS = ["infergate-check", "infergate-validate", "infergate-lint"]
GIT_ID = ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=120).stdout


def _pre_commit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ,
           "PRE_COMMIT_HOME": str(cache_root() / "pre-commit"),
           "PIP_CONSTRAINT": str(REPO / "requirements.lock"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for _ in range(5):
        result = subprocess.run([str(VENV_BIN / "pre-commit"), *args], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=900, check=False)
        # Concurrent pre-commit runs sharing PRE_COMMIT_HOME (parallel test sessions) can hit sqlite's
        # lock on pre-commit's store; that is the store's contention, not a hook result: try again.
        if not (result.returncode == 3 and "database is locked" in result.stdout + result.stderr):
            break
        time.sleep(2)
    return result


def _hook_output(output: str, hook_id: str) -> str:
    """The block pre-commit prints for one hook (its status line up to the next hook's)."""
    blocks: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("- hook id: "):
            current = line.removeprefix("- hook id: ").strip()
        if current:
            blocks[current] = blocks.get(current, "") + line + "\n"
    return blocks.get(hook_id, "")


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo holding HEAD's examples/pattern1 project, consuming the hooks at HEAD."""
    hooks_path, rev = hook_repo(REPO)
    root = tmp_path_factory.mktemp("consumer")
    archive = subprocess.run(["git", "archive", f"HEAD:{EXAMPLE}"], cwd=REPO, check=True,
                             capture_output=True, timeout=60).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    config = {"repos": [{"repo": str(hooks_path), "rev": rev, "hooks": [{"id": h} for h in HOOK_IDS]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _git("init", "-q", cwd=root)
    _git("add", "-A", cwd=root)
    _git("commit", "-q", "-m", "consumer", cwd=root)
    _pre_commit("gc", cwd=root)  # drop hook envs of earlier HEADs whose consumer repos are gone
    return root


def _passed(output: str, hook_id: str) -> bool:
    """pre-commit prints `<hook name>....Passed` and no `- hook id:` block for a passing hook."""
    names = {h["id"]: h["name"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    return any(line.startswith(names[hook_id]) and line.rstrip().endswith("Passed")
               for line in output.splitlines())


def test_clean_consumer_repo_passes(consumer: Path) -> None:
    result = _pre_commit("run", "--all-files", cwd=consumer)
    out = result.stdout + result.stderr
    assert_no_node_banner(out)
    assert result.returncode == 0, out
    for hook_id in HOOK_IDS:
        assert _passed(result.stdout, hook_id), out


PLANTED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: planted
  namespace: llm-d-inference-scheduling
spec:
  hostNetwork: true
  containers:
    - name: c
      image: busybox:1.36
      bogusField: 1
      securityContext:
        privileged: true
"""


def test_planted_violation_fails_with_each_rules_message(consumer: Path) -> None:
    generated = sorted((consumer / "dist").rglob("*.yaml"))[0]
    original = generated.read_text()
    env = sorted(p for p in (consumer / "dist").iterdir() if p.is_dir())[0]
    planted = env / "planted" / "Pod.planted.yaml"
    planted.parent.mkdir()
    planted.write_text(PLANTED_POD)
    generated.write_text(original + "# hand edit\n")
    try:
        _git("add", "-A", cwd=consumer)
        result = _pre_commit("run", "--all-files", cwd=consumer)
    finally:
        generated.write_text(original)
        planted.unlink()
        planted.parent.rmdir()
        _git("add", "-A", cwd=consumer)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    rel_planted = planted.relative_to(consumer).as_posix()
    check_block = _hook_output(result.stdout, "infergate-check")
    rel = generated.relative_to(consumer).as_posix()
    assert f"{rel}: differs from a fresh synth" in check_block, result.stdout
    assert "-# hand edit" in check_block and f"{rel_planted}: not generated" in check_block
    validate_block = _hook_output(result.stdout, "infergate-validate")
    assert f'{rel_planted}:11: V001 [error] unknown field "bogusField"' in validate_block, result.stdout
    lint_block = _hook_output(result.stdout, "infergate-lint")
    assert f"{rel_planted}:7: SEC601 [error] planted sets hostNetwork: true" in lint_block, result.stdout
    assert "SEC601 [error] c in planted is privileged" in lint_block
