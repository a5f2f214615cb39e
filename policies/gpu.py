"""GPU41x: GPU pods that GKE cannot schedule, vLLM cannot shard, or whose model cannot fit (facts:
infergate.synth.accelerators, the same table synth uses).

A GPU pod is one that requests ``nvidia.com/gpu`` or selects a GPU accelerator by
``cloud.google.com/gke-accelerator``. Accelerators the table does not know (other clouds, older GPUs) are
left alone: the rules judge only what they have facts for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._examples import mark_line

from infergate.core.findings import Severity
from infergate.core.graph import Container, Graph, PodModel, as_dict, as_list
from infergate.synth import accelerators as acc
from infergate.synth.config import _SIZE

GKE_GPU = "https://cloud.google.com/kubernetes-engine/docs/how-to/gpus"
GCE_GPU_TYPES = "https://cloud.google.com/compute/docs/gpus"
K8S_EXTENDED = ("https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
                "#extended-resources")
VLLM_PARALLEL = "https://docs.vllm.ai/en/latest/serving/parallelism_scaling.html"

_POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm-gpu, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm-gpu}}
  template:
    metadata: {labels: {app: vllm-gpu}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      nodeSelector:
        cloud.google.com/gke-accelerator: ACCELERATOR
        node.kubernetes.io/instance-type: MACHINE
      tolerations: [{key: nvidia.com/gpu, operator: Equal, value: present, effect: NoSchedule}]
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.10.1
        args: [--model=/models/llm, --served-model-name=MODEL, --tensor-parallel-size=TP, --dtype=bfloat16]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources:
          requests: {cpu: "8", memory: 32Gi, nvidia.com/gpu: "REQ"}
          limits: {nvidia.com/gpu: "LIM"}
"""


def _pod(accelerator: str = "nvidia-l4", machine: str | None = "g2-standard-48", tp: str = "4",
         req: str = "4", lim: str = "4", model: str = "qwen") -> str:
    """A clean GPU vLLM Deployment for examples, with one value changed (machine None: no instance type)."""
    text = (_POD.replace("ACCELERATOR", accelerator).replace("=TP", f"={tp}").replace("=MODEL", f"={model}")
            .replace('"REQ"', f'"{req}"').replace('"LIM"', f'"{lim}"'))
    if machine is None:
        return text.replace("        node.kubernetes.io/instance-type: MACHINE\n", "")
    return text.replace("MACHINE", machine)


def _gpu_count(container: Container) -> tuple[str | None, str | None]:
    """nvidia.com/gpu (requests, limits) as written."""
    requests = as_dict(container.resources.get("requests"))
    limits = as_dict(container.resources.get("limits"))
    req, lim = requests.get(acc.GPU_RESOURCE), limits.get(acc.GPU_RESOURCE)
    return (None if req is None else str(req)), (None if lim is None else str(lim))


def _gpus(container: Container) -> int | None:
    """The GPUs the container gets: its limit (requests must equal it; GPU411 says when they do not)."""
    req, lim = _gpu_count(container)
    value = lim if lim is not None else req
    return int(value) if value is not None and value.isdigit() else None


def _selected(pod: PodModel, label: str) -> list[str]:
    """Values the pod requires for a node label: its nodeSelector, else required node affinity `In`."""
    selector = as_dict(pod.spec.get("nodeSelector"))
    if label in selector:
        return [str(selector[label])]
    affinity = as_dict(as_dict(as_dict(pod.spec.get("affinity")).get("nodeAffinity")).get(
        "requiredDuringSchedulingIgnoredDuringExecution"))
    values: list[str] = []
    for term in as_list(affinity.get("nodeSelectorTerms")):
        for expr in as_list(as_dict(term).get("matchExpressions")):
            expr = as_dict(expr)
            if expr.get("key") == label and expr.get("operator") == "In":
                values += [str(v) for v in as_list(expr.get("values"))]
    return values


def _gpu_accelerator(pod: PodModel) -> str | None:
    """The one table GPU the pod selects (None: none, several, or one the table does not know)."""
    values = _selected(pod, acc.GPU_ACCELERATOR_LABEL)
    if len(values) == 1 and acc.family(values[0]) == "gpu":
        return values[0]
    return None


def _node_gpus(pod: PodModel) -> tuple[int, str] | None:
    """GPUs on the pod's node and how we know: the pinned machine type's, else the most of any machine type
    of the selected accelerator (the largest node it can land on)."""
    machines = _selected(pod, acc.INSTANCE_TYPE_LABEL)
    accelerator = _gpu_accelerator(pod)
    if len(machines) == 1:
        carrier = acc.gpu_accelerator_of(machines[0])
        if carrier is not None:
            return acc.machine_types(carrier)[machines[0]], f"one {machines[0]} node"
    if accelerator is not None:
        shapes = acc.machine_types(accelerator)
        largest = max(shapes, key=lambda n: shapes[n])
        return shapes[largest], f"the largest {accelerator} node ({largest})"
    return None


