"""The namespaces the stack owns: the gateway's, the mesh's and one per model namespace.

None is labelled for sidecar injection: Pattern 1 runs without sidecars. The KServe
namespace is left to the KServe Application, which creates it (two owners would fight in Argo CD).

Each namespace enforces the strictest Pod Security Standard that every pod infergate knows will run there
meets (infergate.core.podsecurity, the predicate lint's SEC605 uses): restricted where infergate writes
every pod, baseline where pods come from elsewhere (Istio's gateway and istiod), privileged for the Istio
CNI node agent. A namespace that holds secrets created out of band is never pruned or deleted by Argo CD:
deleting it would delete them, and nothing in Git could bring them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import MANAGED_BY, Chart, meta

from infergate.core.podsecurity import ENFORCE_LABEL, containers_of, strictest_level
from infergate.synth.config import Environment

KEEP = {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# A pod whose security context infergate does not write (it meets baseline only).
FOREIGN_POD: tuple[Mapping[str, Any], list[Mapping[str, Any]]] = ({}, [{"name": "foreign"}])

Pod = tuple[Mapping[str, Any], list[Mapping[str, Any]]]


def owned_namespaces(env: Environment) -> list[str]:
    names = {env.gateway.namespace, env.mesh.namespace, *env.model_namespaces}
    if env.mesh.cni_enabled:
        names.add(env.mesh.cni_namespace)
    names.discard(env.operators.kserve.namespace)
    return sorted(names)


def pods_of(obj: Mapping[str, Any]) -> list[tuple[str | None, Pod]]:
    """(namespace, pod) for the pods an object makes the cluster run, as far as infergate can see."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    ns = (obj.get("metadata") or {}).get("namespace")
    if kind in _WORKLOADS:
        pod = (spec.get("template") or {}).get("spec") or {}
        return [(ns, (pod, containers_of(pod)))]
    if kind == "LLMInferenceService":  # the template; the presets' own containers are hardened
        pod = spec.get("template") or {}
        return [(ns, (pod, containers_of(pod)))]
    if kind == "Gateway" and str(obj.get("apiVersion", "")).startswith("gateway.networking.k8s.io/"):
        return [(ns, FOREIGN_POD)]  # Istio deploys the gateway pods
    return []


def pod_security_levels(env: Environment, objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Namespace -> the enforced Pod Security level of each namespace infergate owns."""
    pods: dict[str, list[Pod]] = {ns: [] for ns in owned_namespaces(env)}
    pods.setdefault(env.mesh.namespace, []).append(FOREIGN_POD)  # istiod, from sail-operator
    for obj in objects:
        for ns, pod in pods_of(obj):
            if ns in pods:
                pods[ns].append(pod)
    levels = {ns: strictest_level(found) for ns, found in pods.items()}
    if env.mesh.cni_enabled:
        levels[env.mesh.cni_namespace] = "privileged"  # the CNI agent writes the node's network config
    levels.update(env.pod_security)
    return levels


def secret_namespaces(env: Environment) -> set[str]:
    """Namespaces holding secrets created out of band (pull secrets, tokens)."""
    return {ns for ns, _ in env.platform.provided_secrets}


class NamespacesChart(Chart):
    WAVE = -4  # first: every namespaced folder below lands in one of these

    def __init__(self, scope: Construct, folder: str, env: Environment,
                 objects: Iterable[Mapping[str, Any]] = ()) -> None:
        """``objects``: everything else the environment emits (their pods decide the levels)."""
        super().__init__(scope, folder, wave=self.WAVE)
        levels = pod_security_levels(env, objects)
        keep = secret_namespaces(env)
        version = f"v{env.kubernetes_version}"
        for ns in owned_namespaces(env):
            lab = {**MANAGED_BY, ENFORCE_LABEL: levels[ns], f"{ENFORCE_LABEL}-version": version}
            notes = KEEP if ns in keep else None
            k8s.KubeNamespace(self, ns, metadata=meta(ns, labels_=lab, annotations=notes))
