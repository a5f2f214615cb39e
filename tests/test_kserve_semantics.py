"""KServe semantics (issue 14): presets merged before pod rules, the served API version's presets, and the
gateway -> EPP flow when the Gateway is not in the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from infergate.core import kserve_presets
from infergate.core.graph import Graph
from infergate.core.loader import load_paths
from infergate.lint import lint_documents
from infergate.lint.platform import platform_from
from infergate.netpol.cluster import build_cluster
from infergate.netpol.flows import unchecked, violations
from infergate.netpol.security_model import security_model
from tests.conftest import REPO

SAMPLES = REPO / "tests" / "fixtures" / "kserve"  # kserve/kserve v0.20.0 samples (SOURCES.md there)

# A scheduler template naming only the image and args: KServe's scheduler preset adds the hardened
# securityContext, resources, ports and probes (config-llm-scheduler.yaml).
_SCHEDULER_FRAGMENT = """\
apiVersion: serving.kserve.io/{version}
kind: LLMInferenceService
metadata: {{name: qwen, namespace: llm}}
spec:
  model: {{uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}}
  router:
    route: {{}}
    gateway: {{}}
    scheduler:
      template:
        containers:
        - name: main
          image: ghcr.io/llm-d/llm-d-inference-scheduler:v0.4.0
          args: [--pool-name, qwen-inference-pool, --secure-serving, --model-server-metrics-scheme, https]
  template:
    containers:
    - name: main
      resources: {{requests: {{cpu: "1", memory: 8Gi}}}}
"""


def _write(tmp_path: Path, text: str, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _lint(*paths: Path, select: list[str] | None = None, facts: dict | None = None) -> list:
    docs, problems = load_paths(list(paths))
    assert not problems
    findings, _ = lint_documents(docs, platform=platform_from(facts or {}, "test"), select=select or ())
    return findings


def _graph(*paths: Path, facts: dict | None = None) -> Graph:
    docs, problems = load_paths(list(paths))
    assert not problems
    return Graph(docs, platform_from(facts or {}, "test"))


@pytest.fixture(autouse=True)
def _presets_synced() -> None:
    for profile in ("odh-v0.15", "upstream-2026"):
        presets = kserve_presets.preset_set(profile)
        if presets.unavailable:
            pytest.skip(f"presets not in the cache (run `infergate crds sync`): {presets.unavailable}")


# ---- 1. presets merged before pod rules ----------------------------------------------------------------
@pytest.mark.parametrize("version", ["v1alpha1", "v1alpha2"])
def test_scheduler_fragment_is_hardened_by_the_preset(tmp_path: Path, version: str) -> None:
    """Before: SEC602 and SEC603 on the user's EPP fragment (no securityContext, no requests)."""
    path = _write(tmp_path, _SCHEDULER_FRAGMENT.format(version=version))
    assert [f.code for f in _lint(path, select=["SEC"])] == []
    epp = next(p for p in _graph(path).pods if p.role == "epp")
    main = epp.containers[0]
    assert main.image == "ghcr.io/llm-d/llm-d-inference-scheduler:v0.4.0"  # the user's field wins
    assert main.security_context["capabilities"] == {"drop": ["ALL"]}
    assert main.resources["requests"]["cpu"] in ("256m", 1)  # release-v0.15 / v0.20 preset
    assert main.args[:2] == ["--pool-name", "qwen-inference-pool"]  # args are replaced whole (atomic list)
    assert {p.number for p in main.ports} == {9002, 9003, 9090, 5557}
    assert main.path == ("spec", "router", "scheduler", "template", "containers", 0)


def test_user_override_still_reported(tmp_path: Path) -> None:
    """The merge does not hide what the user breaks: runAsNonRoot false beats the preset's true."""
    text = _SCHEDULER_FRAGMENT.format(version="v1alpha1").replace(
        '      resources: {requests: {cpu: "1", memory: 8Gi}}',
        '      resources: {requests: {cpu: "1", memory: 8Gi}}\n      securityContext: {runAsNonRoot: false}',
    )
    findings = _lint(_write(tmp_path, text), select=["SEC602"])
    assert [(f.code, f.line) for f in findings] == [("SEC602", 19)]