def gpu_pods(graph: Graph) -> Iterator[PodModel]:
    for pod in graph.pods:
        wants_gpu = any(any(v is not None for v in _gpu_count(c)) for c in pod.containers)
        if wants_gpu or _gpu_accelerator(pod) is not None:
            yield pod


def _arg_path(container: Container, flag: str) -> tuple[str | int, ...]:
    for i, arg in enumerate(container.raw.get("args") or []):
        if isinstance(arg, str) and flag in arg and "\n" not in arg:
            return (*container.path, "args", i)
    return (*container.path, "args") if "args" in container.raw else container.path


@rule(
    "GPU410",
    "gpu-requests-not-limits",
    Severity.ERROR,
    summary="nvidia.com/gpu requests != limits (or only requests)",
    rationale="GPUs are an extended resource: Kubernetes cannot overcommit them, so a container must either "
    "set only the limit (the request defaults to it) or set both to the same whole number. The API server "
    "rejects `requests: 2, limits: 4` and a request without a limit (pkg/apis/core/validation "
    "ValidateResourceRequirements), and Argo CD's sync fails on it. TPUs have their own rule, TPU402.",
    links=(K8S_EXTENDED, GKE_GPU),
    fix="Set `nvidia.com/gpu` limits, and requests equal to them (infergate: `count` sets both).",
    bad=(
        mark_line(_pod(req="2"), "limits: {nvidia.com/gpu"),
        mark_line(_pod().replace('          limits: {nvidia.com/gpu: "4"}\n', ""), "requests: {cpu"),
    ),
    good=(_pod(), _pod().replace(', nvidia.com/gpu: "4"}', "}")),  # the limit alone: requests default to it
)
def gpu410(graph: Graph) -> Iterator[Hit]:
    for pod in gpu_pods(graph):
        for container in pod.containers:
            req, lim = _gpu_count(container)
            if req is None or req == lim:
                continue
            where = "limits" if lim is not None else "requests"
            yield Hit(pod.source, f"{container.name} in {pod.name}: nvidia.com/gpu requests {req} != limits "
                      f"{lim if lim is not None else '(none)'}",
                      (*container.path, "resources", where, acc.GPU_RESOURCE))


@rule(
    "GPU411",
    "gpu-count-exceeds-node",
    Severity.ERROR,
    summary="more GPUs than one node of the selected machine type / accelerator has, or a machine type that "
    "does not carry the selected GPU",
    rationale="A pod gets GPUs of one node only, and every Compute Engine GPU machine type has a fixed GPU "
    "count (g2-standard-48: 4 x L4, a2-highgpu-4g: 4 x A100, a3-highgpu-8g: 8 x H100; the accelerator "
    "table). 8 GPUs on an a2-highgpu-4g node, or 16 L4s anywhere, stay Pending forever; so does a pod "
    "pinning a machine type that carries another GPU than its `cloud.google.com/gke-accelerator`. "
    "(nvidia.com/gpu requests != limits is GPU410's.)",
    links=(K8S_EXTENDED, GCE_GPU_TYPES, GKE_GPU),
    fix="Request at most the GPUs of one node of the machine type (or pin a larger machine type: "
    "a2-highgpu-8g), and pin a machine type of the selected accelerator "
    "(infergate: `count` and `machineType` in the environment).",
    bad=(
        mark_line(_pod(machine="a2-highgpu-4g", accelerator="nvidia-tesla-a100", tp="8", req="8", lim="8"),
                  "limits: {nvidia.com/gpu"),
        mark_line(_pod(machine=None, req="16", lim="16", tp="16"), "limits: {nvidia.com/gpu"),
        mark_line(_pod(machine="a3-highgpu-4g"), "instance-type: a3-highgpu-4g"),
    ),
    good=(_pod(), _pod(machine=None, accelerator="nvidia-h100-80gb", tp="8", req="8", lim="8")),
)
def gpu411(graph: Graph) -> Iterator[Hit]:
    for pod in gpu_pods(graph):
        total = 0
        for container in pod.containers:
            total += _gpus(container) or 0
        accelerator = _gpu_accelerator(pod)
        machines = _selected(pod, acc.INSTANCE_TYPE_LABEL)
        if accelerator is not None and len(machines) == 1 and acc.gpu_accelerator_of(machines[0]) not in (
                None, accelerator):
            yield Hit(pod.source, f"{pod.name}: {machines[0]} nodes carry "
                      f"{acc.gpu_accelerator_of(machines[0])}, not {accelerator}",
                      (*pod.spec_path, "nodeSelector", acc.INSTANCE_TYPE_LABEL))
            continue
        node = _node_gpus(pod)
        if node is not None and total > node[0]:
            last = next(c for c in reversed(pod.containers) if _gpus(c))
            yield Hit(pod.source, f"{pod.name} requests {total} GPUs; {node[1]} has {node[0]}",
                      (*last.path, "resources", "limits", acc.GPU_RESOURCE))


