"""TPU404: a multi-host TPU slice whose LeaderWorkerSet KServe would size wrong (infergate.synth.multihost).

Kept apart from tpu.py (TPU401-403, per-pod checks): this rule reads the LLMInferenceService as KServe does.
"""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._examples import mark_line

from infergate.core.findings import Severity
from infergate.core.graph import KSERVE_GROUP, Graph, PodModel, as_dict
from infergate.synth import accelerators as tpu
from infergate.synth import multihost

KSERVE_MULTI_NODE = "https://github.com/kserve/kserve/blob/v0.20.0/pkg/controller/v1alpha2/llmisvc/workload_multi_node.go"
GKE_TPU = "https://cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus"

_SERVICE = """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: llama, namespace: demo}
spec:
  model: {uri: "hf://meta-llama/Llama-3.3-70B-Instruct", name: meta-llama/Llama-3.3-70B-Instruct}
  parallelism: PARALLELISM
  template:
    nodeSelector:
      cloud.google.com/gke-tpu-accelerator: tpu-v6e-slice
      cloud.google.com/gke-tpu-topology: 4x4
    tolerations: [{key: google.com/tpu, operator: Equal, value: present, effect: NoSchedule}]
    containers:
    - name: main
      image: vllm/vllm-tpu:v0.10.1
      args: [--model=/mnt/models, --served-model-name=meta-llama/Llama-3.3-70B-Instruct,
             --tensor-parallel-size=4, --ssl-certfile=/var/run/kserve/tls/tls.crt,
             --ssl-keyfile=/var/run/kserve/tls/tls.key]
      readinessProbe: {httpGet: {path: /health, port: 8000, scheme: HTTPS}}
      securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {drop: [ALL]},
                        seccompProfile: {type: RuntimeDefault}}
      resources: {requests: {cpu: "8", memory: 64Gi, google.com/tpu: "4"}, limits: {google.com/tpu: "4"}}
  worker:
    nodeSelector:
      cloud.google.com/gke-tpu-accelerator: tpu-v6e-slice
      cloud.google.com/gke-tpu-topology: 4x4
    tolerations: [{key: google.com/tpu, operator: Equal, value: present, effect: NoSchedule}]
    containers:
    - name: main
      image: vllm/vllm-tpu:v0.10.1
      command: [/bin/bash, -c]
      args: ['exec ray start --block --address="$LWS_LEADER_ADDRESS:6379"']
      securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {drop: [ALL]},
                        seccompProfile: {type: RuntimeDefault}}
      resources: {requests: {cpu: "8", memory: 64Gi, google.com/tpu: "4"}, limits: {google.com/tpu: "4"}}
"""
# KServe looks this config up for `worker` + pipeline parallelism (INF320); no release ships it
_PIPELINE_CONFIG = """\
---
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceServiceConfig
metadata: {name: kserve-config-llm-worker-pipeline-parallel, namespace: demo}
spec: {}
"""


