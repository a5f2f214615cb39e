"""NP rules on the reference deployment's own NetworkPolicies: its three mistakes, located precisely."""

from __future__ import annotations

import pytest

from infergate.core.loader import load_paths
from infergate.lint import lint_documents
from infergate.lint.platform import platform_from
from tests.conftest import REPO, example_env_dirs, requires_examples

SEED = REPO / "tests" / "fixtures" / "netpol" / "seed-pattern1"
FACTS = {"api_server_cidrs": ["172.16.0.2/32"], "pod_cidrs": ["10.8.0.0/14"]}


def _lint(path=SEED, facts=FACTS) -> list:
    docs, problems = load_paths([path])
    assert not problems
    findings, _ = lint_documents(docs, platform=platform_from(facts, "test"), select=["NP"])
    return findings


def _at(findings: list, code: str) -> set[tuple[str, int]]:
    return {(f.file.rsplit("/", 1)[-1], f.line) for f in findings if f.code == code}


def test_kubelet_peer_is_allow_all_pods() -> None:
    """Mistake 1: `namespaceSelector: {}` + `podSelector: {}` "for kubelet probes" (NP102, not NP106 too)."""
    findings = _lint()
    assert _at(findings, "NP102") == {("allow-gateway.yaml", 26)}
    assert not _at(findings, "NP106")


def test_pods_only_egress_meant_for_the_internet() -> None:
    """Mistake 2: egress to `namespaceSelector: {}` / `component: apiserver` on 443 (NP103) ..."""
    findings = _lint()
    assert _at(findings, "NP103") == {("allow-vllm-egress.yaml", 26), ("allow-vllm-egress.yaml", 31)}
    # ... so the hf:// download is denied, blamed on the egress policy meant to allow it
    download = [f for f in findings if f.code == "NP105" and "model-server-to-model-download" in f.message]
    assert [(f.file.rsplit("/", 1)[-1], f.line) for f in download] == [("allow-vllm-egress.yaml", 3)]


def test_epp_under_default_deny() -> None:
    """Mistake 3: the EPP pod KServe creates is covered by default-deny and nothing allows gateway -> 9002."""
    messages = [f.message for f in _lint() if f.code == "NP105"]
    gateway_epp = [m for m in messages if "gateway-to-epp-grpc" in m]
    assert len(gateway_epp) == 1
    assert "opendatahub/inference-gateway-istio" in gateway_epp[0]
    assert "qwen2-3b-pattern1-kserve-router-scheduler TCP/9002" in gateway_epp[0]
    for flow in ("epp-to-api-server", "epp-to-model-server-metrics", "pods-to-dns"):
        assert any(flow in m for m in messages), flow


def test_exactly_the_three_mistakes() -> None:
    assert {f.code for f in _lint()} == {"NP102", "NP103", "NP105"}


def test_no_network_policy_no_np_findings(tmp_path) -> None:
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    assert _lint(tmp_path) == []


def test_unknown_api_server_skips_that_requirement() -> None:
    messages = [f.message for f in _lint(facts={"pod_cidrs": ["10.8.0.0/14"]})]
    assert not any("epp-to-api-server" in m for m in messages)
    assert any("gateway-to-epp-grpc" in m for m in messages)


def test_fixed_policies_are_clean(tmp_path) -> None:
    """The same stack with the mistakes fixed the way the charts do it lints clean."""
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    (tmp_path / "default-deny.yaml").write_text((SEED / "default-deny.yaml").read_text())
    (tmp_path / "fixed.yaml").write_text(FIXED)
    findings = _lint(tmp_path)
    assert [f"{f.code} {f.message}" for f in findings] == []


_VLLM = """\
    matchLabels: {app.kubernetes.io/name: qwen2-3b-pattern1, kserve.io/component: workload}"""
_EPP = """\
    matchLabels: {app.kubernetes.io/component: llminferenceservice-router-scheduler,
                  app.kubernetes.io/name: qwen2-3b-pattern1}"""
_GW = """\
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: opendatahub}}
      podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}"""
