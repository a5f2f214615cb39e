"""The order Argo CD syncs one dist/<env>: which objects, in which namespace, in which order.

Modelled on Argo CD's sync (gitops-engine ``pkg/sync``):
  * The user applies ``bootstrap/`` (the root Application) into Argo CD's namespace; the root Application
    syncs ``argocd/`` (AppProjects and the env's Applications); each Application then syncs its folder.
    Child Applications run in the root's order (sync wave, then kind, then name): with the Application
    health check in argocd-cm the root waits for one wave to be healthy before the next.
  * Inside one sync: phase (PreSync, Sync, PostSync hooks), then ``argocd.argoproj.io/sync-wave``, then
    Argo CD's kind order (Namespace, NetworkPolicy, ... CustomResourceDefinition ... ; kinds it does not
    know, i.e. custom resources, last), then name; then a Namespace moves before the first object in it
    and a CRD before the first object of its kind.
  * ``CreateNamespace=true`` creates ``spec.destination.namespace`` before the folder; a namespaced object
    without ``metadata.namespace`` lands in the destination namespace.
  * An Application whose source is not a folder of this dist (a Helm chart, an upstream repository) is
    not applied: the kinds it installs come from the pinned CRDs, installed before the sync.
A dist/<name> folder without ``argocd/Application.*.yaml`` (e.g. ``fleet``) is one plain sync.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.core.loader import Document, LoadProblem, load_paths

ARGOCD_NAMESPACE = "argocd"  # where Argo CD is installed: it exists before the bootstrap is applied
WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
_PHASES = {"PreSync": -1, "Sync": 0, "PostSync": 1, "SyncFail": 2}
# gitops-engine's kind order (after Helm's); kinds not listed sort after all of these
_KIND_ORDER = ["Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
               "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
               "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
               "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
               "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
               "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
               "Ingress", "APIService"]
KIND_RANK = {kind: i - len(_KIND_ORDER) for i, kind in enumerate(_KIND_ORDER)}


@dataclass
class Item:
    """One object to apply: the manifest as Argo CD sends it, and where it came from."""

    doc: Document
    obj: dict[str, Any]  # with the destination namespace filled in where the object is namespaced

    @property
    def ref(self) -> str:
        meta = self.obj.get("metadata") or {}
        ns = meta.get("namespace")
        where = f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))
        return f"{self.obj.get('kind')} {where}"


@dataclass
class Step:
    """One Argo CD sync: an Application (or the bootstrap) and the objects it applies."""

    name: str
    items: list[Item] = field(default_factory=list)
    destination_namespace: str | None = None
    create_namespace: bool = False
    skipped: str | None = None  # why nothing is applied (external source)
    server_side_diff: bool = False
    server_side_apply: bool = False  # the Application's syncOptions: which diff Argo CD computes
    ignore_differences: list[dict[str, Any]] = field(default_factory=list)
    application: Document | None = None


@dataclass
class EnvPlan:
    env: str
    directory: Path
    steps: list[Step]
    problems: list[LoadProblem]
    files: int


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ann = meta.get("annotations")
    return ann if isinstance(ann, dict) else {}


def _wave(obj: dict[str, Any]) -> int:
    try:
        return int(str(_annotations(obj).get(WAVE, "0")).strip())
    except ValueError:
        return 0


def _phase(obj: dict[str, Any]) -> int:
    hooks = [h.strip() for h in str(_annotations(obj).get(HOOK, "")).split(",") if h.strip()]
    return min((_PHASES.get(h, 0) for h in hooks), default=0)


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return str(meta.get("name", ""))


def sync_order(items: list[Item]) -> list[Item]:
    ordered = sorted(items, key=lambda i: (_phase(i.obj), _wave(i.obj),
                                           KIND_RANK.get(str(i.obj.get("kind")), 0), _name(i.obj)))
    _bubble(ordered, _namespace_key, lambda o: (o.get("metadata") or {}).get("namespace"))
    _bubble(ordered, _crd_key, lambda o: f"{str(o.get('apiVersion', '')).rpartition('/')[0]}/{o.get('kind')}")
    return ordered


def _namespace_key(obj: dict[str, Any]) -> str | None:
    return _name(obj) if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1" else None


def _crd_key(obj: dict[str, Any]) -> str | None:
    if obj.get("kind") != "CustomResourceDefinition":
        return None
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    return f"{spec.get('group')}/{names.get('kind')}"


def _bubble(items: list[Item], dep_key: Any, ref_key: Any) -> None:
    """Move each dependency (a Namespace, a CRD) before the first object that needs it."""
    first: dict[str, int] = {}
    for i, item in enumerate(list(items)):
        key = dep_key(item.obj)
        if key is not None:
            if key in first and first[key] < i:
                items.insert(first[key], items.pop(i))
                first = {k: (v + 1 if v >= first[key] else v) for k, v in first.items()}
        else:
            ref = ref_key(item.obj)
            if ref and ref not in first:
                first[ref] = i


def _load(folder: Path, problems: list[LoadProblem]) -> list[Document]:
    documents, load_problems = load_paths([folder])
    problems.extend(load_problems)
    return [d for d in documents if isinstance(d.obj, dict)]


def _items(documents: list[Document], namespace: str | None, namespaced: Any) -> list[Item]:
    items = []
    for doc in documents:
        obj = copy.deepcopy(doc.obj)
        meta = obj.setdefault("metadata", {})
        if isinstance(meta, dict) and not meta.get("namespace") and namespace and namespaced(obj):
            meta["namespace"] = namespace
        items.append(Item(doc, obj))
    return sync_order(items)


def _options(values: Any) -> set[str]:
    return {str(v).strip() for v in values} if isinstance(values, list) else set()


def _local_folder(source: dict[str, Any], env_dir: Path) -> Path | None:
    """The dist folder an Application source points at: ``<distPath>/<env>/<folder>``, if it is ours."""
    if source.get("chart") or not isinstance(source.get("path"), str):
        return None
    parts = [p for p in source["path"].strip("/").split("/") if p]
    if len(parts) < 2 or parts[-2] != env_dir.name:
        return None
    folder = env_dir / parts[-1]
    return folder if folder.is_dir() else None


def plan_env(env_dir: Path, namespaced: Any) -> EnvPlan:
    """The sync plan of ``dist/<env>``; ``namespaced(obj)`` tells whether an object's kind is namespaced."""
    problems: list[LoadProblem] = []
    argocd = env_dir / "argocd"
    apps = sorted(argocd.glob("Application.*.yaml")) if argocd.is_dir() else []
    if not apps:  # a plain folder, synced by one Application living elsewhere (the fleet's ApplicationSet)
        docs = _load(env_dir, problems)
        step = Step(name=env_dir.name, items=_items(docs, ARGOCD_NAMESPACE, namespaced))
        return EnvPlan(env_dir.name, env_dir, [step], problems, len({d.file for d in docs}))
    steps: list[Step] = []
    files: set[str] = set()
    if (env_dir / "bootstrap").is_dir():
        docs = _load(env_dir / "bootstrap", problems)
        files.update(d.file for d in docs)
        steps.append(Step(name="bootstrap", items=_items(docs, ARGOCD_NAMESPACE, namespaced)))
    root_docs = _load(argocd, problems)
    files.update(d.file for d in root_docs)
    root = Step(name=f"{env_dir.name}-root (argocd/)", items=_items(root_docs, ARGOCD_NAMESPACE, namespaced))
    steps.append(root)
    for item in root.items:  # child Applications in the order the root syncs them
        obj = item.obj
        if obj.get("kind") != "Application" or not str(obj.get("apiVersion", "")).startswith("argoproj.io/"):
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        dest = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        policy = spec.get("syncPolicy") if isinstance(spec.get("syncPolicy"), dict) else {}
        compare = str(_annotations(obj).get(COMPARE_OPTIONS, ""))
        options = _options(policy.get("syncOptions"))
        step = Step(name=_name(obj), destination_namespace=dest.get("namespace") or None,
                    create_namespace="CreateNamespace=true" in options,
                    server_side_apply="ServerSideApply=true" in options,
                    server_side_diff="ServerSideDiff=true" in {o.strip() for o in compare.split(",")},
                    ignore_differences=[d for d in spec.get("ignoreDifferences") or []
                                        if isinstance(d, dict)],
                    application=item.doc)
        sources = spec.get("sources") if isinstance(spec.get("sources"), list) else [spec.get("source") or {}]
        folders = [f for f in (_local_folder(s, env_dir) for s in sources if isinstance(s, dict)) if f]
        if not folders:
            first = sources[0] if sources and isinstance(sources[0], dict) else {}
            what = first.get("chart") or first.get("path") or "?"
            step.skipped = f"source {first.get('repoURL', '?')} {what} is not in this dist"
        docs = [d for folder in folders for d in _load(folder, problems)]
        files.update(d.file for d in docs)
        step.items = _items(docs, step.destination_namespace, namespaced)
        steps.append(step)
    return EnvPlan(env_dir.name, env_dir, steps, problems, len(files))


def env_dirs(path: Path) -> list[Path]:
    """``path`` is dist/ (every env below it) or one dist/<env>."""
    if (path / "argocd").is_dir() or not any(p.is_dir() for p in path.iterdir()):
        return [path]
    children = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if any((c / "argocd").is_dir() for c in children):
        return children
    return [path]
