"""networking.k8s.io/v1 semantics, one rule per test, on hand-built clusters (the documented cases)."""

from __future__ import annotations

from typing import Any

import pytest

from infergate.netpol.evaluate import Evaluator
from infergate.netpol.model import Namespace, PortSpec, external, pod
from infergate.netpol.policy import parse_policy
from tests.conftest import requires_examples

WEB = pod("app", "web", {"app": "web"}, [PortSpec(8080, "TCP", "http")])
DB = pod("app", "db", {"app": "db"}, [PortSpec(5432, "TCP", "pg"), PortSpec(53, "UDP", "dns")])
MON = pod("monitoring", "prom", {"app": "prom"})
OTHER = pod("other", "tool", {"app": "web"})
NET = external("internet", ["0.0.0.0/0"], [PortSpec(443)], ["10.0.0.0/8", "172.16.0.0/12"])
API = external("api", ["172.16.0.2/32"], [PortSpec(443)])
NAMESPACES = [Namespace("app", {"team": "ml"}), Namespace("monitoring", {"purpose": "metrics"}),
              Namespace("other")]


def np(spec: dict[str, Any], namespace: str = "app", name: str = "p") -> Any:
    return parse_policy({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def ev(*policies: Any, pod_cidrs: tuple[str, ...] = ("10.8.0.0/14",)) -> Evaluator:
    return Evaluator(NAMESPACES, [WEB, DB, MON, OTHER, NET, API], list(policies), pod_cidrs)


def test_no_policy_everything_allowed() -> None:
    e = ev()
    assert e.allowed("monitoring/prom", "app/db", 5432)
    assert e.allowed("app/db", "external/internet", 443)


def test_empty_ingress_list_denies_and_policy_types_default() -> None:
    e = ev(np({"podSelector": {}}))  # policyTypes defaults to [Ingress]; no rules: deny ingress
    assert not e.allowed("app/web", "app/db", 5432)
    assert e.allowed("app/db", "external/internet", 443)  # egress untouched
    e = ev(np({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}))
    assert not e.allowed("app/db", "external/internet", 443)  # egress rules present: Egress isolated
    assert e.explain("app/db", "app/db", 53, "UDP").egress.allowed  # ingress has no rule: denied
    assert not e.explain("app/db", "app/db", 53, "UDP").ingress.allowed


def test_rules_of_a_direction_not_in_policy_types_are_ignored() -> None:
    e = ev(np({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{"ports": [{"port": 1}]}]}))
    assert e.allowed("monitoring/prom", "app/db", 5432)  # ingress not isolated
    assert not e.allowed("app/db", "monitoring/prom", 9090)


def test_selected_pods_only() -> None:
    e = ev(np({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}))
    assert not e.allowed("app/web", "app/db", 5432)
    assert e.allowed("app/db", "app/web", 8080)
    assert e.allowed("app/web", "other/tool", 1)  # a policy only selects pods of its own namespace


def test_pod_selector_alone_means_same_namespace() -> None:
    e = ev(np({"podSelector": {"matchLabels": {"app": "db"}},
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}))
    assert e.allowed("app/web", "app/db", 5432)
    assert not e.allowed("other/tool", "app/db", 5432)  # same labels, other namespace


def test_namespace_selector_alone_means_every_pod_there() -> None:
    e = ev(np({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {
        "matchLabels": {"purpose": "metrics"}}}]}]}))
    assert e.allowed("monitoring/prom", "app/db", 5432)
    assert not e.allowed("app/web", "app/db", 5432)


def test_both_selectors_in_one_peer_is_and_two_peers_is_or() -> None:
    both = ev(np({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
         "podSelector": {"matchLabels": {"app": "db"}}}]}]}))
    assert not both.allowed("other/tool", "app/db", 5432)
    either = ev(np({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}},
        {"podSelector": {"matchLabels": {"app": "db"}}}]}]}))
    assert either.allowed("other/tool", "app/db", 5432)
    assert either.allowed("app/db", "app/db", 5432)


def test_match_expressions() -> None:
    def allowed_from(expr: dict, src: str) -> bool:
        e = ev(np({"podSelector": {"matchLabels": {"app": "db"}},
                   "ingress": [{"from": [{"namespaceSelector": {},
                                          "podSelector": {"matchExpressions": [expr]}}]}]}))
        return e.allowed(src, "app/db", 5432)

    assert allowed_from({"key": "app", "operator": "In", "values": ["web", "x"]}, "app/web")
    assert not allowed_from({"key": "app", "operator": "NotIn", "values": ["web"]}, "app/web")
    assert allowed_from({"key": "tier", "operator": "NotIn", "values": ["web"]}, "app/web")  # key absent
    assert allowed_from({"key": "app", "operator": "Exists"}, "monitoring/prom")
    assert not allowed_from({"key": "app", "operator": "DoesNotExist"}, "monitoring/prom")


