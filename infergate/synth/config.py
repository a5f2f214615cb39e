"""Environment files (environments/<env>.yaml): strict YAML, inheritance, JSON Schema, typed model.

Loading order: read the file and its `base:` chain (strict loader: duplicate keys etc. are errors),
deep-merge (maps merged, lists replaced), check the merged document against
data/environment.schema.json, then build the frozen model below and check what a schema cannot
(TPU table, duplicate models, derived name lengths). Every error is a ConfigError naming the file
and line that defined the offending key — in a base file when the value came from there.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError
from infergate.core.loader import Document, line_of
from infergate.project.discovery import env_file_for_dist, find_project
from infergate.synth import accelerators, profiles, scaling
from infergate.synth.envfiles import chain
from infergate.synth.profiles import Profile

SCHEMA_PATH = Path(__file__).parent / "data" / "environment.schema.json"
ENV_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")
RESERVED_ENV_NAMES = frozenset({"fleet"})  # dist/fleet/ holds the ApplicationSet

# Defaults are the reference deployment's values; each is overridable per environment. Versions (KServe,
# Istio, EPP image) come from the environment's platform profile (data/profiles.yaml).
DEFAULT_SCORERS = {"prefix-cache-scorer": 2.0, "load-aware-scorer": 1.0}
PILOT_ENV = {
    "PILOT_ENABLE_GATEWAY_API": "true",
    "PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER": "true",
    "PILOT_ENABLE_GATEWAY_API_STATUS": "true",
    "ENABLE_GATEWAY_API_INFERENCE_EXTENSION": "true",
}
# Kubernetes object-name limits for names KServe/Istio derive from ours.
SERVICE_NAME_MAX = 63
# KServe's preset and its workload Service hard-code the vLLM port: not configurable.
KSERVE_MODEL_PORT = 8000
# Standard-channel Gateway API CRDs (platform.gatewayAPI): the release KServe's overlay and the validator's
# pinned CRDs use.
GATEWAY_API_REPO = "https://github.com/kubernetes-sigs/gateway-api.git"
GATEWAY_API_VERSION = "v1.2.1"
# Folders of dist/<env>/ and Application names (<env>-<name>) infergate generates: an extra folder or a
# user chart may not take one (tests/test_extensions.py keeps this in step with charts/).
GENERATED_FOLDERS = frozenset({"argocd", "bootstrap", "namespaces", "pki", "mesh", "gateway", "probes",
                               "metrics"})
GENERATED_PREFIXES = ("model-", "networkpolicies-")
OPERATOR_APPLICATIONS = frozenset({"cert-manager", "sail-operator", "kserve", "kserve-crds", "kserve-presets",
                                   "inference-extension-crds", "gateway-api", "root"})


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What the cluster looks like from a NetworkPolicy's and a linter's point of view."""

    kubernetes_version: str
    api_server_cidrs: tuple[str, ...]
    api_server_ports: tuple[int, ...]
    pod_cidrs: tuple[str, ...]
    service_cidrs: tuple[str, ...]
    dns_namespace: str
    dns_pod_labels: dict[str, str]
    model_download_cidrs: tuple[str, ...]
    model_download_except: tuple[str, ...]
    monitoring_namespace: str | None
    provided_secrets: frozenset[tuple[str, str]]
    istio_version: str
    kserve_ingress_gateway: str  # "<namespace>/<name>" the controller uses for router: managed
    profile: str = ""  # the platform profile's name (data/profiles.yaml)
    # issuers known to be ACME, as "ClusterIssuer/<name>" or "<namespace>/<name>" (an Issuer)
    acme_issuers: frozenset[str] = frozenset()
    # labels of the metrics scraper's pods in monitoring_namespace (empty: any pod there)
    monitoring_pod_labels: dict[str, str] = field(default_factory=dict)
    # objects the platform provides outside Git, as KIND/NS/NAME (infergate.core.world): lint's closed world
    provided: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    server: str


@dataclass(frozen=True, slots=True)
class ArgoSettings:
    namespace: str
    project: str
    repo_url: str
    target_revision: str
    dist_path: str


@dataclass(frozen=True, slots=True)
class HelmSource:
    repo_url: str
    chart: str
    version: str
    namespace: str


@dataclass(frozen=True, slots=True)
class KustomizeSource:
    """Where KServe comes from: an overlay at a commit (install "kustomize") or KServe's Helm charts at a
    release (install "helm"), as the environment's profile says."""

    repo_url: str
    revision: str
    path: str
    kustomize_version: str | None  # None: Argo CD's bundled kustomize
    namespace: str
    install: str = "kustomize"
    version: str = ""  # helm: the chart version


@dataclass(frozen=True, slots=True)
class Operators:
    cert_manager: HelmSource
    sail_operator: HelmSource
    kserve: KustomizeSource


@dataclass(frozen=True, slots=True)
class Mesh:
    version: str
    namespace: str
    pilot_env: dict[str, str]
    access_log_file: str
    cni_enabled: bool
    cni_namespace: str
    cni_bin_dir: str
    cni_conf_dir: str


@dataclass(frozen=True, slots=True)
class Issuer:
    kind: str
    name: str
    create_ca_chain: bool
    ca_certificate_name: str
    self_signed_issuer_name: str
    ca_namespace: str
    acme: bool = False  # an ACME issuer: public DNS names only, and its secrets hold no ca.crt


@dataclass(frozen=True, slots=True)
class GatewayTls:
    """The public listener's certificate: any issuer (ACME, an organization CA, the internal chain)."""

    certificate_name: str
    secret_name: str
    common_name: str | None  # None: omitted (the first DNS name is longer than X.509 allows)
    dns_names: tuple[str, ...]
    duration: str
    renew_before: str
    issuer: Issuer


@dataclass(frozen=True, slots=True)
class Pki:
    """The internal trust domain: every in-cluster TLS hop (EPP and vLLM serving certificates, the
    gateway's upstream trust bundle) is issued by ``issuer``, whatever the public listener uses."""

    issuer: Issuer