def test_strategic_merge_keys() -> None:
    base = {
        "template": {
            "containers": [
                {
                    "name": "main",
                    "env": [{"name": "A", "value": "1"}],
                    "args": ["a", "b"],
                    "securityContext": {"runAsNonRoot": True},
                }
            ],
            "volumes": [{"name": "home", "emptyDir": {}}],
        }
    }
    override = {
        "template": {
            "containers": [
                {
                    "name": "main",
                    "env": [{"name": "B", "value": "2"}],
                    "args": ["c"],
                    "securityContext": {"runAsUser": 1000},
                },
                {"name": "sidecar"},
            ],
            "volumes": [{"name": "home", "emptyDir": {"medium": "Memory"}}],
        }
    }
    merged = kserve_presets.merge_specs(base, override)["template"]
    main, sidecar = merged["containers"]
    # keyed by name; the override's items first (they keep the user's indexes), then the base's others
    assert main["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert main["args"] == ["c"]  # no merge key: replaced
    assert main["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000}
    assert sidecar == {"name": "sidecar"}
    assert merged["volumes"] == [{"name": "home", "emptyDir": {"medium": "Memory"}}]


def test_go_templates_of_the_presets() -> None:
    ctx = kserve_presets.TemplateContext(
        "qwen", "llm", {"model": {"name": "Qwen/Q"}, "parallelism": {"tensor": 4}}, {"EnableTLS": False}
    )
    render = kserve_presets.render
    assert render("{{ ChildName .ObjectMeta.Name `-epp-service` }}", ctx) == "qwen-epp-service"
    assert render('--served-model-name "{{ .Spec.Model.Name }}"', ctx) == '--served-model-name "Qwen/Q"'
    assert render("{{ if .GlobalConfig.EnableTLS }}--secure-serving{{- end }}", ctx) == ""
    assert (
        render(
            "{{- if .Spec.Parallelism.Tensor }}--tp={{ .Spec.Parallelism.Tensor }}{{ else }}x{{ end }}", ctx
        )
        == "--tp=4"
    )
    assert render("{{ or .Spec.Parallelism.DataLocal 1 }}", ctx) == "1"
    long = "x" * 60
    assert len(kserve_presets.child_name(long, "-epp-service")) == 63  # kmeta.ChildName hashes


# ---- 2. the served API version picks the presets ----------------------------------------------------
def test_version_picks_the_presets(tmp_path: Path) -> None:
    for version, profile, image in (
        ("v1alpha1", "odh-v0.15", kserve_presets.ODH_EPP_IMAGE),
        ("v1alpha2", "upstream-2026", "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.9.0"),
    ):
        text = _SCHEDULER_FRAGMENT.format(version=version).replace(
            "          image: ghcr.io/llm-d/llm-d-inference-scheduler:v0.4.0\n", ""
        )
        graph = _graph(_write(tmp_path, text, f"{version}.yaml"))
        svc = graph.of_kind("LLMInferenceService")[0]
        resolution = graph.kserve_resolution(svc)
        assert (resolution.profile, resolution.assumed) == (profile, True)
        epp = next(p for p in graph.pods if p.role == "epp")
        assert epp.containers[0].image == image
        pool = resolution.spec["router"]["scheduler"]["pool"]["spec"]
        # v1alpha1 presets: the x-k8s v1alpha2 pool shape; v1alpha2 presets: the GA v1 shape
        assert ("extensionRef" in pool) == (version == "v1alpha1")
        assert ("endpointPickerRef" in pool) == (version == "v1alpha2")
        # KServe's own route points at the pool group of its release
        route = graph.get("HTTPRoute", "llm", "qwen-kserve-route", "gateway.networking.k8s.io")
        assert route is not None and route.virtual
        group = route.spec["rules"][0]["backendRefs"][0]["group"]
        v1alpha1 = version == "v1alpha1"
        assert group == ("inference.networking.x-k8s.io" if v1alpha1 else "inference.networking.k8s.io")
        # and attaches to its release's default gateway (odh-xks overlay / kserve Helm chart)
        parent = route.spec["parentRefs"][0]
        assert (parent["namespace"], parent["name"]) == (
            ("opendatahub", "inference-gateway") if v1alpha1 else ("kserve", "kserve-ingress-gateway"))


def test_environment_profile_wins_over_the_api_version(tmp_path: Path) -> None:
    path = _write(tmp_path, _SCHEDULER_FRAGMENT.format(version="v1alpha1"))
    graph = _graph(path, facts={"profile": "upstream-2026"})
    resolution = graph.kserve_resolution(graph.of_kind("LLMInferenceService")[0])
    assert (resolution.profile, resolution.assumed) == ("upstream-2026", False)


def test_v1alpha2_sample_with_its_base_ref_in_the_tree() -> None:
    """kserve v0.20.0 docs/samples/llmisvc/e2e-gpt-oss: the baseRef (in the tree) shapes the EPP and vLLM."""
    svc_file = SAMPLES / "v0.20.0-e2e-gpt-oss-inference_default.yaml"
    config_file = SAMPLES / "v0.20.0-e2e-gpt-oss-llmisvc_config_default.yaml"
    graph = _graph(svc_file, config_file)
    resolution = graph.kserve_resolution(graph.of_kind("LLMInferenceService")[0])
    assert resolution.applied == [
        "kserve-config-llm-scheduler",
        "kserve-config-llm-template",
        "llmisvc-intelligent-inference-scheduling",
    ]
    epp = next(p for p in graph.pods if p.role == "epp")
    main = epp.containers[0]
    assert (
        main.flag("--cert-path") == "/etc/ssl/certs"
        and main.flag("--pool-name") == "gpt-oss-20b-inference-pool"
    )
    vllm = next(p for p in graph.pods if p.role == "model-server").containers[0]
    assert vllm.flag("--served-model-name") == "RedHatAI/gpt-oss-20b"  # rendered from {{ .Spec.Model.Name }}
    assert vllm.image == "ghcr.io/llm-d/llm-d-cuda:v0.8.0"
    # the pod rules see a hardened, resourced pod, and KServe v0.20 (TLS off by default) writes an http
    # workload Service for this plain-HTTP vLLM; a scheduler without router.route is valid (KServe makes
    # the pool and EPP and only skips its own HTTPRoute), so nothing is left
    assert sorted(f.code for f in _lint(svc_file, config_file) if f.code[:3] in ("SEC", "INF")) == []


def test_v1alpha2_managed_dra_sample_and_the_tls_setting() -> None:
    """The sample probes vLLM over HTTPS: KServe v0.20 serves TLS only when inferenceservice-config enables
    it (off by default). Unsaid, the tree's own HTTPS probe says the install enables it; a platform fact or
    the tree's inferenceservice-config that says otherwise makes the probe wrong (vLLM then serves HTTP)."""
    sample = SAMPLES / "v0.20.0-managed-dra-minimal.yaml"
    graph = _graph(sample)
    resolution = graph.kserve_resolution(graph.of_kind("LLMInferenceService")[0])
    assert (resolution.tls, resolution.tls_source) == (True, "assumed: the tree's vLLM serves TLS")
    assert _lint(sample, select=["SEC", "INF306"]) == []
    off = [(f.code, f.line) for f in _lint(sample, select=["INF306"], facts={"kserve_enable_tls": False})]
    assert off == [("INF306", 31)]


def test_tree_inferenceservice_config_sets_tls_and_gateway(tmp_path: Path) -> None:
    config = """\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: inferenceservice-config, namespace: kserve}
data:
  ingress: '{"enableLLMInferenceServiceTLS": false, "kserveIngressGateway": "edge/public"}'
"""
    sample = (SAMPLES / "v0.20.0-managed-dra-minimal.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path, sample + config)
    graph = _graph(path)
    resolution = graph.kserve_resolution(graph.of_kind("LLMInferenceService")[0])
    assert (resolution.tls, resolution.tls_source, resolution.gateway) == (
        False, "inferenceservice-config", "edge/public")
    assert [(f.code, f.line) for f in _lint(path, select=["INF306"])] == [("INF306", 31)]


@pytest.mark.parametrize(("version", "codes"), [("v1alpha2", []), ("v1alpha1", ["INF307"])])
def test_base_ref_to_a_preset_of_the_served_release(tmp_path: Path, version: str, codes: list[str]) -> None:
    """kserve-config-llm-tracing is a well-known preset of v0.20 only."""
    text = f"""\
apiVersion: serving.kserve.io/{version}
kind: LLMInferenceService
metadata: {{name: qwen, namespace: llm}}
spec:
  model: {{uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}}
  baseRefs:
  - {{name: kserve-config-llm-tracing}}
  template:
    containers:
    - name: main
      resources: {{requests: {{cpu: "1", memory: 8Gi}}}}
"""
    # a closed world (dist/<env>): what the tree and the release do not hold does not exist; in an open one
    # the config may be the cluster's own, so the reference is one REF001 info
    path = _write(tmp_path, text)
    assert [f.code for f in _lint(path, facts={"closed_world": True})] == codes
    assert [f.code for f in _lint(path)] == [c.replace("INF307", "REF001") for c in codes]


# ---- 3. gateway -> EPP when the Gateway is not in the tree ------------------------------------------
_OUTAGE = """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: llm}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  router:
    scheduler: {}
    route: {}
    gateway: {}
  template:
    containers:
    - name: main
      resources: {requests: {cpu: "1", memory: 8Gi}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: llm}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway-to-vllm, namespace: llm}
spec:
  podSelector: {matchLabels: {kserve.io/component: workload}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: opendatahub}}
      podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}
    - podSelector: {matchLabels: {app.kubernetes.io/component: llminferenceservice-router-scheduler}}
    ports: [{port: 8000}]
"""
_EPP_ALLOWED = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway-to-epp, namespace: llm}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/component: llminferenceservice-router-scheduler}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: opendatahub}}
      podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}
    ports: [{port: 9002}]
