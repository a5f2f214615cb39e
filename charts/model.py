"""One model's Argo CD Application folder.

Router mode `explicit` (default): infergate emits the InferencePool, its EPP, the InferenceObjective (or
InferenceModel) and the HTTPRoute, and the LLMInferenceService references them — every routing object is
in Git and reviewable. Their API versions and shapes are the environment's platform profile's.
Router mode `managed`: only the LLMInferenceService; KServe creates (and owns) route, pool and EPP, so
none of them may be in Git.
"""

from __future__ import annotations

from constructs import Construct
from infergate.charts.bbr import MODEL_HEADER
from infergate.charts.common import Chart, labels
from infergate.charts.epp import GRPC_PORT, EndpointPicker
from infergate.charts.gateway import host_matches, https_listeners
from infergate.charts.llmisvc import ModelServer, issues_vllm_certificate
from infergate.charts.resources import (
    HTTPRoute,
    HTTPRouteRule,
    HTTPRouteSpec,
    InferenceModel,
    InferenceModelRewrite,
    InferenceModelRewriteSpec,
    InferenceModelSpec,
    InferenceObjective,
    InferenceObjectiveSpec,
    InferencePool,
    InferencePoolSpec,
    InferencePoolV1Spec,
    ParentRef,
    PoolRef,
)
from infergate.charts.smoke import SmokeTest
from infergate.charts.upstream_tls import ModelServerTls

from infergate.synth.config import Environment, Model

# InferenceModel criticality -> InferenceObjective priority (higher is served first; unset = 0)
PRIORITY = {"Critical": 1, "Standard": 0, "Sheddable": -1}


def parent_refs(env: Environment, model: Model) -> list[ParentRef]:
    """The HTTPS listeners whose hostname the route's hostnames match (and HTTP ones with http: serve)."""
    gw = env.gateway
    sections = [name for name, host in https_listeners(env)
                if host is None or not model.hostnames or any(host_matches(host, h) for h in model.hostnames)]
    if gw.http == "serve":
        sections += [name.replace("https", "http", 1) for name in sections]
    return [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name,
             "namespace": gw.namespace, "sectionName": s} for s in sections]


def pool_spec(model: Model, env: Environment) -> InferencePoolSpec | InferencePoolV1Spec:
    """The pool in the profile's API: x-k8s v1alpha2 (extensionRef) or GA v1 (endpointPickerRef)."""
    if env.profile.ga_pool:
        return {"selector": {"matchLabels": model.workload_labels},  # the labels KServe puts on vLLM pods
                "targetPorts": [{"number": model.port}],
                # the API default, written out so the stored pool equals the manifest (infergate verify)
                "appProtocol": "http",
                "endpointPickerRef": {"group": "", "kind": "Service", "name": model.epp_name,
                                      "port": {"number": GRPC_PORT}, "failureMode": model.epp.failure_mode}}
    return {"selector": model.workload_labels, "targetPortNumber": model.port,
            "extensionRef": {"group": "", "kind": "Service", "name": model.epp_name, "portNumber": GRPC_PORT,
                             "failureMode": model.epp.failure_mode}}


def shared_path_rule(model: Model, env: Environment) -> HTTPRouteRule:
    """gateway.sharedPath: one match per name the model answers to (servedName, then aliases) on the
    header the Body-Based Router sets from the body's `model`; the path goes to vLLM unchanged."""
    profile = env.profile
    path = env.gateway.shared_path
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": path},
                     "headers": [{"type": "Exact", "name": MODEL_HEADER, "value": name}]}
                    for name in (model.served_name, *model.aliases)],
        "backendRefs": [{"group": profile.pool_group, "kind": "InferencePool", "name": model.pool_name,
                         "weight": 1}],
    }


class ModelChart(Chart):
    WAVE = 2  # last: the LLMInferenceService needs KServe, the gateway and its policies

    def __init__(self, scope: Construct, folder: str, model: Model, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=model.namespace)
        ModelServer(self, "server", model, env)
        if issues_vllm_certificate(model, env):
            ModelServerTls(self, "tls", model, env)
        if model.router == "explicit":
            self._routing(model, env)
        if env.smoke.enabled:
            SmokeTest(self, "smoke", model, env)  # PostSync hook: runs once everything above is healthy

    def _routing(self, model: Model, env: Environment) -> None:
        lab = labels(model.name, "router", "infergate")
        profile = env.profile
        EndpointPicker(self, "epp", model, env)
        InferencePool(self, model.pool_name, namespace=model.namespace, labels=lab,
                      spec=pool_spec(model, env), api_version=profile.pool_api_version)
        pool_ref: PoolRef = {"group": profile.pool_group, "kind": "InferencePool", "name": model.pool_name}
        if model.epp.objective_kind == "InferenceModel":  # GIE v0.x pickers
            served: InferenceModelSpec = {"modelName": model.served_name, "criticality": model.criticality,
                                          "poolRef": pool_ref}
            InferenceModel(self, model.name, namespace=model.namespace, labels=lab, spec=served,
                           api_version=profile.objective_api_version)
        else:  # GIE >= v1.0 pickers watch InferenceObjectives only
            objective: InferenceObjectiveSpec = {"poolRef": pool_ref,
                                                 "priority": PRIORITY[model.criticality]}
            InferenceObjective(self, model.name, namespace=model.namespace, labels=lab, spec=objective,
                               api_version=profile.objective_api_version)
        if model.aliases:  # the picker rewrites the OpenAI `model` field before vLLM sees it
            rewrite: InferenceModelRewriteSpec = {"poolRef": pool_ref, "rules": [{
                "matches": [{"model": {"type": "Exact", "value": alias}} for alias in model.aliases],
                "targets": [{"modelRewrite": model.served_name}]}]}
            InferenceModelRewrite(self, model.name, namespace=model.namespace, labels=lab, spec=rewrite,
                                  api_version=profile.model_rewrite_api_version)
        route: HTTPRouteSpec = {"parentRefs": parent_refs(env, model)}
        if model.hostnames:
            route["hostnames"] = list(model.hostnames)
        route["rules"] = [{
            "matches": [{"path": {"type": "PathPrefix", "value": model.path_prefix}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
            # weight 1 is the API default, written out so the server adds nothing Argo CD's diff would show
            "backendRefs": [{"group": profile.pool_group, "kind": "InferencePool", "name": model.pool_name,
                             "weight": 1}],
        }]
        if env.gateway.shared_path:  # the same pool on the shared path, for requests naming this model
            route["rules"].append(shared_path_rule(model, env))
        HTTPRoute(self, model.route_name, namespace=model.namespace, labels=lab, spec=route)
