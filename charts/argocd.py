"""Argo CD: the environment's AppProject, its app-of-apps and the fleet ApplicationSet.

Layout: dist/<env>/argocd/ (synced by the root Application) holds the AppProject and one Application
per component folder plus the platform operators at pinned revisions; dist/<env>/bootstrap/ holds the
root Application (`kubectl apply -f` once, or let the fleet ApplicationSet create it). Sync waves order
the Applications: namespaces, operators, CA chain, KServe and mesh, gateway, NetworkPolicies, models
. Applications live on the Argo CD cluster and deploy to the environment's cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from constructs import Construct
from infergate.charts.common import MANAGED_BY, Chart
from infergate.charts.resources import (
    Application,
    ApplicationSet,
    ApplicationSource,
    ApplicationSpec,
    AppProject,
)

from infergate.synth.config import Environment

IN_CLUSTER = "https://kubernetes.default.svc"
BOOTSTRAP_PROJECT = "infergate-bootstrap"
WAVE = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
# Objects over the 262,144-byte client-side apply limit (the operators' CRDs) need server-side apply.
SSA = "ServerSideApply=true"

# Cluster-scoped kinds the environment's Applications may manage (operators install CRDs, RBAC, webhooks).
CLUSTER_KINDS = [
    ("", "Namespace"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("cert-manager.io", "ClusterIssuer"), ("sailoperator.io", "Istio"), ("sailoperator.io", "IstioCNI"),
]


# What the Gateway API standard channel adds from v1.5 (its safe-upgrades ValidatingAdmissionPolicy).
GATEWAY_API_CLUSTER_KINDS = [
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
]
GATEWAY_API_WAVE = -5  # before sail-operator (istiod watches Gateway API kinds) and every Gateway/HTTPRoute


@dataclass(frozen=True)
class Component:
    """One Application: a dist/ folder or an upstream operator source."""

    name: str
    wave: int
    namespace: str
    folder: str | None = None  # under dist/<env>/
    source: ApplicationSource | None = None
    ssa: bool = False
    # Shared cluster infrastructure (CRDs other workloads use) is never pruned, and deleting the
    # Application leaves it in place (no cascading finalizer).
    keep: bool = False


KSERVE_WAVE = -1  # after the internal CA (-2): its webhook certificate comes from cert-manager


def operator_components(env: Environment) -> list[Component]:
    cm, sail, ks = env.operators.cert_manager, env.operators.sail_operator, env.operators.kserve
    kserve = ([Component("kserve", KSERVE_WAVE, ks.namespace, ssa=True, source=kserve_source(env))]
              if ks.install == "kustomize" else kserve_helm_components(env))
    return [
        Component("cert-manager", -3, cm.namespace, ssa=True, source={
            "repoURL": cm.repo_url, "chart": cm.chart, "targetRevision": cm.version,
            "helm": {"releaseName": "cert-manager", "valuesObject": {"crds": {"enabled": True}}}}),
        Component("sail-operator", -3, sail.namespace, ssa=True, source={
            "repoURL": sail.repo_url, "chart": sail.chart, "targetRevision": sail.version,
            "helm": {"releaseName": "sail-operator"}}),
        *kserve,
        *inference_extension_components(env),
        *gateway_api_components(env),
    ]


def kserve_helm_components(env: Environment) -> list[Component]:
    """KServe's OCI Helm charts at one release: the CRDs (kept: deleting them would delete every
    LLMInferenceService), the LLMInferenceService controller, and the well-known presets it merges
    every service over."""
    ks = env.operators.kserve

    def chart(name: str, release: str, values: dict[str, Any] | None = None) -> ApplicationSource:
        helm: dict[str, Any] = {"releaseName": release}
        if values:
            helm["valuesObject"] = values
        return {"repoURL": ks.repo_url, "chart": name, "targetRevision": ks.version, "helm": helm}

    gateway = {"enableGatewayApi": True, "kserveGateway": env.platform.kserve_ingress_gateway}
    return [
        Component("kserve-crds", KSERVE_WAVE - 1, ks.namespace, ssa=True, keep=True,
                  source=chart("kserve-llmisvc-crd", "kserve-llmisvc-crd")),
        # createGIECRDs: the GA InferencePool CRD comes with the controller that routes to it
        Component("kserve", KSERVE_WAVE, ks.namespace, ssa=True, source=chart(
            "kserve-llmisvc-resources", "kserve-llmisvc", {"kserve": {
                "llmisvc": {"createGIECRDs": True},
                "controller": {"gateway": {"ingressGateway": gateway}}}})),
        Component("kserve-presets", KSERVE_WAVE, ks.namespace, ssa=True, source=chart(
            "kserve-runtime-configs", "kserve-runtime-configs", {"kserve": {
                "llmisvcConfigs": {"enabled": True}, "servingruntime": {"enabled": False}}})),
    ]


def inference_extension_components(env: Environment) -> list[Component]:
    """CRDs the profile's endpoint picker watches that its KServe does not install (kept like every
    shared CRD: never pruned, left in place when the Application goes)."""
    crds = env.profile.inference_extension_crds
    if crds is None:
        return []
    include = "{" + ",".join(crds.files) + "}"
    return [Component("inference-extension-crds", KSERVE_WAVE, "default", ssa=True, keep=True, source={
        "repoURL": crds.repo_url, "targetRevision": crds.revision, "path": crds.path,
        "directory": {"include": include}})]


def kserve_source(env: Environment) -> ApplicationSource:
    ks = env.operators.kserve
    source: ApplicationSource = {"repoURL": ks.repo_url, "targetRevision": ks.revision, "path": ks.path}
    if ks.kustomize_version:
        source["kustomize"] = {"version": ks.kustomize_version}
    return source


def gateway_api_components(env: Environment) -> list[Component]:
    """The standard-channel Gateway API CRDs, when the cluster does not provide them (GKE does).

    config/crd/standard at a release tag is what upstream concatenates into standard-install.yaml; it has
    no kustomization, so Argo CD syncs it as a plain directory. HTTPRoute's CRD is 336 KB: server-side."""
    crds = env.gateway_api
    if not crds.install:
        return []
    return [Component("gateway-api", GATEWAY_API_WAVE, "default", ssa=True, keep=True, source={
        "repoURL": crds.repo_url, "targetRevision": crds.version, "path": "config/crd/standard"})]