"""


def test_np105_gateway_to_epp_blocked_without_the_gateway_in_the_tree(tmp_path: Path) -> None:
    """The reference deployment's outage: default deny over the EPP, the platform's gateway absent."""
    findings = [f for f in _lint(_write(tmp_path, _OUTAGE), select=["NP105"])]
    assert [(f.code, f.line) for f in findings] == [("NP105", 17)]
    assert "gateway-to-epp-grpc" in findings[0].message
    assert "opendatahub/(gateway inference-gateway, not in the tree)" in findings[0].message
    assert _lint(_write(tmp_path, _OUTAGE + _EPP_ALLOWED, "fixed.yaml"), select=["NP105"]) == []


def test_flows_lists_the_gateway_to_epp_cell(tmp_path: Path) -> None:
    graph = _graph(_write(tmp_path, _OUTAGE))
    cluster = build_cluster(graph)
    found = [v for v in violations(cluster, security_model()) if v.spec.id == "gateway-to-epp-grpc"]
    assert [(v.source.key, v.destination.key, v.port) for v in found] == [
        ("opendatahub/(gateway inference-gateway, not in the tree)", "llm/qwen-kserve-router-scheduler", 9002)
    ]


def test_platform_gateway_fact_names_the_gateway(tmp_path: Path) -> None:
    graph = _graph(
        _write(tmp_path, _OUTAGE),
        facts={
            "kserve_ingress_gateway": "openshift-ingress/openshift-ai-inference",
            "gateway_pod_labels": {"istio.io/rev": "openshift-gateway"},
        },
    )
    gateways = [e for e in build_cluster(graph).endpoints if e.role == "gateway"]
    assert [(e.namespace, e.labels) for e in gateways] == [
        (
            "openshift-ingress",
            {
                "gateway.networking.k8s.io/gateway-name": "openshift-ai-inference",
                "istio.io/rev": "openshift-gateway",
            },
        )
    ]


def test_flows_says_when_no_gateway_is_known(tmp_path: Path) -> None:
    """A scheduler with no route: nothing names a gateway, so gateway->EPP is "not checked", never hidden."""
    text = _OUTAGE.replace("    route: {}\n    gateway: {}\n", "")
    cluster = build_cluster(_graph(_write(tmp_path, text)))
    notes = unchecked(cluster, security_model())
    assert any(
        n.startswith("gateway-to-epp-grpc: no gateway known to reach epp llm/qwen-kserve-router-scheduler")
        for n in notes
    )


def test_pd_sample_reports_what_the_decode_preset_adds() -> None:
    """kserve v0.20.0 P/D sample (v1alpha1, so the release-v0.15 presets are assumed): the decode preset's
    routing sidecar has no seccomp profile and no requests; the finding says the preset adds it."""
    findings = _lint(SAMPLES / "v0.20.0-pd-facebook-opt-125m-cpu.yaml", select=["SEC602", "SEC603"])
    sidecar = [f for f in findings if f.message.startswith("llm-d-routing-sidecar")]
    assert sorted(f.code for f in sidecar) == ["SEC602", "SEC603"]
    assert all("KServe's preset adds it: override it by name under spec.template.initContainers" in f.message
               for f in sidecar)
    # and the user's own runAsNonRoot: false on main is still reported
    assert [f.code for f in findings if f.message.startswith("main ")] == ["SEC602"]


_GATEWAY_EGRESS = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway-egress, namespace: opendatahub}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: llm}}
    ports: [{port: 8000}]
"""


