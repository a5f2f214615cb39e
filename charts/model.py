"""One model's Argo CD Application folder.

Router mode `explicit` (default): infergate emits the InferencePool, its EPP, the InferenceModel and the
HTTPRoute, and the LLMInferenceService references them — every routing object is in Git and reviewable.
Router mode `managed`: only the LLMInferenceService; KServe creates (and owns) route, pool and EPP, so
none of them may be in Git (SEED-FACTS (f)).
"""

from __future__ import annotations

from constructs import Construct

from charts.common import Chart, labels
from charts.epp import GRPC_PORT, POOL_GROUP, EndpointPicker
from charts.llmisvc import ModelServer
from charts.resources import (
    HTTPRoute,
    HTTPRouteSpec,
    InferenceModel,
    InferenceModelSpec,
    InferencePool,
    InferencePoolSpec,
    ParentRef,
)
from infergate.config import Environment, Model


def parent_refs(env: Environment) -> list[ParentRef]:
    gw = env.gateway
    sections = ["https", "http"] if gw.http == "serve" else ["https"]
    return [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name,
             "namespace": gw.namespace, "sectionName": s} for s in sections]


class ModelChart(Chart):
    def __init__(self, scope: Construct, folder: str, model: Model, env: Environment) -> None:
        super().__init__(scope, folder)
        ModelServer(self, "server", model, env)
        if model.router == "explicit":
            self._routing(model, env)

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
        served: InferenceModelSpec = {
            "modelName": model.served_name, "criticality": model.criticality,
            "poolRef": {"group": POOL_GROUP, "kind": "InferencePool", "name": model.pool_name},
        }
        InferenceModel(self, model.name, namespace=model.namespace, labels=lab, spec=served)
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
