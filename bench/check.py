"""`infergate check` and the pre-commit hooks on the example projects (examples/*/infergate.toml): cold
(re-synth, validate, lint) vs warm (unchanged inputs), one row per project, and the real pre-commit client
on a consumer repo built from HEAD's examples/pattern1 (the reference deployment). Medians.

    .venv/bin/python bench/check.py [--repeat 5] [--no-pre-commit]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECTS = sorted(p.parent for p in (REPO / "examples").glob("*/infergate.toml"))
CONSUMER = "examples/pattern1"  # the pre-commit consumer repo is this project, as tests/test_precommit.py
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))

from infergate.crds.lockfile import cache_root  # noqa: E402
from infergate.project.discovery import require_project  # noqa: E402
from tests.hookrepo import hook_repo  # noqa: E402


def timed(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    for _ in range(5):
        start = time.perf_counter()
        result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        # another pre-commit sharing the store held its sqlite lock: not a measurement, run again
        if not (result.returncode == 3 and "database is locked" in result.stdout + result.stderr):
            break
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def median_of(repeat: int, cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    return statistics.median(timed(cmd, cwd, env) for _ in range(repeat))


def consumer_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """A git repo holding HEAD's examples/pattern1 project that consumes the hooks at HEAD."""
    hooks_path, rev = hook_repo(REPO)
    archive = subprocess.run(["git", "archive", f"HEAD:{CONSUMER}"], cwd=REPO, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    hooks = "\n".join(f"      - id: {h}" for h in ("infergate-check", "infergate-validate", "infergate-lint"))
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_path}\n    rev: {rev}\n    hooks:\n{hooks}\n")
    git = ["git", "-c", "user.email=b@example.invalid", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=root, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(cache_root() / "pre-commit"),
           "PIP_CONSTRAINT": str(REPO / "requirements.lock")}
    return root, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-pre-commit", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    infergate = str(BIN / "infergate")
    if not PROJECTS:
        raise SystemExit(f"no example projects (examples/*/infergate.toml) under {REPO}")
    files = sum(1 for project in PROJECTS for p in require_project(project).dist_dir.rglob("*.yaml"))
    rows: list[tuple[str, float]] = []
    for project in PROJECTS:  # run from the project folder: found by walking up, as a user runs it
        name = project.relative_to(REPO).as_posix()
        rows.append((f"{name}: infergate check --no-cache (synth + diff + validate + lint)",
                     median_of(args.repeat, [infergate, "check", "--no-cache"], project, env)))
        timed([infergate, "check"], project, env)  # prime the content-hash cache
        rows.append((f"{name}: infergate check, warm (unchanged inputs)",
                     median_of(args.repeat, [infergate, "check"], project, env)))
    if not args.no_pre_commit:
        with tempfile.TemporaryDirectory(prefix="infergate-bench-hooks-") as tmp:
            root, hook_env = consumer_repo(Path(tmp))
            pre_commit = str(BIN / "pre-commit")
            install = timed([pre_commit, "install-hooks"], root, hook_env)
            rows.append(("pre-commit install-hooks (a no-op when this package content is installed)",
                         install))
            timed([pre_commit, "run", "--all-files"], root, hook_env)  # prime
            rows.append(("pre-commit run infergate-check --all-files, warm",
                         median_of(args.repeat, [pre_commit, "run", "infergate-check", "--all-files"], root,
                                   hook_env)))
            rows.append(("pre-commit run --all-files (3 hooks), warm",
                         median_of(args.repeat, [pre_commit, "run", "--all-files"], root, hook_env)))
    names = ", ".join(p.relative_to(REPO).as_posix() for p in PROJECTS)
    print(f"infergate check on {names}: {files} files in their dist/, median of {args.repeat}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
          + ("" if args.no_pre_commit else f"; pre-commit on a consumer repo of HEAD:{CONSUMER}"))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds:6.2f} s")


if __name__ == "__main__":
    main()