def test_policy_of_the_platform_gateway_selects_its_pods(tmp_path: Path) -> None:
    """A policy for the gateway's pods, the Gateway not in the tree: it selects pods (no NP104), and its
    egress is judged (gateway -> EPP on 9002 is denied by it, DNS too)."""
    findings = _lint(_write(tmp_path, _OUTAGE + _EPP_ALLOWED + _GATEWAY_EGRESS), select=["NP104", "NP105"])
    assert sorted((f.code, f.message.split(" is ")[0]) for f in findings) == [
        ("NP105", "required flow gateway-to-epp-grpc"), ("NP105", "required flow pods-to-dns")]


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("gateway-pod-labels", ["istio=x"], "must be a table"),
    ("kserve-enable-tls", "false", "true or false"),
    ("kserve-ingress-gateway", "inference-gateway", "NAMESPACE/NAME"),
    ("profile", "odh-v9", "no platform profile"),
])
def test_new_platform_facts_are_checked(key: str, value: object, problem: str) -> None:
    from infergate.core.errors import ConfigError
    from infergate.lint.config import config_from_table

    with pytest.raises(ConfigError, match=problem):
        config_from_table({"platform": {key: value}}, "infergate.toml")
    good = {"gateway-pod-labels": {"istio.io/rev": "x"}, "kserve-enable-tls": True,
            "kserve-ingress-gateway": "ns/gw", "profile": "upstream-2026"}[key]
    platform = config_from_table({"platform": {key: good}}, "infergate.toml").platform
    assert platform.fact(key.replace("-", "_")) == good


