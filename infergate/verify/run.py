"""Sync a dist/<env> into an API server the way Argo CD does, read everything back, turn it into findings.

Two modes:
  * ``apply`` (the hermetic server): every object is server-side applied as argocd-controller, applied a
    second time (its resourceVersion must not move), read back and diffed (drift.py). Objects this run
    created are deleted afterwards (finalizers dropped first: no controller runs to honour them) so the
    next environment starts from the same server; namespaces stay (without a namespace controller a
    deleted namespace would stay Terminating and refuse the next environment's objects).
  * ``dry-run`` (a live cluster, ``--kubeconfig``): every request carries ``dryRun=All``; nothing is
    persisted, so there is no read-back, no second apply and no drift, only rejections.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from infergate.apiserver.client import ApiError, KubeClient
from infergate.core.findings import Finding, finding_for, load_problem_finding
from infergate.core.loader import line_of
from infergate.verify import codes
from infergate.verify.drift import drift_of, ignored
from infergate.verify.plan import ARGOCD_NAMESPACE, SYNC_OPTIONS, EnvPlan, Item, Step

MANAGER = "argocd-controller"  # Argo CD's field manager for server-side apply


@dataclass
class EnvResult:
    env: str
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    files: int = 0
    applied: int = 0
    unchanged: int = 0
    settled: int = 0  # unchanged only from the third apply on (stored status defaults)
    skipped_apps: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _parse_field(field_path: str) -> list[str | int]:
    """``spec.rules[0].matches`` (the server's cause field) -> ["spec", "rules", 0, "matches"]."""
    out: list[str | int] = []
    for part in field_path.strip(".").replace("]", "").split("."):
        name, *indexes = part.split("[")
        if name:
            out.append(name)
        for index in indexes:
            out.append(int(index) if index.isdigit() else index.strip('"'))
    return out


def _rejection(item: Item, exc: ApiError) -> Finding:
    line, where = None, None
    for cause in exc.causes:
        field_path = str(cause.get("field") or "")
        if field_path and not field_path.startswith("<"):
            path = _parse_field(field_path)
            if path and path[0] in item.doc.obj:
                line, where = line_of(item.doc, path), field_path
                break
    return finding_for(item.doc, codes.REJECTED.code, codes.REJECTED.slug, codes.REJECTED.default_severity,
                       f"{exc.message} (HTTP {exc.code} {exc.reason})".strip(), path=where, line=line)


def _annotation_options(obj: dict[str, Any]) -> set[str]:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return {o.strip() for o in str(ann.get(SYNC_OPTIONS, "")).split(",")}


class Syncer:
    def __init__(self, client: KubeClient, *, dry_run: bool) -> None:
        self.client = client
        self.dry_run = dry_run
        self.crd_kinds = set() if dry_run else self._crd_kinds()  # only the drift model needs them
        self.created: list[str] = []  # paths of objects this run created (deleted afterwards)
        self.namespaces_created: set[str] = set()  # dry-run: namespaces the sync would create

    def _crd_kinds(self) -> set[tuple[str, str]]:
        listing = self.client.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        return {(str(c["spec"]["group"]), str(c["spec"]["names"]["kind"]))
                for c in listing.get("items", []) if isinstance(c, dict)}

    def namespaced(self, obj: dict[str, Any]) -> bool:
        res = self.client.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        return True if res is None else res.namespaced  # unknown kinds are reported when applied

    def ensure_namespace(self, name: str) -> None:
        """What CreateNamespace=true (or Argo CD's own install, for its namespace) does."""
        path = f"/api/v1/namespaces/{name}"
        if self.client.get(path) is not None:
            return
        if self.dry_run:
            self.namespaces_created.add(name)
            return
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        self.client.apply(path, namespace, MANAGER)

    def path_of(self, item: Item) -> str | None:
        obj = item.obj
        res = self.client.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if res is None:
            return None
        meta = obj.get("metadata") or {}
        return self.client.object_path(str(obj["apiVersion"]), res, str(meta.get("name", "")),
                                       meta.get("namespace"))

    def apply(self, item: Item, result: EnvResult) -> dict[str, Any] | None:
        """First apply; the live object (or the dry-run answer), or None when it was not applied."""
        obj = item.obj
        path = self.path_of(item)
        if path is None:
            group_kind = f"{obj.get('kind')} in {obj.get('apiVersion')}"
            if self.dry_run and "SkipDryRunOnMissingResource=true" in _annotation_options(obj):
                result.findings.append(self._not_checked(item, f"the cluster does not serve {group_kind} yet "
                                                               "(SkipDryRunOnMissingResource=true)"))
            else:
                result.findings.append(finding_for(
                    item.doc, codes.REJECTED.code, codes.REJECTED.slug, codes.REJECTED.default_severity,
                    f"the server does not serve {group_kind}: no installed CRD defines it"))
            return None
        namespace = (obj.get("metadata") or {}).get("namespace")
        if self.dry_run and namespace in self.namespaces_created:
            result.findings.append(self._not_checked(
                item, f"namespace {namespace} does not exist on the cluster yet (this sync creates it)"))
            return None
        existed = self.dry_run or self.client.get(path) is not None
        try:
            live = self.client.apply(path, obj, MANAGER, dry_run=self.dry_run)
        except ApiError as exc:
            result.findings.append(_rejection(item, exc))
            return None
        if not existed and not (obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1"):
            self.created.append(path)  # namespaces stay: see the module docstring
        if self.dry_run and obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
            self.namespaces_created.add(str((obj.get("metadata") or {}).get("name")))
        result.applied += 1
        return live

    def _not_checked(self, item: Item, why: str) -> Finding:
        return finding_for(item.doc, codes.NOT_CHECKED.code, codes.NOT_CHECKED.slug,
                           codes.NOT_CHECKED.default_severity, f"not checked by the dry-run: {why}")

    def cleanup(self) -> None:
        """Delete what this run created, newest first (finalizers dropped: no controller runs here)."""
        for path in reversed(self.created):
            try:
                self.client.request("PATCH", path, body={"metadata": {"finalizers": None}},
                                    content_type="application/merge-patch+json")
                self.client.delete(path)
            except ApiError:
                pass
        self.created.clear()


def verify_env(syncer: Syncer, plan: EnvPlan) -> EnvResult:
    start = time.monotonic()
    result = EnvResult(env=plan.env, files=plan.files)
    result.findings += [load_problem_finding(p) for p in plan.problems]
    syncer.ensure_namespace(ARGOCD_NAMESPACE)
    applied: list[tuple[Step, Item, dict[str, Any]]] = []
    for step in plan.steps:
        if step.skipped:
            result.skipped_apps.append(f"{step.name}: {step.skipped}")
        if step.create_namespace and step.destination_namespace:
            syncer.ensure_namespace(step.destination_namespace)
        for item in step.items:
            result.objects += 1
            live = syncer.apply(item, result)
            if live is not None:
                applied.append((step, item, live))
    if not syncer.dry_run:
        for step, item, first in applied:
            _second_apply_and_diff(syncer, step, item, first, result)
    result.findings.sort(key=Finding.sort_key)
    result.seconds = time.monotonic() - start
    return result


def _served(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as clients see it, without what every write changes (resourceVersion, managedFields)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields")}
    return {**obj, "metadata": meta}


def _second_apply_and_diff(syncer: Syncer, step: Step, item: Item, first: dict[str, Any],
                           result: EnvResult) -> None:
    path = syncer.path_of(item)
    assert path is not None  # it was applied once
    try:
        again = syncer.client.apply(path, item.obj, MANAGER)
    except ApiError as exc:
        result.findings.append(_rejection(item, exc))
        return
    before = (first.get("metadata") or {}).get("resourceVersion")
    after = (again.get("metadata") or {}).get("resourceVersion")
    if before != after and _served(first) == _served(again):
        # The object served is the same: the write only stored defaults the server had been adding on
        # every read (a CRD's status defaults: a create drops status, the first update stores them).
        # That happens once per object; a third apply must then be a no-op.
        third = syncer.client.apply(path, item.obj, MANAGER)
        before, after = after, (third.get("metadata") or {}).get("resourceVersion")
        result.settled += 1
    if before == after:
        result.unchanged += 1
    else:
        result.findings.append(finding_for(
            item.doc, codes.NOT_IDEMPOTENT.code, codes.NOT_IDEMPOTENT.slug,
            codes.NOT_IDEMPOTENT.default_severity,
            f"a second apply of the same manifest changed the object (resourceVersion {before} -> {after})"))
    live = syncer.client.get(path)
    group = str(item.obj.get("apiVersion", "")).rpartition("/")[0]
    if live is None or step.server_side_diff or (group, str(item.obj.get("kind"))) not in syncer.crd_kinds:
        return  # built-in kinds: Argo CD's scheme defaulting normalizes the server's defaults away
    options = _annotation_options(item.obj)  # a resource's own sync-options win over the Application's
    ssa = "ServerSideApply=true" in options \
        or (step.server_side_apply and "ServerSideApply=false" not in options)
    for drift in drift_of(item.obj, live):
        if ignored(drift, item.obj, step.ignore_differences):
            continue
        rule = codes.DRIFT if drift.shown(ssa) else codes.SERVER_DEFAULT
        result.findings.append(finding_for(
            item.doc, rule.code, rule.slug, rule.default_severity, f"{drift.message(ssa)} ({step.name})",
            path=drift.dotted, line=line_of(item.doc, drift.path)))
