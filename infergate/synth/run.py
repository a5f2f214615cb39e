"""Synthesize environments/*.yaml into dist/<env>/ atomically (same result as `cdk8s synth`).

Nothing is written until every environment has loaded and synthesized; the new tree then replaces
the old one by renames, so a failed synth never leaves a half-written dist/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from infergate.core.errors import ConfigError
from infergate.synth.node import prefer_pinned_node

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
DEFAULT_OUT = REPO_ROOT / "dist"


def environment_files(names: list[str] | None = None, env_dir: Path = ENVIRONMENTS_DIR) -> list[Path]:
    available = {p.stem: p for p in sorted(env_dir.glob("*.yaml"))}
    if not names:
        return [p for name, p in sorted(available.items()) if not name.startswith("_")]
    missing = [n for n in names if n not in available]
    if missing:
        raise ConfigError(f"unknown environment {missing[0]!r}; have: {', '.join(sorted(available))}",
                          file=str(env_dir))
    return [available[n] for n in names]


def synthesize(names: list[str] | None = None, out: Path = DEFAULT_OUT,
               env_dir: Path = ENVIRONMENTS_DIR, jobs: int = 1) -> list[Path]:
    """Synthesize the named environments (all when None) into ``out``; return the env dirs written.

    ``jobs`` > 1 synthesizes independent environments in that many worker processes (same bytes)."""
    from infergate.synth.config import load_environment

    files = environment_files(names, env_dir)
    envs = [load_environment(path) for path in files]  # every config error surfaces before any write
    prefer_pinned_node()
    from infergate.charts.app import FLEET_DIR, synth_environment, synth_fleet

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        if jobs > 1 and len(envs) > 1:
            from infergate.synth.parallel import synth_in_parallel

            synth_in_parallel([(f, staging / env.name) for f, env in zip(files, envs, strict=True)], jobs)
        else:
            for env in envs:
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


def main_for_cdk8s() -> None:
    """Entry point of main.py: `cdk8s synth` sets CDK8S_OUTDIR."""
    import sys

    from infergate.core.errors import InfergateError

    out = Path(os.environ.get("CDK8S_OUTDIR", str(DEFAULT_OUT)))
    try:
        synthesize(None, out)
    except InfergateError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        raise SystemExit(2) from None