@dataclass(frozen=True, slots=True)
class Gateway:
    name: str
    namespace: str
    class_name: str
    http: str  # off | redirect | serve
    addresses: tuple[str, ...]
    image_pull_secrets: tuple[str, ...]
    parameters_config_map: str
    tls: GatewayTls
    hostnames: tuple[str, ...] = ()
    shared_path: str | None = None  # one path every explicit model serves, told apart by the BBR header
    bbr_image: str | None = None  # set with shared_path: the profile's Body-Based Router

    @property
    def bbr_name(self) -> str:
        return f"{self.name}-bbr"

    @property
    def bbr_pod_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.bbr_name, "app.kubernetes.io/component": "body-based-router"}

    @property
    def trust_certificate_name(self) -> str:
        """The internal-CA certificate whose ca.crt the gateway pods mount as their upstream trust."""
        return f"{self.name}-upstream-trust"

    @property
    def pod_labels(self) -> dict[str, str]:
        """Istio's gateway deployment controller labels the gateway pods with this."""
        return {"gateway.networking.k8s.io/gateway-name": self.name}


@dataclass(frozen=True, slots=True)
class Vllm:
    tls: bool
    dtype: str | None
    max_model_len: int | None
    prefix_caching: bool
    extra_args: tuple[str, ...]
    requests: dict[str, str]
    startup_seconds: int = 0  # how long model loading and XLA compilation may take before liveness counts


@dataclass(frozen=True, slots=True)
class Epp:
    image: str
    secure_serving: bool
    failure_mode: str
    objective_kind: str  # InferenceObjective (GIE >= v1.0 pickers) | InferenceModel (GIE v0.x)
    scorer_weights: dict[str, float]
    requests: dict[str, str]
    replicas: int = 1
    high_availability: str = "active-active"  # active-active | leader-election (used when replicas > 1)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    namespace: str
    uri: str
    served_name: str
    criticality: str
    replicas: int
    image: str
    accelerator: accelerators.TpuSlice | accelerators.GpuShape
    path_prefix: str
    router: str  # explicit | managed
    port: int
    vllm: Vllm
    epp: Epp
    hf_token_secret: str | None
    hf_token_key: str
    image_pull_secrets: tuple[str, ...]
    hostnames: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other model ids clients may send (InferenceModelRewrite)
    parameters_b: float | None = None  # billions of parameters (sizes the startup probe)
    autoscaling: scaling.Autoscaling | None = None  # spec.scaling instead of spec.replicas

    # Names and labels KServe's controller derives from the LLMInferenceService.
    @property
    def workload_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": "llminferenceservice",
                "kserve.io/component": "workload"}

    @property
    def managed_scheduler_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": "llminferenceservice",
                "app.kubernetes.io/component": "llminferenceservice-router-scheduler"}

    # Names infergate gives the objects it emits in router mode `explicit`.
    @property
    def pool_name(self) -> str:
        return f"{self.name}-inference-pool"

    @property
    def epp_name(self) -> str:
        return f"{self.name}-epp"

    @property
    def route_name(self) -> str:
        return f"{self.name}-route"

    @property
    def workload_service(self) -> str:
        """The Service KServe makes for the model-server pods."""
        return f"{self.name}-kserve-workload-svc"

    @property
    def vllm_certificate_name(self) -> str:
        return f"{self.name}-vllm-tls"

    @property
    def epp_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.epp_name, "app.kubernetes.io/component": "endpoint-picker",
                "app.kubernetes.io/part-of": self.name}

    @property
    def scheduler_pod_labels(self) -> dict[str, str]:
        """Labels of this model's EPP pods, whoever creates them."""
        return self.epp_labels if self.router == "explicit" else self.managed_scheduler_labels


@dataclass(frozen=True, slots=True)
class GatewayApiCrds:
    """platform.gatewayAPI: whether an Application installs the standard-channel Gateway API CRDs."""

    install: bool
    version: str
    repo_url: str


@dataclass(frozen=True, slots=True)
class ExtraFolder:
    """extra[i]: the *.yaml/*.yml files directly in ``source`` (inside the project's extra folder), copied
    byte for byte into dist/<env>/<folder>/ and synced by their own Application."""

    folder: str
    source: Path
    wave: int
    namespace: str
    file: str = field(default="", compare=False)  # where the entry is declared, for synth-time errors
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UserChart:
    """charts[i]: ``module:function`` called as build(chart, env) for dist/<env>/<name>/; the module is
    imported from ``project_root``."""

    name: str
    callable: str
    wave: int
    namespace: str
    project_root: Path
    file: str = field(default="", compare=False)  # where `callable` is declared, for synth-time errors
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class InClusterCheck:
    """smoke: / probes: an in-cluster check run as Argo CD PostSync hooks; image None: the default one."""

    enabled: bool
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Monitoring:
    """monitoring: who scrapes vLLM and the endpoint pickers (kind none: nobody; no monitors emitted)."""

    kind: str  # gmp | prometheus-operator | none
    namespace: str | None = None  # the scraper pods' namespace
    pod_labels: dict[str, str] = field(default_factory=dict)
    monitor_labels: dict[str, str] = field(default_factory=dict)
    interval: str = "30s"

    @property
    def enabled(self) -> bool:
        return self.kind != "none"


# GMP's managed collectors: DaemonSet pods of gmp-system labelled so (prometheus-engine's own PodMonitoring of
# the collectors selects them by it); prometheus-operator labels every Prometheus pod with the second.
MONITORING_DEFAULTS = {"gmp": ("gmp-system", {"app.kubernetes.io/name": "collector"}),
                       "prometheus-operator": (None, {"app.kubernetes.io/name": "prometheus"})}