def chart_component(chart: Chart) -> Component:
    """The Application of a dist/<env>/<folder>/ chart, at the wave and namespace the chart carries."""
    return Component(chart.folder, chart.wave, chart.destination_namespace, chart.folder)


def repo_source(env: Environment, path: str) -> ApplicationSource:
    return {"repoURL": env.argocd.repo_url, "targetRevision": env.argocd.target_revision, "path": path}


def sync_policy(ssa: bool, create_namespace: bool = False, prune: bool = True) -> dict[str, Any]:
    options = ["PruneLast=true"]
    if create_namespace:
        options.append("CreateNamespace=true")
    if ssa:
        options.append(SSA)
    return {"automated": {"prune": prune, "selfHeal": True}, "syncOptions": options,
            "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}}


def root_spec(env: Environment) -> ApplicationSpec:
    return {"project": BOOTSTRAP_PROJECT,
            "source": repo_source(env, f"{env.argocd.dist_path}/{env.name}/argocd"),
            "destination": {"server": IN_CLUSTER, "namespace": env.argocd.namespace},
            "syncPolicy": sync_policy(ssa=False),
            "info": [{"name": "cluster", "value": env.cluster.name}]}


def bootstrap_project(scope: Construct, env: Environment, repos: list[str]) -> None:
    """Root Applications may only manage Applications and AppProjects in Argo CD's namespace."""
    AppProject(scope, BOOTSTRAP_PROJECT, namespace=env.argocd.namespace, labels=dict(MANAGED_BY), spec={
        "description": "infergate root applications (app-of-apps)",
        "sourceRepos": sorted(set(repos)),
        "destinations": [{"server": IN_CLUSTER, "namespace": env.argocd.namespace}],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [{"group": "argoproj.io", "kind": "Application"},
                                       {"group": "argoproj.io", "kind": "AppProject"}]})


class ArgoCdChart(Chart):
    """dist/<env>/argocd/: the project and the child Applications."""

    def __init__(self, scope: Construct, folder: str, env: Environment,
                 components: Sequence[Component], cluster_kinds: Iterable[tuple[str, str]] = ()) -> None:
        """``components``: the folder Applications (see :func:`chart_component`); the operators' are
        added. ``cluster_kinds``: (group, kind) the user's folders hold without a namespace, which the
        AppProject admits on top of the stack's own: the cluster-scoped ones need it, and a namespaced
        kind left to the destination namespace is unaffected by a cluster whitelist."""
        super().__init__(scope, folder)
        argo = env.argocd
        components = sorted([*operator_components(env), *components], key=lambda c: (c.wave, c.name))
        repos = {argo.repo_url, *(c.source["repoURL"] for c in components if c.source)}
        added = set(cluster_kinds) | (set(GATEWAY_API_CLUSTER_KINDS) if env.gateway_api.install else set())
        whitelist = [*CLUSTER_KINDS, *sorted(added - set(CLUSTER_KINDS))]
        AppProject(self, argo.project, namespace=argo.namespace, labels=dict(MANAGED_BY),
                   annotations={WAVE: "-10"}, spec={
                       "description": f"infergate environment {env.name} on cluster {env.cluster.name}",
                       "sourceRepos": sorted(repos),
                       "destinations": [{"server": env.cluster.server, "namespace": "*"}],
                       "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in whitelist],
                       "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}]})
        for comp in components:
            source = comp.source or repo_source(env, f"{argo.dist_path}/{env.name}/{comp.folder}")
            spec: ApplicationSpec = {
                "project": argo.project, "source": source,
                "destination": {"server": env.cluster.server, "namespace": comp.namespace},
                "syncPolicy": sync_policy(comp.ssa, prune=not comp.keep,
                                          create_namespace=comp.source is not None and not comp.keep),
            }
            Application(self, f"{env.name}-{comp.name}", namespace=argo.namespace,
                        labels={**MANAGED_BY, "infergate.io/environment": env.name},
                        annotations={WAVE: str(comp.wave)}, finalizers=None if comp.keep else [FINALIZER],
                        spec=spec)


class BootstrapChart(Chart):
    """dist/<env>/bootstrap/: what one `kubectl apply -f` needs to start the environment."""

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        super().__init__(scope, folder)
        bootstrap_project(self, env, [env.argocd.repo_url])
        Application(self, f"{env.name}-root", namespace=env.argocd.namespace,
                    labels={**MANAGED_BY, "infergate.io/environment": env.name},
                    finalizers=[FINALIZER], spec=root_spec(env))


class FleetChart(Chart):
    """dist/fleet/: one ApplicationSet creating every environment's root Application (Argo CD's own
    configuration is in dist/fleet/argocd-config/, see charts/argocd_config.py)."""

    def __init__(self, scope: Construct, folder: str, envs: list[Environment]) -> None:
        super().__init__(scope, folder)
        first = envs[0]
        argo_ns = first.argocd.namespace
        bootstrap_project(self, first, [e.argocd.repo_url for e in envs])
        elements = [{"env": e.name, "cluster": e.cluster.name, "server": e.cluster.server,
                     "repoURL": e.argocd.repo_url, "revision": e.argocd.target_revision,
                     "path": f"{e.argocd.dist_path}/{e.name}/argocd"} for e in envs]
        template = {
            "metadata": {"name": "{{.env}}-root", "namespace": argo_ns,
                         "labels": {**MANAGED_BY, "infergate.io/environment": "{{.env}}"},
                         "finalizers": [FINALIZER]},
            "spec": {"project": BOOTSTRAP_PROJECT,
                     "source": {"repoURL": "{{.repoURL}}", "targetRevision": "{{.revision}}",
                                "path": "{{.path}}"},
                     "destination": {"server": IN_CLUSTER, "namespace": argo_ns},
                     "syncPolicy": sync_policy(ssa=False),
                     "info": [{"name": "cluster", "value": "{{.cluster}}"},
                              {"name": "server", "value": "{{.server}}"}]},
        }
        ApplicationSet(self, "infergate-fleet", namespace=argo_ns, labels=dict(MANAGED_BY), spec={
            "goTemplate": True, "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": template})