def test_pd_sample_models_the_prefill_pods() -> None:
    """KServe runs <name>-kserve-prefill pods (llm-d.ai/role: prefill) and the main pods decode."""
    graph = _graph(SAMPLES / "v0.20.0-pd-facebook-opt-125m-cpu.yaml")
    pods = {p.name: p for p in graph.pods if p.origin == "kserve"}
    assert pods["facebook-opt-125m-pd-kserve"].labels["llm-d.ai/role"] == "decode"
    prefill = pods["facebook-opt-125m-pd-kserve-prefill"]
    assert prefill.labels["llm-d.ai/role"] == "prefill"
    assert prefill.spec_path == ("spec", "prefill", "template")
    main = prefill.containers[0]
    assert main.image == "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0"
    assert main.security_context["capabilities"] == {"drop": ["ALL"]}  # the prefill preset's
    assert main.path == ("spec", "prefill", "template", "containers", 0)


def test_resolutions_share_presets_without_changing_them() -> None:
    """Two services, one preset tree: each gets its own names; the cached presets keep their templates."""
    spec = {"model": {"uri": "hf://a/b"}, "router": {"scheduler": {}, "route": {}}}
    a = kserve_presets.resolve("a", "ns", "v1alpha1", spec)
    b = kserve_presets.resolve("b", "ns", "v1alpha1", spec)
    assert a.spec["router"]["scheduler"]["template"]["serviceAccountName"] == "a-epp-sa"
    assert b.spec["router"]["scheduler"]["template"]["serviceAccountName"] == "b-epp-sa"
    assert b.spec["model"]["name"] == "b"  # defaulted to the object's name, as KServe does
    preset = kserve_presets.preset_set("odh-v0.15").configs["kserve-config-llm-scheduler"]
    assert "serviceAccountName" not in preset["router"]["scheduler"]["template"]
    assert "{{" in preset["router"]["scheduler"]["template"]["containers"][0]["args"][1]
    assert spec == {"model": {"uri": "hf://a/b"}, "router": {"scheduler": {}, "route": {}}}