def _monitoring(raw: dict[str, Any], errors: _Errors) -> Monitoring:
    plat = raw["platform"]
    if plat.get("monitoringNamespace"):
        raise errors.fail(["platform", "monitoringNamespace"], "replaced by `monitoring: {kind: gmp | "
                          "prometheus-operator, namespace, podLabels}` (the scraper is admitted by pod, "
                          "on the metrics ports only)")
    body = raw.get("monitoring", {"kind": "none"})
    kind = body["kind"]
    if kind == "none":
        extra = sorted(set(body) - {"kind"})
        if extra:
            raise errors.fail(["monitoring", extra[0]], "kind none scrapes nothing: drop it or pick a kind")
        return Monitoring(kind="none")
    namespace, labels_ = MONITORING_DEFAULTS[kind]
    namespace = body.get("namespace", namespace)
    if namespace is None:
        raise errors.fail(["monitoring", "kind"], f"{kind} needs `namespace`: where the Prometheus pods run")
    return Monitoring(kind=kind, namespace=namespace, pod_labels=dict(body.get("podLabels", labels_)),
                      monitor_labels=dict(body.get("monitorLabels", {})),
                      interval=body.get("interval", "30s"))


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    file: str
    kubernetes_version: str
    profile: Profile
    cluster: Cluster
    argocd: ArgoSettings
    operators: Operators
    platform: PlatformFacts
    mesh: Mesh
    gateway: Gateway
    models: tuple[Model, ...]
    pki: Pki
    gateway_api: GatewayApiCrds = GatewayApiCrds(install=False, version=GATEWAY_API_VERSION,
                                                 repo_url=GATEWAY_API_REPO)
    extra: tuple[ExtraFolder, ...] = ()
    charts: tuple[UserChart, ...] = ()
    smoke: InClusterCheck = InClusterCheck(enabled=True)
    probes: InClusterCheck = InClusterCheck(enabled=False)
    pod_security: dict[str, str] = field(default_factory=dict)  # namespace -> Pod Security level override
    monitoring: Monitoring = Monitoring(kind="none")
    files: tuple[str, ...] = ()  # this file and its bases, most derived first
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def model_namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({m.namespace for m in self.models}))


# --- reading and merging --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def environment_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def deep_merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; anything else (lists included) is replaced by the override."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _has_path(obj: Any, path: list[str | int]) -> bool:
    for step in path:
        in_map = isinstance(obj, dict) and isinstance(step, str) and step in obj
        in_list = isinstance(obj, list) and isinstance(step, int) and 0 <= step < len(obj)
        if not (in_map or in_list):
            return False
        obj = obj[step]
    return True


def _locate(docs: list[Document], path: list[str | int]) -> tuple[str, int]:
    """File and line that defined ``path``: the most derived file holding the longest prefix of it."""
    for length in range(len(path), 0, -1):
        prefix = path[:length]
        for doc in docs:
            if _has_path(doc.obj, prefix):
                return doc.file, line_of(doc, prefix)
    return docs[0].file, docs[0].line


class _Errors:
    """Raises ConfigErrors located in the right file of the chain."""

    def __init__(self, docs: list[Document]) -> None:
        self.docs = docs

    def fail(self, path: list[str | int], message: str) -> ConfigError:
        file, line = _locate(self.docs, path)
        key = _dotted(path)
        return ConfigError(f"{key}: {message}" if key else message, file=file, line=line)