FIXED = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-dns, namespace: llm-d-inference-scheduling}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}
      podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}
    ports: [{{protocol: UDP, port: 53}}, {{protocol: TCP, port: 53}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: vllm, namespace: llm-d-inference-scheduling}}
spec:
  podSelector:
{_VLLM}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
{_GW}
    - podSelector:
    {_EPP}
    ports: [{{port: 8000}}]
  egress:
  - to: [{{ipBlock: {{cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}}}]
    ports: [{{port: 443}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: epp, namespace: llm-d-inference-scheduling}}
spec:
  podSelector:
{_EPP}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
{_GW}
    ports: [{{port: 9002}}]
  egress:
  - to:
    - podSelector:
    {_VLLM}
    ports: [{{port: 8000}}]
  - to: [{{ipBlock: {{cidr: 172.16.0.2/32}}}}]
    ports: [{{port: 443}}]
"""


def _epp_policy(component: str) -> str:
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-gateway-to-epp, namespace: llm-d-inference-scheduling}}
spec:
  podSelector: {{matchLabels: {{app.kubernetes.io/component: {component}}}}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: opendatahub}}}}
      podSelector: {{matchLabels: {{gateway.networking.k8s.io/gateway-name: inference-gateway}}}}
    ports: [{{port: 9002}}]
"""


def test_dangling_policy_judged_against_the_pods_kserve_creates(tmp_path) -> None:
    """Pattern 3's EPP policy used `router-scheduler`; KServe labels its EPP pods differently."""
    for name in ("stack.yaml", "default-deny.yaml", "allow-gateway.yaml", "allow-vllm-egress.yaml"):
        (tmp_path / name).write_text((SEED / name).read_text())
    (tmp_path / "epp.yaml").write_text(_epp_policy("router-scheduler"))
    assert _at(_lint(tmp_path), "NP104") == {("epp.yaml", 5)}
    (tmp_path / "epp.yaml").write_text(_epp_policy("llminferenceservice-router-scheduler"))
    findings = _lint(tmp_path)
    assert not _at(findings, "NP104")
    assert not any("gateway-to-epp-grpc" in f.message for f in findings)  # mistake 3 fixed


def test_namespace_with_only_kserve_pods_needs_a_default_deny(tmp_path) -> None:
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    (tmp_path / "elsewhere.yaml").write_text(  # isolates opendatahub's pods for Ingress only
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: opendatahub}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{}]}\n")
    findings = _lint(tmp_path)
    np101 = {(f.kind, f.name, f.line): f.message for f in findings if f.code == "NP101"}
    # on the Namespace object when the output declares it; else on the object the pods come from
    assert set(np101) == {("Namespace", "llm-d-inference-scheduling", 3),
                          ("Gateway", "inference-gateway", 23)}
    kserve = np101[("Namespace", "llm-d-inference-scheduling", 3)]
    assert "(qwen2-3b-pattern1-kserve, qwen2-3b-pattern1-kserve-router-scheduler)" in kserve
    # a policy in the gateway's namespace makes it governed: its Istio-created pods count too
    gateway = np101[("Gateway", "inference-gateway", 23)]
    assert "inference-gateway-istio" in gateway and gateway.endswith(
        "isolates any other pod, inference-gateway-istio for Egress: add a default deny (podSelector: {}, "
        "policyTypes: [Ingress, Egress]) and allow the flows of the security model on top")


_ISOLATE_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate, namespace: llm-d-inference-scheduling}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {}}]
  egress:
  - to: [{podSelector: {}}]
