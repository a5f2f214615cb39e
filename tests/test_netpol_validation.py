"""NP100 accepts exactly what the API server accepts: a table of valid and invalid NetworkPolicy specs.

Every case comes from a branch of kubernetes/kubernetes pkg/apis/networking/validation/validation.go
(ValidateNetworkPolicySpec, ValidateNetworkPolicyPeer, ValidateNetworkPolicyPort, ValidateIPBlock), of the
label selector checks it calls (staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go:
ValidateLabelSelector, ValidateLabelSelectorRequirement, ValidateLabels) or of the format checks those call
(staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go: IsQualifiedName, IsValidLabelValue,
IsValidPortName, IsValidPortNum; netutils.ParseCIDRSloppy for IsValidCIDRForLegacyField with the alpha
StrictIPCIDRValidation gate off). The upstream function is named in each case's id.
"""

from __future__ import annotations

from typing import Any

import pytest

from infergate.core.loader import load_text
from infergate.lint import lint_documents
from infergate.lint.platform import Platform
from infergate.netpol.policy import PolicyError, parse_policy


def _policy(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "app"}, "spec": spec}


def _from(*peers: Any) -> dict[str, Any]:
    return {"podSelector": {}, "ingress": [{"from": list(peers)}]}


def _ports(*ports: Any) -> dict[str, Any]:
    return {"podSelector": {}, "ingress": [{"ports": list(ports)}]}


def _block(cidr: Any, *excepts: Any) -> dict[str, Any]:
    return _from({"ipBlock": {"cidr": cidr, **({"except": list(excepts)} if excepts else {})}})


