"""CD5xx: what makes an Argo CD sync of the output fail or leak (apply limits, ordering, secrets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from infergate.policies import Hit, rule
from infergate.policies._common import (
    ARGO_GROUP,
    app_of,
    app_sources,
    app_sync_options,
    applications,
    sync_options,
    wave,
)

from infergate.core.findings import Severity
from infergate.core.graph import Graph, K8sObject, as_dict

APPLY_LIMIT = 262_144  # bytes of metadata.annotations (kubectl.kubernetes.io/last-applied-configuration)
ARGO_SYNC_OPTIONS = "https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/"

# Which operator installs which API groups' CRDs, recognised by the Application's chart/path/repo words.
OPERATOR_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "sail-operator",
        frozenset(
            {
                "sailoperator.io",
                "networking.istio.io",
                "security.istio.io",
                "telemetry.istio.io",
                "extensions.istio.io",
            }
        ),
    ),
    ("cert-manager", frozenset({"cert-manager.io", "acme.cert-manager.io"})),
    (
        "kserve",
        frozenset({"serving.kserve.io", "inference.networking.x-k8s.io", "inference.networking.k8s.io"}),
    ),
    (
        "gateway-api-inference-extension",
        frozenset({"inference.networking.x-k8s.io", "inference.networking.k8s.io"}),
    ),
    ("gateway-api", frozenset({"gateway.networking.k8s.io"})),
    ("lws", frozenset({"leaderworkerset.x-k8s.io"})),
)
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "rbac.authorization.k8s.io",
        "networking.k8s.io",
        "policy",
        "autoscaling",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "certificates.k8s.io",
        "node.k8s.io",
        "apiregistration.k8s.io",
    }
)


def _object_bytes(obj: K8sObject) -> int:
    if len(obj.doc.text) < APPLY_LIMIT // 3:  # compact JSON is never 3x its YAML source: skip the dump
        return 0
    return len(json.dumps(obj.obj, separators=(",", ":"), ensure_ascii=False).encode())


@rule(
    "CD501",
    "large-object-without-server-side-apply",
    Severity.ERROR,
    summary="an object over 262,144 bytes synced without ServerSideApply=true",
    rationale="Client-side apply stores the whole object in the last-applied-configuration annotation, and "
    "annotations are limited to 262,144 bytes: the CRDs of this stack (LLMInferenceService "
    "1.01 MB, sail Istio 708 KB, HTTPRoute 336 KB) fail to sync with 'metadata.annotations: Too "
    "long'. The reference deployment applied them with `kubectl apply --server-side`.",
    links=(ARGO_SYNC_OPTIONS + "#server-side-apply",),
    fix="Set `argocd.argoproj.io/sync-options: ServerSideApply=true` on the object, or "
    "`ServerSideApply=true` "
    "in its Application's `spec.syncPolicy.syncOptions`.",
    bad=(
        """\
apiVersion: v1
kind: ConfigMap
metadata:  # <-
  name: big
  namespace: demo
data:
  blob: ${pad:262200}
""",
    ),
    good=(
        """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: big
  namespace: demo
  annotations:
    argocd.argoproj.io/sync-options: ServerSideApply=true
data:
  blob: ${pad:262200}
