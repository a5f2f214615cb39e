"""Helpers shared by the rule families (not a rule module: names starting with "_" are not discovered)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from infergate.core.graph import GATEWAY_GROUP, POOL_GROUPS, Graph, K8sObject, as_dict, as_list

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ARGO_GROUP = "argoproj.io"

# Hardened pod/container fragments for examples (so an example fires only the rule it illustrates).
HARDENED_POD = """\
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}"""
HARDENED_CONTAINER = """\
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
        resources:
          requests: {cpu: 100m, memory: 128Mi}"""


def sync_options(obj: K8sObject) -> set[str]:
    """Argo CD sync options set on the object itself (annotation, comma separated)."""
    return {o.strip() for o in obj.annotations.get(SYNC_OPTIONS, "").split(",") if o.strip()}


def app_sync_options(app: K8sObject) -> set[str]:
    return {str(o).strip() for o in as_list(as_dict(app.spec.get("syncPolicy")).get("syncOptions"))}


def wave(obj: K8sObject) -> int:
    try:
        return int(obj.annotations.get(SYNC_WAVE, "0"))
    except ValueError:
        return 0


def app_sources(app: K8sObject) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
    spec = app.spec
    if isinstance(spec.get("source"), dict):
        return [(spec["source"], ("spec", "source"))]
    return [
        (s, ("spec", "sources", i)) for i, s in enumerate(as_list(spec.get("sources"))) if isinstance(s, dict)
    ]


def applications(graph: Graph) -> list[K8sObject]:
    return graph.of_kind("Application", ARGO_GROUP)


def _posix(file: str) -> str:
    return "/" + PurePosixPath(file.replace("\\", "/")).as_posix().lstrip("./")


def app_of(graph: Graph, obj: K8sObject) -> K8sObject | None:
    """The Argo CD Application whose source path holds the object's file (longest path wins)."""
    memo: dict[str, K8sObject | None] = graph.cache.setdefault("app_of_file", {})
    file = obj.doc.file
    if file in memo:
        return memo[file]
    where = _posix(file)
    best: tuple[int, K8sObject] | None = None
    for app in applications(graph):
        for source, _ in app_sources(app):
            path = str(source.get("path") or "").strip("/")
            if not path or path == ".":
                continue
            needle = f"/{path}/"
            if needle in where and (best is None or len(path) > best[0]):
                best = (len(path), app)
    memo[file] = best[1] if best else None
    return memo[file]


def gateway_listeners(gw: K8sObject) -> list[tuple[int, dict[str, Any]]]:
    return [(i, ls) for i, ls in enumerate(as_list(gw.spec.get("listeners"))) if isinstance(ls, dict)]


def listeners_for(gw: K8sObject, ref: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Listeners a parentRef attaches to (sectionName and port narrow it)."""
    found = []
    for i, ls in gateway_listeners(gw):
        if ref.get("sectionName") and ls.get("name") != ref["sectionName"]:
            continue
        if ref.get("port") is not None and ls.get("port") != ref["port"]:
            continue
        found.append((i, ls))
    return found


def backend_refs(route: K8sObject) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for r, rule in enumerate(as_list(route.spec.get("rules"))):
        for b, ref in enumerate(as_list(as_dict(rule).get("backendRefs"))):
            if isinstance(ref, dict):
                yield ("spec", "rules", r, "backendRefs", b), ref


def is_pool_ref(ref: dict[str, Any]) -> bool:
    return ref.get("kind") == "InferencePool" and ref.get("group", "") in POOL_GROUPS


def inference_routes(graph: Graph, *, include_virtual: bool = False) -> list[K8sObject]:
    """HTTPRoutes with at least one InferencePool backend (the ones that carry inference traffic)."""
    routes = graph.of_kind("HTTPRoute", GATEWAY_GROUP, include_virtual=include_virtual)
    return [r for r in routes if any(is_pool_ref(b) for _, b in backend_refs(r))]


def is_redirect_only(route: K8sObject) -> bool:
    """Every rule only redirects (no backends): the one thing a plaintext listener may carry."""
    rules = [as_dict(r) for r in as_list(route.spec.get("rules"))]
    return bool(rules) and all(
        not as_list(r.get("backendRefs"))
        and any(as_dict(f).get("type") == "RequestRedirect" for f in as_list(r.get("filters")))
        for r in rules
    )
