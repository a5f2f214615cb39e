"""Benchmark `infergate synth`: wall time and peak RSS for pattern1 and generated 50-model environments.

Each run is a fresh `infergate synth --project TMP --env NAME --out TMP` process (what a user pays: Python,
jsii, Node), on a throwaway project holding examples/pattern1's environment and the generated one.
Peak RSS is measured two ways: the largest single process (getrusage RUSAGE_CHILDREN of a fresh wrapper)
and the whole process tree (Python + the jsii Node runtime), sampled from /proc every 10 ms in one extra
run (sampling is not free on 2 cores, so the timed runs do not sample).
Targets for pattern1 (the design budget): <= 2 s wall, <= 300 MB; for the 50-model mixed GPU/TPU
environment (every GPU accelerator of the table, pinned and unpinned machine types, single-host TPU slices of
every generation, vLLM images from vllm.images per family): <= 3 s wall, <= 400 MB (process tree).

    .venv/bin/python bench/synth.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "examples" / "pattern1" / "environments" / "pattern1.yaml"
INFERGATE = Path(sys.executable).parent / "infergate"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(root: int) -> int:
    """Sum of the resident set of ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            pages = int(Path(f"/proc/{entry}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(stat[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * PAGE_KB
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_once(env: str, project: Path, sample: bool) -> tuple[float, float, float, float]:
    """(wall s, largest-process peak MB, process-tree peak MB, CPU s) of one synth.

    Sampling /proc costs CPU on a small machine, so timed runs do not sample (tree peak 0 then)."""
    with tempfile.TemporaryDirectory() as out:
        # a fresh wrapper per run, so RUSAGE_CHILDREN covers this synth only
        wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
                   "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
                   "print(u.ru_maxrss, u.ru_utime + u.ru_stime); sys.exit(r.returncode)")
        cmd = [sys.executable, "-c", wrapper, str(INFERGATE), "synth", "--project", str(project),
               "--env", env, "--out", out]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree_peak = 0
        if sample:
            while proc.poll() is None:
                tree_peak = max(tree_peak, _tree_rss_kb(proc.pid))
                time.sleep(0.01)
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"synth of {env} failed: {stderr.strip()}")
        largest_kb, cpu = stdout.strip().splitlines()[-1].split()
        return wall, int(largest_kb) / 1024, tree_peak / 1024, float(cpu)


PHASES = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from infergate.synth.config import load_environment
from infergate.synth.node import prefer_pinned_node
env = load_environment(Path(sys.argv[1]))
t1 = time.perf_counter()
prefer_pinned_node()
import cdk8s, cdk8s_plus_33  # starts the jsii kernel (Node) and loads both assemblies
t2 = time.perf_counter()
from infergate.charts.app import synth_environment
synth_environment(env, Path(sys.argv[2]))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def phases(env_file: Path, runs: int) -> tuple[float, float, float]:
    """Median seconds of (config load, jsii import, charts + synth) in a fresh process."""
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([sys.executable, "-c", PHASES, str(env_file), out], capture_output=True,
                                    text=True, check=True, cwd=REPO)
            samples.append([float(x) for x in result.stdout.split()])
    load, jsii, synth = (statistics.median(col) for col in zip(*samples, strict=True))
    return load, jsii, synth