""",
    ),
)
def cd501(graph: Graph) -> Iterator[Hit]:
    for obj in graph.objects:
        size = _object_bytes(obj)
        if size <= APPLY_LIMIT or "ServerSideApply=true" in sync_options(obj):
            continue
        app = app_of(graph, obj)
        if app is not None and "ServerSideApply=true" in app_sync_options(app):
            continue
        holder = f"neither it nor its Application {app.name} sets" if app is not None else "it does not set"
        yield Hit(
            obj,
            f"{obj.kind} {obj.name} is {size:,} bytes (client-side apply limit {APPLY_LIMIT:,}) and "
            f"{holder} ServerSideApply=true",
            ("metadata",),
        )


def _operator_groups(app: K8sObject) -> frozenset[str]:
    words = " ".join(str(s.get(k, "")) for s, _ in app_sources(app) for k in ("repoURL", "chart", "path"))
    words = f"{words} {app.name}".lower()
    groups: set[str] = set()
    for keyword, served in OPERATOR_GROUPS:
        if keyword in words:
            groups |= served
    return frozenset(groups)


def _crd_installers(graph: Graph) -> dict[str, list[K8sObject]]:
    """API group -> Applications that install its CRDs (CRD objects in their path, or a known operator)."""
    installers: dict[str, list[K8sObject]] = {}
    for crd in graph.of_kind("CustomResourceDefinition", "apiextensions.k8s.io"):
        app = app_of(graph, crd)
        group = as_dict(crd.spec).get("group")
        if app is not None and isinstance(group, str):
            installers.setdefault(group, []).append(app)
    for app in applications(graph):
        for group in _operator_groups(app):
            installers.setdefault(group, []).append(app)
    return installers


@rule(
    "CD502",
    "custom-resource-before-its-crd",
    Severity.ERROR,
    summary="a custom resource synced no later than the Application that installs its CRD, without "
    "SkipDryRunOnMissingResource=true",
    rationale="Argo CD dry-runs every object before a sync. When a custom resource's CRD is installed by "
    "another Application (an operator) in the same or a later wave, the dry run fails with "
    "'the server could not find the requested resource' and the whole sync stops — the GitOps form "
    "of the reference deployment's 'no matches for kind LLMInferenceServiceConfig' first-apply "
    "failure.",
    links=(
        ARGO_SYNC_OPTIONS + "#skip-dry-run-for-new-custom-resources-types",
        "https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/",
    ),
    fix="Give the operator's Application an earlier sync wave than the Application holding its custom "
    "resources, and set `SkipDryRunOnMissingResource=true` (annotation "
    "`argocd.argoproj.io/sync-options` on the resource, or the Application's syncOptions).",
    bad=(
        """\
# file: dist/demo/apps/apps.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cert-manager
  namespace: argocd
  annotations: {argocd.argoproj.io/sync-wave: "0"}