def _world_size(container: Container) -> tuple[int, str] | None:
    """GPUs vLLM will use: tensor x pipeline x data parallel size, and how it was given."""
    sizes = []
    # data parallel ranks of this pod: --data-parallel-size-local when a multi-node deployment (KServe's
    # worker-data-parallel presets) spreads --data-parallel-size over several pods
    local = container.flag("--data-parallel-size-local")
    for flags in (("--tensor-parallel-size", "-tp"), ("--pipeline-parallel-size", "-pp"),
                  ("--data-parallel-size", "-dp")):
        value = next((v for v in (container.flag(f) for f in flags) if v is not None), None)
        if flags[0] == "--data-parallel-size" and local:
            value = local
        if value is not None and not value.isdigit():
            return None
        sizes.append((flags[0], int(value) if value is not None else 1))
    world = sizes[0][1] * sizes[1][1] * sizes[2][1]
    given = " x ".join(f"{flag}={n}" for flag, n in sizes if n > 1 or flag == "--tensor-parallel-size")
    return (world, given) if any(container.flag(f) for f in ("--tensor-parallel-size", "-tp",
                                                               "--pipeline-parallel-size", "-pp",
                                                               "--data-parallel-size", "-dp")) else None


@rule(
    "GPU412",
    "gpu-parallelism-exceeds-gpus",
    Severity.ERROR,
    summary="vLLM tensor x pipeline (x data) parallel size larger than the GPUs the container gets (or, "
    "without a GPU request, than its node has)",
    rationale="vLLM starts one worker per GPU of tensor x pipeline x data parallelism and refuses to start "
    "when the pod has fewer GPUs (`--tensor-parallel-size=8` with `nvidia.com/gpu: 4` fails at start-up "
    "after the image pull and model download). Without a GPU request the node's GPU count (the pinned "
    "machine type's, else the largest node of the selected accelerator) is the most it could ever see.",
    links=(VLLM_PARALLEL, GCE_GPU_TYPES),
    fix="Make tensor x pipeline parallelism equal the container's nvidia.com/gpu (infergate derives "
    "--tensor-parallel-size from `count`).",
    bad=(mark_line(_pod(machine="a2-highgpu-4g", accelerator="nvidia-tesla-a100", tp="8"),
                   "--tensor-parallel-size=8"),),
    good=(_pod(), _pod(machine="a2-highgpu-8g", accelerator="nvidia-tesla-a100", tp="8", req="8", lim="8")),
)
def gpu412(graph: Graph) -> Iterator[Hit]:
    for pod in gpu_pods(graph):
        node = _node_gpus(pod)
        for container in pod.containers:
            world = _world_size(container)
            if world is None:
                continue
            gpus = _gpus(container)
            if gpus is not None:
                have = (gpus, f"nvidia.com/gpu {gpus}")
            elif node is not None and not any(_gpu_count(c) != (None, None) for c in pod.containers):
                have = (node[0], f"{node[1]} has {node[0]} GPUs")
            else:
                continue
            if world[0] > have[0]:
                yield Hit(pod.source, f"{container.name}: {world[1]} needs {world[0]} GPUs, but {have[1]}",
                          _arg_path(container, world[1].partition("=")[0]))


def _tolerates_gpu(pod: PodModel) -> bool:
    for tol in as_list(pod.spec.get("tolerations")):
        tol = as_dict(tol)
        if tol.get("key") not in (acc.GPU_RESOURCE, None):
            continue
        if tol.get("effect") not in ("NoSchedule", None, ""):
            continue
        if tol.get("operator") == "Exists" or tol.get("value") == "present":
            return True
    return False


