"""Synthesize independent environments in parallel worker processes (`infergate synth --jobs N`).

Each environment is its own cdk8s App writing its own folder, so the work splits cleanly; the output
is byte-identical to a serial synth. Workers are spawned, never forked: a forked child would share the
parent's jsii kernel pipe. Each worker pays the jsii start-up once and then takes environments one at
a time, so uneven environments still balance across cores.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def default_jobs() -> int:
    """Cores this process may use (respects CPU affinity / container limits where the OS exposes it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _synth_one(task: tuple[str, str]) -> str:
    from infergate.config import load_environment
    from infergate.synth import prefer_pinned_node

    env_file, outdir = task
    prefer_pinned_node()
    from charts.app import synth_environment

    synth_environment(load_environment(Path(env_file)), Path(outdir))
    return outdir


def synth_in_parallel(tasks: list[tuple[Path, Path]], jobs: int) -> None:
    """Run ``(environment file, output dir)`` tasks on ``jobs`` worker processes; errors propagate."""
    workers = max(1, min(jobs, len(tasks)))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for _ in pool.map(_synth_one, [(str(f), str(o)) for f, o in tasks]):
            pass
