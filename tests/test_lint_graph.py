"""The object graph: the pods the cluster will run (manifest, KServe, Istio), indexes, selectors."""

from __future__ import annotations

import pytest

from infergate.core.graph import Graph, PodModel, selector_matches
from infergate.core.loader import Document, load_text

LLMISVC = """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: models}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  router: {route: {}, gateway: {}, scheduler: {}}
  template:
    containers:
    - name: main
      image: vllm:1
      args:
      - "python3 -m vllm.entrypoints.openai.api_server \\\\\\n --model=/mnt/models --served-model-name a b"
"""


def graph_of(text: str, platform: object = None) -> Graph:
    docs = [d for d in load_text(text, "g.yaml") if isinstance(d, Document)]
    return Graph(docs, platform)


def pod(graph: Graph, name: str) -> PodModel:
    return next(p for p in graph.pods if p.name == name)


def test_kserve_workload_pod_has_kserve_labels_and_preset_port() -> None:
    g = graph_of(LLMISVC)
    workload = pod(g, "qwen-kserve")
    assert workload.labels == {
        "app.kubernetes.io/component": "llminferenceservice-workload", "app.kubernetes.io/name": "qwen",
        "app.kubernetes.io/part-of": "llminferenceservice", "kserve.io/component": "workload",
        "llm-d.ai/role": "both"}
    assert (workload.origin, workload.role, workload.namespace) == ("kserve", "model-server", "models")
    assert workload.source.kind == "LLMInferenceService" and workload.port_numbers == {8000}
    main = workload.containers[0]
    assert main.command == ["/bin/bash", "-c"]  # the preset's, because the template gives args only
    assert main.flag("--model") == "/mnt/models"
    assert main.security_context["runAsNonRoot"] is True  # preset hardening merged under the template
    assert main.probes["liveness"]["httpGet"]["scheme"] == "HTTPS"  # preset probe kept


def test_managed_router_adds_epp_pod_pool_service_and_route() -> None:
    g = graph_of(LLMISVC)
    epp = pod(g, "qwen-kserve-router-scheduler")
    assert epp.labels == {"app.kubernetes.io/component": "llminferenceservice-router-scheduler",
                          "app.kubernetes.io/name": "qwen",
                          "app.kubernetes.io/part-of": "llminferenceservice"}
    assert epp.role == "epp" and epp.service_account == "qwen-epp-sa"
    assert {p.number for p in epp.containers[0].ports} == {9002, 9003, 9090, 5557}
    assert epp.containers[0].flag("--pool-name") == "qwen-inference-pool"
    virtual = {(o.group, o.kind, o.name) for o in g.virtual}
    assert virtual == {
        ("", "Service", "qwen-kserve-workload-svc"), ("", "Service", "qwen-epp-service"),
        ("inference.networking.x-k8s.io", "InferencePool", "qwen-inference-pool"),
        ("inference.networking.k8s.io", "InferencePool", "qwen-inference-pool"),
        ("gateway.networking.k8s.io", "HTTPRoute", "qwen-kserve-route")}
    route = g.get("HTTPRoute", "models", "qwen-kserve-route")
    assert route is not None and route.spec["parentRefs"][0]["namespace"] == "opendatahub"
    assert g.of_kind("InferencePool") == []  # rules iterate only what is in the output
    pool = g.get("InferencePool", "models", "qwen-inference-pool", "inference.networking.x-k8s.io")
    assert pool is not None and pool.owner is not None and pool.owner.name == "qwen"
    assert [p.name for p in g.pods_matching("models", pool.spec["selector"])] == ["qwen-kserve"]


def test_explicit_pool_ref_means_no_kserve_epp() -> None:
    text = LLMISVC.replace("scheduler: {}", "scheduler: {pool: {ref: {name: mine}}}")
    g = graph_of(text)
    assert [p.name for p in g.pods] == ["qwen-kserve"]
    assert g.get("InferencePool", "models", "qwen-inference-pool") is None


