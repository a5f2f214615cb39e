"""The namespaces the stack owns: the gateway's and one per model namespace (never sidecar-injected)."""

from __future__ import annotations

import cdk8s
from cdk8s_plus_33 import k8s
from constructs import Construct

from infergate.config import Environment


class NamespacesChart(cdk8s.Chart):
    def __init__(self, scope: Construct, id_: str, env: Environment) -> None:
        super().__init__(scope, id_, disable_resource_name_hashes=True)
        for ns in sorted({env.gateway.namespace, *env.model_namespaces}):
            k8s.KubeNamespace(self, ns, metadata=k8s.ObjectMeta(
                name=ns, labels={"app.kubernetes.io/managed-by": "infergate"}))
