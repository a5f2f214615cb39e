"""Fast rows (no API server) for the rules tests/test_validate_differential.py checks against a real
kube-apiserver: RBAC rules, Ingress, HPA, PDB, resource quantities, null items in associative lists,
``format: byte`` in CRDs, and the OpenAPI ``required`` entries the server does not enforce."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from infergate.core.findings import Severity
from infergate.core.loader import Document
from infergate.validate import quantity
from infergate.validate.builtin import check
from infergate.validate.engine import Validator

_C = {"name": "c", "image": "i"}


def _pod(**container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{**_C, **container}]}}


def _errors(obj: dict[str, Any]) -> list[tuple[str, str | None]]:
    doc = Document(file="case.yaml", index=0, line=1, obj=obj)
    return [(f.code, f.path) for f in _VALIDATOR.document(doc) if f.severity == Severity.ERROR]


_VALIDATOR = Validator("1.33")


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Fraction(1, 2)), ("1Gi", 2 ** 30), ("1e3", 1000), ("1.", 1), (".", 0), ("+", 0), ("Ki", 0),
    ("1.5Ki", 1536), ("-2", -2), ("1E", 10 ** 18), ("1e-3", Fraction(1, 1000)), ("2e+2", 200),
])
def test_quantities_parse_as_parse_quantity_does(text: str, value: Fraction) -> None:
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["", "1mm", "1 Gi", "abc", "1e", "1Ki2", "0x10", "1,5"])
def test_malformed_quantities_are_errors(text: str) -> None:
    assert isinstance(quantity.parse(text), str)


def test_quantity_json_forms() -> None:
    assert quantity.from_json(" 1Gi ") == 2 ** 30  # UnmarshalJSON trims spaces
    assert quantity.from_json(1.5) == Fraction(3, 2) and quantity.from_json(None) == 0
    assert quantity.from_json(True) is None  # not a string or number: the schema's finding


_ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}}
_ING = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}}
_PATH = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}
_HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}
_REF = {"kind": "Deployment", "name": "d"}
_PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}}


def _ingress(path: dict[str, Any], host: str = "a.example.com") -> dict[str, Any]:
    return {**_ING, "spec": {"rules": [{"host": host, "http": {"paths": [path]}}]}}


@pytest.mark.parametrize(("obj", "paths"), [
    ({**_ROLE, "rules": [{"apiGroups": [""], "resources": ["pods"]}]}, [("rules", 0, "verbs")]),
    ({**_ROLE, "rules": [{"verbs": ["get"], "resources": ["pods"]}]}, [("rules", 0, "apiGroups")]),
    ({**_ROLE, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}]}, [("rules", 0, "nonResourceURLs")]),
    ({**_ROLE, "kind": "ClusterRole", "aggregationRule": {}}, [("aggregationRule", "clusterRoleSelectors")]),
    ({**_ING, "spec": {}}, [("spec",)]),
    (_ingress(_PATH, host="10.0.0.1"), [("spec", "rules", 0, "host")]),
    (_ingress({**_PATH, "path": "/a//b"}), [("spec", "rules", 0, "http", "paths", 0, "path")]),
    (_ingress({**_PATH, "pathType": None}), [("spec", "rules", 0, "http", "paths", 0, "pathType")]),
    (_ingress({**_PATH, "backend": {"service": {"name": "s"}}}),
     [("spec", "rules", 0, "http", "paths", 0, "backend")]),
    ({**_HPA, "spec": {"scaleTargetRef": _REF, "maxReplicas": 0}}, [("spec", "maxReplicas")] * 2),
    ({**_HPA, "spec": {"scaleTargetRef": {"kind": "Deployment"}, "maxReplicas": 1}},
     [("spec", "scaleTargetRef", "name")]),
    ({**_HPA, "spec": {"scaleTargetRef": _REF, "maxReplicas": 1, "metrics": [{"type": "Pods"}]}},
     [("spec", "metrics", 0, "pods")]),
    ({**_HPA, "spec": {"scaleTargetRef": _REF, "maxReplicas": 1, "metrics": [{
        "type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                  "averageUtilization": 0}}}]}},
     [("spec", "metrics", 0, "resource", "target", "averageUtilization")]),
    ({**_HPA, "spec": {"scaleTargetRef": _REF, "maxReplicas": 1, "behavior": {"scaleUp": {
        "stabilizationWindowSeconds": -1}}}},
     [("spec", "behavior", "scaleUp", "stabilizationWindowSeconds")]),
    ({**_PDB, "spec": {"minAvailable": "101%"}}, [("spec", "minAvailable")]),
    ({**_PDB, "spec": {"minAvailable": 1, "maxUnavailable": 0}}, [("spec",)]),
    (_pod(resources={"requests": {"memory": "1 Gi"}}), [("spec", "containers", 0, "resources", "requests",
                                                         "memory")]),
    (_pod(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
     [("spec", "containers", 0, "resources", "requests")]),
    (_pod(resources={"limits": {"example.com/gpu": "0.5"}}),
     [("spec", "containers", 0, "resources", "limits", "example.com/gpu")]),
    (_pod(resources={"requests": {"example.com/gpu": 1}}),
     [("spec", "containers", 0, "resources", "limits")]),
    ({**_ING, "spec": {"defaultBackend": _PATH["backend"], "tls": [{"hosts": [None]}]}},
     [("spec", "tls", 0, "hosts", 0)]),
])
def test_builtin_rules_of_the_kinds_the_issue_names(obj: dict[str, Any], paths: list[tuple]) -> None:
    assert [p for p, _ in check(obj)] == paths


@pytest.mark.parametrize("obj", [
    {**_ROLE, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    {**_ROLE, "kind": "ClusterRole", "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]},
    _ingress(_PATH, host="*.example.com"),
    _ingress({"pathType": "ImplementationSpecific", "backend": _PATH["backend"]}),
    {**_HPA, "spec": {"scaleTargetRef": _REF, "maxReplicas": 2, "minReplicas": 1}},
    {**_PDB, "spec": {"maxUnavailable": "100%", "selector": {"matchLabels": {"a": "b"}}}},
    _pod(resources={"requests": {"cpu": "500m", "nvidia.com/gpu": 1}, "limits": {"cpu": 1.5,
                                                                                "nvidia.com/gpu": "1"}}),
])
def test_valid_objects_of_those_kinds_pass(obj: dict[str, Any]) -> None:
    assert list(check(obj)) == [] and _errors(obj) == []


_RB = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"}}
_ISSUER = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "spec": {"selfSigned": {}}}
_ACME = {"server": "https://acme.example.com/dir", "privateKeySecretRef": {"name": "k"}}
_CI = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "ci"}}


@pytest.mark.parametrize("obj", [
    {**_RB, "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}, "spec": {}},
    {**_CI, "spec": {"acme": {**_ACME, "caBundle": "aGVsbG8="}}},
    {**_PDB, "metadata": {"name": "Bad_Name"}, "spec": {"minAvailable": 1}},  # a path segment suffices
    # a status is reset on create (built-in kinds, CRDs with the status subresource): only types count
    {**_PDB, "spec": {}, "status": {"currentHealthy": 1}},
    {**_ISSUER, "metadata": {"name": "i"}, "status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}},
])
def test_what_the_server_accepts_passes(obj: dict[str, Any]) -> None:
    assert _errors(obj) == []


@pytest.mark.parametrize(("obj", "path"), [
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": [None]}},
     "metadata.finalizers[0]"),
    (_pod() | {"spec": {"containers": [_C, None]}}, "spec.containers[1]"),
    ({**_ISSUER, "metadata": {"name": "i", "finalizers": ["a/b", None]}}, "metadata.finalizers[1]"),
    ({**_CI, "spec": {"acme": {**_ACME, "caBundle": "aGk"}}}, "spec.acme.caBundle"),
    ({**_CI, "spec": {"acme": {**_ACME, "caBundle": ""}}}, "spec.acme.caBundle"),
])
def test_null_list_items_and_bytes_the_server_refuses(obj: dict[str, Any], path: str) -> None:
    assert _errors(obj) == [("V001", path)]


def test_a_status_keeps_its_types_and_without_the_subresource_its_rules() -> None:
    assert _errors({**_ISSUER, "metadata": {"name": "i"}, "status": {"conditions": "Ready"}}) == [
        ("V001", "status.conditions")]
    project = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "p"},
               "spec": {}, "status": {"jwtTokensByRole": {"r": {"items": [{}]}}}}
    assert _errors(project) == [("V001", "status.jwtTokensByRole.r.items[0]")]


def test_a_null_item_in_an_atomic_list_is_not_reported() -> None:
    obj = _pod(args=["a", None])  # Container.args is atomic: server-side apply keeps the null
    assert not any("associative" in f.message for f in _VALIDATOR.document(
        Document(file="c.yaml", index=0, line=1, obj=obj)))
