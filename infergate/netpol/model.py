"""Input types of the NetworkPolicy evaluator: namespaces, endpoints (pods and external addresses), ports.

The evaluator needs none of the lint object graph: callers (the graph adapter, tests, the benchmark)
build these small values. An ``Endpoint`` is either a pod *template* (every replica of a controller has
the same labels and ports, so one endpoint stands for all of them) or an external address set (the API
server, "the internet"). Pod-to-pod verdicts depend only on labels, so a pod template can be both source
and destination of the same flow: that is replica-to-replica traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port a destination listens on (a container port, or a port of an external service)."""

    number: int
    protocol: str = "TCP"
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.protocol}/{self.number}"


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def effective_labels(self) -> dict[str, str]:
        """The labels selectors see: the API server always adds ``kubernetes.io/metadata.name``."""
        return {**self.labels, NAME_LABEL: self.name}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A pod template (``namespace`` set) or an external address set (``namespace`` None, ``cidrs`` set)."""

    key: str  # unique and stable, e.g. "llm-d/qwen-kserve" or "external/api-server"
    namespace: str | None
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortSpec, ...] = ()
    role: str | None = None
    cidrs: tuple[str, ...] = ()  # external endpoints: the addresses this endpoint stands for ...
    excepts: tuple[str, ...] = ()  # ... minus these
    synthetic: bool = False  # not a workload of the manifests (probe pods, platform pods, externals)
    source: Any = field(default=None, compare=False, repr=False)  # the Document it came from, if any
    attrs: Mapping[str, Any] = field(default_factory=dict, compare=False)  # e.g. model_uri

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    def __str__(self) -> str:
        return self.key


def pod(namespace: str, name: str, labels: Mapping[str, str] | None = None,
        ports: tuple[PortSpec, ...] | list[PortSpec] = (), **kwargs: Any) -> Endpoint:
    return Endpoint(key=f"{namespace}/{name}", namespace=namespace, name=name, labels=dict(labels or {}),
                    ports=tuple(ports), **kwargs)


def external(name: str, cidrs: tuple[str, ...] | list[str], ports: tuple[PortSpec, ...] | list[PortSpec] = (),
             excepts: tuple[str, ...] | list[str] = (), **kwargs: Any) -> Endpoint:
    return Endpoint(key=f"external/{name}", namespace=None, name=name, ports=tuple(ports), cidrs=tuple(cidrs),
                    excepts=tuple(excepts), synthetic=True, **kwargs)