def generated_environment(env_dir: Path, models: int) -> str:
    """An environment of ``models`` models on pattern1's platform (alternating router modes)."""
    base = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    (env_dir / "_pattern1.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    template = base["models"][0]
    entries = []
    for i in range(models):
        model = {k: v for k, v in template.items() if k not in ("pathPrefix", "epp")}
        model.update(name=f"model-{i:03d}", namespace=f"llm-ns-{i % 5}",
                     router="explicit" if i % 2 == 0 else "managed")
        if i % 2 == 0:
            model["epp"] = template["epp"]
        entries.append(model)
    name = f"generated-{models}"
    doc = {"base": "_pattern1", "models": entries,
           "gateway": {"tls": {"dnsNames": [f"*.llm-ns-{n}.svc.cluster.local" for n in range(5)]}}}
    (env_dir / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return name


# (accelerator, count, machineType or None) for GPU models, (accelerator, topology) for TPU models
MIXED_GPU = [("nvidia-l4", 1, None), ("nvidia-l4", 2, None), ("nvidia-l4", 4, "g2-standard-48"),
             ("nvidia-tesla-a100", 4, None), ("nvidia-a100-80gb", 8, "a2-ultragpu-8g"),
             ("nvidia-h100-80gb", 2, "a3-highgpu-2g"), ("nvidia-h100-80gb", 8, None),
             ("nvidia-h100-mega-80gb", 8, None), ("nvidia-h200-141gb", 8, "a3-ultragpu-8g")]
MIXED_TPU = [("tpu-v6e-slice", "1x1"), ("tpu-v6e-slice", "2x2"), ("tpu-v6e-slice", "2x4"),
             ("tpu-v5-lite-podslice", "2x2"), ("tpu-v5-lite-podslice", "2x4"), ("tpu-v5p-slice", "2x2x1")]


def generated_mixed_environment(env_dir: Path, models: int) -> str:
    """``models`` models on pattern1's platform, every other one on GPUs (images from vllm.images)."""
    base = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    template = base["models"][0]
    entries = []
    for i in range(models):
        model = {k: v for k, v in template.items() if k not in ("pathPrefix", "epp", "image", "accelerator",
                                                                 "topology")}
        model.update(name=f"mixed-{i:03d}", namespace=f"llm-ns-{i % 5}",
                     router="explicit" if i % 4 < 2 else "managed")
        if i % 2 == 0:
            accelerator, count, machine = MIXED_GPU[(i // 2) % len(MIXED_GPU)]
            model.update(accelerator=accelerator, count=count)
            if machine:
                model["machineType"] = machine
        else:
            accelerator, topology = MIXED_TPU[(i // 2) % len(MIXED_TPU)]
            model.update(accelerator=accelerator, topology=topology)
        if model["router"] == "explicit":
            model["epp"] = template["epp"]
        entries.append(model)
    name = f"mixed-{models}"
    doc = {"base": "_pattern1", "models": entries,
           "vllm": {"images": {"gpu": "registry.redhat.io/rhaiis/vllm-cuda-rhel9:3.2.5",
                               "tpu": template["image"]}},
           "gateway": {"tls": {"dnsNames": [f"*.llm-ns-{n}.svc.cluster.local" for n in range(5)]}}}
    (env_dir / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return name


def measure(env: str, project: Path, runs: int) -> dict[str, float]:
    results = [run_once(env, project, sample=False) for _ in range(runs)]
    sampled = run_once(env, project, sample=True)
    return {"wall": statistics.median(r[0] for r in results), "largest": max(r[1] for r in results),
            "tree": sampled[2], "cpu": statistics.median(r[3] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per environment (median wall time)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "infergate.toml").write_text("")
        env_dir = project / "environments"
        env_dir.mkdir()
        (env_dir / "pattern1.yaml").write_text(REFERENCE.read_text())
        big = generated_environment(env_dir, 50)
        mixed = generated_mixed_environment(env_dir, 50)
        rows = [("pattern1 (1 model)", 1, measure("pattern1", project, args.runs)),
                (f"{big} (50 models)", 50, measure(big, project, args.runs)),
                (f"{mixed} (25 GPU + 25 TPU)", 50, measure(mixed, project, args.runs))]
        split = [(label, phases(env_dir / f"{name}.yaml", args.runs))
                 for label, name in (("pattern1", "pattern1"), (big, big), (mixed, mixed))]
    load = os.getloadavg()[0]
    print(f"infergate synth, median of {args.runs} runs, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'environment':<30} {'wall s':>7} {'CPU s':>6} {'peak MB (largest proc)':>23} "
          f"{'peak MB (process tree)':>23}")
    for label, _, m in rows:
        print(f"{label:<30} {m['wall']:>7.2f} {m['cpu']:>6.2f} {m['largest']:>23.0f} {m['tree']:>23.0f}")
    (_, one, small), (_, fifty, large), (_, _, mix) = rows
    per_model = (large["wall"] - small["wall"]) / (fifty - one)
    cpu_per_model = (large["cpu"] - small["cpu"]) / (fifty - one)
    print(f"per-model cost: {per_model * 1000:.0f} ms wall, {cpu_per_model * 1000:.0f} ms CPU, "
          f"{(large['tree'] - small['tree']) / (fifty - one):.1f} MB (process tree)")
    print("where the time goes (in-process, median): config load | jsii import (Node + assemblies) | "
          "charts + write")
    for label, (load, jsii, synth) in split:
        print(f"  {label:<24} {load:6.2f} s | {jsii:6.2f} s | {synth:6.2f} s")
    ok = small["wall"] <= 2.0 and small["tree"] <= 300
    print(f"pattern1 target (<= 2 s, <= 300 MB): {'met' if ok else 'MISSED'}")
    ok = mix["wall"] <= 3.0 and mix["tree"] <= 400
    print(f"{mixed} target (<= 3 s, <= 400 MB): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