def _service(parallelism: str = "{tensor: 4, pipeline: 4}", config: bool = True) -> str:
    return _SERVICE.replace("PARALLELISM", parallelism) + (_PIPELINE_CONFIG if config else "")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@rule(
    "TPU404",
    "tpu-multi-host-group-size",
    Severity.ERROR,
    summary="an LLMInferenceService with `worker` on a multi-host TPU topology whose `parallelism` gives a "
    "LeaderWorkerSet of another size than the slice's host count, or tensor x pipeline != the slice's chips",
    rationale="KServe runs `template` + `worker` as a LeaderWorkerSet of `parallelism.GetSize()` pods: "
    "`data / dataLocal` with data parallelism, else `pipeline` (its admission webhook rejects a `worker` "
    "with neither, and any later change of that size: delete and recreate the service to resize). "
    "A multi-host TPU slice is one unit of `hostBounds` hosts (GKE provisions and repairs them together; "
    "the TPU runtime waits for every host of TPU_HOST_BOUNDS): a smaller group never initializes the slice, "
    "a larger one leaves pods Pending. vLLM shards over tensor x pipeline chips, which must be all chips of "
    "the slice (tensor = one host's chips, pipeline = hosts).",
    links=(KSERVE_MULTI_NODE, GKE_TPU),
    fix="Set `parallelism: {tensor: <chips per host>, pipeline: <hosts>}` from the TPU table "
    "(v6e 4x4: tensor 4, pipeline 4); infergate generates it for a multi-host `topology`.",
    bad=(
        mark_line(_service("{tensor: 16}"), "parallelism:"),
        mark_line(_service("{tensor: 2, pipeline: 4}"), "parallelism:"),
    ),
    good=(_service(),),
)
def tpu404(graph: Graph) -> Iterator[Hit]:
    for svc in graph.of_kind("LLMInferenceService", KSERVE_GROUP):
        spec = svc.spec
        if not isinstance(spec.get("worker"), dict):
            continue
        pod = as_dict(spec.get("template")) or as_dict(spec.get("worker"))
        selector = as_dict(pod.get("nodeSelector"))
        try:
            slice_ = tpu.lookup(str(selector.get(tpu.ACCELERATOR_LABEL)),
                                str(selector.get(tpu.TOPOLOGY_LABEL)))
        except tpu.UnknownTpu:
            continue  # TPU401/TPU403 report unknown or missing selectors
        if slice_.single_host:
            continue
        parallelism = as_dict(spec.get("parallelism"))
        path = ("spec", "parallelism") if "parallelism" in spec else ("spec", "worker")
        size = multihost.group_size(parallelism)
        if size != slice_.hosts:
            yield Hit(svc, f"{svc.name}: KServe's LeaderWorkerSet would run {size} pod(s) for a "
                      f"{slice_.accelerator} {slice_.topology} slice of {slice_.hosts} hosts (parallelism "
                      f"{parallelism or 'unset'}: pipeline sizes the group); set pipeline: {slice_.hosts}",
                      path)
            continue
        tensor, pipeline = _int(parallelism.get("tensor")), _int(parallelism.get("pipeline"))
        if tensor and pipeline and tensor * pipeline != slice_.chips:
            yield Hit(svc, f"{svc.name}: tensor {tensor} x pipeline {pipeline} = {tensor * pipeline} "
                      f"chips, but the {slice_.topology} slice has {slice_.chips} "
                      f"({slice_.chips_per_host} per host)", path)


LWS_TPU = "https://github.com/kubernetes-sigs/lws/blob/v0.10.0/pkg/utils/accelerators/tpu.go"
LWS_INJECTED = ("TPU_WORKER_HOSTNAMES", "TPU_WORKER_ID")


def _in_leader_worker_set(pod: PodModel) -> bool:
    if pod.kind == "LeaderWorkerSet":
        return True
    return pod.kind == "LLMInferenceService" and isinstance(pod.source.spec.get("worker"), dict)


@rule(
    "TPU405",
    "tpu-worker-id-hard-coded",
    Severity.ERROR,
    summary="a TPU container of a LeaderWorkerSet (or an LLMInferenceService with `worker`) that sets "
    "TPU_WORKER_ID or TPU_WORKER_HOSTNAMES itself",
    rationale="LeaderWorkerSet's pod webhook gives every host of a multi-host TPU slice its own "
    "TPU_WORKER_ID (0 on the leader) and the slice's TPU_WORKER_HOSTNAMES / TPU_PROCESS_ADDRESSES, computed "
    "from the pod's index, but skips a container that already sets TPU_WORKER_ID or TPU_WORKER_HOSTNAMES "
    "(`addTPUVariables`: 'the assumption is that other env vars are added as well'). A value in the "
    "template is the same on every host: the TPU runtime sees several hosts claim one id and the slice "
    "never comes up.",
    links=(LWS_TPU, KSERVE_MULTI_NODE),
    fix="Remove TPU_WORKER_ID / TPU_WORKER_HOSTNAMES from the template and let LWS inject them per host; set "
    "only TPU_PROCESS_PORT if the default 8476 does not suit.",
    bad=(
        mark_line(
            _service().replace(
                "      args: ['exec ray start",
                "      env: [{name: TPU_WORKER_ID, value: \"1\"}]\n      args: ['exec ray start",
            ),
            "name: TPU_WORKER_ID",
        ),
    ),
    good=(
        _service().replace(
            "      args: ['exec ray start",
            "      env: [{name: TPU_PROCESS_PORT, value: \"8476\"}]\n      args: ['exec ray start",
        ),
    ),
)
def tpu405(graph: Graph) -> Iterator[Hit]:
    for pod in graph.pods:
        if not _in_leader_worker_set(pod):
            continue
        for container in pod.all_containers:
            wants = any(tpu.RESOURCE in as_dict(container.resources.get(k)) for k in ("requests", "limits"))
            if not wants:
                continue
            for i, item in enumerate(container.env):
                if item.get("name") in LWS_INJECTED:
                    yield Hit(pod.source, f"{container.name} in {pod.name} sets {item['name']}: LWS then "
                              "injects no per-host TPU variables: every host of the slice gets this value",
                              (*container.path, "env", i, "name"))


