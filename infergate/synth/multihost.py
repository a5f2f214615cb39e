"""Multi-host TPU slices: one vLLM server over every host of a slice, through KServe's LeaderWorkerSet.

How KServe (ODH release-v0.15 ``pkg/controller/llmisvc`` and kserve/kserve v0.20.0
``pkg/controller/v1alpha2/llmisvc``, ``workload_multi_node.go``) runs an ``LLMInferenceService`` with
``spec.worker``:

- it creates a LeaderWorkerSet ``<name>-kserve-mn`` whose ``leaderTemplate`` is ``spec.template`` and whose
  ``workerTemplate`` is ``spec.worker``; the group size is ``spec.parallelism.GetSize()``: ``pipeline`` when
  no data parallelism is set. So ``pipeline`` must be the host count, and ``tensor`` the chips of one host;
- leader pods carry ``app.kubernetes.io/component: llminferenceservice-workload-leader``,
  ``kserve.io/component: workload`` and ``llm-d.ai/role: both`` (so the InferencePool selects them);
  worker pods carry ``llminferenceservice-workload-worker`` and, because a leader template exists, neither
  of the two pool labels: workers never receive requests;
- with ``worker`` + pipeline parallelism it merges the well-known config
  ``kserve-config-llm-worker-pipeline-parallel`` instead of ``kserve-config-llm-template``, and stops when
  that config exists neither in the service's namespace nor in the controller's (v0.20: PresetsCombined
  False, reason ConfigNotFound; ODH v0.15: a reconcile error). No release ships it, so infergate emits it
  (``PIPELINE_CONFIG``) and states in the service what the skipped template preset would have given.

LeaderWorkerSet v0.10.0 (``api/leaderworkerset/v1``, ``pkg/utils/accelerators/tpu.go``) labels every pod
with ``leaderworkerset.sigs.k8s.io/name`` (and ``worker-index``, ``0`` on the leader), sets
``LWS_LEADER_ADDRESS`` / ``LWS_GROUP_SIZE`` / ``LWS_WORKER_INDEX``, and for containers requesting
``google.com/tpu`` injects ``TPU_WORKER_HOSTNAMES``, ``TPU_WORKER_ID``, ``TPU_NAME`` and
``TPU_PROCESS_ADDRESSES`` (``<pod>.<subdomain>:$TPU_PROCESS_PORT``, default 8476) per host.

The runtime is vLLM over a Ray cluster (vLLM's ``examples/online_serving/multi-node-serving.sh``, used by
LWS's ``docs/examples/vllm/TPU/lws.yaml``): the leader starts the Ray head and vLLM's API server once every
host joined; workers join the head. TPU chips talk over ICI, which is not TCP and no NetworkPolicy sees;
what crosses the pod network is Ray's control and object traffic and the TPU runtime's host coordination,
on the ports of ``GROUP_PORTS`` (Ray's random defaults are pinned so a NetworkPolicy can name them).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infergate.synth import accelerators

if TYPE_CHECKING:
    from infergate.synth.config import Model

# --- what KServe and LWS name and label ----------------------------------------------------------------
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
LEADER_COMPONENT = "llminferenceservice-workload-leader"
WORKER_COMPONENT = "llminferenceservice-workload-worker"
LWS_SUFFIX = "-kserve-mn"  # kmeta.ChildName(name, "-kserve-mn"): LWS, its headless Service, ServiceAccount
PIPELINE_CONFIG = "kserve-config-llm-worker-pipeline-parallel"
KSERVE_TLS_DIR = "/var/run/kserve/tls"
TLS_VOLUME = "tls-certs"
# the self-signed secret KServe issues per service, named as its own presets name it (Go template of the
# controller, rendered per LLMInferenceService when it merges the config)
KSERVE_TLS_SECRET = "{{ ChildName .ObjectMeta.Name `-kserve-self-signed-certs` }}"


def lws_name(service: str) -> str:
    return f"{service}{LWS_SUFFIX}"


def leader_labels(service: str) -> dict[str, str]:
    """The labels KServe puts on the leader pod template (LWS adds its own, see ``lws_labels``)."""
    return {"app.kubernetes.io/component": LEADER_COMPONENT, "app.kubernetes.io/name": service,
            "app.kubernetes.io/part-of": "llminferenceservice", "kserve.io/component": "workload",
            "llm-d.ai/role": "both"}


def worker_labels(service: str, has_leader_template: bool = True) -> dict[str, str]:
    labels = {"app.kubernetes.io/component": WORKER_COMPONENT, "app.kubernetes.io/name": service,
              "app.kubernetes.io/part-of": "llminferenceservice"}
    if not has_leader_template:  # then the workers are the pool's endpoints (KServe's own comment)
        labels.update({"kserve.io/component": "workload", "llm-d.ai/role": "decode"})
    return labels


def group_selector(service: str) -> dict[str, str]:
    """Every pod of the service's LeaderWorkerSet, leader and workers (the LWS controller's label)."""
    return {LWS_NAME_LABEL: lws_name(service)}


# --- the ports of the group ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GroupPort:
    number: int
    name: str  # containerPort name (<= 15 characters)
    why: str
    leader_only: bool = False  # only the leader listens (the Ray head)
    end: int | None = None  # a range number..end (NetworkPolicy endPort); not a containerPort

    @property
    def span(self) -> str:
        return f"{self.number}-{self.end}" if self.end else str(self.number)


RAY_GCS_PORT = 6379
RAY_MIN_WORKER_PORT, RAY_MAX_WORKER_PORT = 10002, 10101
TPU_PROCESS_PORT = 8476  # LWS tpu.go TpuProcessDefaultPort; set explicitly so LWS keeps it
GROUP_PORTS: tuple[GroupPort, ...] = (
    GroupPort(RAY_GCS_PORT, "ray-gcs", "Ray GCS server of the head (`ray start --head --port`, Ray's "
              "default 6379): workers register and every process looks up the cluster there",
              leader_only=True),
    GroupPort(6380, "ray-node-mgr", "Ray raylet node manager (`--node-manager-port`, random by default): "
              "task and actor scheduling between hosts"),
    GroupPort(6381, "ray-obj-mgr", "Ray object manager (`--object-manager-port`, random by default): "
              "object transfers between hosts"),
    GroupPort(6382, "ray-agent-grpc", "Ray dashboard agent gRPC (`--dashboard-agent-grpc-port`, random by "
              "default), which Ray lists among the ports every node opens"),
    GroupPort(6383, "ray-env-agent", "Ray runtime-env agent (`--runtime-env-agent-port`, random by default)"),
    GroupPort(6384, "ray-agent-http", "Ray dashboard agent HTTP (`--dashboard-agent-listen-port`)"),
    GroupPort(8471, "tpu-runtime", "the TPU runtime's multi-host slice port (xpk's 'slice builder' port; "
              "GKE's multi-host TPU workload examples declare containerPort 8471 on every host)"),
    GroupPort(TPU_PROCESS_PORT, "tpu-process", "TPU_PROCESS_PORT: the host address LWS puts into "
              "TPU_PROCESS_ADDRESSES for the TPU runtime's processes to find each other (LWS default 8476)"),
    GroupPort(RAY_MIN_WORKER_PORT, "ray-workers", "Ray worker processes (`--min-worker-port` / "
              "`--max-worker-port`, Ray's default range 10002-19999 narrowed): vLLM's Ray workers call each "
              "other directly", end=RAY_MAX_WORKER_PORT),
)


def container_ports(leader: bool) -> list[dict[str, Any]]:
    """The group ports a pod declares; a range by its two bounds (the policies admit all of it), so that
    readers and `infergate flows` see it."""
    out: list[dict[str, Any]] = []
    for p in GROUP_PORTS:
        if leader or not p.leader_only:
            bounds = ((p.number, f"{p.name}-lo"), (p.end, f"{p.name}-hi")) if p.end else ((p.number, p.name),)
            out += [{"name": name, "containerPort": n, "protocol": "TCP"} for n, name in bounds]
    return out


# --- the runtime's command lines -----------------------------------------------------------------------
def _ray_ports() -> list[str]:
    return ["--node-manager-port=6380", "--object-manager-port=6381", "--dashboard-agent-grpc-port=6382",
            "--runtime-env-agent-port=6383", "--dashboard-agent-listen-port=6384",
            f"--min-worker-port={RAY_MIN_WORKER_PORT}", f"--max-worker-port={RAY_MAX_WORKER_PORT}"]


JOIN_TIMEOUT_S = 600  # how long the leader waits for every host before it gives up (LWS recreates the group)


def leader_script(vllm_command: list[str]) -> str:
    """Start the Ray head, wait until all LWS_GROUP_SIZE hosts joined, then exec vLLM's API server."""
    head = shlex.join(["ray", "start", "--head", f"--port={RAY_GCS_PORT}", *_ray_ports(),
                       "--include-dashboard=false", "--disable-usage-stats"])
    count = ("python3 -c 'import ray; ray.init(address=\"auto\", logging_level=\"ERROR\"); "
             "print(sum(n[\"Alive\"] for n in ray.nodes()))'")
    return "\n".join([
        "set -eu",
        head,
        f"for _ in $(seq {JOIN_TIMEOUT_S // 5}); do",
        f'  [ "$({count})" -ge "$LWS_GROUP_SIZE" ] && break',
        "  sleep 5",
        "done",
        f'[ "$({count})" -ge "$LWS_GROUP_SIZE" ] || {{ echo "Ray: not every host joined" >&2; exit 1; }}',
        "exec " + shlex.join(vllm_command),
    ])


