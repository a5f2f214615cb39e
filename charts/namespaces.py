"""The namespaces the stack owns: the gateway's, the mesh's and one per model namespace.

None is labelled for sidecar injection: Pattern 1 runs without sidecars. The KServe
namespace is left to the KServe Application, which creates it (two owners would fight in Argo CD).
"""

from __future__ import annotations

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import MANAGED_BY, Chart, meta

from infergate.synth.config import Environment


def owned_namespaces(env: Environment) -> list[str]:
    names = {env.gateway.namespace, env.mesh.namespace, *env.model_namespaces}
    if env.mesh.cni_enabled:
        names.add(env.mesh.cni_namespace)
    names.discard(env.operators.kserve.namespace)
    return sorted(names)


class NamespacesChart(Chart):
    WAVE = -4  # first: every namespaced folder below lands in one of these

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE)
        for ns in owned_namespaces(env):
            k8s.KubeNamespace(self, ns, metadata=meta(ns, labels_=dict(MANAGED_BY)))
