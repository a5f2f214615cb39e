"""How many CPUs this process may use: the one answer behind every automatic ``--jobs``."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """Cores this process may run on: honours CPU affinity and cgroup/taskset limits, unlike cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
