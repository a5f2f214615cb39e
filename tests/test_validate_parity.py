"""Validator parity with the API server's built-in validation (issue 15, items 1, 2, 5, 6): object
metadata, Secret data base64, pod spec / Service rules, server-populated fields. Each row is a rule the
real kube-apiserver 1.33 enforces (see tests/test_validate_differential.py) that the schema alone misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from infergate.validate import validate_paths
from infergate.validate.builtin import (
    check,
    is_dns1123_subdomain,
    is_label_value,
    is_port_name,
    is_qualified_name,
)
from tests.conftest import REPO

PARITY = REPO / "tests" / "fixtures" / "validate" / "parity"

# file, code, path, line
EXPECTED = [
    ("live-copy.yaml", "V008", "metadata.uid", 6),
    ("live-copy.yaml", "V008", "metadata.resourceVersion", 7),
    ("live-copy.yaml", "V008", "metadata.creationTimestamp", 8),
    ("live-copy.yaml", "V008", "metadata.generation", 13),
    ("live-copy.yaml", "V008", "status", 15),
    ("metadata.yaml", "V007", "metadata.name", 4),
    ("metadata.yaml", "V007", "metadata.namespace", 5),
    ("metadata.yaml", "V007", "metadata.labels['bad label key!']", 7),
    ("metadata.yaml", "V007", "metadata.labels.app", 8),
    ("metadata.yaml", "V007", "metadata.annotations['bad key!']", 11),
    ("metadata.yaml", "V007", "metadata.name", 16),  # Service: DNS-1035 label
    ("metadata.yaml", "V007", "metadata.name", 22),  # Namespace: DNS-1123 label
    ("podspec.yaml", "V007", "spec.template.spec.serviceAccountName", 9),
    ("podspec.yaml", "V007", "spec.template.spec.initContainers[0].restartPolicy", 13),
    ("podspec.yaml", "V007", "spec.template.spec.containers[0].name", 15),
    ("podspec.yaml", "V007", "spec.template.spec.containers[1].name", 17),  # duplicate of the init container
    ("podspec.yaml", "V007", "spec.template.spec.containers[1].ports[0].containerPort", 19),
    ("secret-base64.yaml", "V007", "data.bad", 6),
    ("server-normalizes.yaml", "V001", "spec.listeners[0].hostname", 32),  # null without a default: kept
]


def test_builtin_rules_reported_at_path_and_line() -> None:
    findings, _ = validate_paths([PARITY])
    got = sorted((Path(f.file).name, f.code, f.path, f.line) for f in findings)
    assert got == sorted(EXPECTED)
    severities = {f.code: f.severity for f in findings}
    assert severities == {"V001": "error", "V007": "error", "V008": "warning"}


def test_name_helpers_follow_upstream() -> None:
    assert is_dns1123_subdomain("a.b-c") is None
    assert is_dns1123_subdomain("A") and is_dns1123_subdomain("a" * 254)
    assert is_qualified_name("example.com/a_b.c") is None and is_qualified_name("app") is None
    assert is_qualified_name("/a") and is_qualified_name("a/") and is_qualified_name("a/b/c")
    assert is_qualified_name("Example.com/a")  # the prefix is a lowercase subdomain
    assert is_label_value("") is None and is_label_value("A.b_c") is None and is_label_value("a" * 64)
    assert is_port_name("http") is None
    assert is_port_name("80") and is_port_name("a--b") and is_port_name("a" * 16)


def test_annotations_total_size_limit(tmp_path: Path) -> None:
    big = "x" * (128 * 1024)
    (tmp_path / "a.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {{a: {big}, b: {big}}}\n")
    findings, _ = validate_paths([tmp_path])
    assert [(f.code, f.path) for f in findings] == [("V007", "metadata.annotations")]


def test_harmless_generated_fields_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: c, creationTimestamp: null}\n"
        "spec: {ports: [{port: 80}]}\nstatus: {}\n")
    findings, _ = validate_paths([tmp_path])
    assert findings == []


def test_non_string_keys_are_stringified_as_kubectl_does(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                                     "data: {1: a, true: b, 1.5: c}\n")
    findings, summary = validate_paths([tmp_path])
    assert findings == [] and summary["input_errors"] == 0
    from infergate.core.loader import load_files

    (doc,), _ = load_files([tmp_path / "a.yaml"])
    assert doc.obj["data"] == {"1": "a", "true": "b", "1.5": "c"}
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {~: a}\n")
    _, summary = validate_paths([tmp_path])
    assert summary["input_errors"] == 1  # kubectl cannot stringify a null key either


def test_list_items_get_the_builtin_rules_at_their_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: List\nitems:\n"
                                     "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: ok}\n"
                                     "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: Bad_Name\n")
    findings, _ = validate_paths([tmp_path])
    assert [(f.code, f.path, f.line) for f in findings] == [("V007", "metadata.name", 10)]


_NP = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}}
_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
_RB = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"}}
_DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
_C = {"name": "c", "image": "i"}


@pytest.mark.parametrize(("obj", "path"), [
    ({**_DEPLOY, "spec": {"selector": {"matchLabels": {"a": "b"}},
                          "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [_C]}}}},
     ("spec", "template", "metadata", "labels")),
    ({**_NP, "spec": {"podSelector": {"matchLabels": {"a b": "c"}}}},
     ("spec", "podSelector", "matchLabels", "a b")),
    ({**_NP, "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 70000}]}]}},
     ("spec", "ingress", 0, "ports", 0, "port")),
    ({**_NP, "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                                                       "except": ["x"]}}]}]}},
     ("spec", "egress", 0, "to", 0, "ipBlock", "except", 0)),
    ({**_POD, "spec": {"containers": [{**_C, "env": [{"name": "A=B"}]}]}},
     ("spec", "containers", 0, "env", 0, "name")),
    ({**_POD, "spec": {"containers": [{**_C, "readinessProbe": {"tcpSocket": {"port": 0}}}]}},
     ("spec", "containers", 0, "readinessProbe", "tcpSocket", "port")),
    ({**_RB, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Pod", "name": "r"}},
     ("roleRef", "kind")),
    ({**_POD, "spec": {"containers": [{"name": "c"}]}}, ("spec", "containers", 0, "image")),
    ({**_POD, "spec": {"containers": [{**_C, "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}},
     ("spec", "containers", 0, "volumeMounts", 0, "name")),
    ({**_POD, "spec": {"containers": [_C], "volumes": [{"name": "v", "configMap": {}}]}},
     ("spec", "volumes", 0, "configMap", "name")),
    ({**_NP, "spec": {"podSelector": {}, "policyTypes": [None]}}, ("spec", "policyTypes", 0)),
    ({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
      "metadata": {"name": "w"}, "webhooks": [{"name": "a.b.c", "clientConfig": {"caBundle": "-----BEGIN"}}]},
     ("webhooks", 0, "clientConfig", "caBundle")),
    ({**_POD, "spec": {"containers": [{**_C, "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]}},
     ("spec", "containers", 0, "ports", 0, "protocol")),
])
def test_builtin_rules_found_by_the_differential_test(obj: dict, path: tuple) -> None:
    assert [p for p, _ in check(obj)] == [path]