def _targets_gke(pod: PodModel) -> bool:
    """The pod names a GKE node label (cloud.google.com/...) in its node selector or required affinity: only
    then are GKE's GPU labels and taint facts about its cluster."""
    keys = set(as_dict(pod.spec.get("nodeSelector")))
    affinity = as_dict(as_dict(as_dict(pod.spec.get("affinity")).get("nodeAffinity")).get(
        "requiredDuringSchedulingIgnoredDuringExecution"))
    for term in as_list(affinity.get("nodeSelectorTerms")):
        keys |= {str(as_dict(e).get("key")) for e in as_list(as_dict(term).get("matchExpressions"))}
    return any(str(k).startswith("cloud.google.com/") for k in keys)


def _requests_gpus(pod: PodModel) -> bool:
    return any(any(v is not None for v in _gpu_count(c)) for c in pod.containers)


_GKE_POOL_POD = _pod(machine=None).replace("cloud.google.com/gke-accelerator: nvidia-l4",
                                           "cloud.google.com/gke-nodepool: gpu-pool")
_NO_REQUEST_POD = (_pod(machine=None)
                   .replace("      tolerations: [{key: nvidia.com/gpu, operator: Equal, value: present, "
                            "effect: NoSchedule}]\n", "")
                   .replace(', nvidia.com/gpu: "4"}', "}")
                   .replace('          limits: {nvidia.com/gpu: "4"}\n', "")
                   .replace("--tensor-parallel-size=4", "--tensor-parallel-size=1"))


@rule(
    "GPU413",
    "gpu-scheduling-missing",
    Severity.WARNING,
    summary="a pod on GKE GPU nodes without the cloud.google.com/gke-accelerator node selector, or selecting "
    "GPU nodes without requesting GPUs and without the nvidia.com/gpu toleration",
    rationale="GKE taints GPU node pools `nvidia.com/gpu=present:NoSchedule` in clusters that also have "
    "other nodes, and a cluster often has several GPU types. Its ExtendedResourceToleration admission adds "
    "the toleration to pods that request nvidia.com/gpu, so only a pod that selects GPU nodes without "
    "requesting GPUs needs to carry it (it stays Pending otherwise). Without the accelerator selector a GPU "
    "pod lands on whichever GPU has room: an 8B model sized for H100s on an L4, or the other way round. "
    "Judged only on pods that target GKE (a `cloud.google.com/` node label in their selector or required "
    "affinity): elsewhere the cluster's GPU labels and taints are unknown, and portable samples leave them "
    "out on purpose.",
    links=(GKE_GPU,),
    fix="Add `nodeSelector: {cloud.google.com/gke-accelerator: <GPU>}`, and the toleration `{key: "
    "nvidia.com/gpu, operator: Equal, value: present, effect: NoSchedule}` to pods that do not request GPUs "
    "(infergate emits both from the table).",
    bad=(
        mark_line(_GKE_POOL_POD, "nodeSelector:"),
        mark_line(_NO_REQUEST_POD, "nodeSelector:"),
    ),
    good=(_pod(), _pod(machine=None),
          _pod(machine=None).replace(  # a portable pod: no GKE node label, not judged
              "      nodeSelector:\n        cloud.google.com/gke-accelerator: nvidia-l4\n", "")),
)
def gpu413(graph: Graph) -> Iterator[Hit]:
    for pod in gpu_pods(graph):
        if not _targets_gke(pod):
            continue
        missing = []
        if not _requests_gpus(pod) and not _tolerates_gpu(pod):
            missing.append("the nvidia.com/gpu NoSchedule toleration (it requests no GPU, so GKE adds none)")
        if not _selected(pod, acc.GPU_ACCELERATOR_LABEL):
            missing.append(f"a {acc.GPU_ACCELERATOR_LABEL} node selector")
        if missing:
            where = "nodeSelector" if "nodeSelector" in pod.spec else "tolerations"
            path = (*pod.spec_path, where) if where in pod.spec else pod.spec_path
            yield Hit(pod.source, f"GPU pod {pod.name} lacks {' and '.join(missing)}", path)


# Bytes per weight. vLLM's --dtype auto keeps a bf16/fp16 checkpoint's dtype and casts fp32 to fp16, so
# auto counts 2. Quantized checkpoints (the name says so, or --quantization) count their smallest width,
# so the rule never fires on a model that might fit.
_DTYPE_BYTES = {"auto": 2.0, "half": 2.0, "float16": 2.0, "bfloat16": 2.0, "float": 4.0, "float32": 4.0}
_QUANT_WORDS = {"fp8": 1.0, "int8": 1.0, "w8a8": 1.0, "w8a16": 1.0, "8bit": 1.0, "awq": 0.5, "gptq": 0.5,
                "int4": 0.5, "w4a16": 0.5, "4bit": 0.5, "bnb": 0.5, "nf4": 0.5, "gguf": 0.5}
