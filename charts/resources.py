"""Typed construct APIs for the custom resources infergate emits.

Thin wrappers over ``cdk8s.ApiObject``: each kind has its apiVersion fixed and a TypedDict for its spec,
so a chart author gets names and types checked, and synth never imports generated bindings of the
1 MB LLMInferenceService CRD (seconds and ~1 GB per synth). That the emitted objects
match the pinned CRD schemas is proven by tests/test_charts_structure.py.
"""

from __future__ import annotations

from typing import Any, ClassVar, NotRequired, TypedDict

import cdk8s
from constructs import Construct

# Argo CD sync options for custom resources whose CRD another Application installs: without it the
# dry-run of the first sync fails with "no matches for kind".
SKIP_DRY_RUN = {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}


class ObjectRef(TypedDict):
    name: str
    namespace: NotRequired[str]


class LocalRef(TypedDict):
    name: str


class CustomResource(cdk8s.ApiObject):
    """A namespaced or cluster-scoped custom resource with a typed spec.

    ``api_version`` overrides the class's for kinds whose version the platform profile chooses
    (InferencePool, InferenceObjective, LLMInferenceService)."""

    API_VERSION: ClassVar[str]
    KIND: ClassVar[str]
    CRD_FROM_OTHER_APP: ClassVar[bool] = True

    def __init__(self, scope: Construct, name: str, *, spec: Any, namespace: str | None = None,
                 labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
                 finalizers: list[str] | None = None, top_level: dict[str, Any] | None = None,
                 api_version: str | None = None) -> None:
        notes = {**(SKIP_DRY_RUN if self.CRD_FROM_OTHER_APP else {}), **(annotations or {})}
        meta = cdk8s.ApiObjectMetadata(name=name, namespace=namespace, labels=labels or None,
                                       annotations=notes or None, finalizers=finalizers)
        super().__init__(scope, f"{self.KIND}-{namespace or ''}-{name}",
                         api_version=api_version or self.API_VERSION, kind=self.KIND, metadata=meta)
        if spec is not None:
            self.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
        for key, value in (top_level or {}).items():
            self.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))


# --- sail-operator -----------------------------------------------------------------------------------

class IstioSpec(TypedDict):
    version: str
    namespace: str
    updateStrategy: NotRequired[dict[str, Any]]
    values: NotRequired[dict[str, Any]]


class Istio(CustomResource):
    API_VERSION, KIND = "sailoperator.io/v1", "Istio"


class IstioCNISpec(TypedDict):
    version: str
    namespace: str
    values: NotRequired[dict[str, Any]]


class IstioCNI(CustomResource):
    API_VERSION, KIND = "sailoperator.io/v1", "IstioCNI"


# --- Gateway API -------------------------------------------------------------------------------------

class ParentRef(TypedDict):
    group: NotRequired[str]
    kind: NotRequired[str]
    name: str
    namespace: NotRequired[str]
    sectionName: NotRequired[str]


class BackendRef(TypedDict):
    group: NotRequired[str]
    kind: NotRequired[str]
    name: str
    port: NotRequired[int]
    weight: NotRequired[int]


class HTTPRouteRule(TypedDict):
    matches: NotRequired[list[dict[str, Any]]]
    filters: NotRequired[list[dict[str, Any]]]
    backendRefs: NotRequired[list[BackendRef]]
    timeouts: NotRequired[dict[str, str]]


class HTTPRouteSpec(TypedDict):
    parentRefs: list[ParentRef]
    hostnames: NotRequired[list[str]]
    rules: list[HTTPRouteRule]


class HTTPRoute(CustomResource):
    API_VERSION, KIND = "gateway.networking.k8s.io/v1", "HTTPRoute"


class Listener(TypedDict):
    name: str
    port: int
    protocol: str
    hostname: NotRequired[str]
    tls: NotRequired[dict[str, Any]]
    allowedRoutes: NotRequired[dict[str, Any]]


class GatewaySpec(TypedDict):
    gatewayClassName: str
    listeners: list[Listener]
    addresses: NotRequired[list[dict[str, str]]]
    infrastructure: NotRequired[dict[str, Any]]


class Gateway(CustomResource):
    API_VERSION, KIND = "gateway.networking.k8s.io/v1", "Gateway"


# --- Gateway API Inference Extension: the profile picks x-k8s v1alpha2 (KServe v0.15, Istio 1.26/1.27) or
# the GA inference.networking.k8s.io/v1 pool (Istio >= 1.28) --------------------------------------------

class ExtensionRef(TypedDict):
    group: NotRequired[str]
    kind: NotRequired[str]
    name: str
    portNumber: NotRequired[int]
    failureMode: NotRequired[str]


class InferencePoolSpec(TypedDict):
    """x-k8s.io v1alpha2 shape."""

    selector: dict[str, str]
    targetPortNumber: int
    extensionRef: ExtensionRef


class EndpointPickerRef(TypedDict):
    group: NotRequired[str]
    kind: NotRequired[str]
    name: str
    port: NotRequired[dict[str, int]]
    failureMode: NotRequired[str]


class InferencePoolV1Spec(TypedDict):
    """inference.networking.k8s.io/v1 shape."""

    selector: dict[str, dict[str, str]]  # {matchLabels: ...}
    targetPorts: list[dict[str, int]]
    appProtocol: NotRequired[str]
    endpointPickerRef: EndpointPickerRef


