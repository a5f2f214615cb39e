"""`infergate bench URL --emit-job`: a ConfigMap and a Job that run the same bench client in the cluster.

The Job runs the very modules of the installed infergate that `infergate bench` runs (shipped byte for byte
in the ConfigMap, mounted as a package) on a plain Python image. Their one third-party dependency, httpx,
and its pure-Python dependencies are installed at start with pip at exactly the versions installed here
(`--no-deps`: nothing else is resolved), into an emptyDir: so the pod needs egress to the package index
(pypi.org and files.pythonhosted.org on 443, or your mirror through PIP_INDEX_URL) besides the gateway.
The whole infergate wheel is not installed: it would pull cdk8s, jsii and Node for a load generator.
"""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import yaml

from infergate.core.errors import InfergateError
from infergate.core.images import PYTHON_IMAGE
from infergate.serving.plan import build_plan
from infergate.serving.smoke import normalize_base_url

# infergate's files the bench imports (command.py and what it imports; chart.py only for --png)
MODULES = ("__init__.py", "core/__init__.py", "core/errors.py", "serving/__init__.py", "serving/command.py",
           "serving/loadgen.py", "serving/plan.py", "serving/progress.py", "serving/report.py",
           "serving/smoke.py", "serving/stats.py")
# httpx and its run-time dependencies on Python >= 3.11 (typing_extensions: anyio's, below 3.15)
DEPENDENCIES = ("anyio", "certifi", "h11", "httpcore", "httpx", "idna", "typing_extensions")
CODE_DIR, DEPS_DIR, CA_DIR = "/opt/infergate", "/tmp/deps", "/etc/infergate/ca"
RUN = ("import json, os, sys\n"
       "from infergate.serving.command import run_bench\n"
       "output, code = run_bench(os.environ['BENCH_URL'], **json.loads(os.environ['BENCH_OPTIONS']))\n"
       "print(output, flush=True)\n"
       "sys.exit(code)\n")


def _key(path: str) -> str:
    return path.replace("/", ".").replace("__init__.py", "init.py")  # ConfigMap keys have no slashes


def pins() -> list[str]:
    found = []
    for name in DEPENDENCIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            raise InfergateError(f"--emit-job: {name} is not installed here, so its version is "
                                 "unknown") from None
    return found


def emit_job(url: str, options: dict[str, Any], *, name: str, namespace: str, image: str,
             ca_secret: str | None) -> str:
    """The ConfigMap and the Job as one YAML stream; ``options``: run_bench's keyword arguments."""
    package = resources.files("infergate")
    code = {_key(m): package.joinpath(m).read_text(encoding="utf-8") for m in MODULES}
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "benchmark",
              "app.kubernetes.io/managed-by": "infergate"}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": name, "namespace": namespace, "labels": labels}, "data": code}
    install = ["python", "-m", "pip", "install", "--quiet", "--no-cache-dir", "--disable-pip-version-check",
               "--no-deps", "--target", DEPS_DIR, *pins()]
    script = f"{' '.join(install)} && exec python -c \"$BENCH_RUN\""
    if ca_secret:
        options = {**options, "ca_file": f"{CA_DIR}/ca.crt"}
    env = [{"name": "BENCH_URL", "value": url}, {"name": "BENCH_OPTIONS", "value": json.dumps(options)},
           {"name": "BENCH_RUN", "value": RUN}, {"name": "PYTHONPATH", "value": f"{DEPS_DIR}:{CODE_DIR}"},
           {"name": "HOME", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    mounts = [{"name": "code", "mountPath": f"{CODE_DIR}/infergate", "readOnly": True},
              {"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [
        {"name": "code", "configMap": {"name": name,
                                       "items": [{"key": _key(m), "path": m} for m in MODULES]}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    if ca_secret:
        mounts.append({"name": "ca", "mountPath": CA_DIR, "readOnly": True})
        volumes.append({"name": "ca", "secret": {"secretName": ca_secret,
                                                 "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
    hardened = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                "runAsUser": 65532, "runAsGroup": 65532, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 3600, "ttlSecondsAfterFinished": 86400,
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "restartPolicy": "Never", "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                            "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "bench", "image": image, "command": ["sh", "-c", script], "env": env,
                            "resources": {"requests": {"cpu": "1", "memory": "256Mi"},
                                          "limits": {"cpu": "2", "memory": "512Mi"}},
                            "securityContext": hardened, "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": mounts}],
                        "volumes": volumes}}}}
    return yaml.dump_all([config_map, job], Dumper=_NoAliases, sort_keys=False, default_flow_style=False,
                         width=1000)


class _NoAliases(yaml.SafeDumper):
    """Repeated label maps written out each time: kubectl reads anchors, but a reader should not have to."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# bench options that name files on this machine: a Job cannot read or write them
LOCAL_FILES = {"json_path": "--json", "png_path": "--png", "compare_path": "--compare",
               "ca_file": "--ca-file"}


def run_emit(url: str, options: dict[str, Any], *, out: Path | None, name: str, namespace: str,
             image: str | None, ca_secret: str | None) -> str:
    """The manifests (printed, or written to ``out`` with a one-line note); InfergateError for bad input, the
    same checks `infergate bench` makes before it sends anything."""
    for key, flag in LOCAL_FILES.items():
        if options.get(key) is not None:
            hint = " (give --ca-secret: a Secret with ca.crt in the Job's namespace)" \
                if key == "ca_file" else ""
            raise InfergateError(f"--emit-job: {flag} names a file on this machine, not in the Job{hint}")
    try:
        base = normalize_base_url(url)
    except ValueError as exc:
        raise InfergateError(str(exc)) from None
    if ca_secret and not base.startswith("https://"):
        raise InfergateError(f"--ca-secret given but {url!r} is not an https:// URL")
    build_plan(options.get("concurrency"), options.get("requests"))
    if out is not None and not out.parent.is_dir():
        raise InfergateError(f"--out: folder {out.parent} does not exist")
    text = emit_job(url, options, name=name, namespace=namespace, image=image or PYTHON_IMAGE,
                    ca_secret=ca_secret)
    if out is None:
        return text
    out.write_text(text, encoding="utf-8")
    return f"wrote {out}: kubectl apply -f {out}, then kubectl logs -n {namespace} job/{name} -f"
