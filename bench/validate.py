"""Benchmark `infergate validate` against kubernetes-validate on the same generated corpora.

Corpora of 1,000 and 10,000 objects (half Kubernetes core kinds, half pinned CRs with CEL rules:
HTTPRoute, Gateway, InferencePool, LLMInferenceService, Certificate, DestinationRule), 100 objects per file.
Timed in one run, on the same files:
  * `infergate validate DIR` end to end (CEL on, warm schema cache; the cold build is timed once
    separately), median of --repeat runs, with --jobs 1 (one process) and --jobs 0 (automatic);
  * YAML loading alone (infergate.core.loader.load_paths: the floor);
  * kubernetes-validate (its Python API, strict, Kubernetes 1.33) on the core objects it supports
    (it has no CRD schemas), on at most --kv-limit objects per corpus (it is slow; objects/s is what counts).
Prints objects/s and the ratio. Usage: .venv/bin/python bench/validate.py [--sizes 1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
INFERGATE = Path(sys.executable).parent / "infergate"
# As installed by pip (which byte-compiles): a shell with PYTHONDONTWRITEBYTECODE set (this workplace, some
# CI images) would otherwise make every run recompile infergate's own modules, ~40 ms each time.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def core_objects(i: int) -> list[dict]:
    ns, name = f"team-{i % 17}", f"app-{i}"
    def labels() -> dict[str, str]:  # a fresh dict each time: shared ones would be dumped as YAML anchors
        return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bench"}

    def meta(labels: dict[str, str] | None = None) -> dict:
        return {"name": name, "namespace": ns, **({"labels": labels} if labels else {})}

    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(labels()),
         "spec": {"replicas": 1 + i % 3, "selector": {"matchLabels": labels()}, "template": {
             "metadata": {"labels": labels()},
             "spec": {"serviceAccountName": name, "containers": [{
                 "name": "main", "image": f"registry.example.com/app:{i}", "args": ["--port", "8000"],
                 "ports": [{"containerPort": 8000, "name": "http"}],
                 "env": [{"name": "MODE", "value": "serve"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                 "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                     "capabilities": {"drop": ["ALL"]}},
                 "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(labels()),
         "spec": {"selector": labels(), "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(),
         "data": {"config.yaml": f"id: {i}\n"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta(),
         "spec": {"podSelector": {"matchLabels": labels()}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": "gateway"}}}],
                      "ports": [{"port": 8000, "protocol": "TCP"}]}]}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
    ]


def cr_objects(i: int) -> list[dict]:
    ns, name = f"team-{i % 17}", f"model-{i}"

    def meta() -> dict:
        return {"name": name, "namespace": ns}

    return [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta(),
         "spec": {"parentRefs": [{"name": "inference-gateway", "namespace": "gateway"}],
                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": f"/{ns}/{name}/v1"}}],
                             "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
                                 "type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}}],
                             "backendRefs": [{"group": "inference.networking.x-k8s.io",
                                              "kind": "InferencePool", "name": name, "port": 8000}],
                             "timeouts": {"request": "300s", "backendRequest": "300s"}}]}},
        {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
         "metadata": meta(),
         "spec": {"selector": {"app": name}, "targetPortNumber": 8000,
                  "extensionRef": {"name": f"{name}-epp", "failureMode": "FailOpen"}}},
        {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
         "metadata": meta(),
         "spec": {"model": {"uri": "hf://Qwen/Qwen2.5-3B-Instruct", "name": "Qwen/Qwen2.5-3B-Instruct"},
                  "replicas": 1, "router": {"route": {}, "gateway": {}, "scheduler": {}},
                  "template": {"containers": [{"name": "main", "image": "vllm/vllm-tpu:v1",
                                               "resources": {"limits": {"google.com/tpu": "4"}}}]}}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta(),
         "spec": {"gatewayClassName": "istio", "listeners": [
             {"name": "http", "port": 80, "protocol": "HTTP",
              "allowedRoutes": {"namespaces": {"from": "All"}}},
             {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {
                 "mode": "Terminate", "certificateRefs": [{"name": f"{name}-tls"}]}}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": meta(),
         "spec": {"host": f"{name}.{ns}.svc.cluster.local", "trafficPolicy": {
             "tls": {"mode": "SIMPLE", "sni": f"{name}.{ns}.svc.cluster.local"},
             "connectionPool": {"tcp": {"connectTimeout": "5s"}}}}},
    ]


def build_corpus(root: Path, size: int, per_file: int = 100) -> tuple[int, int]:
    """Write ``size`` objects (half core, half CRs); return (objects, core objects)."""
    objects: list[dict] = []
    i = 0
    while len(objects) < size:
        objects.extend(core_objects(i))
        objects.extend(cr_objects(i))
        i += 1
    objects = objects[:size]
    root.mkdir(parents=True)
    for n in range(0, size, per_file):
        chunk = objects[n:n + per_file]
        (root / f"part-{n // per_file:04d}.yaml").write_text(
            yaml.safe_dump_all(chunk, sort_keys=False, default_flow_style=False))
    core = sum(1 for o in objects if "." not in o["apiVersion"].split("/")[0] or o["apiVersion"].startswith(
        ("apps/", "networking.k8s.io/")))
    return size, core


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_infergate(root: Path, repeat: int, env: dict[str, str] | None = None,
                   jobs: int = 0) -> tuple[float, float, str]:
    """Median wall and CPU seconds of `infergate validate --summary --jobs N root`, and its summary line."""
    walls, cpus, out = [], [], ""
    for _ in range(repeat):
        cpu, start = _children_cpu(), time.perf_counter()
        result = subprocess.run([str(INFERGATE), "validate", "--summary", f"--jobs={jobs}", str(root)],
                                capture_output=True,
                                text=True, check=False, env={**INSTALLED_ENV, **(env or {})})
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
        out = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip()
        if result.returncode not in (0, 1):
            raise SystemExit(f"infergate validate failed: {result.stderr}")
    return statistics.median(walls), statistics.median(cpus), out


def time_loading(root: Path) -> float:
    from infergate.core.loader import load_paths

    start = time.perf_counter()
    load_paths([root])
    return time.perf_counter() - start


def time_kubernetes_validate(root: Path, limit: int) -> tuple[int, float, int]:
    """(objects validated, seconds, objects it has no schema for) over the corpus, at most ``limit``."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    from infergate.core.loader import load_paths

    documents, _ = load_paths([root])
    done = missing = 0
    elapsed = 0.0
    for doc in documents:
        if done >= limit:
            break
        start = time.process_time()  # CPU: other processes on the machine must not count against it
        try:
            kubernetes_validate.validate(doc.obj, "1.33", strict=True)
        except SchemaNotFoundError:
            missing += 1
            continue
        except kubernetes_validate.ValidationError:
            pass
        elapsed += time.process_time() - start
        done += 1
    return done, elapsed, missing


