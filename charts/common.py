"""Labels, names and small helpers every chart shares."""

from __future__ import annotations

import cdk8s
from cdk8s_plus_33 import k8s
from constructs import Construct

MANAGED_BY = {"app.kubernetes.io/managed-by": "infergate"}


def labels(name: str, component: str, part_of: str, **extra: str) -> dict[str, str]:
    """app.kubernetes.io/* labels for an object infergate emits."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": part_of, **MANAGED_BY, **extra}


def meta(name: str, namespace: str | None = None, labels_: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None) -> k8s.ObjectMeta:
    return k8s.ObjectMeta(name=name, namespace=namespace, labels=labels_ or None,
                          annotations=annotations or None)


class Chart(cdk8s.Chart):
    """A chart = one folder of dist/<env>/ = one Argo CD Application; names are never hashed.

    ``wave`` (the Application's sync wave) and ``destination_namespace`` (its destination namespace)
    travel with the chart, so the app-of-apps needs no table of known folders."""

    def __init__(self, scope: Construct, folder: str, *, wave: int = 0,
                 destination_namespace: str = "default") -> None:
        super().__init__(scope, folder, disable_resource_name_hashes=True)
        self.folder = folder
        self.wave = wave
        self.destination_namespace = destination_namespace


def fqdn(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


class ExtensionChart(Chart):
    """A chart of the environment's `charts:` list: infergate creates it, the user's function fills it."""
