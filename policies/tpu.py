"""TPU4xx: TPU pods that GKE cannot schedule or vLLM cannot shard (facts: infergate.synth.accelerators)."""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._examples import mark_line

from infergate.core.findings import Severity
from infergate.core.graph import Graph, PodModel, as_dict, as_list
from infergate.synth import accelerators as tpu

GKE_TPU = "https://cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus"
GKE_TPU_DEPLOY = "https://cloud.google.com/kubernetes-engine/docs/how-to/tpus"
LWS = "https://lws.sigs.k8s.io/docs/overview/"

_POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm-tpu, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm-tpu}}
  template:
    metadata: {labels: {app: vllm-tpu}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      nodeSelector:
        cloud.google.com/gke-tpu-accelerator: ACCELERATOR
        cloud.google.com/gke-tpu-topology: TOPOLOGY
      tolerations: [{key: google.com/tpu, operator: Equal, value: present, effect: NoSchedule}]
      containers:
      - name: vllm
        image: vllm/vllm-tpu:v0.10.1
        args: [--model=/models/qwen, --served-model-name=qwen, --tensor-parallel-size=TP]
        env:
        - {name: TPU_CHIPS_PER_HOST_BOUNDS, value: "2,2,1"}
        - {name: TPU_HOST_BOUNDS, value: "1,1,1"}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources:
          requests: {cpu: "8", memory: 32Gi, google.com/tpu: "REQ"}
          limits: {google.com/tpu: "LIM"}
"""


def _pod(
    accelerator: str = "tpu-v6e-slice",
    topology: str = "2x2",
    tp: str = "4",
    req: str = "4",
    lim: str = "4",
    hosts: str = "1,1,1",
) -> str:
    """A clean TPU vLLM Deployment for examples, with one value changed."""
    return (
        _POD.replace("ACCELERATOR", accelerator)
        .replace("TOPOLOGY", topology)
        .replace("=TP", f"={tp}")
        .replace('"REQ"', f'"{req}"')
        .replace('"LIM"', f'"{lim}"')
        .replace('"1,1,1"', f'"{hosts}"')
    )


def tpu_pods(graph: Graph) -> Iterator[PodModel]:
    for pod in graph.pods:
        selector = as_dict(pod.spec.get("nodeSelector"))
        wants_tpu = any(
            tpu.RESOURCE in as_dict(c.resources.get(k))
            for c in pod.containers
            for k in ("requests", "limits")
        )
        if wants_tpu or tpu.ACCELERATOR_LABEL in selector:
            yield pod


def _slice(pod: PodModel) -> tpu.TpuSlice | None:
    selector = as_dict(pod.spec.get("nodeSelector"))
    accelerator, topology = selector.get(tpu.ACCELERATOR_LABEL), selector.get(tpu.TOPOLOGY_LABEL)
    if not accelerator or not topology:
        return None
    try:
        return tpu.lookup(str(accelerator), str(topology))
    except tpu.UnknownTpu:
        return None


def _multi_host_capable(pod: PodModel) -> bool:
    if pod.kind == "LeaderWorkerSet":
        return True
    return pod.kind == "LLMInferenceService" and isinstance(pod.source.spec.get("worker"), dict)


@rule(
    "TPU401",
    "tpu-slice-unknown",
    Severity.ERROR,
    summary="a TPU accelerator/topology pair that does not exist (from the TPU table) or a multi-host "
    "topology "
    "outside LeaderWorkerSet",
    rationale="GKE only has node pools for real accelerator x topology pairs; any other nodeSelector "
    "leaves the "
    "pod Pending forever. The reference deployment's architecture doc used "
    "`cloud.google.com/gke-tpu-accelerator: tpu-v6e` where the node label is `tpu-v6e-slice`. A "
    "topology spanning several hosts needs one pod per host started together — a LeaderWorkerSet — "
    "not a Deployment replica.",
    links=(GKE_TPU, LWS),
    fix="Use an accelerator and topology from the TPU table (e.g. `tpu-v6e-slice` + `2x2`); run multi-host "
    "slices as a LeaderWorkerSet (for KServe: `spec.worker`).",
    bad=(
        mark_line(_pod(accelerator="tpu-v6e"), "gke-tpu-accelerator: tpu-v6e"),
        mark_line(_pod(topology="4x4", hosts="2,2,1"), "gke-tpu-topology: 4x4"),
    ),
    good=(_pod(),),
)
def tpu401(graph: Graph) -> Iterator[Hit]:
    for pod in tpu_pods(graph):
        selector = as_dict(pod.spec.get("nodeSelector"))
        accelerator, topology = selector.get(tpu.ACCELERATOR_LABEL), selector.get(tpu.TOPOLOGY_LABEL)
        if not accelerator or not topology:
            continue  # TPU403 reports missing selectors
        try:
            slice_ = tpu.lookup(str(accelerator), str(topology))
        except tpu.UnknownTpu as exc:
            key = tpu.ACCELERATOR_LABEL if str(accelerator) not in tpu.accelerators() else tpu.TOPOLOGY_LABEL
            yield Hit(pod.source, f"{pod.name}: {exc}", (*pod.spec_path, "nodeSelector", key))
            continue
        if not slice_.single_host and not _multi_host_capable(pod):
            yield Hit(
                pod.source,
                f"{pod.name}: topology {topology} spans {slice_.hosts} hosts; a {pod.kind} "
                "cannot run a multi-host slice (use a LeaderWorkerSet)",
                (*pod.spec_path, "nodeSelector", tpu.TOPOLOGY_LABEL),
            )


def _env_index(env: list[dict], name: str) -> int | None:
    return next((i for i, e in enumerate(env) if e.get("name") == name), None)


@rule(
    "TPU402",
    "tpu-resources-mismatch",
    Severity.ERROR,
    summary="google.com/tpu requests != limits != chips per host; TPU_*_BOUNDS or --tensor-parallel-size "
    "disagreeing with the topology",
    rationale="GKE admits TPU pods only when `google.com/tpu` requests equal limits and equal the chips "
    "of one "
    "host of the slice ('MUST request all 4 chips' on v6e 2x2). vLLM's TPU runtime reads the host "
    "and chip bounds from TPU_CHIPS_PER_HOST_BOUNDS / TPU_HOST_BOUNDS and shards the model over "
    "--tensor-parallel-size chips; any disagreement fails at start-up or leaves chips idle.",
    links=(GKE_TPU_DEPLOY, GKE_TPU),
    fix='Derive all of them from the topology (v6e 2x2: google.com/tpu "4" requests = limits, '
    "TPU_CHIPS_PER_HOST_BOUNDS=2,2,1, TPU_HOST_BOUNDS=1,1,1, --tensor-parallel-size=4).",
    bad=(mark_line(mark_line(_pod(tp="8", lim="8"), "--tensor-parallel-size=8"), "limits: {google.com/tpu"),),
    good=(_pod(),),
)
def tpu402(graph: Graph) -> Iterator[Hit]:
    for pod in tpu_pods(graph):
        slice_ = _slice(pod)
        for container in pod.containers:
            requests = as_dict(container.resources.get("requests"))
            limits = as_dict(container.resources.get("limits"))
            req, lim = requests.get(tpu.RESOURCE), limits.get(tpu.RESOURCE)
            if req is None and lim is None:
                continue
            res_path = (*container.path, "resources")
            if str(req) != str(lim):
                side = "limits" if lim is not None else "requests"
                yield Hit(
                    pod.source,
                    f"{container.name}: google.com/tpu requests {req} != limits {lim}",
                    (*res_path, side, tpu.RESOURCE),
                )
            elif slice_ is not None and str(req) != str(slice_.chips_per_host):
                yield Hit(
                    pod.source,
                    f"{container.name}: google.com/tpu {req}, but a {slice_.accelerator} "
                    f"{slice_.topology} host has {slice_.chips_per_host} chips",
                    (*res_path, "limits", tpu.RESOURCE),
                )
            if slice_ is None:
                continue
            for name, want in slice_.env().items():
                index = _env_index(container.env, name)
                got = container.env_value(name)
                if index is not None and got is not None and got.replace(" ", "") != want:
                    yield Hit(
                        pod.source,
                        f"{container.name}: {name}={got}, but {slice_.topology} needs {want}",
                        (*container.path, "env", index, "value"),
                    )
            tp = container.flag("--tensor-parallel-size") or container.flag("-tp")
            if tp and tp.isdigit() and int(tp) != slice_.tensor_parallel_size:
                path = (*container.path, "args") if "args" in container.raw else container.path
                yield Hit(
                    pod.source,
                    f"{container.name}: --tensor-parallel-size={tp}, but {slice_.accelerator} "
                    f"{slice_.topology} gives {slice_.tensor_parallel_size} chips per host",
                    _arg_path(container, "--tensor-parallel-size", path),
                )


def _arg_path(container, flag: str, default: tuple) -> tuple:
    for i, arg in enumerate(container.raw.get("args") or []):
        if isinstance(arg, str) and flag in arg and "\n" not in arg:
            return (*container.path, "args", i)
    return default


def _tolerates(pod: PodModel) -> bool:
    for tol in as_list(pod.spec.get("tolerations")):
        tol = as_dict(tol)
        if tol.get("key") not in (tpu.RESOURCE, None) or tol.get("effect") not in ("NoSchedule", None, ""):
            continue
        if tol.get("operator") == "Exists" or tol.get("value") == "present":
            return True
    return False


def _selects(pod: PodModel, label: str) -> bool:
    if label in as_dict(pod.spec.get("nodeSelector")):
        return True
    affinity = as_dict(
        as_dict(as_dict(pod.spec.get("affinity")).get("nodeAffinity")).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
    )
    return any(
        as_dict(e).get("key") == label
        for term in as_list(affinity.get("nodeSelectorTerms"))
        for e in as_list(as_dict(term).get("matchExpressions"))
    )


@rule(
    "TPU403",
    "tpu-scheduling-missing",
    Severity.ERROR,
    summary="a TPU pod without the google.com/tpu NoSchedule toleration or without accelerator/topology "
    "nodeSelectors",
    rationale="GKE taints TPU node pools `google.com/tpu=present:NoSchedule` and runs several TPU "
    "generations "
    "and topologies side by side: without the toleration the pod never lands on a TPU node, and "
    "without both selectors it can land on a slice whose shape the workload was not built for.",
    links=(GKE_TPU_DEPLOY,),
    fix="Add `tolerations: [{key: google.com/tpu, operator: Equal, value: present, effect: NoSchedule}]` and "
    "`nodeSelector` `cloud.google.com/gke-tpu-accelerator` + `cloud.google.com/gke-tpu-topology`.",
    bad=(
        mark_line(
            _pod()
            .replace("        cloud.google.com/gke-tpu-topology: 2x2\n", "")
            .replace(
                "      tolerations: [{key: google.com/tpu, operator: Equal, value: present, effect: "
                "NoSchedule}]\n",
                "",
            ),
            "nodeSelector:",
        ),
    ),
    good=(_pod(),),
)
def tpu403(graph: Graph) -> Iterator[Hit]:
    for pod in tpu_pods(graph):
        missing = []
        if not _tolerates(pod):
            missing.append("the google.com/tpu NoSchedule toleration")
        missing += [
            f"a {label} node selector"
            for label in (tpu.ACCELERATOR_LABEL, tpu.TOPOLOGY_LABEL)
            if not _selects(pod, label)
        ]
        if missing:
            where = "nodeSelector" if "nodeSelector" in pod.spec else "tolerations"
            path = (*pod.spec_path, where) if where in pod.spec else pod.spec_path
            yield Hit(pod.source, f"TPU pod {pod.name} lacks {', '.join(missing)}", path)