def test_flows_golden_of_a_tree_without_its_gateway() -> None:
    """`infergate flows` on the outage tree: the gateway -> EPP cells are listed (denied) and the security
    model names the violation. Regenerate with INFERGATE_UPDATE_GOLDEN=1."""
    import os

    from infergate.netpol.command import run_flows

    output = run_flows(SAMPLES / "gateway-not-in-tree", "table")
    golden = REPO / "tests" / "golden" / "flows" / "gateway-not-in-tree.txt"
    if os.environ.get("INFERGATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")
    assert any(line.startswith("gateway") and " epp " in line and "TCP/9002" in line and "denied" in line
               for line in output.splitlines())


@pytest.mark.parametrize("value", [None, "x", 1, [1], [{"name": ["unhashable"]}],
                                   [{"name": "main", "env": 3, "ports": "x"}], "{{ if .X }}unclosed"])
@pytest.mark.parametrize("where", ["template.containers", "router.scheduler.template.containers",
                                   "prefill.template.initContainers", "baseRefs", "router.scheduler"])
def test_malformed_specs_never_crash_the_merge(value: object, where: str) -> None:
    from infergate.core.loader import Document

    spec: dict = {"model": {"uri": "hf://a/b"}, "router": {"scheduler": {}, "route": {}, "gateway": {}}}
    node = spec
    *parents, last = where.split(".")
    for step in parents:
        node = node.setdefault(step, {})
    node[last] = value
    for version in ("v1alpha1", "v1alpha2"):
        obj = {"apiVersion": f"serving.kserve.io/{version}", "kind": "LLMInferenceService",
               "metadata": {"name": "a", "namespace": "n"}, "spec": spec}
        lint_documents([Document("x.yaml", 0, 1, obj, "", 1)])