def _labels(labels: dict[str, Any]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": labels}}


def _expr(**expr: Any) -> dict[str, Any]:
    return {"podSelector": {"matchExpressions": [expr]}}


FROM0 = ("spec", "ingress", 0, "from", 0)
PORT0 = ("spec", "ingress", 0, "ports", 0)
EXPR0 = ("spec", "podSelector", "matchExpressions", 0)

VALID = [
    # NetworkPolicySpec.podSelector is a struct (not a pointer), optional, "defaults to an empty selector"
    pytest.param({}, id="types.go-podSelector-absent-is-every-pod"),
    pytest.param(None, id="types.go-spec-absent"),
    pytest.param({"podSelector": None}, id="types.go-podSelector-null-is-every-pod"),
    # ValidateNetworkPolicyPeer counts the peer fields that are non-nil: null is not set
    pytest.param(_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": None}),
                 id="ValidateNetworkPolicyPeer-ipBlock-next-to-null-podSelector"),
    pytest.param(_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": None}),
                 id="ValidateNetworkPolicyPeer-ipBlock-next-to-null-namespaceSelector"),
    pytest.param(_from({"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}),
                 id="ValidateNetworkPolicyPeer-both-selectors"),
    pytest.param({"podSelector": {}, "ingress": [{"from": None, "ports": None}, {}]},
                 id="ValidateNetworkPolicySpec-null-lists"),
    # ValidateNetworkPolicyPort: a nil protocol is not checked (SetDefaults makes it TCP)
    pytest.param(_ports({"protocol": None, "port": 80}), id="ValidateNetworkPolicyPort-protocol-null"),
    pytest.param(_ports({"protocol": "UDP"}), id="ValidateNetworkPolicyPort-no-port"),
    pytest.param(_ports({"protocol": "SCTP", "port": 9}), id="ValidateNetworkPolicyPort-SCTP"),
    pytest.param(_ports({"port": 8000, "endPort": 8000}), id="ValidateNetworkPolicyPort-endPort-equal"),
    pytest.param(_ports({"port": 1, "endPort": 65535}), id="ValidateNetworkPolicyPort-full-range"),
    pytest.param(_ports({"port": "http"}, {"port": "dns-tcp"}, {"port": "a"}, {"port": "abcdefghijklmn0"}),
                 id="IsValidPortName-names"),
    # ValidateIPBlock: IsValidCIDRForLegacyField, ParseCIDRSloppy
    pytest.param(_block("10.1.2.3/8"), id="ParseCIDRSloppy-host-bits-set"),
    pytest.param(_block("010.000.000.000/08"), id="ParseCIDRSloppy-leading-zeros-are-decimal"),
    pytest.param(_block("0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12"), id="ValidateIPBlock-except-inside"),
    pytest.param(_block("fd00::/8", "fd00:1::/32"), id="ValidateIPBlock-IPv6"),
    pytest.param(_block("10.0.0.0/8", "10.0.0.0/9"), id="ValidateIPBlock-except-one-bit-longer"),
    # ValidateNetworkPolicySpec: at most two policyTypes, each Ingress or Egress (repeats are not checked)
    pytest.param({"podSelector": {}, "policyTypes": ["Ingress", "Ingress"]},
                 id="ValidateNetworkPolicySpec-policyTypes-repeated"),
    pytest.param({"podSelector": {}, "policyTypes": []}, id="ValidateNetworkPolicySpec-policyTypes-empty"),
    # ValidateLabels / ValidateLabelSelectorRequirement
    pytest.param(_labels({"app.kubernetes.io/name": "x", "empty": "", "A_b.c-9": "Z_9.-a"}),
                 id="ValidateLabels-qualified-keys-and-values"),
    pytest.param(_expr(key="app", operator="Exists", values=None),
                 id="ValidateLabelSelectorRequirement-Exists"),
    pytest.param(_expr(key="app", operator="NotIn", values=["a", ""]),
                 id="ValidateLabelSelectorRequirement-NotIn-empty-value"),
]

INVALID = [
    # ValidateNetworkPolicyPeer: "must specify a peer" when no field is set (null is not set)
    pytest.param(_from({"podSelector": None}), FROM0, id="ValidateNetworkPolicyPeer-only-null-podSelector"),
    pytest.param(_from({"namespaceSelector": None, "ipBlock": None}), FROM0,
                 id="ValidateNetworkPolicyPeer-only-nulls"),
    pytest.param(_from({}), FROM0, id="ValidateNetworkPolicyPeer-empty"),
    pytest.param(_from(None), FROM0, id="ValidateNetworkPolicyPeer-null"),
    # ... and "may not specify both ipBlock and another peer"
    pytest.param(_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}), FROM0,
                 id="ValidateNetworkPolicyPeer-ipBlock-and-podSelector"),
    pytest.param(_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}), FROM0,
                 id="ValidateNetworkPolicyPeer-ipBlock-and-namespaceSelector"),
    # ValidateIPBlock
    pytest.param(_block("10.0.0.0/8", "10.0.0.0/8"), (*FROM0, "ipBlock", "except", 0),
                 id="ValidateIPBlock-except-equal-to-cidr"),
    pytest.param(_block("10.0.0.0/8", "10.0.0.0/7"), (*FROM0, "ipBlock", "except", 0),
                 id="ValidateIPBlock-except-wider"),
    pytest.param(_block("10.0.0.0/8", "11.0.0.0/16"), (*FROM0, "ipBlock", "except", 0),
                 id="ValidateIPBlock-except-outside"),
    pytest.param(_block("0.0.0.0/0", "fd00::/8"), (*FROM0, "ipBlock", "except", 0),
                 id="ValidateIPBlock-except-other-family"),
    pytest.param(_block("10.0.0.0/8", "10.1.0.0"), (*FROM0, "ipBlock", "except", 0),
                 id="ValidateIPBlock-except-without-prefix"),
    pytest.param(_block("10.0.0.1"), (*FROM0, "ipBlock", "cidr"), id="ParseCIDRSloppy-no-prefix-length"),
    pytest.param(_block(""), (*FROM0, "ipBlock", "cidr"), id="ValidateIPBlock-cidr-required"),
    pytest.param(_from({"ipBlock": {}}), (*FROM0, "ipBlock", "cidr"), id="ValidateIPBlock-cidr-absent"),
    pytest.param(_block("10.0.0.0/33"), (*FROM0, "ipBlock", "cidr"), id="ParseCIDRSloppy-prefix-too-long"),
    pytest.param(_block("10.0.0.0/255.0.0.0"), (*FROM0, "ipBlock", "cidr"), id="ParseCIDRSloppy-netmask"),
    pytest.param(_block("256.0.0.0/8"), (*FROM0, "ipBlock", "cidr"), id="ParseCIDRSloppy-octet-over-255"),
    pytest.param(_block("fe80::%eth0/64"), (*FROM0, "ipBlock", "cidr"), id="ParseCIDRSloppy-zone"),
    pytest.param(_block(10), (*FROM0, "ipBlock", "cidr"), id="IPBlock-cidr-not-a-string"),
    # ValidateNetworkPolicyPort
    pytest.param(_ports({"port": "8080"}), (*PORT0, "port"), id="IsValidPortName-quoted-number"),
    pytest.param(_ports({"port": "HTTP"}), (*PORT0, "port"), id="IsValidPortName-uppercase"),
    pytest.param(_ports({"port": "abcdefghijklmnop"}), (*PORT0, "port"), id="IsValidPortName-16-characters"),
    pytest.param(_ports({"port": "-http"}), (*PORT0, "port"), id="IsValidPortName-leading-hyphen"),
    pytest.param(_ports({"port": "a--b"}), (*PORT0, "port"), id="IsValidPortName-double-hyphen"),
    pytest.param(_ports({"port": ""}), (*PORT0, "port"), id="IsValidPortName-empty"),
    pytest.param(_ports({"port": 0}), (*PORT0, "port"), id="IsValidPortNum-0"),
    pytest.param(_ports({"port": 123456789}), (*PORT0, "port"), id="IsValidPortNum-too-big"),
    pytest.param(_ports({"endPort": 90}), (*PORT0, "endPort"),
                 id="ValidateNetworkPolicyPort-endPort-no-port"),
    pytest.param(_ports({"port": "http", "endPort": 90}), (*PORT0, "endPort"),
                 id="ValidateNetworkPolicyPort-endPort-named-port"),
    pytest.param(_ports({"port": 90, "endPort": 80}), (*PORT0, "endPort"),
                 id="ValidateNetworkPolicyPort-endPort-below-port"),
    pytest.param(_ports({"port": 90, "endPort": 70000}), (*PORT0, "endPort"),
                 id="ValidateNetworkPolicyPort-endPort-too-big"),
    pytest.param(_ports({"port": 80, "protocol": "ICMP"}), (*PORT0, "protocol"),
                 id="ValidateNetworkPolicyPort-ICMP"),
    pytest.param(_ports({"port": 80, "protocol": "tcp"}), (*PORT0, "protocol"),
                 id="ValidateNetworkPolicyPort-lowercase-protocol"),
    pytest.param({"podSelector": {}, "egress": [{"ports": [{"port": "8080"}]}]},
                 ("spec", "egress", 0, "ports", 0, "port"), id="ValidateNetworkPolicyPort-egress"),
    # ValidateNetworkPolicySpec: policyTypes
    pytest.param({"podSelector": {}, "policyTypes": ["Ingress", "Egress", "Ingress"]},
                 ("spec", "policyTypes"),
                 id="ValidateNetworkPolicySpec-three-policyTypes"),
    pytest.param({"podSelector": {}, "policyTypes": ["ingress"]}, ("spec", "policyTypes", 0),
                 id="ValidateNetworkPolicySpec-policyType-lowercase"),
    # ValidateLabels (matchLabels) and ValidateLabelSelectorRequirement (matchExpressions)
    pytest.param(_labels({"NoUppercaseOrSpecialCharsLike=Equals": "b"}),
                 ("spec", "podSelector", "matchLabels", "NoUppercaseOrSpecialCharsLike=Equals"),
                 id="IsQualifiedName-bad-key"),
    pytest.param(_labels({"Example.com/name": "b"}),
                 ("spec", "podSelector", "matchLabels", "Example.com/name"),
                 id="IsQualifiedName-uppercase-prefix"),
    pytest.param(_labels({"a/b/c": "b"}), ("spec", "podSelector", "matchLabels", "a/b/c"),
                 id="IsQualifiedName-two-slashes"),
    pytest.param(_labels({"app": "x" * 64}), ("spec", "podSelector", "matchLabels", "app"),
                 id="IsValidLabelValue-64-characters"),
    pytest.param(_labels({"app": "-x"}), ("spec", "podSelector", "matchLabels", "app"),
                 id="IsValidLabelValue-leading-hyphen"),
    pytest.param(_labels({"app": 1}), ("spec", "podSelector", "matchLabels", "app"),
                 id="matchLabels-not-a-string"),
    pytest.param(_expr(key="a", operator="Equals", values=["x"]), (*EXPR0, "operator"),
                 id="ValidateLabelSelectorRequirement-unknown-operator"),
    pytest.param(_expr(key="a", operator="In"), (*EXPR0, "values"),
                 id="ValidateLabelSelectorRequirement-In-without-values"),
    pytest.param(_expr(key="a", operator="Exists", values=["x"]), (*EXPR0, "values"),
                 id="ValidateLabelSelectorRequirement-Exists-with-values"),
    pytest.param(_expr(operator="Exists"), (*EXPR0, "key"), id="ValidateLabelSelectorRequirement-no-key"),
    pytest.param(_expr(key="a b", operator="Exists"), (*EXPR0, "key"),
                 id="ValidateLabelSelectorRequirement-bad-key"),
    pytest.param(_expr(key="a", operator="In", values=["a b"]), (*EXPR0, "values", 0),
                 id="ValidateLabelSelectorRequirement-bad-value"),
    pytest.param(_from({"namespaceSelector": {"matchLabels": {"team": "a/b"}}}),
                 (*FROM0, "namespaceSelector", "matchLabels", "team"),
                 id="ValidateLabels-peer-namespaceSelector"),
]


