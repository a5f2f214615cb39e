"""Validate big inputs in several processes: files are split into chunks of about equal bytes.

Workers are forked after the schema store is open, so they start warm and share its memory; the parent
validates one chunk itself. Chunks merge into one `ChunkResult` whose content does not depend on the
split (findings are sorted afterwards, and "first" means first by location), so ``--jobs`` never changes
a report. Without a safe ``fork`` (Windows has none; macOS has one that system libraries' threads make
unsafe, which is why Python spawns there) a fresh interpreter would have to re-import and re-open
everything, which costs more than it saves at these sizes: validation stays in one process there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infergate.core.cpus import available_cpus
from infergate.core.loader import LoadProblem
from infergate.validate.engine import ChunkResult, Validator, validate_files

# Below this many input bytes a second process costs more than it saves (fork + result pickling are
# ~20 ms; one core validates ~4 MB/s of typical manifests); --jobs N > 1 given explicitly ignores it.
AUTO_PARALLEL_BYTES = 1 << 20

FORK_IS_SAFE = hasattr(os, "fork") and sys.platform != "darwin"

_worker_validator: Validator | None = None  # set in the parent just before forking


def file_sizes(files: list[Path]) -> dict[Path, int]:
    """Bytes per file, stat'ed once for both the decision and the split (0 if unreadable: reported later)."""
    sizes = {}
    for path in files:
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            sizes[path] = 0
    return sizes


def plan_chunks(sizes: dict[Path, int], jobs: int) -> list[list[Path]]:
    """Split the files into at most ``jobs`` non-empty chunks of about equal bytes (largest file first)."""
    chunks: list[list[Path]] = [[] for _ in range(max(1, min(jobs, len(sizes))))]
    loads = [0] * len(chunks)
    for path in sorted(sizes, key=lambda p: (-sizes[p], str(p))):
        lightest = loads.index(min(loads))
        chunks[lightest].append(path)
        loads[lightest] += sizes[path]
    return [chunk for chunk in chunks if chunk]


def worker_count(sizes: dict[Path, int], jobs: int) -> int:
    """``jobs`` 0 means automatic: one per CPU, but only for inputs big enough to pay for the forks."""
    if not FORK_IS_SAFE or len(sizes) < 2:
        return 1
    if jobs > 0:
        return min(jobs, len(sizes))
    return min(available_cpus(), len(sizes)) if sum(sizes.values()) >= AUTO_PARALLEL_BYTES else 1


def _validate_chunk(files: list[Path]) -> ChunkResult:
    assert _worker_validator is not None, "forked without a validator"
    return validate_files(files, [], _worker_validator)


def validate_in_parallel(files: list[Path], problems: list[LoadProblem], validator: Validator,
                         jobs: int) -> ChunkResult:
    """Validate ``files`` with up to ``jobs`` processes; ``problems`` are unreadable inputs found already."""
    sizes = file_sizes(files) if len(files) > 1 else {}
    workers = worker_count(sizes, jobs)
    if workers <= 1:
        return validate_files(files, problems, validator)
    global _worker_validator
    first, *rest = plan_chunks(sizes, workers)
    _worker_validator = validator
    import multiprocessing  # ~5 ms: only paid when workers are used

    try:
        with multiprocessing.get_context("fork").Pool(len(rest)) as pool:
            pending = pool.map_async(_validate_chunk, rest)
            result = validate_files(first, problems, validator)  # the parent works too
            for part in pending.get():
                result.merge(part)
    finally:
        _worker_validator = None
    return result