def _dotted(path: list[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


@lru_cache(maxsize=1)
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(environment_schema(), validate_formats=True)


def _schema_check(merged: dict[str, Any], errors: _Errors) -> None:
    if _fast_validator().is_valid(merged):  # the common case; jsonschema (slower) only to explain errors
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(environment_schema(),
                                                format_checker=jsonschema.FormatChecker())
    found = sorted(validator.iter_errors(merged), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not found:
        return
    err = found[0]
    path = list(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            raise errors.fail([*path, extra[0]], f"unknown key {extra[0]!r}")
    if err.validator == "required":
        raise errors.fail(path, err.message.replace("property", "key"))
    raise errors.fail(path, _short(err))


def _short(err: Any) -> str:
    if err.validator == "type":
        return f"expected {err.validator_value}, got {type(err.instance).__name__} {err.instance!r}"
    if err.validator == "minLength" and err.instance == "":
        return "must not be empty"
    if err.validator == "pattern":
        return f"{err.instance!r} does not match {err.validator_value}"
    return err.message


# --- building the model ---------------------------------------------------------------------------

def load_environment(path: Path) -> Environment:
    """Load, merge, check and type ``path``; raise ConfigError (file, line, key) on any problem."""
    path = Path(path)
    docs = chain(path)
    merged: dict[str, Any] = {}
    for doc in reversed(docs):
        merged = deep_merge(merged, doc.obj)
    merged.pop("base", None)
    errors = _Errors(docs)
    _schema_check(merged, errors)
    if not path.stem.startswith("_") and not ENV_NAME.fullmatch(path.stem):
        raise ConfigError(f"environment name {path.stem!r} (the file name) must be a lowercase DNS label "
                          "of at most 40 characters: it names Argo CD Applications and dist/ folders",
                          file=str(path))
    if path.stem in RESERVED_ENV_NAMES:
        raise ConfigError(f"environment name {path.stem!r} is reserved (dist/{path.stem}/ is generated)",
                          file=str(path))
    return _build(path, merged, errors, tuple(d.file for d in docs))


def _build(path: Path, raw: dict[str, Any], errors: _Errors, files: tuple[str, ...]) -> Environment:
    profile = profiles.get(raw.get("profile"))
    cluster = Cluster(name=raw["cluster"]["name"], server=raw["cluster"]["server"])
    argo = raw.get("argocd", {})
    argocd = ArgoSettings(namespace=argo.get("namespace", "argocd"), project=argo.get("project", path.stem),
                          repo_url=argo["repoURL"],
                          target_revision=argo.get("targetRevision", "main"),
                          dist_path=argo.get("distPath", "dist").rstrip("/"))
    ops = raw.get("operators", {})
    operators = Operators(
        cert_manager=_helm(ops.get("certManager", {}), "https://charts.jetstack.io", "cert-manager",
                           "v1.19.6", "cert-manager"),
        sail_operator=_helm(ops.get("sailOperator", {}), "https://istio-ecosystem.github.io/sail-operator",
                            "sail-operator", profile.sail_operator_version, "sail-operator"),
        kserve=_kserve(ops.get("kserve", {}), profile, errors),
    )
    mesh_raw = raw.get("mesh", {})
    cni = mesh_raw.get("cni", {})
    mesh = Mesh(version=mesh_raw.get("version", profile.istio_version),
                namespace=mesh_raw.get("namespace", "istio-system"),
                pilot_env={**PILOT_ENV, **mesh_raw.get("pilotEnv", {})},
                access_log_file=mesh_raw.get("accessLogFile", "/dev/stdout"),
                cni_enabled=cni.get("enabled", False), cni_namespace=cni.get("namespace", "istio-cni"),
                cni_bin_dir=cni.get("binDir", "/home/kubernetes/bin"),
                cni_conf_dir=cni.get("confDir", "/etc/cni/net.d"))
    if mesh.pilot_env.get("ENABLE_GATEWAY_API_INFERENCE_EXTENSION") != "true":
        raise errors.fail(["mesh", "pilotEnv", "ENABLE_GATEWAY_API_INFERENCE_EXTENSION"],
                          "must be \"true\": istiod ignores InferencePools otherwise")
    _check_versions(profile, mesh, operators, errors)
    gateway = _gateway(raw["gateway"], profile, errors)
    pki = _pki(raw, gateway, profile, errors)
    images = _vllm_images(raw, errors)
    models = tuple(_model(i, m, profile, gateway, errors, images) for i, m in enumerate(raw["models"]))
    _check_models(models, errors)
    plat = raw["platform"]
    _check_cidrs(plat, errors)
    dns = plat.get("dns", {})
    kserve_gw = plat.get("kserveIngressGateway", f"{gateway.namespace}/{gateway.name}")
    for i, model in enumerate(models):
        if model.router == "managed" and kserve_gw != f"{gateway.namespace}/{gateway.name}":
            raise errors.fail(["models", i, "router"],
                              f"managed routing attaches to the controller's gateway {kserve_gw}, not "
                              f"{gateway.namespace}/{gateway.name}")
    for i, model in enumerate(models):
        needs_cert = model.router == "explicit" and model.epp.secure_serving
        needs_cert = needs_cert or (model.vllm.tls and not profile.kserve.workload_destination_rules)
        if needs_cert and pki.issuer.kind == "Issuer" and model.namespace != gateway.namespace:
            raise errors.fail(["models", i, "namespace"],
                              f"the internal certificates of {model.name} in {model.namespace} need a "
                              f"ClusterIssuer; the internal issuer {pki.issuer.name} is an Issuer of "
                              f"namespace {gateway.namespace}")
    monitoring = _monitoring(raw, errors)
    for i, model in enumerate(models):  # the scrape trusts the internal CA through a certificate of its own
        if monitoring.enabled and model.vllm.tls and pki.issuer.kind == "Issuer" \
                and model.namespace != gateway.namespace:
            raise errors.fail(["models", i, "namespace"], f"monitoring trusts vLLM's certificate through a "
                              f"certificate of the internal CA in {model.namespace}: the internal issuer "
                              f"{pki.issuer.name} is an Issuer of namespace {gateway.namespace}, not a "
                              "ClusterIssuer")
    provided = {(s["namespace"], s["name"]) for s in plat.get("providedSecrets", [])}
    for model in models:
        if model.hf_token_secret:
            provided.add((model.namespace, model.hf_token_secret))
        provided.update((model.namespace, s) for s in model.image_pull_secrets)
    provided.update((gateway.namespace, s) for s in gateway.image_pull_secrets)
    acme = {_issuer_ref(i, gateway.namespace) for i in (gateway.tls.issuer, pki.issuer) if i.acme}
    platform = PlatformFacts(
        kubernetes_version=raw["kubernetesVersion"],
        api_server_cidrs=tuple(plat["apiServerCIDRs"]),
        api_server_ports=tuple(plat.get("apiServerPorts", [443])),
        pod_cidrs=tuple(plat["podCIDRs"]), service_cidrs=tuple(plat["serviceCIDRs"]),
        dns_namespace=dns.get("namespace", "kube-system"),
        dns_pod_labels=dict(dns.get("podLabels", {"k8s-app": "kube-dns"})),
        model_download_cidrs=tuple(plat["modelDownload"]["cidrs"]),
        model_download_except=tuple(plat["modelDownload"].get("except", [])),
        monitoring_namespace=monitoring.namespace, monitoring_pod_labels=dict(monitoring.pod_labels),
        provided_secrets=frozenset(provided), istio_version=mesh.version,
        kserve_ingress_gateway=kserve_gw, profile=profile.name, acme_issuers=frozenset(acme),
        provided=_provided_objects(plat.get("provided", []), errors))
    gw_api = plat.get("gatewayAPI", {})
    gateway_api = GatewayApiCrds(install=gw_api.get("install", False),
                                 version=gw_api.get("version", GATEWAY_API_VERSION),
                                 repo_url=gw_api.get("repoURL", GATEWAY_API_REPO))
    extra, charts = _extensions(path, raw, errors)
    smoke, probes = raw.get("smoke", {}), raw.get("probes", {})
    return Environment(name=path.stem, file=str(path), kubernetes_version=raw["kubernetesVersion"],
                       profile=profile, cluster=cluster, argocd=argocd, operators=operators,
                       platform=platform, mesh=mesh, gateway=gateway, models=models, pki=pki,
                       gateway_api=gateway_api, extra=extra, charts=charts,
                       smoke=InClusterCheck(smoke.get("enabled", True), smoke.get("image")),
                       probes=InClusterCheck(probes.get("enabled", False),
                                             probes.get("image", smoke.get("image"))),
                       pod_security=dict(plat.get("podSecurity", {})), files=files, raw=raw,
                       monitoring=monitoring)


def _issuer_ref(issuer: Issuer, namespace: str) -> str:
    """How lint names an issuer: ``ClusterIssuer/<name>`` or ``<namespace>/<name>`` (an Issuer)."""
    return f"ClusterIssuer/{issuer.name}" if issuer.kind == "ClusterIssuer" else f"{namespace}/{issuer.name}"


def _check_versions(profile: Profile, mesh: Mesh, operators: Operators, errors: _Errors) -> None:
    """Istio must serve the profile's InferencePool API, and sail-operator must know that Istio."""
    if not profile.serves_istio(mesh.version):
        pool = f"{profile.pool_api_version} InferencePools"
        raise errors.fail(["mesh", "version"], f"Istio {mesh.version} cannot route to the {pool} of profile "
                          f"{profile.name} (it needs Istio {' or '.join(profile.istio_minors)}); "
                          f"{_other_profile_hint(profile, mesh.version)}")
    sail = profiles.istio_minor(operators.sail_operator.version)
    wanted = profiles.istio_minor(mesh.version)
    if _minor_tuple(sail) < _minor_tuple(wanted):
        raise errors.fail(["operators", "sailOperator", "version"],
                          f"sail-operator {operators.sail_operator.version} installs Istio up to "
                          f"v{sail}.x; mesh.version {mesh.version} needs sail-operator {wanted} or newer")


def _other_profile_hint(profile: Profile, version: str) -> str:
    fits = [p.name for p in profiles.profiles().values()
            if p.serves_istio(version) and p.name != profile.name]
    return f"profile {fits[0]} serves it" if fits else "no profile serves it"


def _minor_tuple(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split(".") if part.isdigit())


def _reserved(name: str) -> str | None:
    """Why ``name`` cannot be an extra folder or a user chart (None when it can)."""
    if name in GENERATED_FOLDERS or name.startswith(GENERATED_PREFIXES):
        return f"{name!r} is a folder infergate generates"
    if name in OPERATOR_APPLICATIONS:
        return f"{name!r} is the name of an Application infergate generates"
    return None


def _extensions(path: Path, raw: dict[str, Any], errors: _Errors
                ) -> tuple[tuple[ExtraFolder, ...], tuple[UserChart, ...]]:
    """extra: and charts:, checked for names here; their files are read at synth time (a missing folder
    must not break `validate` of an existing dist/)."""
    declared = [(["extra", i, "folder"], e["folder"]) for i, e in enumerate(raw.get("extra", []))]
    declared += [(["charts", i, "name"], c["name"]) for i, c in enumerate(raw.get("charts", []))]
    if not declared:
        return (), ()
    seen: dict[str, str] = {}
    for key, name in declared:
        why = _reserved(name)
        if why:
            raise errors.fail(key, f"{why}; choose another name")
        if name in seen:
            raise errors.fail(key, f"{name!r} is already used by {seen[name]}")
        seen[name] = _dotted(key[:2])
    project = find_project(path)
    if project is None:
        raise errors.fail(declared[0][0][:1], "needs an infergate project (infergate.toml above "
                          "the environment file): extra folders and chart modules are found from its root")
    extra = []
    for i, entry in enumerate(raw.get("extra", [])):
        key: list[str | int] = ["extra", i, "source" if "source" in entry else "folder"]
        source = (project.extra_dir / entry.get("source", entry["folder"])).resolve()
        if source != project.extra_dir and project.extra_dir not in source.parents:
            raise errors.fail(key, f"{project.relative(source)} leaves the project's extra folder "
                              f"{project.relative(project.extra_dir)}/")
        file, line = _locate(errors.docs, key)
        extra.append(ExtraFolder(folder=entry["folder"], source=source, wave=entry["wave"],
                                 namespace=entry["namespace"], file=file, line=line))
    charts = []
    for i, entry in enumerate(raw.get("charts", [])):
        file, line = _locate(errors.docs, ["charts", i, "callable"])
        charts.append(UserChart(name=entry["name"], callable=entry["callable"], wave=entry["wave"],
                                namespace=entry["namespace"], project_root=project.root, file=file,
                                line=line))
    return tuple(extra), tuple(charts)


def _provided_objects(values: list[str], errors: _Errors) -> tuple[str, ...]:
    """platform.provided: each entry must name something (lint reads them as its world model)."""
    from infergate.core.world import ProvidedError, parse_provided

    for i, value in enumerate(values):
        try:
            parse_provided(value)
        except ProvidedError as exc:
            raise errors.fail(["platform", "provided", i], str(exc)) from None
    return tuple(values)


def _check_cidrs(plat: dict[str, Any], errors: _Errors) -> None:
    """CIDRs must be networks the API server accepts (no host bits set); excepts inside the ranges."""
    lists: list[tuple[list[str | int], list[str]]] = [
        (["platform", key], plat.get(key, [])) for key in ("apiServerCIDRs", "podCIDRs", "serviceCIDRs")]
    download = plat["modelDownload"]
    lists += [(["platform", "modelDownload", "cidrs"], download["cidrs"]),
              (["platform", "modelDownload", "except"], download.get("except", []))]
    nets: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for path, cidrs in lists:
        for i, cidr in enumerate(cidrs):
            try:
                nets.setdefault(str(path[-1]), []).append(ipaddress.ip_network(cidr))
            except ValueError as exc:
                raise errors.fail([*path, i], f"{cidr!r} is not a network address: {exc}") from None
    for i, net in enumerate(nets.get("except", [])):
        if not any(net != outer and net.subnet_of(outer) for outer in nets["cidrs"]):  # type: ignore[arg-type]
            raise errors.fail(["platform", "modelDownload", "except", i],
                              f"{net} is inside none of modelDownload.cidrs")


def _helm(raw: dict[str, Any], repo: str, chart: str, version: str, namespace: str) -> HelmSource:
    return HelmSource(repo_url=raw.get("repoURL", repo), chart=raw.get("chart", chart),
                      version=raw.get("version", version), namespace=raw.get("namespace", namespace))


def _kserve(raw: dict[str, Any], profile: Profile, errors: _Errors) -> KustomizeSource:
    ks = profile.kserve
    if ks.install == "helm":
        for key in ("revision", "path", "kustomizeVersion"):
            if key in raw:
                raise errors.fail(["operators", "kserve", key], f"profile {profile.name} installs KServe "
                                  "from its Helm charts: set `version` (and `repoURL` for a mirror)")
        return KustomizeSource(repo_url=raw.get("repoURL", ks.repo_url), revision="", path="",
                               kustomize_version=None, namespace=ks.namespace, install="helm",
                               version=raw.get("version", ks.version or ""))
    if "version" in raw:
        raise errors.fail(["operators", "kserve", "version"], f"profile {profile.name} installs KServe from "
                          "an overlay at a commit: set `revision` (and `path`)")
    # The overlay's remove-non-llm-crds.yaml holds several `$patch: delete` documents: kustomize <= v5.6
    # panics on it, >= v5.7.0 builds it (fix kubernetes-sigs/kustomize#5859), and
    # Argo CD >= v3.1 bundles >= v5.7.0. So no version is pinned unless the environment asks for one.
    return KustomizeSource(repo_url=raw.get("repoURL", ks.repo_url),
                           revision=raw.get("revision", ks.revision or ""),
                           path=raw.get("path", ks.path or ""),
                           kustomize_version=raw.get("kustomizeVersion"), namespace=ks.namespace)


def _gateway(raw: dict[str, Any], profile: Profile, errors: _Errors) -> Gateway:
    name, namespace = raw.get("name", "inference-gateway"), raw.get("namespace", "opendatahub")
    if len(name) + len("-istio") > SERVICE_NAME_MAX:  # istiod names the gateway Service <name>-istio
        raise errors.fail(["gateway", "name"], f"{name!r} is too long: Istio names its Service "
                          f"{name}-istio, over {SERVICE_NAME_MAX} characters")
    tls = raw["tls"]
    iss = tls["issuer"]
    issuer = _issuer(iss, ["gateway", "tls", "issuer"], errors)
    hostnames = tuple(raw.get("hostnames", []))
    fqdn = f"{name}.{namespace}.svc.cluster.local"
    # the public names clients use, else the in-cluster name (a public issuer cannot sign that one)
    dns_names = tuple(tls.get("dnsNames", list(hostnames) or [fqdn]))
    if issuer.acme:
        if "dnsNames" not in tls and not hostnames:
            raise errors.fail(["gateway", "tls", "issuer", "acme"], "an ACME issuer signs public DNS names "
                              "only: set gateway.hostnames or gateway.tls.dnsNames")
        for i, dns in enumerate(dns_names):
            if cluster_local(dns):
                raise errors.fail(["gateway", "tls", "dnsNames", i], f"{dns} is a cluster-local name: ACME "
                                  f"issuer {issuer.name} cannot validate it (in-cluster TLS comes from pki)")
    common = tls.get("commonName")
    if common is not None and common not in dns_names:
        raise errors.fail(["gateway", "tls", "commonName"], f"{common!r} is not among dnsNames "
                          f"{list(dns_names)}: ACME refuses it and clients ignore the common name; omit it "
                          "(the first DNS name is used)")
    if common is None and dns_names and len(dns_names[0]) <= COMMON_NAME_MAX:
        common = dns_names[0]
    gateway_tls = GatewayTls(certificate_name=tls.get("certificateName", f"{name}-tls"),
                             secret_name=tls.get("secretName", f"{name}-tls-cert"),
                             common_name=common, dns_names=dns_names,
                             duration=tls.get("duration", "2160h"),
                             renew_before=tls.get("renewBefore", "360h"),
                             issuer=issuer)
    if int(gateway_tls.renew_before[:-1]) >= int(gateway_tls.duration[:-1]):
        raise errors.fail(["gateway", "tls", "renewBefore"], "must be shorter than duration")
    shared_path = raw.get("sharedPath")
    if shared_path and not profile.bbr_image:
        supported = [p.name for p in profiles.profiles().values() if p.bbr_image]
        raise errors.fail(["gateway", "sharedPath"], f"profile {profile.name} has no Body-Based Router to "
                          f"route by the request's model (profiles that do: {', '.join(supported)})")
    return Gateway(name=name, namespace=namespace, class_name=raw.get("className", "istio"),
                   http=raw.get("http", "redirect"), addresses=tuple(raw.get("addresses", [])),
                   image_pull_secrets=tuple(raw.get("imagePullSecrets", [])),
                   parameters_config_map=raw.get("parametersConfigMap", f"{name}-config"), tls=gateway_tls,
                   hostnames=hostnames, shared_path=shared_path,
                   bbr_image=profile.bbr_image if shared_path else None)


COMMON_NAME_MAX = 64  # X.509 upper bound of a commonName
_CLUSTER_SUFFIXES = (".svc", ".cluster.local", ".local", ".internal")


def cluster_local(name: str) -> bool:
    """A name only the cluster resolves (``*.svc``, ``*.cluster.local``) or a single label."""
    return name.endswith(_CLUSTER_SUFFIXES) or ".svc." in name or "." not in name


def _issuer(raw: dict[str, Any], key: list[str | int], errors: _Errors) -> Issuer:
    kind = raw.get("kind", "ClusterIssuer")
    chain = raw.get("createCAChain", False)
    if chain and kind != "ClusterIssuer":
        raise errors.fail([*key, "createCAChain"], "the CA chain is made of ClusterIssuers")
    if chain and raw.get("acme"):
        raise errors.fail([*key, "acme"], "the CA chain infergate creates is no ACME issuer")
    return Issuer(kind=kind, name=raw.get("name", DEFAULT_CA_ISSUER), create_ca_chain=chain,
                  ca_certificate_name=raw.get("caCertificateName", "opendatahub-ca"),
                  self_signed_issuer_name=raw.get("selfSignedIssuerName", "opendatahub-selfsigned-issuer"),
                  ca_namespace=raw.get("caNamespace", "cert-manager"), acme=raw.get("acme", False))


DEFAULT_CA_ISSUER = "opendatahub-ca-issuer"


def _pki(raw: dict[str, Any], gateway: Gateway, profile: Profile, errors: _Errors) -> Pki:
    """The internal CA: `pki:`, else the chain the gateway's issuer creates, else the self-signed chain."""
    public = gateway.tls.issuer
    if "pki" not in raw:
        issuer = public if public.create_ca_chain else _issuer({"createCAChain": True}, ["pki"], errors)
    elif public.create_ca_chain:
        raise errors.fail(["gateway", "tls", "issuer", "createCAChain"], "pki: declares the internal CA: "
                          "create the chain there (createCAChain under pki.issuer) or use it as the "
                          "gateway's issuer by name")
    else:
        body = dict(raw["pki"].get("issuer", {}))
        body.setdefault("createCAChain", "name" not in body)  # an issuer of yours, or infergate's chain
        issuer = _issuer(body, ["pki", "issuer"], errors)
        if issuer.acme:
            raise errors.fail(["pki", "issuer", "acme"], "the internal CA signs cluster-local names; an "
                              "ACME issuer cannot (and its secrets carry no ca.crt to trust)")
    if profile.kserve.signing_ca and issuer.create_ca_chain:
        secret, namespace = profile.kserve.signing_ca
        if (issuer.ca_certificate_name, issuer.ca_namespace) != (secret, namespace):
            key = ["gateway", "tls", "issuer"] if public is issuer else ["pki", "issuer"]
            raise errors.fail([*key, "caCertificateName"], f"profile {profile.name}'s KServe signs model "
                              f"server certificates with {namespace}/{secret}: the internal CA must be "
                              "that secret (caCertificateName, caNamespace)")
    return Pki(issuer=issuer)


# KServe derives these from the LLMInferenceService name; the longest must still be a valid Service name.
_DERIVED_SERVICE_SUFFIXES = ("-kserve-workload-svc", "-epp-service", "-inference-pool")


def _vllm_images(raw: dict[str, Any], errors: _Errors) -> dict[str, str]:
    """vllm.images: the environment's vLLM image per accelerator family; each must be a build for it."""
    images = dict(raw.get("vllm", {}).get("images", {}))
    for family, image in images.items():
        built_for = accelerators.image_family(image)
        if built_for not in (None, family):
            raise errors.fail(["vllm", "images", family], f"{image} is a {built_for.upper()} build of vLLM "
                              f"({accelerators.IMAGE_FAMILY_RULE}); vllm.images.{family} serves "
                              f"{family.upper()} models")
    return images


def _accelerator(raw: dict[str, Any], here: list[str | int],
                 errors: _Errors) -> accelerators.TpuSlice | accelerators.GpuShape:
    """accelerator + topology (a TPU slice) or accelerator + count [+ machineType] (GPUs on one node)."""
    name = raw["accelerator"]
    family = accelerators.family(name)
    if family is None:
        kind = "GPU" if name.startswith("nvidia-") else "TPU"  # what the user meant, for the message
        raise errors.fail([*here, "accelerator"], f"unknown {kind} accelerator {name!r}; TPUs: "
                          f"{', '.join(accelerators.accelerators('tpu'))}; GPUs: "
                          f"{', '.join(accelerators.accelerators('gpu'))}")
    if family == "gpu":
        if "topology" in raw:
            raise errors.fail([*here, "topology"], f"{name} is a GPU: give count (GPUs per replica, "
                              "optionally machineType), not a TPU topology")
        if "count" not in raw:
            raise errors.fail([*here, "accelerator"], f"{name} is a GPU: count (GPUs per replica) is "
                              "required")
        try:
            return accelerators.lookup_gpu(name, raw["count"], raw.get("machineType"))
        except accelerators.UnknownGpu as exc:
            raise errors.fail([*here, "machineType" if "machineType" in raw else "count"], str(exc)) from None
    for key in ("count", "machineType"):
        if key in raw:
            raise errors.fail([*here, key], f"{name} is a TPU slice: its topology sets the chips and machine "
                              f"type; drop {key}")
    if "topology" not in raw:
        raise errors.fail([*here, "accelerator"], f"{name} is a TPU slice: topology is required (one of "
                          f"{', '.join(accelerators.topologies(name))})")
    try:
        return accelerators.lookup(name, raw["topology"])
    except accelerators.UnknownTpu as exc:
        raise errors.fail([*here, "topology"], str(exc)) from None


def _model_image(raw: dict[str, Any], accel: accelerators.TpuSlice | accelerators.GpuShape,
                 images: dict[str, str], here: list[str | int], errors: _Errors) -> str:
    """The model's own image, else the environment's for its family; never a build for the other family."""
    family = accel.family
    if "image" not in raw:
        if family not in images:
            raise errors.fail([*here, "accelerator"], f"no vLLM image for {accel.accelerator} "
                              f"({family.upper()}): set vllm.images.{family} or this model's image")
        return images[family]
    built_for = accelerators.image_family(raw["image"])
    if built_for not in (None, family):
        raise errors.fail([*here, "image"], f"{raw['image']} is a {built_for.upper()} build of vLLM "
                          f"({accelerators.IMAGE_FAMILY_RULE}), but {accel.accelerator} is a "
                          f"{family.upper()}: use a {family.upper()} image")
    return raw["image"]


def _model(index: int, raw: dict[str, Any], profile: Profile, gateway: Gateway, errors: _Errors,
           images: dict[str, str] | None = None) -> Model:
    here: list[str | int] = ["models", index]
    name, namespace = raw["name"], raw["namespace"]
    longest = max(_DERIVED_SERVICE_SUFFIXES, key=len)
    if len(name) + len(longest) > SERVICE_NAME_MAX:
        raise errors.fail([*here, "name"], f"{name!r} is too long for an LLMInferenceService: KServe names "
                          f"its Service {name}{longest} ({len(name) + len(longest)} > {SERVICE_NAME_MAX} "
                          f"characters); use at most {SERVICE_NAME_MAX - len(longest)}")
    tpu_slice = _accelerator(raw, here, errors)
    image = _model_image(raw, tpu_slice, images or {}, here, errors)
    router = raw.get("router", "explicit")
    default_prefix = f"/{namespace}/{name}"
    prefix = raw.get("pathPrefix", default_prefix).rstrip("/") or "/"
    if router == "managed" and prefix != default_prefix:
        raise errors.fail([*here, "pathPrefix"], f"router: managed serves under {default_prefix} (KServe's "
                          "route); drop pathPrefix or use router: explicit")
    v, e, s = raw.get("vllm", {}), raw.get("epp", {}), raw.get("secrets", {})
    parameters = _parameters_b(raw)
    vllm = Vllm(tls=v.get("tls", True), dtype=v.get("dtype"), max_model_len=v.get("maxModelLen"),
                prefix_caching=v.get("prefixCaching", False), extra_args=tuple(v.get("extraArgs", [])),
                requests=dict(v.get("requests", {})),
                startup_seconds=v.get("startupSeconds", startup_budget(parameters)))
    for j, arg in enumerate(vllm.extra_args):
        flag = arg.split("=", 1)[0]
        if flag in _OWNED_VLLM_FLAGS:
            raise errors.fail([*here, "vllm", "extraArgs", j], f"{flag} is generated (from "
                              f"{_OWNED_VLLM_FLAGS[flag]}); remove it from extraArgs")
    kinds = profile.objective_kinds
    epp = Epp(image=e.get("image", profile.epp_image), secure_serving=e.get("secureServing", True),
              failure_mode=e.get("failureMode", "FailOpen"),
              objective_kind=e.get("objectiveKind", kinds[0]),
              scorer_weights={k: float(w)
                              for k, w in sorted(e.get("scorerWeights", DEFAULT_SCORERS).items())},
              requests=dict(e.get("requests", {"cpu": "256m", "memory": "500Mi"})),
              replicas=e.get("replicas", 1), high_availability=e.get("highAvailability", "active-active"))
    if epp.objective_kind not in kinds:
        raise errors.fail([*here, "epp", "objectiveKind"], f"profile {profile.name} serves "
                          f"{' and '.join(kinds)} ({profile.objective_api_version}), "
                          f"not {epp.objective_kind}")
    if epp.high_availability == "leader-election" and not profile.epp_leader_election:
        raise errors.fail([*here, "epp", "highAvailability"], f"the endpoint picker of profile "
                          f"{profile.name} has no leader election")
    for scorer in epp.scorer_weights:
        if scorer not in _KNOWN_SCORERS:
            raise errors.fail([*here, "epp", "scorerWeights", scorer],
                              f"unknown scorer {scorer!r}; known: {', '.join(sorted(_KNOWN_SCORERS))}")
    if router == "managed" and "epp" in raw:
        raise errors.fail([*here, "epp"], "router: managed uses the controller's EPP (the CRD has no "
                          "scheduler image/args/weights); epp settings need router: explicit")
    aliases = tuple(raw.get("aliases", []))
    if aliases and not profile.model_rewrite_api_version:
        raise errors.fail([*here, "aliases"], f"the endpoint picker of profile {profile.name} cannot rewrite "
                          "model names (InferenceModelRewrite needs Gateway API Inference Extension >= v1.3)")
    if gateway.shared_path and prefix == (gateway.shared_path.rstrip("/") or "/"):
        raise errors.fail([*here, "pathPrefix"] if "pathPrefix" in raw else [*here, "name"],
                          f"{prefix} is gateway.sharedPath: this model's own prefix rule (no model header) "
                          "would take every request on the shared path the other models do not match; "
                          "give it a prefix of its own")
    if gateway.shared_path and router == "managed":
        raise errors.fail([*here, "router"], f"gateway.sharedPath {gateway.shared_path} needs router: "
                          "explicit (infergate writes the header-matching route; KServe's own route cannot "
                          "share a path)")
    if aliases and router == "managed":
        raise errors.fail([*here, "aliases"], "aliases need router: explicit (infergate writes the rewrite "
                          "for its own InferencePool)")
    hostnames = tuple(raw.get("hostnames", gateway.hostnames))
    for j, host in enumerate(hostnames):
        if gateway.hostnames and not any(host_matches(listener, host) for listener in gateway.hostnames):
            key: list[str | int] = [*here, "hostnames", j] if "hostnames" in raw else [*here, "name"]
            raise errors.fail(key, f"{host} matches no gateway listener hostname "
                              f"({', '.join(gateway.hostnames)}): the route would not attach")
    hf = s.get("hfToken")
    autoscaling = scaling.parse(raw, here, profile, errors.fail)
    return Model(name=name, namespace=namespace, uri=raw["uri"], served_name=raw["servedName"],
                 criticality=raw.get("criticality", "Critical"), replicas=raw.get("replicas", 1),
                 image=image, accelerator=tpu_slice, path_prefix=prefix, router=router,
                 port=KSERVE_MODEL_PORT, vllm=vllm, epp=epp,
                 hf_token_secret=hf["name"] if hf else None, hf_token_key=(hf or {}).get("key", "HF_TOKEN"),
                 image_pull_secrets=tuple(s.get("imagePull", [])), hostnames=hostnames, aliases=aliases,
                 parameters_b=parameters, autoscaling=autoscaling)


def host_matches(listener: str, host: str) -> bool:
    """Gateway API hostname intersection: a route hostname attaches to a listener hostname."""
    if listener == host:
        return True
    if listener.startswith("*."):
        return host.endswith(listener[1:]) or (host.startswith("*.") and host.endswith(listener[1:]))
    return host.startswith("*.") and listener.endswith(host[1:])


# Model size from the name clients see ("Llama-3.1-8B", "Mixtral-8x7B"), when `parameters` is not given.
_SIZE = re.compile(r"(?:(\d+)x)?(\d+(?:\.\d+)?)[bB](?![a-zA-Z])")


def _parameters_b(raw: dict[str, Any]) -> float | None:
    given = raw.get("parameters")
    if given is not None:
        return float(str(given).rstrip("bB"))
    for text in (raw["servedName"], raw["uri"]):
        match = _SIZE.search(text.rpartition("/")[2])
        if match:
            return float(match.group(2)) * int(match.group(1) or 1)
    return None


# Loading the weights and XLA's compilation of every shape bucket grow with the model; on TPUs an 8B model
# outlasts the liveness budget alone (240 s delay + 5 x 30 s). Budget: 10 min + 90 s per billion
# parameters, at most 60 min; an unknown size gets the 8B budget. vllm.startupSeconds overrides it.
STARTUP_BASE_S, STARTUP_PER_B_S, STARTUP_MAX_S, STARTUP_UNKNOWN_B = 600, 90, 3600, 8.0


def startup_budget(parameters_b: float | None) -> int:
    size = STARTUP_UNKNOWN_B if parameters_b is None else parameters_b
    return int(min(STARTUP_MAX_S, STARTUP_BASE_S + STARTUP_PER_B_S * size))


_OWNED_VLLM_FLAGS = {
    "--model": "uri", "--served-model-name": "servedName", "--port": "KServe's fixed port 8000",
    "--tensor-parallel-size": "the TPU/GPU table", "--ssl-certfile": "vllm.tls", "--ssl-keyfile": "vllm.tls",
    "--enable-prefix-caching": "vllm.prefixCaching", "--dtype": "vllm.dtype",
    "--max-model-len": "vllm.maxModelLen",
    # multi-host slices (infergate/synth/multihost.py)
    "--pipeline-parallel-size": "the TPU table's host count",
    "--distributed-executor-backend": "the topology",
}
_KNOWN_SCORERS = frozenset({"prefix-cache-scorer", "load-aware-scorer", "kv-cache-utilization-scorer",
                            "queue-scorer", "lora-affinity-scorer"})


def _check_models(models: tuple[Model, ...], errors: _Errors) -> None:
    names: dict[str, int] = {}
    prefixes: dict[str, int] = {}  # "<hostname><prefix>" -> model index
    for i, model in enumerate(models):
        if model.name in names:
            raise errors.fail(["models", i, "name"], f"duplicate model name {model.name!r} "
                              f"(also models[{names[model.name]}])")
        names[model.name] = i
        for host in model.hostnames or ("",):  # a prefix may repeat on other hostnames
            taken = prefixes.get(f"{host}{model.path_prefix}")
            if taken is not None:
                raise errors.fail(["models", i, "pathPrefix"], f"path prefix {model.path_prefix} is already "
                                  f"routed to models[{taken}]{' on ' + host if host else ''}")
            prefixes[f"{host}{model.path_prefix}"] = i


def environment_for_dist(path: Path) -> Environment | None:
    """The environment whose output holds ``path`` (dist/<env> or anything under it), if any."""
    env_file = env_file_for_dist(path)
    return load_environment(env_file) if env_file is not None else None
