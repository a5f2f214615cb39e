"""Project discovery: the project file marks the root, commands find it upwards, settings are strict and
stay inside the project, and validate/lint read their facts from the project that holds the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from infergate.core.errors import ConfigError
from infergate.lint.config import discover_config
from infergate.project.discovery import env_file_for_dist, find_project, require_project
from tests.conftest import make_project


def test_found_from_a_subdirectory_and_from_a_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", {}, settings='dist = "rendered"\n')
    (root / "rendered" / "prod" / "gateway").mkdir(parents=True)
    project = find_project(root / "rendered" / "prod" / "gateway")
    assert project is not None and project.root == root.resolve()
    assert project.dist_dir == root.resolve() / "rendered"
    assert find_project(root / "infergate.toml") == project
    assert find_project(tmp_path) is None


def test_pyproject_table_marks_a_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.infergate]\n'
                                             'environments = "envs"\n')
    project = require_project(start=tmp_path)
    assert project.file.name == "pyproject.toml" and project.environments_dir.name == "envs"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text('[project]\nname = "y"\n')  # not a project: skipped
    assert require_project(start=tmp_path / "sub").root == tmp_path.resolve()


@pytest.mark.parametrize(("settings", "message"), [
    ('dist = "../elsewhere"\n', "leaves the project root"),
    ('dist = "."\n', "folder of its own"),
    ('distt = "x"\n', "unknown project setting 'distt'"),
    ('environments = 3\n', "must be a folder name"),
    ('dist = [unclosed\n', "invalid TOML"),
])
def test_bad_settings_are_config_errors(tmp_path: Path, settings: str, message: str) -> None:
    make_project(tmp_path / "p", {}, settings=settings)
    with pytest.raises(ConfigError, match=message):
        require_project(tmp_path / "p")


def test_explicit_project_must_be_a_root(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a project root.*infergate init"):
        require_project(tmp_path)
    with pytest.raises(ConfigError, match="infergate init"):
        require_project(start=tmp_path)


def test_environment_of_a_dist_folder(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"prod": "kubernetesVersion: '1.30'\n"})
    (root / "dist" / "prod" / "x").mkdir(parents=True)
    (root / "dist" / "gone").mkdir()
    assert env_file_for_dist(root / "dist" / "prod" / "x" / "a.yaml") == (root / "environments" / "prod.yaml")
    assert env_file_for_dist(root / "dist" / "gone") is None
    assert env_file_for_dist(root / "dist") is None


def test_lint_settings_come_from_the_project_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {}, settings='[lint]\nfail-on = "warning"\nignore = ["SEC604"]\n')
    (root / "dist").mkdir()
    config = discover_config(root / "dist")
    assert config.fail_on.value == "warning" and config.ignore == ("SEC604",)
    # a repository that is no project keeps its lint-only .infergate.toml
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / ".infergate.toml").write_text('[lint]\nfail-on = "info"\n')
    assert discover_config(tmp_path / "other").fail_on.value == "info"