def test_namespace_name_label_is_automatic() -> None:
    e = ev(np({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}))
    assert e.allowed("monitoring/prom", "app/web", 8080)


def test_rule_without_from_admits_external_sources_too() -> None:
    e = ev(np({"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}]}))
    assert e.allowed("external/internet", "app/web", 8080)
    assert e.allowed("other/tool", "app/web", 8080)
    assert not e.allowed("other/tool", "app/db", 5432)


def test_selectors_never_match_external_addresses() -> None:
    e = ev(np({"podSelector": {}, "policyTypes": ["Egress"],
               "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 443}]}]}))
    assert not e.allowed("app/web", "external/internet", 443)
    assert not e.allowed("app/web", "external/api", 443)


def test_ip_block_with_except() -> None:
    egress = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {
        "cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12"]}}]}]}
    e = ev(np(egress))
    assert e.allowed("app/web", "external/internet", 443)
    assert not e.allowed("app/web", "external/api", 443)  # 172.16.0.2 is excepted
    assert not e.allowed("app/web", "app/db", 5432)  # pod CIDR excepted: pods do not match


def test_ip_block_matches_pods_only_if_it_covers_the_whole_pod_cidr() -> None:
    def e(cidr: str) -> Evaluator:
        return ev(np({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": cidr}}]}]}))

    assert e("10.0.0.0/8").allowed("other/tool", "app/web", 8080)
    assert not e("10.8.0.0/16").allowed("other/tool", "app/web", 8080)  # part of the pod range ...
    assert e("10.8.0.0/16").status("other/tool", "app/web", 8080) == "partial"  # ... admits some pods


HALVES = [{"ipBlock": {"cidr": "0.0.0.0/1"}}, {"ipBlock": {"cidr": "128.0.0.0/1"}}]


@pytest.mark.parametrize("policies", [
    # one rule, two peers
    [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": HALVES}]}],
    # two rules of one policy
    [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [HALVES[0]]}, {"to": [HALVES[1]]}]}],
    # two policies
    [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [HALVES[0]]}]},
     {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
      "egress": [{"to": [HALVES[1]]}]}],
], ids=["one-rule", "two-rules", "two-policies"])
def test_ip_blocks_are_decided_on_their_union(policies: list) -> None:
    """0.0.0.0/1 + 128.0.0.0/1 admit every IPv4 address, though neither block does alone."""
    e = ev(*(np(p, name=f"p{i}") for i, p in enumerate(policies)))
    assert e.allowed("app/web", "external/internet", 443)
    assert e.allowed("app/web", "external/api", 443)
    assert e.allowed("app/web", "app/db", 5432)  # the pod CIDR too (egress side; db's ingress is open)
    assert e.explain("app/web", "external/internet", 443).egress.allowed


def test_ingress_ip_blocks_union_covers_the_pod_cidr() -> None:
    e = ev(np({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.8.0.0/15"}}]},
                                              {"from": [{"ipBlock": {"cidr": "10.10.0.0/15"}}]}]}))
    assert e.allowed("other/tool", "app/web", 8080)  # 10.8.0.0/14 = both halves
    assert e.allowed("external/api", "app/web", 8080) is False


def test_ip_block_over_part_of_a_destination_is_partial() -> None:
    """A block over part of the model download range (or the pod CIDR) opens the flow for some addresses."""
    e = ev(np({"podSelector": {}, "policyTypes": ["Egress"],
               "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/1"}}]}]}))
    verdict = e.explain("app/web", "external/internet", 443)
    assert verdict.status == "partial" and not verdict.allowed
    assert verdict.egress.status == "partial"
    assert [str(r) for r in verdict.egress.allowed_by] == ["app/p egress[0]"]
    assert "some addresses only" in verdict.describe()
    full, some = e.reach(e.index["external/internet"], 443)
    assert not (full >> e.index["app/web"]) & 1 and (some >> e.index["app/web"]) & 1
    assert e.status("app/web", "external/api", 443) == "denied"  # 172.16.0.2 is not in 0.0.0.0/1 ...
    assert e.explain("app/web", "external/api", 443).egress.allowed_by == ()
    upper = ev(np({"podSelector": {}, "policyTypes": ["Egress"],
                   "egress": [{"to": [{"ipBlock": {"cidr": "128.0.0.0/1"}}]}]}))
    assert upper.status("app/web", "external/api", 443) == "allowed"  # ... but in 128.0.0.0/1