"""


def test_default_deny_is_effective_isolation_not_wording(tmp_path) -> None:
    """`podSelector: {}` with both policyTypes isolates every pod both ways, whatever its rules say: no NP101
    (its allow rules are judged by the flow rules)."""
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    (tmp_path / "isolate.yaml").write_text(_ISOLATE_ALL)
    assert not _at(_lint(tmp_path), "NP101") - {("stack.yaml", 23)}  # the gateway's namespace aside
    # the same policy for Ingress only leaves Egress open: NP101, naming the direction
    (tmp_path / "isolate.yaml").write_text(_ISOLATE_ALL.replace("[Ingress, Egress]", "[Ingress]"))
    messages = [f.message for f in _lint(tmp_path) if f.code == "NP101" and f.kind == "Namespace"]
    assert len(messages) == 1 and " for Egress: " in messages[0]
    assert "Ingress" not in messages[0].split(":")[0]


def test_pods_left_open_by_label_policies_are_named(tmp_path) -> None:
    """Policies selecting every workload by label still leave any other pod (a debug pod) open (for Ingress:
    allow-dns selects every pod for Egress)."""
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    (tmp_path / "fixed.yaml").write_text(FIXED)
    messages = [f.message for f in _lint(tmp_path) if f.code == "NP101" and f.kind == "Namespace"]
    assert len(messages) == 1
    assert "no NetworkPolicy isolates any other pod for Ingress: " in messages[0]


@requires_examples
def test_isolated_gateway_namespace_template_satisfies_the_model() -> None:
    """dist/pattern1 plus default deny + exact gateway flows in opendatahub: still NP-clean, and the gateway's
    egress is then limited to what the security model needs (the fix the charts should adopt)."""
    from infergate.lint.platform import Platform, platform_for_paths

    dist = example_env_dirs()["pattern1"]
    extra = REPO / "tests" / "fixtures" / "netpol" / "gateway-namespace"
    docs, problems = load_paths([dist, extra])
    assert not problems
    # NP110 (istio-system is not isolated: a warning the charts should fix) is not this test's subject
    findings, _ = lint_documents(docs, platform=platform_for_paths([dist], Platform()), select=["NP"],
                                 ignore=["NP110"])
    assert [f"{f.code} {f.message}" for f in findings] == []
    # without the isolation, the gateway namespace would be flagged as soon as one policy lands there
    # (dist/pattern1 now isolates opendatahub itself: keep only the default deny of both sources)
    only_deny = [d for d in docs if not (d.file.endswith("opendatahub.yaml") and d.index > 0)
                 and not ("networkpolicies-opendatahub" in d.file and "default-deny-all" not in d.file)]
    findings, _ = lint_documents(only_deny, platform=platform_for_paths([dist], Platform()), select=["NP"])
    denied = {f.message.split()[2] for f in findings if f.code == "NP105"}
    # (the smoke-test hook runs in the gateway namespace: its egress policy went with the others)
    assert denied == {"gateway-to-model-server", "gateway-to-epp-grpc", "gateway-to-istiod", "pods-to-dns",
                      "smoke-to-gateway"}


def test_controllers_sharing_a_name_are_separate_pods(tmp_path) -> None:
    """A Deployment and a StatefulSet may share a name: both are evaluated (found by the lint fuzz test)."""
    workload = """\