def test_data_parallel_sample_gets_the_worker_preset() -> None:
    """Multi-node data parallel (kserve v0.20.0 dp-ep sample): the worker-data-parallel preset's vLLM runs
    --data-parallel-size 16 over pods of --data-parallel-size-local 8; GPU412 counts the pod's own ranks."""
    sample = SAMPLES / "v0.20.0-dp-ep-deepseek-r1-gpu-naive.yaml"
    graph = _graph(sample)
    resolution = graph.kserve_resolution(graph.of_kind("LLMInferenceService")[0])
    assert "kserve-config-llm-worker-data-parallel" in resolution.applied
    main = next(p for p in graph.pods if p.role == "model-server").containers[0]
    assert (main.flag("--data-parallel-size"), main.flag("--data-parallel-size-local")) == ("16", "8")
    assert _lint(sample, select=["GPU412"]) == []


@pytest.mark.parametrize(("spec", "version", "names"), [
    ({"router": {"scheduler": {}, "route": {}}}, "v1alpha1",
     ["scheduler", "router-route", "template"]),
    ({"router": {"scheduler": {"pool": {"ref": {"name": "p"}}},
                 "route": {"http": {"refs": [{"name": "r"}]}}}}, "v1alpha1", ["template"]),
    ({"prefill": {"template": {}}, "worker": {}, "parallelism": {"data": 16, "dataLocal": 8}}, "v1alpha1",
     ["prefill-template", "decode-worker-data-parallel"]),
    ({"router": {"scheduler": {"config": {"inline": {"plugins": [{"type": "predicted-latency-producer"}]}}}},
      "tracing": {}}, "v1alpha2", ["scheduler", "scheduler-latency-predictor", "tracing", "template"]),
    ({"tracing": {}}, "v1alpha1", ["template"]),  # release-v0.15 knows no tracing preset
])
def test_well_known_names_follow_config_merge(spec: dict, version: str, names: list[str]) -> None:
    assert kserve_presets.well_known_names(spec, version) == [f"kserve-config-llm-{n}" for n in names]


def test_destination_rule_settles_the_workload_service_protocol(tmp_path: Path) -> None:
    """v0.20 with TLS off writes an http workload Service; a vLLM serving HTTPS behind it is reachable when a
    DestinationRule originates TLS to that Service (infergate's upstream profile does that)."""
    svc = """\
apiVersion: serving.kserve.io/v1alpha2
kind: LLMInferenceService
metadata: {name: qwen, namespace: llm}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      args: [--ssl-certfile=/var/run/kserve/tls/tls.crt, --ssl-keyfile=/var/run/kserve/tls/tls.key]
      resources: {requests: {cpu: "1", memory: 8Gi}}
"""
    rule = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: vllm, namespace: llm}
spec:
  host: qwen-kserve-workload-svc.llm.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE}}
"""
    off = {"kserve_enable_tls": False}

    def app_protocol(text: str, name: str) -> list[str]:
        return [f.message for f in _lint(_write(tmp_path, text, name), select=["INF306"], facts=off)
                if "appProtocol" in f.message]

    assert len(app_protocol(svc, "bare.yaml")) == 1
    assert app_protocol(svc + rule, "with-rule.yaml") == []
    assert len(app_protocol(svc + rule.replace("SIMPLE", "DISABLE"), "disable.yaml")) == 1


def test_inf308_reads_the_model_name_kserve_uses(tmp_path: Path) -> None:
    """No spec.model.name: KServe names the model after the object (and the preset serves that name)."""
    text = """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: llm}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct"}
  template:
    containers:
    - name: main
      args: [--served-model-name=Qwen/Qwen2.5-3B-Instruct, --ssl-certfile=/t/c, --ssl-keyfile=/t/k]
      resources: {requests: {cpu: "1", memory: 8Gi}}
"""
    findings = _lint(_write(tmp_path, text), select=["INF308"])
    assert [f.message for f in findings] == ["vLLM serves Qwen/Qwen2.5-3B-Instruct but spec.model.name is "
                                             "'qwen' (KServe's default: the object's name)"]
    preset_args = "\n".join(line for line in text.splitlines() if "args:" not in line) + "\n"
    assert _lint(_write(tmp_path, preset_args, "preset.yaml"), select=["INF308"]) == []
