"""Synthesize a project's environments into its dist/<env>/ atomically (same result as `cdk8s synth`).

Nothing is written until every environment has loaded and synthesized; the new tree then replaces
the old one by renames, so a failed synth never leaves a half-written dist/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from infergate.core.errors import ConfigError
from infergate.project.discovery import Project
from infergate.synth.node import prefer_pinned_node

Progress = Callable[[str], None]


def environment_files(env_dir: Path, names: list[str] | None = None) -> list[Path]:
    """The environment files to synthesize: the named ones, or every ``<env>.yaml`` (``_``-prefixed files
    are bases only)."""
    available = {p.stem: p for p in sorted(env_dir.glob("*.yaml"))}
    if not names:
        return [p for name, p in sorted(available.items()) if not name.startswith("_")]
    missing = [n for n in names if n not in available]
    if missing:
        have = ", ".join(sorted(available)) or "none"
        raise ConfigError(f"unknown environment {missing[0]!r}; have: {have}", file=str(env_dir))
    return [available[n] for n in names]


def synthesize(project: Project, names: list[str] | None = None, out: Path | None = None, jobs: int = 1,
               progress: Progress | None = None) -> list[Path]:
    """Synthesize the named environments of ``project`` (all when None) into ``out`` (default: the
    project's dist folder); return the environment folders written.

    ``jobs`` > 1 synthesizes independent environments in that many worker processes (same bytes)."""
    from infergate.synth.config import load_environment

    files = environment_files(project.environments_dir, names)
    if not files:
        raise ConfigError(f"no environment files (*.yaml) in {project.relative(project.environments_dir)}/: "
                          "add one (see `infergate init --help`)", file=str(project.environments_dir))
    envs = [load_environment(path) for path in files]  # every config error surfaces before any write
    prefer_pinned_node()
    from infergate.charts.app import FLEET_DIR, synth_environment, synth_fleet

    out = (out or project.dist_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        if jobs > 1 and len(envs) > 1:
            from infergate.synth.parallel import synth_in_parallel

            synth_in_parallel([(f, staging / env.name) for f, env in zip(files, envs, strict=True)], jobs,
                              progress)
        else:
            for env in envs:
                if progress:
                    progress(env.name)
                synth_environment(env, staging / env.name)
        if not names:  # the fleet ApplicationSet spans every environment: only a full synth writes it
            synth_fleet(envs, staging / FLEET_DIR)
        _install(staging, out, only=[env.name for env in envs] if names else None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / env.name for env in envs]


def _install(staging: Path, out: Path, only: list[str] | None) -> None:
    """Move the staged tree into place: the whole of ``out``, or just the ``only`` sub-folders."""
    if only is None:
        _swap(staging, out)
        staging.mkdir()  # the caller removes it
        return
    out.mkdir(exist_ok=True)
    for name in only:
        _swap(staging / name, out / name)


def _swap(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def run_cdk8s_app(project_dir: Path | None = None) -> None:
    """Body of a project's main.py, which `cdk8s synth` runs with CDK8S_OUTDIR set (cdk8s.yaml ``output``).

    Finds the project from ``project_dir`` (main.py passes its own folder) and writes exactly what
    `infergate synth` writes; errors are one line and exit 2, as from the infergate CLI."""
    import sys

    from infergate.core.errors import InfergateError
    from infergate.project.discovery import require_project

    try:
        project = require_project(start=project_dir)
        outdir = os.environ.get("CDK8S_OUTDIR")
        synthesize(project, None, Path(outdir) if outdir else None)
    except InfergateError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        raise SystemExit(2) from None
