"""Fleet synth benchmark: 1, 10 and 100 environments (generated from the reference environment,
examples/pattern1, into the environments/ of a throwaway project, each its own cluster), timed end to end in
a fresh process per run, serial and with --jobs; prints a table with the time per environment and the growth
between sizes.

    .venv/bin/python bench/fleet.py [--sizes 1,10,100] [--repeat 3] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "examples" / "pattern1" / "environments" / "pattern1.yaml"
INFERGATE = Path(sys.executable).parent / "infergate"


def make_fleet(project: Path, size: int) -> None:
    """A project of ``size`` environments inheriting the reference one, each pointing at its own cluster."""
    env_dir = project / "environments"
    env_dir.mkdir(parents=True)
    (project / "infergate.toml").write_text("")
    shutil.copy(REFERENCE, env_dir / "_reference.yaml")  # "_" files are bases, not environments
    for i in range(size):
        name = f"cluster-{i:03d}"
        (env_dir / f"{name}.yaml").write_text(
            f"base: _reference\ncluster:\n  name: {name}\n  server: https://{name}.example.internal\n")


def synth_once(project: Path, out: Path, jobs: int) -> float:
    """Wall time of one `infergate synth` in a fresh process (what a user and CI pay)."""
    code = ("import sys; from pathlib import Path; from infergate.synth.run import synthesize; "
            "from infergate.project.discovery import require_project; "
            "synthesize(require_project(Path(sys.argv[1])), out=Path(sys.argv[2]), jobs=int(sys.argv[3]))")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(project), str(out), str(jobs)], check=True, cwd=project)
    return time.perf_counter() - start


def _spin(_: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - start


def available_parallelism(jobs: int) -> float:
    """How much faster ``jobs`` CPU-bound processes finish together than one after another right now:
    on a shared machine this, not the core count, bounds what --jobs can gain."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_spin, range(jobs)))  # warm the workers
        one = _spin(0)
        start = time.perf_counter()
        list(pool.map(_spin, range(jobs)))
        together = time.perf_counter() - start
    return jobs * one / together


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [1] + ([args.jobs] if args.jobs > 1 else [])
    print(f"fleet synth, {os.cpu_count()} cores, median of {args.repeat} runs, fresh process each run")
    if args.jobs > 1:
        print(f"control: {args.jobs} CPU-bound processes run {available_parallelism(args.jobs):.2f}x faster "
              f"together than serially on this machine right now (ideal {args.jobs}.00x)")
    print(f"{'envs':>5} {'jobs':>4} {'wall s':>8} {'s/env':>7} {'marginal s/env':>15} {'files':>6}  growth")
    with tempfile.TemporaryDirectory(prefix="infergate-bench-fleet-") as tmp:
        root = Path(tmp)
        for jobs in modes:
            first: tuple[int, float] | None = None
            previous: tuple[int, float] | None = None
            for size in sizes:
                project = root / f"project-{size}"
                if not project.exists():
                    make_fleet(project, size)
                outs = [root / f"out-{size}-{jobs}-{r}" for r in range(args.repeat)]
                wall = statistics.median(synth_once(project, out, jobs) for out in outs)
                files = tree_bytes(outs[0])
                if jobs > 1:  # parallel output must be byte-identical to serial
                    assert files == tree_bytes(root / f"out-{size}-1-0"), f"--jobs {jobs} output differs"
                # marginal cost: what one more environment adds once the process is up
                marginal = "-"
                if first and size > first[0]:
                    marginal = f"{(wall - first[1]) / (size - first[0]):.3f}"
                growth = ""
                if previous:
                    envs_x, time_x = size / previous[0], wall / previous[1]
                    verdict = "linear or better" if time_x <= envs_x else "SUPER-LINEAR"
                    growth = f"x{envs_x:.0f} envs -> x{time_x:.2f} time ({verdict})"
                print(f"{size:>5} {jobs:>4} {wall:>8.2f} {wall / size:>7.3f} {marginal:>15} {len(files):>6}  "
                      f"{growth}", flush=True)
                first = first or (size, wall)
                previous = (size, wall)


if __name__ == "__main__":
    main()