spec:
  project: default
  source: {repoURL: https://charts.jetstack.io, chart: cert-manager, targetRevision: v1.19.6}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: pki
  namespace: argocd
  annotations: {argocd.argoproj.io/sync-wave: "0"}
spec:
  project: default
  source: {repoURL: https://git.example.com/infra.git, path: dist/demo/pki, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
# file: dist/demo/pki/issuer.yaml
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:  # <-
  name: selfsigned
spec:
  selfSigned: {}
""",
    ),
    good=(
        """\
# file: dist/demo/apps/apps.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cert-manager
  namespace: argocd
  annotations: {argocd.argoproj.io/sync-wave: "-1"}
spec:
  project: default
  source: {repoURL: https://charts.jetstack.io, chart: cert-manager, targetRevision: v1.19.6}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: pki
  namespace: argocd
  annotations: {argocd.argoproj.io/sync-wave: "0"}
spec:
  project: default
  source: {repoURL: https://git.example.com/infra.git, path: dist/demo/pki, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
  syncPolicy:
    syncOptions: [SkipDryRunOnMissingResource=true]
# file: dist/demo/pki/issuer.yaml
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: selfsigned
spec:
  selfSigned: {}
""",
    ),
)
def cd502(graph: Graph) -> Iterator[Hit]:
    if not applications(graph):
        return
    installers = _crd_installers(graph)
    for obj in graph.objects:
        if obj.group in BUILTIN_GROUPS or obj.group == ARGO_GROUP or obj.group not in installers:
            continue
        if graph.world.provides_crd_group(obj.group):
            continue  # declared as installed by the platform before anything syncs
        app = app_of(graph, obj)
        if app is None:
            continue
        late = [i for i in installers[obj.group] if i is not app and wave(i) >= wave(app)]
        if not late:
            continue
        if "SkipDryRunOnMissingResource=true" in sync_options(obj) | app_sync_options(app):
            continue
        installer = late[0]
        yield Hit(
            obj,
            f"{obj.kind} ({obj.group}) syncs in Application {app.name} (wave {wave(app)}) but its CRD "
            f"comes from Application {installer.name} (wave {wave(installer)}): the dry run fails "
            "until the CRD exists; order the waves and set SkipDryRunOnMissingResource=true",
            ("metadata",),
        )


@rule(
    "CD503",
    "duplicate-object",
    Severity.ERROR,
    summary="the same (group, kind, namespace, name) twice in the output",
    rationale="Two manifests for one object fight: Argo CD reports a 'shared resource' conflict or applies "
    "whichever comes last, so the other definition silently never takes effect.",
    links=("https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/",
           ARGO_SYNC_OPTIONS + "#fail-the-sync-if-a-shared-resource-is-found"),
    fix="Keep one definition (merge the two), or rename one of them.",
    bad=(
        """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: epp
  namespace: demo
---
apiVersion: v1
kind: ServiceAccount
metadata:  # <-
  name: epp
  namespace: demo
""",
    ),
    good=(
        """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: epp
  namespace: demo
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: epp
  namespace: other
""",
    ),
)
def cd503(graph: Graph) -> Iterator[Hit]:
    for objs in graph.duplicates():
        first = objs[0]
        for dup in objs[1:]:
            yield Hit(
                dup,
                f"{dup.kind} {dup.ref.split(' ', 1)[1]} is already defined at "
                f"{first.doc.file}:{first.doc.line}",
                ("metadata",),
            )


@rule(
    "CD504",
    "secret-in-git",
    Severity.ERROR,
    summary="a Secret with data/stringData in the output (secrets never go to Git)",
    rationale="dist/ is committed and synced from Git: a Secret's data there is readable by everyone with "
    "repository access, forever (history). The reference deployment's security model: 'Export "
    "secrets (DO NOT commit to git)' — the HF token and the registry pull secret are created "
    "out of band and referenced by name only.",
    links=("https://kubernetes.io/docs/concepts/security/secrets-good-practices/",),
    fix="Remove the Secret from the output; create it out of band (or with an "
    "external-secrets/sealed-secrets "
    "operator) and declare its name as pre-provisioned in the environment.",
    bad=(
        """\
apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: demo
stringData:  # <-
  HF_TOKEN: hf_not_a_real_token
""",
    ),
    good=(
        """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vllm
  namespace: demo
""",
    ),
)
def cd504(graph: Graph) -> Iterator[Hit]:
    for secret in graph.of_kind("Secret", ""):
        for key in ("data", "stringData"):
            value = secret.obj.get(key)
            if isinstance(value, dict) and value:
                yield Hit(
                    secret,
                    f"Secret {secret.name} carries {key} ({', '.join(sorted(map(str, value)))}) "
                    "in the output; secrets must not be committed",
                    (key,),
                )
                break


def _own_repos(graph: Graph) -> set[str]:
    repos = {
        str(s.get("repoURL"))
        for app in applications(graph)
        for s, _ in app_sources(app)
        if str(s.get("path") or "").lstrip("./").startswith("dist/")
    }
    platform = graph.platform
    for fact in ("argocd_repo_url", "repo_url"):
        value = platform.fact(fact) if platform is not None and hasattr(platform, "fact") else None
        if value:
            repos.add(str(value))
    return repos


def _path_exists(graph: Graph, app: K8sObject, path: str) -> bool:
    needle = f"/{path.strip('/')}/"
    files: set[str] = graph.cache.setdefault(
        "files", {"/" + o.doc.file.replace("\\", "/").lstrip("./") for o in graph.objects}
    )
    if any(needle in file for file in files):
        return True
    first = path.strip("/").split("/")[0]
    for ancestor in Path(app.doc.file).resolve().parents:
        if ancestor.name == first:
            candidate = ancestor.parent / path
            return candidate.is_dir() and any(candidate.rglob("*.yaml"))
    return False


@rule(
    "CD505",
    "application-path-missing",
    Severity.ERROR,
    summary="an Argo CD Application whose source path does not exist in the output",
    rationale="An Application pointing at a path that is not generated syncs nothing "
    "(or fails with 'app path "
    "does not exist'), and the stack it should deploy is silently absent.",
    links=("https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/",),
    fix="Point `spec.source.path` at a directory of dist/ that the generator writes (or regenerate dist/).",
    bad=(
        """\
# file: dist/demo/apps/model.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: model
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/infra.git
    path: dist/demo/no-such-folder  # <-
    targetRevision: main
  destination: {server: https://kubernetes.default.svc, namespace: demo}
""",
    ),
    good=(
        """\
# file: dist/demo/apps/model.yaml
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: model
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/infra.git
    path: dist/demo/model
    targetRevision: main
  destination: {server: https://kubernetes.default.svc, namespace: demo}
# file: dist/demo/model/sa.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vllm
  namespace: demo
""",
    ),
)
def cd505(graph: Graph) -> Iterator[Hit]:
    own = _own_repos(graph)
    for app in applications(graph):
        for source, path in app_sources(app):
            src_path = str(source.get("path") or "")
            if not src_path or source.get("chart") or str(source.get("repoURL")) not in own:
                continue
            if not _path_exists(graph, app, src_path):
                yield Hit(
                    app,
                    f"Application {app.name} syncs path {src_path!r}, which holds no manifests in the output",
                    (*path, "path"),
                )
