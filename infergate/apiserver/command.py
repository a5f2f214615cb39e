"""`infergate apiserver up|down|status`: the hermetic server's life cycle, as the CLI and the tests use it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infergate.apiserver import build, crds, process
from infergate.apiserver.process import ServerState


@dataclass(frozen=True, slots=True)
class UpReport:
    state: ServerState
    build: build.BuildReport | None
    start_s: float
    crds: crds.InstallReport | None


def resolve_binaries(binaries_dir: Path | None,
                     progress: Callable[[str], None]) -> tuple[dict[str, Path], build.BuildReport | None]:
    if binaries_dir is not None:
        return build.binaries_from(binaries_dir), None
    return build.ensure_binaries(progress)


def dist_paths_for(project: Path | None) -> list[Path] | None:
    """The dist/ of the project at or above ``project`` (or the working directory), if there is one."""
    from infergate.project.discovery import find_project, require_project

    found = require_project(project) if project is not None else find_project()
    return [found.dist_dir] if found is not None and found.dist_dir.is_dir() else None


def up(*, binaries_dir: Path | None = None, state_dir: Path | None = None, crd_choice: str = "used",
       dist_paths: list[Path] | None = None, progress: Callable[[str], None] = lambda _: None) -> UpReport:
    """Build if needed, start, wait for /readyz, install CRDs; a failure leaves nothing running."""
    binaries, report = resolve_binaries(binaries_dir, progress)
    entries = [] if crd_choice == "none" else crds.select(crd_choice, dist_paths)
    start = time.monotonic()
    state = process.start(binaries, state_dir)
    start_s = time.monotonic() - start
    installed = None
    if entries:
        try:
            with state.client() as client:
                installed = crds.install(client, entries, progress)
        except BaseException:
            process.stop(Path(state.state_dir))
            raise
    return UpReport(state, report, start_s, installed)


def status_lines(state_dir: Path | None = None) -> tuple[list[str], bool]:
    state_dir = process.default_state_dir() if state_dir is None else state_dir
    state = process.read_state(state_dir)
    if state is None:
        return [f"not running (no state in {state_dir})"], False
    if not process.is_running(state):
        return [f"not running: the processes recorded in {state_dir} are gone "
                "(`infergate apiserver down` removes the leftovers)"], False
    with state.client() as client:
        code, _text = client.get_text("/readyz")
        served = 0
        if code == 200:
            listing = client.request("GET", crds.CRD_PATH)
            served = len(listing.get("items", []))
    lines = [f"running: kube-apiserver {state.kubernetes_version} at {state.server} "
             f"({'ready' if code == 200 else f'/readyz answers {code}'})",
             f"  etcd: http://127.0.0.1:{state.etcd_port} (pid {state.etcd_pid}); "
             f"kube-apiserver pid {state.apiserver_pid}",
             f"  CRDs served: {served}", f"  kubeconfig: {state.kubeconfig}", f"  state: {state.state_dir}"]
    return lines, code == 200


def build_lines(report: build.BuildReport) -> list[str]:
    return [f"built kube-apiserver {report.kubernetes} and etcd {report.etcd} with {report.go} in "
            f"{report.wall_s:.0f} s wall ({report.cpu_s:.0f} s CPU, peak {report.peak_rss_mb:.0f} MB RSS; "
            f"module cache {report.module_cache_mb:.0f} MB and build cache {report.build_cache_mb:.0f} MB, "
            f"both removed); {report.disk_after_mb:.0f} MB stay in {build.tool_dir()}"]
