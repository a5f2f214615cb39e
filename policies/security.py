"""SEC6xx: pod security of everything the cluster runs for this stack."""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._examples import mark_line

from infergate.core import podsecurity
from infergate.core.findings import Severity
from infergate.core.graph import Container, Graph, PodModel, as_dict, as_list
from infergate.synth import accelerators as acc

PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
SECCTX = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915")

_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool, namespace: demo}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec:
POD
      containers:
      - name: tool
        image: IMAGE
CONTAINER
"""
_POD_OK = "      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}"
_CONTAINER_OK = """\
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 100m, memory: 64Mi}}"""


def _deployment(pod: str = _POD_OK, container: str = _CONTAINER_OK, image: str = "busybox:1.37") -> str:
    return _DEPLOYMENT.replace("POD", pod).replace("CONTAINER", container).replace("IMAGE", image)


def _from_preset(pod: PodModel, container: Container) -> str:
    """A hint when the container is one only KServe's presets (or a baseRef) add: the user never wrote it,
    and fixes it by naming it in the template (the merge is keyed by container name)."""
    if pod.origin == "kserve" and container.path == pod.spec_path:
        where = ".".join(map(str, (*pod.spec_path, "initContainers" if container.init else "containers")))
        return f" (KServe's preset adds it: override it by name under {where})"
    return ""


def checked_pods(graph: Graph) -> Iterator[PodModel]:
    """Pods whose spec comes from the output (Istio's gateway pods are the mesh operator's business)."""
    return (p for p in graph.pods if p.origin != "istio")


def _sc_path(container: Container, *keys: str) -> tuple:
    return (
        (*container.path, "securityContext", *keys) if "securityContext" in container.raw else container.path
    )


@rule(
    "SEC601",
    "privileged-pod",
    Severity.ERROR,
    summary="privileged, allowPrivilegeEscalation, host network/PID/IPC, hostPath",
    rationale="Each of these hands the container the node: a compromise of the model server (which parses "
    "untrusted prompts) or of any tool pod becomes a compromise of the TPU host and every other "
    "tenant on it. None of them is needed by vLLM, the endpoint picker or the gateway; the "
    "reference deployment's presets set none of them (baseline Pod Security Standard).",
    links=(PSS + "#baseline",),
    fix="Remove `privileged`, `allowPrivilegeEscalation: true`, `hostNetwork/hostPID/hostIPC` and hostPath "
    "volumes (use emptyDir, a PVC or a CSI volume instead).",
    bad=(
        mark_line(
            _deployment(
                pod=_POD_OK + "\n      hostNetwork: true  # <-",
                container=_CONTAINER_OK.replace(
                    "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"
                ),
            ),
            "allowPrivilegeEscalation: true",
        ),
        _deployment(pod=_POD_OK + "\n      volumes:\n      - {name: host, hostPath: {path: /}}  # <-"),
    ),
    good=(_deployment(),),
)
def sec601(graph: Graph) -> Iterator[Hit]:
    for pod in checked_pods(graph):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(key) is True:
                yield Hit(pod.source, f"{pod.name} sets {key}: true", (*pod.spec_path, key))
        for i, volume in enumerate(as_list(pod.spec.get("volumes"))):
            if isinstance(volume, dict) and "hostPath" in volume:
                yield Hit(
                    pod.source,
                    f"{pod.name} mounts hostPath volume {volume.get('name')!r}",
                    (*pod.spec_path, "volumes", i),
                )
        for container in pod.all_containers:
            sc = container.security_context
            if sc.get("privileged") is True:
                yield Hit(
                    pod.source,
                    f"{container.name} in {pod.name} is privileged",
                    _sc_path(container, "privileged"),
                )
            if sc.get("allowPrivilegeEscalation") is True:
                yield Hit(
                    pod.source,
                    f"{container.name} in {pod.name} allows privilege escalation",
                    _sc_path(container, "allowPrivilegeEscalation"),
                )


def _hardening_gaps(pod: PodModel, container: Container) -> list[str]:
    pod_sc, sc = as_dict(pod.spec.get("securityContext")), container.security_context
    gaps = []
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if non_root is not True and not (isinstance(user, int) and user > 0):
        gaps.append("runAsNonRoot: true")
    drops = [str(c).upper() for c in as_list(as_dict(sc.get("capabilities")).get("drop"))]
    if "ALL" not in drops:
        gaps.append("capabilities.drop: [ALL]")
    seccomp = as_dict(sc.get("seccompProfile")).get("type") or as_dict(pod_sc.get("seccompProfile")).get(
        "type"
    )
    if seccomp not in ("RuntimeDefault", "Localhost"):
        gaps.append("seccompProfile RuntimeDefault")
    return gaps


@rule(
    "SEC602",
    "pod-not-hardened",
    Severity.WARNING,
    summary="not runAsNonRoot, capabilities not dropping ALL, no RuntimeDefault seccomp",
    rationale="The restricted Pod Security Standard: a non-root user, no Linux capabilities and the "
    "runtime's "
    "seccomp profile shrink what an exploited container can do. KServe's presets give vLLM "
    "and the "
    "endpoint picker all three; anything the output adds should match.",
    links=(PSS + "#restricted", SECCTX),
    fix="Set `securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}` on the "
    "pod and "
    "`capabilities: {drop: [ALL]}` on every container.",
    bad=(
        mark_line(
            _deployment(
                pod="      securityContext: {seccompProfile: {type: RuntimeDefault}}",
                container=_CONTAINER_OK.replace(
                    "capabilities: {drop: [ALL]}", "capabilities: {add: [NET_RAW]}"
                ),
            ),
            "NET_RAW",
        ),
    ),
    good=(_deployment(),),
)
def sec602(graph: Graph) -> Iterator[Hit]:
    for pod in checked_pods(graph):
        for container in pod.all_containers:
            gaps = _hardening_gaps(pod, container)
            if gaps:
                yield Hit(pod.source, f"{container.name} in {pod.name} lacks {', '.join(gaps)}"
                          + _from_preset(pod, container), _sc_path(container))


@rule(
    "SEC603",
    "resources-unset",
    Severity.WARNING,
    summary="containers without CPU/memory requests; accelerators with requests != limits",
    rationale="Without requests the scheduler packs pods blindly and the kubelet evicts them first under "
    "pressure (BestEffort QoS) — a model server that took minutes to load its weights is the "
    "worst pod to lose. Extended resources (GPUs) must have requests equal to limits or the "
    "pod is "
    "rejected. TPU chips are checked by TPU402, NVIDIA GPUs by GPU410.",
    links=("https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",),
    fix="Give every container `resources.requests.cpu` and `.memory`; set accelerator requests equal to "
    "limits.",
    bad=(
        mark_line(
            _deployment(
                container=_CONTAINER_OK.replace(
                    "resources: {requests: {cpu: 100m, memory: 64Mi}}", "resources: {limits: {memory: 64Mi}}"
                )
            ),
            "resources:",
        ),
    ),
    good=(_deployment(),),
)
def sec603(graph: Graph) -> Iterator[Hit]:
    for pod in checked_pods(graph):
        for container in pod.all_containers:
            requests = as_dict(container.resources.get("requests"))
            limits = as_dict(container.resources.get("limits"))
            path = (*container.path, "resources") if "resources" in container.raw else container.path
            missing = [k for k in ("cpu", "memory") if k not in requests and k not in limits]
            if missing:
                yield Hit(pod.source, f"{container.name} in {pod.name} requests no {' or '.join(missing)}"
                          + _from_preset(pod, container), path)
            for resource in GPU_RESOURCES:
                if resource == acc.GPU_RESOURCE:  # GPU410's, as google.com/tpu is TPU402's
                    continue
                if (resource in requests or resource in limits) and str(requests.get(resource)) != str(
                    limits.get(resource)
                ):
                    yield Hit(
                        pod.source,
                        f"{container.name} in {pod.name}: {resource} requests "
                        f"{requests.get(resource)} != limits {limits.get(resource)}",
                        path,
                    )


def image_problem(image: str, strict: bool) -> str | None:
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if digest:
        return None
    if not tag:
        return "has no tag (means :latest)"
    if tag == "latest":
        return "uses :latest"
    if strict:
        return "is not pinned by digest (--strict-images)"
    return None


@rule(
    "SEC604",
    "image-not-pinned",
    Severity.WARNING,
    summary="image without a tag, `:latest`, or (with --strict-images) without a digest",
    rationale="A moving tag makes the same commit deploy different software on every pull: rollouts "
    "are not "
    "reproducible and a compromised registry tag goes straight to production. The reference "
    "deployment pins every image by tag, and its operator by digest.",
    links=("https://kubernetes.io/docs/concepts/containers/images/#image-names",),
    fix="Pin a version tag (`vllm/vllm-openai:v0.10.1`), or better a digest (`…@sha256:…`).",
    bad=(_deployment(image="busybox  # <-"), _deployment(image="busybox:latest  # <-")),
    good=(_deployment(image="busybox:1.37"), _deployment(image="busybox@sha256:" + "0" * 64)),
)
def sec604(graph: Graph) -> Iterator[Hit]:
    strict = bool(getattr(graph.platform, "strict_images", False))
    for pod in checked_pods(graph):
        for container in pod.all_containers:
            if not container.image:
                continue
            problem = image_problem(container.image, strict)
            if problem:
                path = (*container.path, "image") if "image" in container.raw else container.path
                yield Hit(pod.source, f"image {container.image} of {container.name} {problem}", path)


_RESTRICTED_NS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    pod-security.kubernetes.io/enforce: restricted  # <-
---
"""