@pytest.mark.parametrize("spec", VALID)
def test_the_api_server_accepts(spec: Any) -> None:
    parse_policy(_policy(spec))


@pytest.mark.parametrize(("spec", "path"), INVALID)
def test_the_api_server_rejects(spec: Any, path: tuple) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(_policy(spec))
    assert info.value.path == path, str(info.value)


def test_defaults_of_null_and_absent_fields() -> None:
    every_pod = parse_policy(_policy({}))
    assert every_pod.pod_selector.is_empty and every_pod.types == {"Ingress"} and every_pod.ingress == ()
    (port,) = parse_policy(_policy(_ports({"protocol": None, "port": 80}))).ingress[0].ports or ()
    assert (port.protocol, port.port) == ("TCP", 80)
    (peer,) = parse_policy(_policy(_from({"ipBlock": {"cidr": "010.1.2.3/8"}, "podSelector": None}))
                           ).ingress[0].peers or ()
    assert peer.pod_selector is None and str(peer.ip_block.cidr) == "10.0.0.0/8"


@pytest.mark.parametrize("text", [
    "spec: {podSelector: {}, ingress: [{ports: [{port: '8080'}]}]}",
    "spec: {podSelector: {}, ingress: [{from: [{podSelector: null}]}]}",
    "spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]}",
    "spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]}",
])
def test_np100_reports_what_the_api_server_rejects(text: str) -> None:
    head = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: app}\n"
    findings, _ = lint_documents(load_text(head + text + "\n", "np.yaml"), platform=Platform(), select=["NP"])
    assert [f.code for f in findings] == ["NP100"], [f.message for f in findings]


@pytest.mark.parametrize("text", [
    "spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{from: [{podSelector: null, ipBlock: "
    "{cidr: 10.0.0.0/8}}], ports: [{protocol: null, port: 80}]}]}",
    "spec: {ingress: [{from: [{namespaceSelector:, podSelector: {}}]}]}",
])
def test_np100_accepts_what_the_api_server_accepts(text: str) -> None:
    head = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: app}\n"
    docs = load_text(head + text + "\n", "np.yaml")
    findings, _ = lint_documents(docs, platform=Platform(), select=["NP100"])
    assert findings == []
