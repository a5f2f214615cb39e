"""One model's Argo CD Application folder.

Router mode `explicit` (default): infergate emits the InferencePool, its EPP, the InferenceModel and the
HTTPRoute, and the LLMInferenceService references them — every routing object is in Git and reviewable.
Router mode `managed`: only the LLMInferenceService; KServe creates (and owns) route, pool and EPP, so
none of them may be in Git.
"""

from __future__ import annotations

from constructs import Construct
from infergate.charts.common import Chart, labels
from infergate.charts.epp import GRPC_PORT, POOL_GROUP, EndpointPicker
from infergate.charts.llmisvc import ModelServer
from infergate.charts.resources import (
    HTTPRoute,
    HTTPRouteSpec,
    InferenceModel,
    InferenceModelSpec,
    InferenceObjective,
    InferenceObjectiveSpec,
    InferencePool,
    InferencePoolSpec,
    ParentRef,
    PoolRef,
)
from infergate.charts.smoke import SmokeTest

from infergate.synth.config import Environment, Model

# InferenceModel criticality -> InferenceObjective priority (higher is served first; unset = 0)
PRIORITY = {"Critical": 1, "Standard": 0, "Sheddable": -1}


def parent_refs(env: Environment) -> list[ParentRef]:
    gw = env.gateway
    sections = ["https", "http"] if gw.http == "serve" else ["https"]
    return [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name,
             "namespace": gw.namespace, "sectionName": s} for s in sections]


class ModelChart(Chart):
    WAVE = 2  # last: the LLMInferenceService needs KServe, the gateway and its policies

    def __init__(self, scope: Construct, folder: str, model: Model, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=model.namespace)
        ModelServer(self, "server", model, env)
        if model.router == "explicit":
            self._routing(model, env)
        if env.smoke.enabled:
            SmokeTest(self, "smoke", model, env)  # PostSync hook: runs once everything above is healthy

    def _routing(self, model: Model, env: Environment) -> None:
        lab = labels(model.name, "router", "infergate")
        EndpointPicker(self, "epp", model, env)
        pool: InferencePoolSpec = {
            "selector": model.workload_labels,  # the labels KServe puts on the vLLM pods
            "targetPortNumber": model.port,
            "extensionRef": {"group": "", "kind": "Service", "name": model.epp_name, "portNumber": GRPC_PORT,
                             "failureMode": model.epp.failure_mode},
        }
        InferencePool(self, model.pool_name, namespace=model.namespace, labels=lab, spec=pool)
        pool_ref: PoolRef = {"group": POOL_GROUP, "kind": "InferencePool", "name": model.pool_name}
        if model.epp.objective_kind == "InferenceModel":  # GIE v0.x pickers
            served: InferenceModelSpec = {"modelName": model.served_name, "criticality": model.criticality,
                                          "poolRef": pool_ref}
            InferenceModel(self, model.name, namespace=model.namespace, labels=lab, spec=served)
        else:  # GIE >= v1.0 pickers (the ODH release-v0.4 image) watch InferenceObjectives only
            objective: InferenceObjectiveSpec = {"poolRef": pool_ref,
                                                 "priority": PRIORITY[model.criticality]}
            InferenceObjective(self, model.name, namespace=model.namespace, labels=lab, spec=objective)
        route: HTTPRouteSpec = {
            "parentRefs": parent_refs(env),
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": model.path_prefix}}],
                "filters": [{"type": "URLRewrite", "urlRewrite": {
                    "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
                "backendRefs": [{"group": POOL_GROUP, "kind": "InferencePool", "name": model.pool_name}],
            }],
        }
        HTTPRoute(self, model.route_name, namespace=model.namespace, labels=lab, spec=route)
