"""Shared reading of InferencePools, EPP pods and vLLM containers (both pool API versions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infergate.core.graph import (
    POOL_GROUPS,
    Container,
    Graph,
    K8sObject,
    PodModel,
    Resolved,
    as_dict,
    as_list,
)

MODEL_SERVER_ROLES = ("model-server", "other")
EPP_GRPC_PORT = 9002
ISTIO_GROUP = "networking.istio.io"


@dataclass(frozen=True, slots=True)
class PoolView:
    pool: K8sObject
    selector: dict[str, Any] | None
    selector_path: tuple[str, ...]
    target_ports: tuple[int, ...]
    ports_path: tuple[str, ...]
    epp_name: str | None
    epp_kind: str
    epp_group: str
    epp_port: int
    epp_path: tuple[str, ...]


def pool_view(pool: K8sObject) -> PoolView:
    spec = pool.spec
    if pool.version == "v1alpha2":
        ext = as_dict(spec.get("extensionRef"))
        port = ext.get("portNumber", EPP_GRPC_PORT)
        target = spec.get("targetPortNumber")
        selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else None
        return PoolView(
            pool,
            selector,
            ("spec", "selector"),
            (target,) if isinstance(target, int) else (),
            ("spec", "targetPortNumber"),
            ext.get("name"),
            str(ext.get("kind", "Service")),
            str(ext.get("group", "")),
            port if isinstance(port, int) else EPP_GRPC_PORT,
            ("spec", "extensionRef"),
        )
    ref = as_dict(spec.get("endpointPickerRef"))
    port = as_dict(ref.get("port")).get("number", EPP_GRPC_PORT)
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else None
    targets = tuple(
        p.get("number")
        for p in as_list(spec.get("targetPorts"))
        if isinstance(p, dict) and isinstance(p.get("number"), int)
    )
    return PoolView(
        pool,
        selector,
        ("spec", "selector"),
        targets,
        ("spec", "targetPorts"),
        ref.get("name"),
        str(ref.get("kind", "Service")),
        str(ref.get("group", "")),
        port if isinstance(port, int) else EPP_GRPC_PORT,
        ("spec", "endpointPickerRef"),
    )


def pools(graph: Graph, *, include_virtual: bool = False) -> list[K8sObject]:
    return [
        p for g in POOL_GROUPS for p in graph.of_kind("InferencePool", g, include_virtual=include_virtual)
    ]


def model_pods(graph: Graph, view: PoolView) -> list[PodModel]:
    ns = view.pool.namespace or "default"
    return [p for p in graph.pods_matching(ns, view.selector) if p.role not in ("epp", "gateway")]


def service_target(svc: K8sObject, port: int) -> tuple[int | None, Any]:
    """(index of the Service port ``port``, its targetPort (name or number)), or (None, None)."""
    for i, item in enumerate(as_list(svc.spec.get("ports"))):
        if isinstance(item, dict) and item.get("port") == port:
            return i, item.get("targetPort", port)
    return None, None


def pods_of_service(graph: Graph, svc: K8sObject) -> list[PodModel]:
    selector = svc.spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        return []
    return graph.pods_matching(svc.namespace or "default", selector)


def epp_service(graph: Graph, view: PoolView) -> K8sObject | None:
    """The pool's endpoint-picker Service: one copy in the tree, else None (a provided, unknown or duplicated
    Service is noted by the resolution: rules skip what needs it)."""
    found = epp_service_resolved(graph, view)
    return found.obj if found is not None else None


def epp_service_resolved(graph: Graph, view: PoolView) -> Resolved | None:
    if not view.epp_name or view.epp_kind != "Service" or view.epp_group:
        return None
    return graph.resolve(
        "Service", view.pool.namespace, str(view.epp_name), "", referrer=view.pool, path=view.epp_path,
        need="the endpoint picker behind the pool",
    )


def epp_pods(graph: Graph, view: PoolView) -> list[PodModel]:
    """Pods behind the pool's endpoint-picker Service that serve its gRPC port."""
    svc = epp_service(graph, view)
    if svc is None:
        return []
    _, target = service_target(svc, view.epp_port)
    if target is None:
        return []
    return [p for p in pods_of_service(graph, svc) if p.exposes(target)]


def main_container(pod: PodModel) -> Container | None:
    for container in pod.containers:
        if container.flag("--pool-name") is not None or container.name in ("main", "epp", "vllm"):
            return container
    return pod.containers[0] if pod.containers else None


def flag_values(container: Container, name: str) -> list[str]:
    """Every value of a flag that takes one or more words (``--served-model-name a b``)."""
    words, values = container.argv, []
    for i, word in enumerate(words):
        if word.startswith(name + "="):
            values.append(word[len(name) + 1 :].strip("'\""))
        elif word == name:
            for nxt in words[i + 1 :]:
                if nxt.startswith("-"):
                    break
                values.append(nxt.strip("'\""))
    return values


def served_model_ids(container: Container) -> list[str] | None:
    """The ids vLLM answers to (``--served-model-name``, else the model path); None if not vLLM-like."""
    names = flag_values(container, "--served-model-name")
    if names:
        return names
    model = container.flag("--model")
    if model:
        return [model]
    words = container.argv
    for i, word in enumerate(words[:-1]):
        if word == "serve" and not words[i + 1].startswith("-"):
            return [words[i + 1].strip("'\"")]
    return None


def serves_tls(container: Container) -> bool:
    return container.flag("--ssl-certfile") not in (None, "")


def epp_secure(container: Container) -> bool:
    """The EPP serves gRPC over TLS unless told otherwise (upstream default of --secure-serving is true)."""
    value = container.flag("--secure-serving")
    return value is None or value.lower() not in ("false", "0")


def destination_rules_for(graph: Graph, svc: K8sObject) -> list[K8sObject]:
    """DestinationRules whose host is this Service (short names resolve in the rule's own namespace)."""
    by_host: dict[str, list[K8sObject]] = graph.cache.get("dr_by_host")  # type: ignore[assignment]
    if by_host is None:
        by_host = {}
        for dr in graph.of_kind("DestinationRule", ISTIO_GROUP):
            host = str(dr.spec.get("host", ""))
            key = f"{host}.{dr.namespace}.svc.cluster.local" if "." not in host else host
            parts = key.split(".")
            if len(parts) == 2:
                key = f"{key}.svc.cluster.local"
            elif len(parts) == 3 and parts[2] == "svc":
                key = f"{key}.cluster.local"
            by_host.setdefault(key, []).append(dr)
        graph.cache["dr_by_host"] = by_host
    return list(by_host.get(f"{svc.name}.{svc.namespace or 'default'}.svc.cluster.local", ()))


def dr_tls_mode(dr: K8sObject) -> str | None:
    policy = as_dict(dr.spec.get("trafficPolicy"))
    mode = as_dict(policy.get("tls")).get("mode")
    if mode is None:
        for setting in as_list(policy.get("portLevelSettings")):
            mode = as_dict(as_dict(setting).get("tls")).get("mode") or mode
    return str(mode) if mode else None


def services_selecting(graph: Graph, pod: PodModel) -> list[K8sObject]:
    found = []
    for svc in graph.in_namespace("Service", pod.namespace, "", include_virtual=True):
        selector = svc.spec.get("selector")
        if (
            isinstance(selector, dict)
            and selector
            and all(pod.labels.get(k) == str(v) for k, v in selector.items())
        ):
            found.append(svc)
    return found