# restricted admits only configMap, csi, downwardAPI, emptyDir, ephemeral, PVC, projected and secret volumes
_NFS_DEPLOYMENT = _deployment(
    pod=_POD_OK + "\n      volumes:\n      - {name: data, nfs: {server: nfs.example, path: /}}")


def _pod_dicts(pod: PodModel) -> tuple[dict, list[dict]]:
    """The pod as Pod Security admission sees it: its spec, and each container's effective security context
    (KServe's preset defaults included)."""
    containers = [{"name": c.name, "securityContext": c.security_context, "ports": c.raw.get("ports", [])}
                  for c in pod.all_containers]
    return pod.spec, containers


@rule(
    "SEC605",
    "pod-security-level-rejects-pod",
    Severity.ERROR,
    summary="a namespace whose enforced Pod Security level (pod-security.kubernetes.io/enforce) rejects "
    "a pod the output makes it run",
    rationale="Pod Security admission refuses to create a pod that breaks the namespace's enforced "
    "standard: the Deployment (or KServe, or Istio) keeps retrying, and nothing runs. infergate labels "
    "each namespace it creates with the strictest level every pod it knows of meets (restricted where it "
    "writes every pod, baseline where Istio's gateway pods run, privileged for the CNI agent); a pod "
    "added later, or a level set by hand, can break that.",
    links=(PSS, "https://kubernetes.io/docs/concepts/security/pod-security-admission/"),
    fix="Harden the pod to the level (the message lists what it lacks), or lower the namespace's level "
    "(infergate: `platform.podSecurity: {<namespace>: baseline}`).",
    bad=(_RESTRICTED_NS + _NFS_DEPLOYMENT,),
    good=(_RESTRICTED_NS.replace("  # <-", "") + _deployment(),
          _RESTRICTED_NS.replace("restricted  # <-", "baseline") + _NFS_DEPLOYMENT),
)
def sec605(graph: Graph) -> Iterator[Hit]:
    for ns in graph.of_kind("Namespace", ""):
        level = ns.labels.get(podsecurity.ENFORCE_LABEL)
        if level not in ("baseline", "restricted"):
            continue
        for pod in graph.pods_in(ns.name):
            spec, containers = _pod_dicts(pod)
            problems = podsecurity.problems(level, spec, containers)
            if problems:
                yield Hit(ns, f"Pod Security '{level}' in namespace {ns.name} rejects the pods of {pod.kind} "
                          f"{pod.name}: {'; '.join(problems)}",
                          ("metadata", "labels", podsecurity.ENFORCE_LABEL))
