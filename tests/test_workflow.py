"""This repository's GitHub Actions workflow: valid against the GitHub workflow schema (check-jsonschema's
vendored copy, offline), and it really runs the tests, `infergate check` of every example and the SARIF
upload. (The consumers' workflow comes from `infergate init`: tests/test_init.py.)"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import yaml

from infergate.cli import main
from tests.conftest import REPO, VENV_BIN

WORKFLOW = REPO / ".github" / "workflows" / "ci.yaml"


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)


def _steps() -> list[dict]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def test_workflow_is_valid_against_the_github_workflow_schema() -> None:
    result = _schema_check(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["check"]["steps"][0] = {"uses": "actions/checkout@v4", "runs": "typo"}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = _schema_check(path)
    assert result.returncode == 1


def test_workflow_runs_tests_check_and_uploads_sarif_with_caching() -> None:
    steps = _steps()
    runs = "\n".join(step.get("run", "") for step in steps)
    uses = [step.get("uses", "") for step in steps]
    assert "make test" in runs and ".venv/bin/infergate check" in runs
    assert runs.index("make crds") < runs.index("make test") < runs.index(".venv/bin/infergate check")
    assert "GITHUB_ENV" in runs  # the tests' offline mirror is the verified cache when no site mirror
    assert sum(u.startswith("github/codeql-action/upload-sarif@") for u in uses) == 2
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    node = next(s for s in steps if s.get("uses", "").startswith("actions/setup-node@"))
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert python["with"]["cache"] == "pip" and node["with"]["cache"] == "npm"
    assert "~/.cache/infergate" in cache["with"]["path"]
    assert "infergate/crds/crds.lock" in cache["with"]["key"]
    categories = {s["with"]["category"] for s in steps if "upload-sarif" in s.get("uses", "")}
    assert len(categories) == 2  # one category per SARIF run, or code scanning rejects the upload
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["jobs"]["check"]["permissions"]["security-events"] == "write"


def test_every_infergate_invocation_uses_existing_commands_and_options() -> None:
    for line in "\n".join(step.get("run", "") for step in _steps()).splitlines():
        match = re.search(r"\.venv/bin/infergate ([^|>&;]*)", line)
        if not match:
            continue
        args = shlex.split(match.group(1).split("||")[0])
        command = main.commands[args[0]]
        known = {opt for param in command.params for opt in param.opts}
        for token in args[1:]:
            if token.startswith("--"):
                assert token in known, f"{args[0]} has no option {token}"
        choices = {p.name: getattr(p.type, "choices", None) for p in command.params}
        if "--format" in args:
            assert args[args.index("--format") + 1] in choices["fmt"]