def test_ports_numbers_names_ranges_protocols() -> None:
    def allowed(port: dict, number: int, protocol: str = "TCP", dst: str = "app/db") -> bool:
        e = ev(np({"podSelector": {}, "ingress": [{"ports": [port]}]}))
        return e.allowed("app/web", dst, number, protocol)

    assert allowed({"port": 5432}, 5432)
    assert not allowed({"port": 5432}, 5432, "UDP")  # protocol defaults to TCP
    assert allowed({"port": 53, "protocol": "UDP"}, 53, "UDP")
    assert allowed({"port": 5000, "endPort": 6000}, 5432)
    assert not allowed({"port": 5000, "endPort": 5400}, 5432)
    assert allowed({"port": "pg"}, 5432)  # named: resolved on the destination pod
    assert not allowed({"port": "pg"}, 5433)
    assert not allowed({"port": "http"}, 5432)  # db has no port named http
    assert allowed({"port": "http"}, 8080, dst="app/web")
    assert allowed({"protocol": "UDP"}, 9999, "UDP")  # no port: every port of the protocol


def test_named_port_in_egress_resolves_on_the_destination() -> None:
    e = ev(np({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
               "egress": [{"ports": [{"port": "pg"}]}]}))
    assert e.allowed("app/web", "app/db", 5432)
    assert not e.allowed("app/web", "external/internet", 443)


def test_flow_needs_egress_and_ingress() -> None:
    deny_egress = np({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]}, name="a")
    allow_ingress = np({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]}, name="b")
    e = ev(deny_egress, allow_ingress)
    verdict = e.explain("app/web", "app/db", 5432)
    assert not verdict.allowed and verdict.ingress.allowed and not verdict.egress.allowed
    assert "denied (isolated by app/a)" in verdict.describe()


def test_policies_are_additive() -> None:
    e = ev(np({"podSelector": {}, "policyTypes": ["Ingress"]}, name="deny"),
           np({"podSelector": {"matchLabels": {"app": "db"}},
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}, name="allow"))
    assert e.allowed("app/web", "app/db", 5432)
    allowed_by = e.explain("app/web", "app/db", 5432).ingress.allowed_by
    assert [str(r) for r in allowed_by] == ["app/allow ingress[0]"]
    assert not e.allowed("app/db", "app/web", 8080)


def test_null_namespace_selector_is_unset_not_every_namespace() -> None:
    """`namespaceSelector:` with nothing after it is null: unset (the policy's namespace), not `{}`."""
    e = ev(np({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [
        {"namespaceSelector": None, "podSelector": {"matchLabels": {"app": "web"}}}]}]}))
    assert e.allowed("app/web", "app/db", 5432)
    assert not e.allowed("other/tool", "app/db", 5432)  # same labels, other namespace
    alone = ev(np({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": None, "podSelector": {}}]}]}))
    assert alone.allowed("app/web", "app/db", 5432)
    assert not alone.allowed("monitoring/prom", "app/db", 5432)


@requires_examples
def test_deleting_the_namespace_selector_lines_of_a_generated_policy_denies_the_gateway(tmp_path) -> None:
    """Two deleted lines leave `namespaceSelector:` null: a real cluster then only admits pods of the
    policy's own namespace, so gateway -> vLLM is denied (and NP105 must say so)."""
    from infergate.core.graph import Graph
    from infergate.core.loader import load_paths
    from infergate.lint import lint_documents
    from infergate.lint.platform import Platform, platform_for_paths
    from infergate.netpol.cluster import build_cluster
    from tests.conftest import example_env_dirs

    dist = example_env_dirs()["pattern1"]
    name = "NetworkPolicy.qwen2-3b-pattern1-vllm-ingress.yaml"
    text = (dist / "networkpolicies-llm-d-inference-scheduling" / name).read_text()
    lines = "            matchLabels:\n              kubernetes.io/metadata.name: opendatahub\n"
    cut = text.replace(lines, "")
    assert cut != text and "        - namespaceSelector:\n          podSelector:" in cut
    copy = tmp_path / "pattern1"
    for src in dist.rglob("*.yaml"):
        dst = copy / src.relative_to(dist)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(cut if src.name == name and "llm-d" in str(src) else src.read_text())
    docs, problems = load_paths([copy])
    assert not problems
    platform = platform_for_paths([dist], Platform())
    evaluator = build_cluster(Graph(docs, platform)).evaluator
    gateway = next(x.key for x in evaluator.endpoints if x.role == "gateway")
    vllm = next(x.key for x in evaluator.endpoints if x.role == "model-server")
    assert not evaluator.allowed(gateway, vllm, 8000)
    findings, _ = lint_documents(docs, platform=platform, select=["NP"])
    assert [f.code for f in findings if "gateway-to-model-server" in f.message] == ["NP105"]
