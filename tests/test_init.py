"""`infergate init`: a consumer repository from each template that synthesizes, checks clean, never
overwrites, and whose workflow and hooks are for the consumer (never infergate's own tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from infergate import __version__
from tests.conftest import VENV_BIN, run_infergate

EXPECTED = [".github/workflows/infergate.yaml", ".gitignore", ".infergate/environment.schema.json",
            ".pre-commit-config.yaml", "README.md", "cdk8s.yaml", "environments/prod.yaml", "infergate.toml",
            "main.py"]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _init(tmp_path: Path, *args: str) -> Path:
    result = run_infergate("init", "project", "--env", "prod", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "project"


@pytest.mark.parametrize("template", ["pattern1", "pattern3", "minimal"])
def test_each_template_synthesizes_and_checks_clean(template: str, tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", template, "--repo-url", "https://git.example/gitops.git",
                    "--cluster-server", "https://10.0.0.1")
    expected = sorted([*EXPECTED, "environments/_base.yaml"]) if template == "pattern3" else EXPECTED
    assert _files(project) == expected
    synth = run_infergate("synth", cwd=project)
    assert synth.returncode == 0, synth.stderr
    check = run_infergate("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 errors, 0 warnings, 0 infos" in check.stdout.split("lint:")[1], check.stdout  # lints clean


def test_required_keys_are_left_for_the_user_not_defaulted(tmp_path: Path) -> None:
    project = _init(tmp_path)  # no --repo-url, no git remote, no --cluster-server
    env = (project / "environments" / "prod.yaml").read_text()
    assert 'repoURL: ""' in env and 'server: ""' in env
    assert "example" not in yaml.safe_load(env)["argocd"]["repoURL"]
    result = run_infergate("synth", cwd=project)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "prod.yaml:" in line and "must not be empty" in line and "Traceback" not in line
    assert not (project / "dist").exists()


def test_repo_url_comes_from_the_git_remote(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "https://git.example/team/ops.git"],
                   check=True)
    project = _init(tmp_path)
    doc = yaml.safe_load((project / "environments" / "prod.yaml").read_text())
    # the project sits in project/ of that repository: Argo CD's path says so
    assert doc["argocd"] == {"repoURL": "https://git.example/team/ops.git", "targetRevision": "main",
                             "distPath": "project/dist"}


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "README.md").write_text("mine\n")
    result = run_infergate("init", "project", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "README.md already exists" in line
    assert _files(tmp_path / "project") == ["README.md"]
    assert (tmp_path / "project" / "README.md").read_text() == "mine\n"


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    for args in (["--env", "Bad_Name"], ["--env", "fleet"], ["--cluster-server", "http://insecure"]):
        result = run_infergate("init", "p", *args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_consumer_workflow_is_valid_and_runs_no_tool_tests(tmp_path: Path) -> None:
    project = _init(tmp_path)
    workflow = project / ".github" / "workflows" / "infergate.yaml"
    result = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    assert "make test" not in text and "pytest" not in text
    steps = [s.get("run", "") for s in yaml.safe_load(text)["jobs"]["check"]["steps"]]
    assert any(f"@v{__version__}" in run and "pip install" in run for run in steps)
    assert "infergate check" in steps


def test_pre_commit_config_pins_the_installed_version(tmp_path: Path) -> None:
    project = _init(tmp_path, "--hooks-repo", "https://git.example/infergate")
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert (repo["repo"], repo["rev"]) == ("https://git.example/infergate", f"v{__version__}")
    assert [h["id"] for h in repo["hooks"]] == ["infergate-check"]
    result = subprocess.run([str(VENV_BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
                            cwd=project, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_files_point_editors_at_the_shipped_schema(tmp_path: Path) -> None:
    from infergate.synth.config import SCHEMA_PATH

    project = _init(tmp_path, "--template", "pattern3")
    first = (project / "environments" / "prod.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../.infergate/environment.schema.json"
    copy = project / ".infergate" / "environment.schema.json"
    assert copy.read_text() == SCHEMA_PATH.read_text()
    # synth keeps the copy current after an upgrade of infergate
    copy.write_text("{}")
    for env_file in (project / "environments").glob("*.yaml"):
        env_file.write_text(env_file.read_text().replace('repoURL: ""', 'repoURL: "https://g.example/r"')
                            .replace('server: ""', 'server: "https://10.0.0.1"'))
    assert run_infergate("synth", cwd=project).returncode == 0
    assert copy.read_text() == SCHEMA_PATH.read_text()