apiVersion: apps/v1
kind: {kind}
metadata: {{name: web, namespace: demo}}
spec:
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers: [{{name: web, image: busybox:1.37}}]
"""
    (tmp_path / "w.yaml").write_text(workload.format(kind="Deployment", app="a") + "---\n"
                                     + workload.format(kind="StatefulSet", app="b"))
    (tmp_path / "np.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: only-b, namespace: demo}\n"
        "spec: {podSelector: {matchLabels: {app: b}}, policyTypes: [Ingress]}\n")
    findings = _lint(tmp_path)
    assert {f.code for f in findings} == {"NP101"}  # no crash, no dangling policy: it selects the StatefulSet


def _fixed_with(tmp_path, old: str, new: str):
    (tmp_path / "stack.yaml").write_text((SEED / "stack.yaml").read_text())
    (tmp_path / "default-deny.yaml").write_text((SEED / "default-deny.yaml").read_text())
    assert old in FIXED
    (tmp_path / "fixed.yaml").write_text(FIXED.replace(old, new, 1))
    return tmp_path


_PART_OF_POD_CIDR = f"{_GW}\n    - ipBlock: {{cidr: 10.8.0.0/16}}  # part of the pod CIDR (10.8.0.0/14)"


def test_forbidden_flow_open_for_some_addresses_is_reported(tmp_path) -> None:
    """An ipBlock over part of the pod CIDR admits some pods (pod IPs are ephemeral): partial, and NP106
    must see the forbidden flow it opens (it was read as denied)."""
    findings = _lint(_fixed_with(tmp_path, _GW, _PART_OF_POD_CIDR))
    np106 = [f for f in findings if f.code == "NP106"]
    assert {(f.name, f.line) for f in np106} == {("vllm", 21)}, [f.message for f in findings]
    assert "model-server-port-from-others is allowed for some addresses" in np106[0].message
    assert {f.code for f in findings} == {"NP106"}


def test_partial_is_shown_in_every_flows_format(tmp_path) -> None:
    import json

    from infergate.core.graph import Graph
    from infergate.netpol import render
    from infergate.netpol.cluster import build_cluster
    from infergate.netpol.flows import matrix, violations
    from infergate.netpol.security_model import security_model

    docs, _ = load_paths([_fixed_with(tmp_path, _GW, _PART_OF_POD_CIDR)])
    cluster = build_cluster(Graph(docs, platform_from(FACTS, "test")))
    cells = matrix(cluster)
    found = list(violations(cluster, security_model()))
    cell = next(c for c in cells if (c.source, c.destination, c.port) == ("any-pod", "model-server", 8000))
    # every probe pod whose own egress is open (3 of the 4 namespaces), for some of its addresses
    assert (cell.status, cell.allowed, cell.partial, cell.pairs) == ("partial", 0, 3, 4)
    assert "some addresses only" in cell.why
    row = next(line for line in render.table(cells, found).splitlines()
               if line.split()[:3] == ["any-pod", "model-server", "TCP/8000"])
    assert " partial  0/4 +3 partly " in row
    assert 'any_pod -.->|"TCP/8000 (some addresses)"| model_server' in render.mermaid(cells, found)
    doc = json.loads(render.as_json(cluster, cells, found))
    flow = next(f for f in doc["flows"]
                if (f["from"], f["to"], f["port"]) == ("any-pod", "model-server", 8000))
    assert (flow["status"], flow["partial_pairs"]) == ("partial", 3)
    assert {v["status"] for v in doc["violations"]
            if v["id"] == "model-server-port-from-others"} == {"partial"}


def test_ip_blocks_of_one_rule_admit_every_pod_together(tmp_path) -> None:
    """NP102: two ipBlocks that together cover the pod CIDR admit every pod, though neither does alone."""
    halves = f"{_GW}\n    - ipBlock: {{cidr: 10.8.0.0/15}}\n    - ipBlock: {{cidr: 10.10.0.0/15}}"
    findings = _lint(_fixed_with(tmp_path, _GW, halves))
    # on the first of the rule's ipBlocks (fixed.yaml line 24)
    assert [(f.code, f.name, f.line) for f in findings] == [("NP102", "vllm", 24)]


_PRIVATE = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"
_VLLM_DOWNLOAD = (f"  - to: [{{ipBlock: {{cidr: 0.0.0.0/0, except: [{_PRIVATE}]}}}}]\n"
                  "    ports: [{port: 443}]\n")


def test_model_server_egress_rules(tmp_path) -> None:
    """NP107 (allow-all), NP108 (metadata server), NP109 (API server) on the fixed stack's vLLM policy."""
    def codes(new: str, facts: dict = FACTS) -> list[tuple[str, int]]:
        found = _lint(_fixed_with(tmp_path, _VLLM_DOWNLOAD, new), facts)
        return sorted((f.code, f.line) for f in found if f.name == "vllm")

    def download(excepts: str = _PRIVATE, ports: str = "{port: 443}") -> str:
        return f"  - to: [{{ipBlock: {{cidr: 0.0.0.0/0, except: [{excepts}]}}}}]\n    ports: [{ports}]\n"

    assert download() == _VLLM_DOWNLOAD and codes(download()) == []
    assert codes("  - {}\n") == [("NP107", 29)]  # the rule replaces the download rule (line 29)
    assert codes("  - ports: [{port: 1, endPort: 65535}]\n") == [("NP107", 29)]
    # port 80 too: 169.254.169.254 is not in the private ranges
    assert codes(download(ports="{port: 443}, {port: 80}")) == [("NP108", 29)]
    assert codes(download(_PRIVATE + ", 169.254.0.0/16", "{port: 443}, {port: 80}")) == []
    assert codes("  - ports: [{port: 80}]\n") == [("NP108", 29)]  # no `to`, one port: not NP107
    # the API server (172.16.0.2) is inside a download range that keeps 172.16.0.0/12 ...
    assert codes(download("10.0.0.0/8, 192.168.0.0/16")) == [("NP109", 29)]
    # ... and, with no API server known, a block admitting every address reaches it wherever it is
    unknown = {"pod_cidrs": ["10.8.0.0/14"]}
    assert codes("  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{port: 443}]\n", unknown) == [
        ("NP109", 29)]
    assert codes(download("10.0.0.0/8, 192.168.0.0/16"), unknown) == []


