"""The hook repository the pre-commit test and bench install from: HEAD's package files, committed
deterministically into a directory named by their content hash. pre-commit keys its installed hook
environments by (repository, rev), so a commit that changes only tests, docs or dist/ reuses the
environment instead of paying another pip install."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from infergate.crds.lockfile import cache_root

# everything `pip install .` of the hook repository reads, and the hook manifest
PACKAGE_PATHS = (".pre-commit-hooks.yaml", "pyproject.toml", "README.md", "infergate", "charts", "policies")
KEEP = 8
FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "infergate", "GIT_AUTHOR_EMAIL": "hooks@example.invalid",
    "GIT_COMMITTER_NAME": "infergate", "GIT_COMMITTER_EMAIL": "hooks@example.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def _git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> bytes:
    return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})}).stdout


def hook_repo(repo: Path, tag: str | None = None) -> tuple[Path, str]:
    """(path, rev) of the snapshot of ``repo``'s HEAD package files; ``tag`` also names that commit (a
    release tag, as `infergate init` pins `rev: v<version>`)."""
    listing = _git("ls-tree", "-r", "HEAD", "--", *PACKAGE_PATHS, cwd=repo)
    root = cache_root() / "hook-repos"
    target = root / hashlib.sha256(listing).hexdigest()[:16]
    if not (target / ".git").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
        try:
            with tarfile.open(fileobj=BytesIO(_git("archive", "HEAD", *PACKAGE_PATHS, cwd=repo))) as tar:
                tar.extractall(staging, filter="data")
            _git("init", "-q", cwd=staging)
            _git("add", "-A", cwd=staging)
            _git("commit", "-q", "-m", f"infergate hooks {target.name}", cwd=staging, env=FIXED_IDENTITY)
            with contextlib.suppress(OSError):  # atomic; a concurrent run may have won the race
                os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _prune(root)
    if tag is not None:
        _git("tag", "-f", tag, cwd=target, env=FIXED_IDENTITY)
    return target, _git("rev-parse", "HEAD", cwd=target).decode().strip()


def _prune(root: Path) -> None:
    snapshots = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime)
    for old in snapshots[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