def cel_engines() -> str:
    """Compile the distinct CEL rules of the chosen CRDs with both evaluators; time one evaluation each."""
    import cel
    import celpy

    from infergate.validate import crd_schema

    rules: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for rule in node.get("x-kubernetes-validations") or ():
                rules.add(rule["rule"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for crd in crd_schema.chosen_crds()[0]:
        walk(crd.schema)
    lines = [f"CEL: {len(rules)} distinct rules in the chosen CRDs"]
    start = time.perf_counter()
    ok = sum(1 for r in sorted(rules) if _compiles(cel.compile, r))
    lines.append(f"  common-expression-language: {ok} compiled, {len(rules) - ok} failed, "
                 f"{(time.perf_counter() - start) * 1000:.1f} ms")
    env = celpy.Environment()
    start = time.perf_counter()
    ok = sum(1 for r in sorted(rules) if _compiles(lambda r: env.program(env.compile(r)), r))
    lines.append(f"  cel-python: {ok} compiled, {len(rules) - ok} failed, "
                 f"{(time.perf_counter() - start) * 1000:.1f} ms")
    rule, value = "self.all(l, l.name.size() > 0) && self.size() <= 64", [{"name": "a"}, {"name": "b"}]
    prog = cel.compile(rule)
    n = 5000
    start = time.perf_counter()
    for _ in range(n):
        prog.execute({"self": value})
    rust = (time.perf_counter() - start) / n * 1e6
    pprog = env.program(env.compile(rule))
    start = time.perf_counter()
    for _ in range(200):
        pprog.evaluate({"self": celpy.json_to_cel(value)})
    py = (time.perf_counter() - start) / 200 * 1e6
    from infergate.validate.celfast import codegen, compile_fast

    start = time.perf_counter()
    ok = sum(1 for r in sorted(rules) if _compiles(lambda r: codegen.to_code(r, codegen.generate(r)[0]), r))
    cold = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for r in sorted(rules):
        compile_fast(r)
    lines.append(f"  celfast (infergate's CEL-to-Python compiler, cel-rust for the rest): {ok} compiled, "
                 f"{len(rules) - ok} left to cel-rust, {cold:.1f} ms "
                 f"({(time.perf_counter() - start) * 1000:.1f} ms from its on-disk store)")
    fast = compile_fast(rule)
    start = time.perf_counter()
    for _ in range(n):
        fast(value)
    ours = (time.perf_counter() - start) / n * 1e6
    lines.append(f"  one evaluation: common-expression-language {rust:.1f} us, cel-python {py:.0f} us, "
                 f"celfast {ours:.1f} us")
    return "\n".join(lines)


def _compiles(fn: object, rule: str) -> bool:
    try:
        fn(rule)  # type: ignore[operator]
    except Exception:
        return False
    return True


def dist_cold_warm(target: Path) -> str:
    """`infergate validate` on an example project's dist/<env>: cold (empty schema cache, pinned files
    present) and warm."""
    from infergate.crds import lockfile as crds

    if not target.is_dir():
        return f"{target}: absent, skipped"
    lines = []
    with tempfile.TemporaryDirectory(prefix="infergate-cold-") as tmp:
        (Path(tmp) / "infergate").mkdir()
        (Path(tmp) / "infergate" / "files").symlink_to(crds.cache_root() / "files")
        wall, cpu, summary = time_infergate(target, 1, env={"XDG_CACHE_HOME": tmp})
        lines.append(f"{target.name} cold: {wall:.2f} s wall, {cpu:.2f} s CPU ({summary})")
        wall, cpu, summary = time_infergate(target, 5, env={"XDG_CACHE_HOME": tmp})
        lines.append(f"{target.name} warm: {wall:.2f} s wall, {cpu:.2f} s CPU (median of 5)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kv-limit", type=int, default=500)
    args = parser.parse_args()
    print(cel_engines())
    work = Path(tempfile.mkdtemp(prefix="infergate-bench-"))
    try:
        # warm the schema cache and write the bytecode once (the cold schema build is timed just below)
        subprocess.run([str(INFERGATE), "validate", str(REPO / "tests" / "fixtures" / "validate" / "valid")],
                       capture_output=True, check=False, env=INSTALLED_ENV)
        print(dist_cold_warm(REPO / "examples" / "pattern1" / "dist" / "pattern1"))
        from infergate.validate.parallel import available_cpus

        print(f"end to end, CEL on, warm cache; jobs 1 = one process, jobs 0 = automatic "
              f"({available_cpus()} CPUs here, workers only above 1 MiB of input); CPU = user+sys of all "
              "processes (wall suffers when the machine is shared); k-v = kubernetes-validate CPU on the "
              "core kinds it knows; ratio = per CPU-second, one process")
        print(f"{'objects':>8} {'jobs':>4} {'wall s':>7} {'obj/s':>7} {'CPU s':>6} {'obj/CPU-s':>9} "
              f"{'load CPU-s':>10} {'k-v obj/CPU-s':>13} {'ratio':>6}")
        for size in (int(s) for s in args.sizes.split(",")):
            root = work / f"corpus-{size}"
            objects, _core = build_corpus(root, size)
            start = time.process_time()
            time_loading(root)
            load = time.process_time() - start
            kv_done, kv_seconds, _ = time_kubernetes_validate(root, args.kv_limit)
            theirs = kv_done / kv_seconds if kv_seconds else float("nan")
            serial_cpu = 0.0
            for jobs in (1, 0):
                wall, cpu, summary = time_infergate(root, args.repeat, jobs=jobs)
                serial_cpu = serial_cpu or cpu
                print(f"{objects:>8} {jobs:>4} {wall:>7.2f} {objects / wall:>7.0f} {cpu:>6.2f} "
                      f"{objects / cpu:>9.0f} {load:>10.2f} {theirs:>13.0f} "
                      f"{objects / serial_cpu / theirs:>5.0f}x  ({summary})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
