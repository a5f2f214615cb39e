"""Synthesize independent environments in parallel worker processes (`infergate synth --jobs N`).

Each environment is its own cdk8s App writing its own folder, so the work splits cleanly; the output
is byte-identical to a serial synth. Workers are spawned, never forked: a forked child would share the
parent's jsii kernel pipe. Each worker pays the jsii start-up once and then takes environments one at
a time from the shared queue.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _synth_one(task: tuple[str, str]) -> str:
    from infergate.synth.config import load_environment
    from infergate.synth.node import prefer_pinned_node

    env_file, outdir = task
    prefer_pinned_node()
    from infergate.charts.app import synth_environment

    synth_environment(load_environment(Path(env_file)), Path(outdir))
    return outdir


def synth_in_parallel(tasks: list[tuple[Path, Path]], jobs: int,
                      progress: Callable[[str], None] | None = None) -> None:
    """Run ``(environment file, output dir)`` tasks on ``jobs`` processes; errors propagate.

    The calling process is one of them: its jsii runtime is already up, so it takes every ``jobs``-th
    environment while ``jobs - 1`` spawned workers (paying their start-up meanwhile) share the rest."""
    jobs = max(1, min(jobs, len(tasks)))
    plain = [(str(f), str(o)) for f, o in tasks]
    local, remote = plain[::jobs], [t for i, t in enumerate(plain) if i % jobs]
    if not remote:
        for task in local:
            _run_local(task, progress)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context) as pool:
        pending = [pool.submit(_synth_one, task) for task in remote]
        for task in local:
            _run_local(task, progress)
        for task, future in zip(remote, pending, strict=True):
            future.result()
            if progress:
                progress(f"{Path(task[1]).name} (worker)")


def _run_local(task: tuple[str, str], progress: Callable[[str], None] | None) -> None:
    if progress:
        progress(Path(task[1]).name)
    _synth_one(task)