KSERVE_CONFIG_MERGE = "https://github.com/kserve/kserve/blob/v0.20.0/pkg/controller/v1alpha2/llmisvc/config_merge.go"


def _workload_config(side: dict, role: str) -> str:
    """The well-known config KServe merges for one side (config_merge.go: the same switch in ODH
    release-v0.15 and kserve v0.20.0); ``role`` is "" (no P/D), "prefill-" or "decode-"."""
    parallelism = as_dict(side.get("parallelism"))
    if not isinstance(side.get("worker"), dict):
        return f"kserve-config-llm-{role or ''}template"
    if _int(parallelism.get("data")) or _int(parallelism.get("dataLocal")):
        return f"kserve-config-llm-{role}worker-data-parallel"
    if _int(parallelism.get("pipeline")):
        return f"kserve-config-llm-{role}worker-pipeline-parallel"
    return ""  # worker without data or pipeline parallelism: no workload config at all (TPU404 covers TPUs)


@rule(
    "INF320",
    "llmisvc-workload-config-missing",
    Severity.ERROR,
    summary="an LLMInferenceService whose shape makes KServe look up a well-known workload config "
    "(e.g. kserve-config-llm-worker-pipeline-parallel) that neither the output nor the platform provides",
    rationale="KServe picks one well-known LLMInferenceServiceConfig per workload by the service's shape: "
    "`...-llm-template` without `worker`, `...-worker-data-parallel` with worker + data parallelism, "
    "`...-worker-pipeline-parallel` with worker + pipeline parallelism (`prefill-`/`decode-` variants with "
    "`spec.prefill`), looked up in the service's namespace, then the controller's. A missing one stops the "
    "reconcile before any pod exists (v0.20: `PresetsCombined` False, reason ConfigNotFound; ODH "
    "release-v0.15: a reconcile error). No KServe release "
    "ships the pipeline-parallel configs, so a multi-host service that sizes its LeaderWorkerSet by "
    "`pipeline` needs one of its own.",
    links=(KSERVE_CONFIG_MERGE,),
    fix="Add the named LLMInferenceServiceConfig to the service's namespace (an empty `spec: {}` is enough "
    "when the service states its pods itself; infergate emits it for multi-host models), or list it in the "
    "lint config's `[platform] provided-configs` if the platform installs it.",
    bad=(mark_line(_service(config=False), "  worker:"),),
    good=(_service(),),
)
def inf320(graph: Graph) -> Iterator[Hit]:
    provided = getattr(graph.platform, "provided_configs", frozenset())
    configs = {c.name for c in graph.of_kind("LLMInferenceServiceConfig", KSERVE_GROUP)}
    for svc in graph.of_kind("LLMInferenceService", KSERVE_GROUP):
        spec = svc.spec
        if spec.get("baseRefs"):
            continue  # base configs may change the shape: not knowable from here
        prefill = spec.get("prefill")
        sides = [(spec, "decode-" if isinstance(prefill, dict) else "", ("spec", "worker"))]
        if isinstance(prefill, dict):
            sides.append((prefill, "prefill-", ("spec", "prefill", "worker")))
        for side, role, path in sides:
            name = _workload_config(side, role)
            if name and name not in configs and name not in provided:
                where = path if isinstance(side.get("worker"), dict) else path[:-1]
                yield Hit(svc, f"{svc.name}: KServe merges LLMInferenceServiceConfig {name} into this "
                          "service and stops with ConfigNotFound: it is neither in the output nor provided "
                          "by the platform", where)