def worker_script() -> str:
    """Join the leader's Ray head (LWS_LEADER_ADDRESS: the leader pod's DNS name) and block."""
    join = shlex.join(["ray", "start", *_ray_ports(), "--disable-usage-stats", "--block"])
    return "\n".join(["set -eu", f'exec {join} --address="$LWS_LEADER_ADDRESS:{RAY_GCS_PORT}"'])


# --- what the model's spec says --------------------------------------------------------------------------
def multi_host(model: Model) -> bool:
    """A TPU slice of several hosts (other accelerator shapes are served by one pod)."""
    return isinstance(model.accelerator, accelerators.TpuSlice) and not model.accelerator.single_host


def parallelism(tpu: accelerators.TpuSlice) -> dict[str, int]:
    """spec.parallelism: KServe sizes the LWS group by ``pipeline``; vLLM shards each stage over one host."""
    return {"tensor": tpu.chips_per_host, "pipeline": tpu.hosts}


def vllm_flags(tpu: accelerators.TpuSlice) -> list[str]:
    """The flags a multi-host vLLM adds to the single-host command line."""
    return [f"--pipeline-parallel-size={tpu.hosts}", "--distributed-executor-backend=ray"]


def runtime_env(tpu: accelerators.TpuSlice) -> list[dict[str, Any]]:
    """Env of every host (leader and workers): the slice bounds, and the TPU process port LWS reuses."""
    env = [{"name": k, "value": v} for k, v in tpu.env().items()]
    env.append({"name": "TPU_PROCESS_PORT", "value": str(TPU_PROCESS_PORT)})
    return env