_QUANT_FLAG = {"fp8": 1.0, "fbgemm_fp8": 1.0, "modelopt": 1.0, "experts_int8": 1.0}  # else 4-bit or less


def _names(pod: PodModel, container: Container) -> list[str]:
    names = [container.flag("--served-model-name"), container.flag("--model")]
    if pod.kind == "LLMInferenceService":
        model = as_dict(pod.source.spec.get("model"))
        names += [model.get("name"), model.get("uri")]
    return [str(n) for n in names if n]


def _parameters_b(graph: Graph, pod: PodModel, names: list[str]) -> tuple[float, str] | None:
    """Billions of parameters and where from: the environment's model (for dist/<env>), else a size in the
    model's name the way the environment reads it ("Llama-3.1-70B"); None when neither says."""
    platform = graph.platform
    known = platform.fact("model_parameters_b") if hasattr(platform, "fact") else None
    value = (known or {}).get(f"{pod.source.namespace}/{pod.source.name}")
    if value is not None:
        return float(value), "the environment"
    for text in names:
        match = _SIZE.search(text.rpartition("/")[2])
        if match:
            return float(match.group(2)) * int(match.group(1) or 1), text.rpartition("/")[2]
    return None


def _bytes_per_weight(container: Container, names: list[str]) -> tuple[float, str]:
    quant = container.flag("--quantization") or container.flag("-q")
    if quant:
        return _QUANT_FLAG.get(quant.lower(), 0.5), f"--quantization={quant}"
    for text in names:
        words = set(re.split(r"[^a-z0-9]+", text.lower()))
        width = min((_QUANT_WORDS[w] for w in words if w in _QUANT_WORDS), default=None)
        if width is not None:
            return width, "quantized (by its name)"
    dtype = (container.flag("--dtype") or "auto").lower()
    return _DTYPE_BYTES.get(dtype, 2.0), dtype


@rule(
    "GPU414",
    "gpu-model-does-not-fit",
    Severity.ERROR,
    summary="the model's weights alone (parameters x bytes per weight at its dtype) exceed the memory of the "
    "GPUs the container gets",
    rationale="vLLM loads every weight into GPU memory before it serves anything; weights larger than "
    "GPUs x memory per GPU (L4 24 GB, A100 40/80 GB, H100 80 GB, H200 141 GB: the accelerator table) fail "
    "with CUDA out-of-memory after the download, and the KV cache needs room on top. A 70B model in bf16 is "
    "140 GB of weights: it needs two H100 80GB at least, never one L4. The parameter count comes from the "
    "environment when linting its dist/ (`parameters`, else the size in servedName/uri), elsewhere from a "
    "size in the served model name or model path; bytes per weight from --quantization or a quantized "
    "checkpoint name (fp8 1, awq/gptq/int4 0.5), else --dtype (auto and 16-bit 2, float32 4). When the "
    "size, the accelerator or the GPU count is unknown the rule says nothing.",
    links=(GCE_GPU_TYPES, "https://docs.vllm.ai/en/latest/configuration/engine_args.html"),
    fix="Give the model more or larger GPUs (count, accelerator), or serve a quantized checkpoint.",
    bad=(mark_line(_pod(machine=None, tp="1", req="1", lim="1", model="meta-llama/Llama-3.1-70B-Instruct"),
                   "--served-model-name=meta-llama/Llama-3.1-70B-Instruct"),),
    good=(_pod(machine=None, tp="1", req="1", lim="1", model="meta-llama/Llama-3.1-8B-Instruct"),
          _pod(accelerator="nvidia-h100-80gb", machine="a3-highgpu-2g", tp="2", req="2", lim="2",
               model="meta-llama/Llama-3.1-70B-Instruct")),
)
def gpu414(graph: Graph) -> Iterator[Hit]:
    for pod in gpu_pods(graph):
        accelerator = _gpu_accelerator(pod)
        if accelerator is None:
            continue
        memory_gb = float(acc.table()["accelerators"][accelerator]["memoryGB"])
        for container in pod.containers:
            gpus = _gpus(container)
            if not gpus:
                continue
            names = _names(pod, container)
            size = _parameters_b(graph, pod, names)
            if size is None:
                continue
            width, why = _bytes_per_weight(container, names)
            weights = size[0] * width
            if weights > gpus * memory_gb:
                path = (_arg_path(container, "--served-model-name") if container.flag("--served-model-name")
                        else (*container.path, "resources", "limits", acc.GPU_RESOURCE))
                yield Hit(pod.source, f"{container.name}: {size[0]:g}B parameters ({size[1]}) at {why} are "
                          f"{weights:g} GB of weights; {gpus} x {accelerator} hold {gpus * memory_gb:g} GB",
                          path)
