"""Find the infergate project a command works on, as git finds its repository.

A project is a directory the user owns, marked by ``infergate.toml`` (settings at the top level) or by a
``[tool.infergate]`` table in its ``pyproject.toml`` (the same settings there, as ruff does it). Every
command walks up from the working directory (or from the path it was given) to the nearest marker, or
takes ``--project DIR``. Paths in the settings are relative to the project root and may not leave it:
nothing infergate writes ever lands outside the project.

    environments = "environments"   # folder of <env>.yaml files (default)
    dist = "dist"                   # rendered manifests, committed and synced by Argo CD (default)
    extra = "extra"                 # user-owned manifests copied into dist/ (default; optional folder)
    [lint]                          # see infergate/lint/config.py
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError

PROJECT_FILE = "infergate.toml"
PYPROJECT = "pyproject.toml"
_FOLDER_KEYS = {"environments": "environments", "dist": "dist", "extra": "extra"}
_KEYS = {*_FOLDER_KEYS, "lint"}
NO_PROJECT_HINT = (f"no infergate project here or in any parent directory (looked for {PROJECT_FILE}, "
                   f"or [tool.infergate] in {PYPROJECT}): create one with `infergate init`, "
                   "or pass --project DIR")


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    file: Path  # infergate.toml or pyproject.toml
    environments_dir: Path
    dist_dir: Path
    extra_dir: Path
    settings: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def relative(self, path: Path) -> str:
        """``path`` as the user sees it in this project (POSIX, relative to the root when inside it)."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def lint_settings(self) -> dict[str, Any]:
        table = self.settings.get("lint", {})
        return table if isinstance(table, dict) else {}


def read_toml(path: Path, what: str = "project file") -> dict[str, Any]:
    """A TOML settings file (the project file, a lint config); unreadable or invalid: one-line ConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path)) from None


def _settings_in(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The project settings a directory declares, or None when it is not a project root."""
    own = directory / PROJECT_FILE
    if own.is_file():
        return own, read_toml(own)
    pyproject = directory / PYPROJECT
    if pyproject.is_file():
        table = read_toml(pyproject).get("tool", {}).get("infergate")
        if isinstance(table, dict):
            return pyproject, table
    return None


def _folder(root: Path, file: Path, settings: dict[str, Any], key: str) -> Path:
    value = settings.get(key, _FOLDER_KEYS[key])
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a folder name relative to the project root", file=str(file))
    folder = (root / value).resolve()
    if folder != root and root not in folder.parents:
        raise ConfigError(f"{key} = {value!r} leaves the project root {root}", file=str(file))
    return folder


def load_project(root: Path, file: Path, settings: dict[str, Any]) -> Project:
    unknown = sorted(set(settings) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown project setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})",
                          file=str(file))
    root = root.resolve()
    folders = {key: _folder(root, file, settings, key) for key in _FOLDER_KEYS}
    if folders["dist"] in (root, folders["environments"]):
        raise ConfigError("dist must be a folder of its own: synth replaces it whole", file=str(file))
    return Project(root=root, file=file, environments_dir=folders["environments"], dist_dir=folders["dist"],
                   extra_dir=folders["extra"], settings=settings)


@lru_cache(maxsize=256)
def _project_at_or_above(directory: Path) -> Project | None:
    for candidate in (directory, *directory.parents):
        found = _settings_in(candidate)
        if found is not None:
            return load_project(candidate, *found)
    return None


def find_project(start: Path | None = None) -> Project | None:
    """The nearest project at or above ``start`` (a file or a directory; default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    if not here.is_dir():
        here = here.parent
    return _project_at_or_above(here)


def require_project(explicit: Path | None = None, start: Path | None = None) -> Project:
    """``--project DIR`` when given (it must be a project root), else the nearest project above ``start``;
    outside any project: a one-line ConfigError saying how to create one (exit 2)."""
    if explicit is not None:
        root = explicit.resolve()
        found = _settings_in(root) if root.is_dir() else None
        if found is None:
            raise ConfigError(f"--project {explicit}: not a project root (no {PROJECT_FILE} and no "
                              f"[tool.infergate] in {PYPROJECT}); create one with "
                              f"`infergate init {explicit}`")
        return load_project(root, *found)
    project = find_project(start)
    if project is None:
        raise ConfigError(NO_PROJECT_HINT)
    return project


def env_file_for_dist(path: str | Path) -> Path | None:
    """``<environments>/<env>.yaml`` of the project whose ``<dist>/<env>/`` holds ``path`` (None when the
    path is not under a project's dist folder, or the environment file is gone)."""
    resolved = Path(path).resolve()
    project = find_project(resolved)
    if project is None or project.dist_dir not in resolved.parents:
        return None
    env = resolved.relative_to(project.dist_dir).parts[0]
    env_file = project.environments_dir / f"{env}.yaml"
    return env_file if env_file.is_file() else None
