"""`infergate init`: scaffold a consumer repository (a project the user owns) from a template.

Writes the project file, one environment (two files for pattern3: a `_base` and the environment), the
environment JSON Schema for editors, a pre-commit config and a GitHub workflow pinned to the installed
infergate, cdk8s.yaml + main.py (so `cdk8s synth` works too), .gitignore and a README. It never
overwrites: if any file it would write exists, nothing is written.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

from infergate import __version__
from infergate.core.errors import ConfigError
from infergate.project.discovery import PROJECT_FILE

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATES = ("pattern1", "pattern3", "minimal")
# Editors read this copy (yaml-language-server modeline); `infergate synth` keeps it current.
SCHEMA_COPY = Path(".infergate") / "environment.schema.json"
DEFAULT_HOOKS_REPO = "https://github.com/infergate/infergate"
_ENV_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class InitOptions:
    template: str = "pattern1"
    env: str = "dev"
    repo_url: str = ""  # empty: taken from `git remote get-url origin`, else left REQUIRED in the file
    server: str = ""  # empty: left REQUIRED in the file
    hooks_repo: str = DEFAULT_HOOKS_REPO


def _git_origin(directory: Path) -> str:
    while not directory.is_dir():  # init may create the folder: ask from its nearest existing parent
        directory = directory.parent
    try:
        result = subprocess.run(["git", "remote", "get-url", "origin"], cwd=directory, capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _git_root(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def environment_schema_text() -> str:
    from infergate.synth.config import SCHEMA_PATH

    return SCHEMA_PATH.read_text(encoding="utf-8")


def planned_files(root: Path, options: InitOptions) -> dict[Path, str]:
    """Every file init writes (path relative to ``root`` -> text), nothing written yet."""
    if options.template not in TEMPLATES:
        raise ConfigError(f"unknown template {options.template!r} (have: {', '.join(TEMPLATES)})")
    if options.env == "fleet":
        raise ConfigError("environment name 'fleet' is reserved (dist/fleet/ holds the ApplicationSet)")
    if not _ENV_NAME.fullmatch(options.env):
        raise ConfigError(f"environment name {options.env!r} must be a lowercase DNS label of at most 40 "
                          "characters (it names Argo CD Applications and dist/ folders)")
    for key, value in (("--repo-url", options.repo_url), ("--cluster-server", options.server)):
        if value and not re.fullmatch(r"[^\s\"\\]+", value):
            raise ConfigError(f"{key} {value!r}: a URL without spaces or quotes")
    if options.server and not options.server.startswith("https://"):
        raise ConfigError(f"--cluster-server {options.server!r}: the API URL starts with https://")
    git_root = _git_root(root)
    dist_path = "dist" if git_root in (None, root) else f"{root.relative_to(git_root).as_posix()}/dist"
    values = {
        "env": options.env, "name": root.name, "version": __version__, "hooks_repo": options.hooks_repo,
        "repo_url": options.repo_url or _git_origin(root), "server": options.server,
        "cluster_name": options.env, "dist_path": dist_path, "dist": "dist",
        "schema": f"../{SCHEMA_COPY.as_posix()}",
    }

    def render(name: str) -> str:
        return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8")).substitute(values)

    files = {
        Path(PROJECT_FILE): render("common/infergate.toml"),
        Path("cdk8s.yaml"): render("common/cdk8s.yaml"),
        Path("main.py"): render("common/main.py.tmpl"),
        Path(".gitignore"): render("common/gitignore.tmpl"),
        Path(".pre-commit-config.yaml"): render("common/pre-commit-config.yaml.tmpl"),
        Path(".github/workflows/infergate.yaml"): render("common/workflow.yaml.tmpl"),
        Path("README.md"): render("common/README.md.tmpl"),
        SCHEMA_COPY: environment_schema_text(),
        Path("environments") / f"{options.env}.yaml": render(f"{options.template}/env.yaml.tmpl"),
    }
    if options.template == "pattern3":
        files[Path("environments") / "_base.yaml"] = render("pattern3/base.yaml.tmpl")
    return files


def init_project(directory: Path, options: InitOptions) -> list[Path]:
    """Write the scaffold into ``directory`` (created when missing); refuse to overwrite anything."""
    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory")
    files = planned_files(root, options)
    existing = sorted(rel.as_posix() for rel in files if (root / rel).exists())
    if existing:
        raise ConfigError(f"{directory}: {existing[0]} already exists; init never overwrites "
                          f"({len(existing)} of the {len(files)} files it writes exist)")
    for rel, text in sorted(files.items()):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(root / rel for rel in files)


def refresh_schema_copy(root: Path) -> None:
    """Keep the editors' copy of the environment schema equal to the installed infergate's (only where
    init put one: a project that deleted it does not get it back)."""
    copy = root / SCHEMA_COPY
    if copy.is_file():
        text = environment_schema_text()
        if copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")