def test_metadata_server_address_is_a_platform_fact(tmp_path) -> None:
    rule = "  - to: [{ipBlock: {cidr: 100.64.0.0/10}}]\n    ports: [{port: 80}]\n"
    found = _lint(_fixed_with(tmp_path, _VLLM_DOWNLOAD, _VLLM_DOWNLOAD + rule),
                  {**FACTS, "metadata_server_cidrs": ["100.100.100.200/32"]})  # Alibaba Cloud's
    assert [(f.code, f.line) for f in found if f.code == "NP108"] == [("NP108", 31)]
    assert not [f for f in _lint(tmp_path) if f.code == "NP108"]  # not 169.254.169.254's range


_MESH = """\
apiVersion: sailoperator.io/v1
kind: Istio
metadata: {name: default}
spec: {version: v1.26.6, namespace: istio-system}
"""
_NP = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
       "metadata: {name: NAME, namespace: istio-system}\n")


def test_unpoliced_control_plane(tmp_path) -> None:
    """NP110 fires on the Istio object until istio-system is isolated; policies selecting istiod are not
    dangling (NP104): the output's Istio runs it."""
    for name in ("stack.yaml", "default-deny.yaml"):
        (tmp_path / name).write_text((SEED / name).read_text())
    (tmp_path / "mesh.yaml").write_text(_MESH)
    found = [f for f in _lint(tmp_path) if f.code in ("NP104", "NP110")]
    assert [(f.code, f.kind, f.line) for f in found] == [("NP110", "Istio", 4)]
    assert found[0].severity.value == "warning"
    (tmp_path / "istio-system.yaml").write_text(
        _NP.replace("NAME", "deny") + "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n"
        + _NP.replace("NAME", "xds")
        + "spec: {podSelector: {matchLabels: {app: istiod}}, ingress: [{ports: [{port: 15012}]}]}\n")
    assert [f for f in _lint(tmp_path) if f.code in ("NP104", "NP110")] == []


@pytest.mark.parametrize(("line", "message"), [
    ('metadata-server-cidrs = ["bogus"]', "lint.platform.metadata-server-cidrs: 'bogus' is not a CIDR"),
    ('api-server-cidrs = "172.16.0.2/32"', "lint.platform.api-server-cidrs: must be a list"),
    ("metadata-server-ports = [0]", "lint.platform.metadata-server-ports: 0 is not a port number"),
])
def test_bad_network_facts_are_config_errors(tmp_path, line: str, message: str) -> None:
    """A typo in a fact is a config error, not a crash of every NP rule (E002)."""
    from infergate.core.errors import ConfigError
    from infergate.lint import load_config

    (tmp_path / "lint.toml").write_text(f"[lint.platform]\n{line}\n")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(tmp_path / "lint.toml")
