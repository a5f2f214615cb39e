"""The hermetic server as a test fixture: started once per test session, stopped at its end.

Skips only when it cannot exist at all: no Go toolchain and no binaries already built in the cache
(CI has Go, so there the fixture builds them once, ~10 min cold, and later runs reuse the cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infergate.apiserver import build, process
from infergate.apiserver.command import UpReport, up


def skip_reason() -> str | None:
    if build.built_binaries() is not None:
        return None
    try:
        build.find_go()
    except build.GoMissing:
        return (f"no Go toolchain and no kube-apiserver/etcd built in {build.tool_dir()}: "
                "the hermetic API server cannot be built here")
    return None


@contextmanager
def hermetic_server(state_dir: Path, crd_choice: str = "all",
                    dist_paths: list[Path] | None = None) -> Iterator[UpReport]:
    report = up(state_dir=state_dir, crd_choice=crd_choice, dist_paths=dist_paths, progress=print)
    try:
        yield report
    finally:
        process.stop(state_dir)