class InferencePool(CustomResource):
    API_VERSION, KIND = "inference.networking.x-k8s.io/v1alpha2", "InferencePool"


class PoolRef(TypedDict):
    group: NotRequired[str]
    kind: NotRequired[str]
    name: str


class InferenceModelSpec(TypedDict):
    modelName: str
    criticality: NotRequired[str]
    poolRef: PoolRef


class InferenceModel(CustomResource):
    API_VERSION, KIND = "inference.networking.x-k8s.io/v1alpha2", "InferenceModel"


class InferenceObjectiveSpec(TypedDict):
    poolRef: PoolRef
    priority: NotRequired[int]


class InferenceObjective(CustomResource):
    API_VERSION, KIND = "inference.networking.x-k8s.io/v1alpha2", "InferenceObjective"


class ModelRewriteRule(TypedDict):
    matches: NotRequired[list[dict[str, Any]]]  # [{model: {type: Exact, value: <id>}}]
    targets: NotRequired[list[dict[str, Any]]]  # [{modelRewrite: <id>, weight: <n>}]


class InferenceModelRewriteSpec(TypedDict):
    poolRef: PoolRef
    rules: list[ModelRewriteRule]


class InferenceModelRewrite(CustomResource):
    API_VERSION, KIND = "inference.networking.x-k8s.io/v1alpha2", "InferenceModelRewrite"


# --- KServe ------------------------------------------------------------------------------------------

class ModelSpec(TypedDict):
    uri: str
    name: NotRequired[str]
    criticality: NotRequired[str]


class RouterSpec(TypedDict, total=False):
    route: dict[str, Any]  # {} = controller-made HTTPRoute; {http: {refs: [LocalRef]}} = ours
    gateway: dict[str, Any]  # {} = the controller's default gateway; {refs: [ObjectRef]}
    scheduler: dict[str, Any]  # {} = controller-made pool + EPP; {pool: {ref: LocalRef}}


class LLMInferenceServiceSpec(TypedDict):
    model: ModelSpec
    replicas: NotRequired[int]
    router: NotRequired[RouterSpec]
    template: NotRequired[dict[str, Any]]  # a PodSpec, merged over the controller's preset
    worker: NotRequired[dict[str, Any]]  # a PodSpec: multi-host workers (KServe makes a LeaderWorkerSet)
    parallelism: NotRequired[dict[str, int]]  # tensor/pipeline/data...: pipeline sizes the LWS group
    scaling: NotRequired[dict[str, Any]]  # v1alpha2 ScalingSpec (infergate.synth.scaling)
    labels: NotRequired[dict[str, str]]  # onto the workload pods, Service and VariantAutoscaling


class LLMInferenceService(CustomResource):
    API_VERSION, KIND = "serving.kserve.io/v1alpha1", "LLMInferenceService"


# --- Istio -------------------------------------------------------------------------------------------

class DestinationRuleSpec(TypedDict):
    host: str
    trafficPolicy: NotRequired[dict[str, Any]]
    exportTo: NotRequired[list[str]]


class DestinationRule(CustomResource):
    API_VERSION, KIND = "networking.istio.io/v1", "DestinationRule"


class EnvoyFilter(CustomResource):
    API_VERSION, KIND = "networking.istio.io/v1alpha3", "EnvoyFilter"  # no v1 of this kind


# --- cert-manager ------------------------------------------------------------------------------------

class IssuerRef(TypedDict):
    name: str
    kind: str
    group: NotRequired[str]


class CertificateSpec(TypedDict):
    secretName: str
    issuerRef: IssuerRef
    commonName: NotRequired[str]
    dnsNames: NotRequired[list[str]]
    ipAddresses: NotRequired[list[str]]
    duration: NotRequired[str]
    renewBefore: NotRequired[str]
    isCA: NotRequired[bool]
    usages: NotRequired[list[str]]
    privateKey: NotRequired[dict[str, Any]]


class Certificate(CustomResource):
    API_VERSION, KIND = "cert-manager.io/v1", "Certificate"


class ClusterIssuer(CustomResource):
    API_VERSION, KIND = "cert-manager.io/v1", "ClusterIssuer"


class Issuer(CustomResource):
    API_VERSION, KIND = "cert-manager.io/v1", "Issuer"


# --- Argo CD (its CRDs are on the hub already: no skip-dry-run) --------------------------------------

class ApplicationSource(TypedDict, total=False):
    repoURL: str
    targetRevision: str
    path: str
    chart: str
    helm: dict[str, Any]
    kustomize: dict[str, Any]
    directory: dict[str, Any]


class ApplicationSpec(TypedDict):
    project: str
    source: ApplicationSource
    destination: dict[str, str]
    syncPolicy: NotRequired[dict[str, Any]]
    info: NotRequired[list[dict[str, str]]]
    ignoreDifferences: NotRequired[list[dict[str, Any]]]


class Application(CustomResource):
    API_VERSION, KIND = "argoproj.io/v1alpha1", "Application"
    CRD_FROM_OTHER_APP = False


class AppProject(CustomResource):
    API_VERSION, KIND = "argoproj.io/v1alpha1", "AppProject"
    CRD_FROM_OTHER_APP = False


class ApplicationSet(CustomResource):
    API_VERSION, KIND = "argoproj.io/v1alpha1", "ApplicationSet"
    CRD_FROM_OTHER_APP = False