def group_size(parallelism: dict[str, Any]) -> int:
    """KServe's ParallelismSpec.GetSize() (both releases): data / dataLocal with data parallelism, else
    pipeline; unset (None there) leaves the LeaderWorkerSet's default size, 1: the leader alone."""
    def positive(key: str) -> int | None:
        value = parallelism.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    data, local = positive("data"), positive("dataLocal")
    if data or local:
        return max((data or 1) // (local or 1), 1)
    return positive("pipeline") or 1


def kserve_leader_worker_set(service: dict[str, Any]) -> dict[str, Any]:
    """The LeaderWorkerSet KServe's expectedMainMultiNodeLWS builds from an LLMInferenceService with
    ``worker`` (before its storage initializer and routing sidecar are attached): what tests validate
    against the pinned LWS CRD."""
    meta, spec = service["metadata"], service["spec"]
    name = meta["name"]
    has_leader = isinstance(spec.get("template"), dict)
    account = lws_name(name)
    template: dict[str, Any] = {
        "size": group_size(spec.get("parallelism") or {}),
        "restartPolicy": "RecreateGroupOnPodRestart",
        "workerTemplate": {"metadata": {"labels": worker_labels(name, has_leader)},
                           "spec": {**spec["worker"], "serviceAccountName": account}},
    }
    if has_leader:
        template["leaderTemplate"] = {"metadata": {"labels": leader_labels(name)},
                                      "spec": {**spec["template"], "serviceAccountName": account}}
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": lws_name(name), "namespace": meta["namespace"],
                         "labels": worker_labels(name, has_leader)},
            "spec": {"replicas": spec.get("replicas", 1), "leaderWorkerTemplate": template,
                     "rolloutStrategy": {"type": "RollingUpdate"}, "startupPolicy": "LeaderCreated"}}