def test_gateway_pod_from_istio() -> None:
    g = graph_of("""\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  gatewayClassName: istio
  listeners: [{name: https, port: 443, protocol: HTTPS}]
  infrastructure: {labels: {team: ml}}
""")
    (gw,) = g.pods
    assert (gw.origin, gw.role, gw.namespace, gw.name) == ("istio", "gateway", "edge", "gw-istio")
    assert gw.labels["gateway.networking.k8s.io/gateway-name"] == "gw" and gw.labels["team"] == "ml"
    assert 443 in gw.port_numbers


@pytest.mark.parametrize(("kind", "api", "template"), [
    ("Deployment", "apps/v1", "spec:\n  template:\n"),
    ("StatefulSet", "apps/v1", "spec:\n  template:\n"),
    ("DaemonSet", "apps/v1", "spec:\n  template:\n"),
    ("Job", "batch/v1", "spec:\n  template:\n"),
    ("CronJob", "batch/v1", "spec:\n  jobTemplate:\n    spec:\n      template:\n"),
])
def test_workload_pods(kind: str, api: str, template: str) -> None:
    indent = " " * (len(template.splitlines()[-1]) - len(template.splitlines()[-1].lstrip()) + 2)
    body = (f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w, namespace: ns}}\n{template}"
            f"{indent}metadata: {{labels: {{app: w}}}}\n"
            f"{indent}spec:\n"
            f"{indent}  containers: [{{name: c, image: x:1, ports: [{{containerPort: 80, name: web}}]}}]\n")
    g = graph_of(body)
    (p,) = g.pods
    assert (p.origin, p.kind, p.labels, p.port_numbers) == ("manifest", kind, {"app": "w"}, {80})
    assert p.exposes("web") and p.exposes(80) and not p.exposes(81)
    assert p.containers[0].path[-2:] == ("containers", 0)


def test_namespaces_explicit_and_implicit() -> None:
    g = graph_of("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: x}}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: b}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n")
    assert g.namespaces["a"].labels == {"team": "x", "kubernetes.io/metadata.name": "a"}
    assert g.namespaces["b"].obj is None and g.namespaces["b"].labels == {"kubernetes.io/metadata.name": "b"}
    assert "default" in g.namespaces  # a namespaced object without namespace lands in default


def test_selector_semantics() -> None:
    labels = {"app": "vllm", "tier": "model"}
    assert selector_matches({}, labels) and not selector_matches(None, labels)
    assert selector_matches({"app": "vllm"}, labels) and not selector_matches({"app": "epp"}, labels)
    assert selector_matches({"matchExpressions": [{"key": "app", "operator": "In", "values": ["vllm", "x"]},
                                                  {"key": "gpu", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn",
                                                       "values": ["model"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}, labels)
    assert selector_matches({"matchLabels": {"app": "vllm"},
                             "matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels)


def test_graph_selector_matches_like_selector_matches_and_survives_junk() -> None:
    """The per-run compiled selectors give the module function's answers; junk matches nothing, no crash."""
    g = graph_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n")
    labels = {"app": "vllm", "tier": "model", "n": "1"}
    selectors = [{}, {"app": "vllm"}, {"n": 1}, {"matchLabels": {"app": "epp"}},
                 {"matchExpressions": [{"key": "app", "operator": "In", "values": ["vllm", 2]}]},
                 {"matchExpressions": [{"key": "n", "operator": "In", "values": [1]}]},
                 {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["model"]}]},
                 {"matchExpressions": ["junk"]}, {"matchExpressions": [{"key": "app", "operator": "Bogus"}]},
                 {"matchExpressions": [{"key": ["unhashable"], "operator": "DoesNotExist"}]}]
    for selector in selectors:
        for _ in range(2):  # the second call answers from the cache
            assert g.selector_matches(selector, labels) == selector_matches(selector, labels), selector
    assert g.selector_matches(selectors[-1], labels)  # a key that is no string names no label
    assert not g.selector_matches(None, labels)


def test_duplicates_and_lookup_by_group() -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n"
    g = graph_of(cm + "---\n" + cm)
    assert [len(d) for d in g.duplicates()] == [2]
    assert g.get("ConfigMap", "n", "c", "") is not None and g.get("ConfigMap", "n", "c", "apps") is None
    assert len(g.in_namespace("ConfigMap", "n")) == 2
