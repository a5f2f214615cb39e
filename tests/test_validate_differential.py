"""Differential test (issue 15, item 5): `infergate validate` and a real kube-apiserver 1.33 must agree.

Every case is one object; its verdict from the validator (rejected: any error finding) must equal the
server's (rejected: a server-side apply with ``dryRun=All`` and ``fieldValidation=Strict`` fails), on the
session's hermetic server with every pinned CRD of the default profile installed. Cases: a defect corpus
(the validator's own invalid/valid/parity fixtures, one case per V-code family, plus hand-written cases
below) and bounded, derandomized hypothesis mutations of the example projects' dist objects.

Differences that are legitimate are excluded explicitly, with the reason (``EXCLUDED``); validator gaps
still open would be listed in ``KNOWN_GAPS`` (none are), reported and expected to disagree, so the day
they are fixed this test says so. Any other disagreement fails with both messages. The namespace an
object names is created before its dry run (as Argo CD's CreateNamespace=true would): whether it exists
is cluster state, which the offline validator does not judge.

    INFERGATE_MIRROR=/work/shared .venv/bin/pytest -q -s tests/test_validate_differential.py
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infergate.apiserver.client import ApiError, KubeClient
from infergate.core.findings import Severity
from infergate.core.loader import Document, load_files
from infergate.validate.engine import Validator
from tests.conftest import REPO, example_projects

pytestmark = pytest.mark.slow

FIXTURES = REPO / "tests" / "fixtures" / "validate"
VERBOSE = os.environ.get("INFERGATE_DIFFTEST_VERBOSE") == "1"
NAMESPACE = "difftest"

# (file name, document index) -> why the verdicts may legitimately differ
EXCLUDED: dict[tuple[str, int], str] = {
    ("duplicate-key.yaml", 0): "the client sends JSON, which cannot repeat a key: the server never sees it",
    ("not-kubernetes.yaml", 0): "V003: no schema for the kind (the server has no such resource either)",
    ("not-kubernetes.yaml", 1): "V004: not an object, nothing to send",
    ("live-copy.yaml", 0): "V008 is a warning: a copied metadata.uid fails the server's uid precondition "
                           "(409) on any cluster but its own; which cluster is the target is unknown",
}

# hand-written cases: name -> (object, the class of the issue it probes)
_CM = {"apiVersion": "v1", "kind": "ConfigMap"}
CASES: dict[str, dict[str, Any]] = {
    "cm-ok": {**_CM, "metadata": {"name": "ok"}, "data": {"a": "b"}},
    "cm-name-uppercase": {**_CM, "metadata": {"name": "Bad_Name"}},
    "cm-name-too-long": {**_CM, "metadata": {"name": "a" * 254}},
    "cm-label-key": {**_CM, "metadata": {"name": "c", "labels": {"bad label key!": "x"}}},
    "cm-label-prefix": {**_CM, "metadata": {"name": "c", "labels": {"Example.com/a": "x"}}},
    "cm-label-value": {**_CM, "metadata": {"name": "c", "labels": {"a": "-x"}}},
    "cm-label-value-long": {**_CM, "metadata": {"name": "c", "labels": {"a": "x" * 64}}},
    "cm-annotation-key": {**_CM, "metadata": {"name": "c", "annotations": {"a b": "x"}}},
    "cm-annotation-upper-ok": {**_CM, "metadata": {"name": "c", "annotations": {"Example.com/A": "x"}}},
    "cm-annotations-too-big": {**_CM, "metadata": {"name": "c", "annotations": {
        "a": "x" * (128 * 1024), "b": "x" * (128 * 1024)}}},
    "cm-data-key": {**_CM, "metadata": {"name": "c"}, "data": {"a/b": "x"}},
    "cm-binary-not-base64": {**_CM, "metadata": {"name": "c"}, "binaryData": {"a": "%%%"}},
    "cm-unknown-metadata-field": {**_CM, "metadata": {"name": "c", "labelz": {}}},
    "cm-wrong-type": {**_CM, "metadata": {"name": "c"}, "data": {"a": 1}},
    "secret-base64-ok": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                         "data": {"a": "aGVsbG8="}},
    "secret-not-base64": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                          "data": {"a": "not base64!"}},
    "secret-unpadded": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                        "data": {"a": "aGk"}},
    "svc-name-digit": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"},
                       "spec": {"ports": [{"port": 80}]}},
    "svc-unnamed-ports": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                          "spec": {"ports": [{"port": 80}, {"port": 81}]}},
    "svc-target-port-name": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                             "spec": {"ports": [{"port": 80, "targetPort": "Http_Port"}]}},
    "svc-port-zero": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                      "spec": {"ports": [{"port": 0}]}},
    "ns-dotted": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
    "sa-ok": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a.b"}},
    "role-path-name": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                       "metadata": {"name": "Has:Colon"}, "rules": []},
    "live-copy-status": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                         "spec": {"ports": [{"port": 80}]}, "status": {"loadBalancer": {}}},
}


def _deployment(pod: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod}}}


_C = {"name": "main", "image": "example/a:1"}
CASES.update({
    "pod-init-restart-ifnotpresent": _deployment({"initContainers": [{**_C, "name": "i",
                                                                      "restartPolicy": "IfNotPresent"}],
                                                  "containers": [_C]}),
    "pod-init-restart-always-ok": _deployment({"initContainers": [{**_C, "name": "i",
                                                                   "restartPolicy": "Always"}],
                                               "containers": [_C]}),
    "pod-sa-template": _deployment({"serviceAccountName": "$(llmisvc-serviceAccountName)",
                                    "containers": [_C]}),
    "pod-container-name-upper": _deployment({"containers": [{**_C, "name": "Main"}]}),
    "pod-container-duplicate": _deployment({"initContainers": [_C], "containers": [_C]}),
    "pod-container-port-range": _deployment({"containers": [{**_C, "ports": [{"containerPort": 70000}]}]}),
    "pod-container-port-name": _deployment({"containers": [{**_C, "ports": [{"containerPort": 80,
                                                                              "name": "http--x"}]}]}),
    "pod-label-value-bad": _deployment({"containers": [_C]}) | {"metadata": {"name": "d",
                                                                               "labels": {"a": "b c"}}},
})

_NP = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}}
_RB = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"}}
CASES.update({
    "cm-stringified-key": {**_CM, "metadata": {"name": "c"}, "data": {"1": "a", "true": "b"}},
    "np-port-range": {**_NP, "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 70000}]}]}},
    "np-bad-selector-label": {**_NP, "spec": {"podSelector": {"matchLabels": {"a b": "c"}}}},
    "np-except-ok": {**_NP, "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {
        "cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}], "ports": [{"port": 80, "endPort": 90}]}]}},
    "np-bad-except": {**_NP, "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {
        "cidr": "10.0.0.0/8", "except": ["10.1.0.0"]}}]}]}},
    "np-endport-below": {**_NP, "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 90,
                                                                                   "endPort": 80}]}]}},
    "np-bad-cidr": {**_NP, "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "x"}}]}]}},
    "rb-bad-roleref-kind": {**_RB, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Pod",
                                                "name": "r"}, "subjects": []},
    "rb-ok": {**_RB, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
              "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NAMESPACE}]},
    "deploy-selector-mismatch": _deployment({"containers": [_C]}) | {"spec": {
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [_C]}}}},
    "webhook-cabundle-not-base64": {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "w"}, "webhooks": [{
            "name": "a.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "clientConfig": {"url": "https://example.com/x", "caBundle": "-----BEGIN CERT"}}]},
    "pod-env-name-bad": _deployment({"containers": [{**_C, "env": [{"name": "A=B", "value": "x"}]}]}),
    "pod-probe-port-range": _deployment({"containers": [{**_C, "readinessProbe": {
        "httpGet": {"port": 70000, "path": "/"}}}]}),
    # found by the mutations after issue 13 grew the examples: seccomp type enum (built-in validation) and
    # a Gateway address whose defaulted type IPAddress holds its value to ipv4|ipv6 inside a oneOf
    "pod-seccomp-type-bad": _deployment({"securityContext": {"seccompProfile": {"type": "Bad_Name"}},
                                         "containers": [_C]}),
    "container-seccomp-localhost-no-profile": _deployment({"containers": [{**_C, "securityContext": {
        "seccompProfile": {"type": "Localhost"}}}]}),
    "gateway-address-not-ip": {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                               "metadata": {"name": "g"}, "spec": {
                                   "gatewayClassName": "istio",
                                   "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
                                   "addresses": [{"value": "$(VAR)"}]}},
    "gateway-address-hostname-ok": {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                                    "metadata": {"name": "g2"}, "spec": {
                                        "gatewayClassName": "istio",
                                        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
                                        "addresses": [{"type": "Hostname", "value": "gw.example.com"}]}},
})

# the four classes the mutations found (each failed before its fix)
_ISSUER = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "i"},
           "spec": {"selfSigned": {}}}
CASES.update({
    "rb-roleref-apigroup-defaulted": {**_RB, "roleRef": {"kind": "Role", "name": "r"}},
    "rb-user-apigroup-defaulted": {**_RB, "roleRef": {"kind": "Role", "name": "r"},
                                   "subjects": [{"kind": "User", "name": "alice"}]},
    "np-no-pod-selector": {**_NP, "spec": {"policyTypes": ["Ingress"]}},
    "cm-in-another-namespace": {**_CM, "metadata": {"name": "c", "namespace": "elsewhere"}},
    "cm-finalizer-null": {**_CM, "metadata": {"name": "c", "finalizers": [None]}},
    "pod-container-null-item": _deployment({"containers": [_C, None]}),
    "cr-finalizer-null": {**_ISSUER, "metadata": {"name": "i", "finalizers": ["a/b", None]}},
    "cr-namespace-not-string": {**_ISSUER, "metadata": {"name": "i", "namespace": []}},
    "cr-label-not-string": {**_ISSUER, "metadata": {"name": "i", "labels": {"a": 1}}},
})

# the built-in rules added for RBAC rules, Ingress, HPA, PDB, quantities and `format: byte` in CRDs
_ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}}
_CROLE = {**_ROLE, "kind": "ClusterRole"}
_RULE = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
CASES.update({
    "role-ok": {**_ROLE, "rules": [_RULE]},
    "role-no-verbs": {**_ROLE, "rules": [{**_RULE, "verbs": []}]},
    "role-no-api-groups": {**_ROLE, "rules": [{**_RULE, "apiGroups": []}]},
    "role-no-resources": {**_ROLE, "rules": [{"apiGroups": [""], "verbs": ["get"]}]},
    "role-non-resource-urls": {**_ROLE, "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]},
    "clusterrole-non-resource-ok": {**_CROLE, "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]},
    "clusterrole-non-resource-mixed": {**_CROLE, "rules": [{**_RULE, "nonResourceURLs": ["/metrics"]}]},
    "clusterrole-aggregation-empty": {**_CROLE, "aggregationRule": {"clusterRoleSelectors": []}},
    "clusterrole-aggregation-ok": {**_CROLE, "aggregationRule": {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.example.com/aggregate": "true"}}]}},
})

_ING = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"}}
_BACKEND = {"service": {"name": "svc", "port": {"number": 80}}}


def _ingress(path: dict[str, Any], host: str = "example.com", **spec: Any) -> dict[str, Any]:
    return {**_ING, "spec": {"rules": [{"host": host, "http": {"paths": [path]}}], **spec}}


_PATH = {"path": "/", "pathType": "Prefix", "backend": _BACKEND}
CASES.update({
    "ingress-ok": _ingress(_PATH, tls=[{"hosts": ["example.com"], "secretName": "tls"}],
                           ingressClassName="nginx"),
    "ingress-empty-spec": {**_ING, "spec": {}},
    "ingress-default-backend-ok": {**_ING, "spec": {"defaultBackend": _BACKEND}},
    "ingress-host-ip": _ingress(_PATH, host="10.0.0.1"),
    "ingress-host-wildcard-ok": _ingress(_PATH, host="*.example.com"),
    "ingress-host-wildcard-bad": _ingress(_PATH, host="*.Example.com"),
    "ingress-no-paths": {**_ING, "spec": {"rules": [{"host": "a.example.com", "http": {"paths": []}}]}},
    "ingress-path-relative": _ingress({**_PATH, "path": "api"}),
    "ingress-path-dotdot": _ingress({**_PATH, "path": "/a/../b"}),
    "ingress-path-trailing-dot": _ingress({**_PATH, "path": "/a/."}),
    "ingress-path-impl-specific-empty-ok": _ingress({"pathType": "ImplementationSpecific",
                                                     "backend": _BACKEND}),
    "ingress-path-type-missing": _ingress({"path": "/", "backend": _BACKEND}),
    "ingress-path-type-bogus": _ingress({**_PATH, "pathType": "Regex"}),
    "ingress-service-name-bad": _ingress({**_PATH, "backend": {"service": {"name": "1svc",
                                                                           "port": {"number": 80}}}}),
    "ingress-port-both": _ingress({**_PATH, "backend": {"service": {"name": "svc", "port": {
        "number": 80, "name": "http"}}}}),
    "ingress-port-none": _ingress({**_PATH, "backend": {"service": {"name": "svc"}}}),
    "ingress-port-name-bad": _ingress({**_PATH, "backend": {"service": {"name": "svc", "port": {
        "name": "Http"}}}}),
    "ingress-no-backend": _ingress({**_PATH, "backend": {}}),
    "ingress-resource-backend-ok": _ingress({**_PATH, "backend": {"resource": {
        "apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "static"}}}),
    "ingress-tls-secret-bad": _ingress(_PATH, tls=[{"secretName": "Bad_Secret"}]),
    "ingress-class-name-bad": _ingress(_PATH, ingressClassName="Nginx"),
    "ingress-class-annotation-mismatch": {**_ingress(_PATH, ingressClassName="nginx"), "metadata": {
        "name": "ing", "annotations": {"kubernetes.io/ingress.class": "traefik"}}},
})

_HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}
_TARGET_REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}
_CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                  "averageUtilization": 80}}}


def _hpa(**spec: Any) -> dict[str, Any]:
    return {**_HPA, "spec": {"scaleTargetRef": _TARGET_REF, "maxReplicas": 3, **spec}}


def _metric(**target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


CASES.update({
    "hpa-ok": _hpa(minReplicas=1, metrics=[_CPU, {"type": "Pods", "pods": {
        "metric": {"name": "vllm:num_requests_waiting"}, "target": {"type": "AverageValue",
                                                                   "averageValue": "500m"}}}],
                   behavior={"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                           "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}),
    "hpa-max-zero": _hpa(maxReplicas=0),
    "hpa-min-zero": _hpa(minReplicas=0),
    "hpa-min-above-max": _hpa(minReplicas=5),
    "hpa-target-kind-missing": _hpa(scaleTargetRef={"name": "d"}),
    "hpa-target-name-slash": _hpa(scaleTargetRef={"kind": "Deployment", "name": "a/b"}),
    "hpa-metric-type-bogus": _hpa(metrics=[{**_CPU, "type": "Memory"}]),
    "hpa-metric-source-missing": _hpa(metrics=[{"type": "Pods"}]),
    "hpa-metric-two-sources": _hpa(metrics=[{**_CPU, "pods": {"metric": {"name": "m"}, "target": {
        "type": "AverageValue", "averageValue": "1"}}}]),
    "hpa-target-type-bogus": _hpa(metrics=[_metric(type="Average", averageUtilization=80)]),
    "hpa-utilization-zero": _hpa(metrics=[_metric(type="Utilization", averageUtilization=0)]),
    "hpa-average-value-negative": _hpa(metrics=[_metric(type="AverageValue", averageValue="-1")]),
    "hpa-average-value-syntax": _hpa(metrics=[_metric(type="AverageValue", averageValue="1 k")]),
    "hpa-resource-no-target-value": _hpa(metrics=[_metric(type="Utilization")]),
    "hpa-pods-no-average-value": _hpa(metrics=[{"type": "Pods", "pods": {"metric": {"name": "m"},
                                                                         "target": {"type": "Value",
                                                                                    "value": "1"}}}]),
    "hpa-window-too-long": _hpa(behavior={"scaleUp": {"stabilizationWindowSeconds": 3601}}),
    "hpa-select-policy-bogus": _hpa(behavior={"scaleUp": {"selectPolicy": "Average"}}),
    "hpa-policy-period-too-long": _hpa(behavior={"scaleUp": {"policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 1801}]}}),
    "hpa-policy-value-zero": _hpa(behavior={"scaleUp": {"policies": [
        {"type": "Percent", "value": 0, "periodSeconds": 60}]}}),
})

_PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"}}
_SEL = {"matchLabels": {"app": "a"}}
CASES.update({
    "pdb-ok": {**_PDB, "spec": {"minAvailable": "50%", "selector": _SEL,
                                "unhealthyPodEvictionPolicy": "AlwaysAllow"}},
    "pdb-both": {**_PDB, "spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": _SEL}},
    "pdb-percent-over-100": {**_PDB, "spec": {"maxUnavailable": "150%", "selector": _SEL}},
    "pdb-percent-syntax": {**_PDB, "spec": {"minAvailable": "50 %", "selector": _SEL}},
    "pdb-negative": {**_PDB, "spec": {"minAvailable": -1, "selector": _SEL}},
    "pdb-selector-bad": {**_PDB, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a b": "c"}}}},
    "pdb-eviction-policy-bogus": {**_PDB, "spec": {"minAvailable": 1, "unhealthyPodEvictionPolicy": "Never"}},
})


def _resources(**resources: Any) -> dict[str, Any]:
    return _deployment({"containers": [{**_C, "resources": resources}]})


CASES.update({
    "qty-ok": _resources(requests={"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1e3"},
                         limits={"cpu": 1.5, "memory": "2G", "nvidia.com/gpu": 1}),
    "qty-trailing-dot-ok": _resources(requests={"cpu": "1."}),
    "qty-bare-dot": _resources(requests={"cpu": "."}),
    "qty-bad-suffix": _resources(requests={"memory": "1mm"}),
    "qty-space-inside": _resources(requests={"memory": "1 Gi"}),
    "qty-padded-ok": _resources(requests={"memory": " 1Gi "}),
    "qty-negative": _resources(requests={"cpu": "-1"}),
    "qty-request-above-limit": _resources(requests={"cpu": "2"}, limits={"cpu": "1"}),
    "qty-gpu-fraction": _resources(limits={"nvidia.com/gpu": "500m"}),
    "qty-gpu-request-without-limit": _resources(requests={"nvidia.com/gpu": 1}),
    "qty-gpu-request-below-limit": _resources(requests={"nvidia.com/gpu": 1}, limits={"nvidia.com/gpu": 2}),
    "qty-unknown-standard-name": _resources(requests={"gpu": "1"}),
    "qty-hugepages-alone": _resources(requests={"hugepages-2Mi": "2Mi"}, limits={"hugepages-2Mi": "2Mi"}),
    "qty-init-container-bad": _deployment({"initContainers": [{**_C, "name": "i", "resources": {
        "limits": {"memory": "lots"}}}], "containers": [_C]}),
})

_ACME = {"server": "https://acme.example.com/directory", "privateKeySecretRef": {"name": "acme-key"}}
_CLUSTER_ISSUER = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "ci"}}
CASES.update({
    "cr-byte-ok": {**_CLUSTER_ISSUER, "spec": {"acme": {**_ACME, "caBundle": "aGVsbG8="}}},
    "cr-byte-not-base64": {**_CLUSTER_ISSUER, "spec": {"acme": {**_ACME, "caBundle": "-----BEGIN CERT"}}},
    "cr-byte-unpadded": {**_CLUSTER_ISSUER, "spec": {"acme": {**_ACME, "caBundle": "aGk"}}},
    # a client's status is reset on create: its OpenAPI `required` is not enforced (its types are)
    "status-pdb-partial": {**_PDB, "spec": {"minAvailable": 1}, "status": {"currentHealthy": 1}},
    "status-deploy-condition-partial": _deployment({"containers": [_C]}) | {"status": {"conditions": [
        {"type": "Available"}]}},
    "status-deploy-condition-no-key": _deployment({"containers": [_C]}) | {"status": {"conditions": [
        {"status": "True"}]}},
    "status-hpa-empty": _hpa() | {"status": {}},
    "status-wrong-type": _hpa() | {"status": {"desiredReplicas": "two"}},
    "status-cr-condition-partial": {**_ISSUER, "status": {"conditions": [{"type": "Ready"}]}},
    "status-cr-wrong-type": {**_ISSUER, "status": {"conditions": "Ready"}},
    "status-cr-enum": {**_ISSUER, "status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}},
    "status-cr-no-subresource": {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                                 "metadata": {"name": "p"}, "spec": {},
                                 "status": {"jwtTokensByRole": {"r": {"items": [{}]}}}},
    # found by the case mutations below
    "cr-byte-empty": {**_CLUSTER_ISSUER, "spec": {"acme": {**_ACME, "caBundle": ""}}},
    "ingress-tls-host-null": _ingress(_PATH, tls=[{"hosts": [None]}]),
    "pdb-name-not-dns": {**_PDB, "metadata": {"name": "Bad_Name"}, "spec": {"minAvailable": 1}},
})

# validator gaps still open: the verdicts are expected to differ until they are fixed
KNOWN_GAPS: dict[str, str] = {}


def _validator_verdict(validator: Validator, obj: dict[str, Any], file: str = "case.yaml") -> list[str]:
    doc = Document(file=file, index=0, line=1, obj=obj)
    return [f"{f.code} {f.path}: {f.message}" for f in validator.document(doc)
            if f.severity == Severity.ERROR]


def _target_namespace(meta: dict[str, Any]) -> str:
    """Where kubectl / Argo CD send a namespaced object: its own namespace when it names one (a string),
    else the destination's (Argo CD's GetNamespace() is "" for a missing or non-string namespace)."""
    namespace = meta.get("namespace")
    return namespace if isinstance(namespace, str) and namespace else NAMESPACE


def _server_verdict(client: KubeClient, obj: dict[str, Any]) -> str | None:
    """None when the server accepts the object (dry run), else its message."""
    body = copy.deepcopy(obj)
    meta = body.setdefault("metadata", {})
    res = client.resource(body["apiVersion"], body["kind"])
    if res is None:
        return f"no resource for {body['apiVersion']} {body['kind']}"
    namespace = None
    if res.namespaced:
        namespace = _target_namespace(meta)
        if meta.get("namespace") in (None, ""):
            meta["namespace"] = namespace  # as kubectl / Argo CD fill it in
        _ensure_namespace(client, namespace)
    name = meta.get("name") if isinstance(meta.get("name"), str) and meta.get("name") else "unnamed"
    path = client.object_path(body["apiVersion"], res, name.replace("/", "%2F"), namespace)
    try:
        client.apply(path, body, "infergate-difftest", dry_run=True)
    except ApiError as exc:
        return f"{exc.code}: {exc.message}"
    return None


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.agree = 0
        self.gaps: list[str] = []
        self.start = time.monotonic()

    def line(self, what: str) -> str:
        pct = 100.0 * self.agree / self.cases if self.cases else 100.0
        return (f"differential {what}: {self.cases} cases, {self.agree} agree ({pct:.1f}%), "
                f"{len(self.gaps)} known gaps, {time.monotonic() - self.start:.1f} s")


@pytest.fixture(scope="module")
def server(hermetic_apiserver):  # type: ignore[no-untyped-def]
    with hermetic_apiserver.state.client() as client:
        yield client


_CREATED: set[str] = set()


def _ensure_namespace(client: KubeClient, name: str) -> None:
    """Create the namespace an object names before its dry run, as Argo CD's CreateNamespace=true does
    for the destination: whether a namespace exists is cluster state, not a property of the object, so
    the offline validator cannot (and must not) judge it. An invalid name fails to create here and the
    server then rejects the object, as the validator does (V007 on metadata.namespace)."""
    if name in _CREATED:
        return
    _CREATED.add(name)
    with contextlib.suppress(ApiError):
        client.apply(f"/api/v1/namespaces/{name}", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": name}}, "infergate-difftest")


def _check(client: KubeClient, validator: Validator, tally: Tally, key: str, obj: dict[str, Any],
           failures: list[str]) -> None:
    ours = _validator_verdict(validator, obj, key)
    theirs = _server_verdict(client, obj)
    tally.cases += 1
    if VERBOSE:  # INFERGATE_DIFFTEST_VERBOSE=1: every case's two verdicts
        print(f"{key}: infergate {'rejects' if ours else 'accepts'}, server "
              f"{'rejects: ' + theirs[:160] if theirs else 'accepts'}")
    if bool(ours) == (theirs is not None):
        tally.agree += 1
        if key in KNOWN_GAPS:
            failures.append(f"{key}: listed as a known gap ({KNOWN_GAPS[key]}) but now agrees: unlist it")
        return
    if key in KNOWN_GAPS:
        tally.gaps.append(key)
        return
    failures.append(f"{key}: infergate {'rejects: ' + '; '.join(ours) if ours else 'accepts'}; "
                    f"server {'rejects: ' + theirs if theirs else 'accepts'}")


def test_defect_corpus_agrees_with_the_api_server(server: KubeClient) -> None:
    validator = Validator("1.33")
    files = [f for d in ("invalid", "valid", "parity") for f in sorted((FIXTURES / d).glob("*.*"))]
    documents, _problems = load_files(files)
    corpus: dict[str, dict[str, Any]] = {}
    excluded = []
    for doc in documents:
        key = (Path(doc.file).name, doc.index if not doc.prefix else doc.index * 100 + int(doc.prefix[-1]))
        if key in EXCLUDED or not isinstance(doc.obj, dict):
            excluded.append(key)
            continue
        corpus[f"{key[0]}#{key[1]}"] = doc.obj
    corpus.update(CASES)
    tally, failures = Tally(), []
    for key, obj in sorted(corpus.items()):
        _check(server, validator, tally, key, obj, failures)
    print("\n" + tally.line("corpus") + f", {len(excluded)} excluded")
    assert not failures, "\n".join(failures)


# --- mutations of the examples' dist objects ---

def _dist_objects() -> list[dict[str, Any]]:
    from infergate.apiserver.crds import profiles_of
    from infergate.synth import profiles

    roots = [p / "dist" for p in example_projects() if profiles_of([p / "dist"]) == {profiles.default_name()}]
    files = sorted(f for root in roots for f in root.rglob("*.yaml"))
    documents, _ = load_files(files)
    seen: dict[tuple[Any, Any], int] = {}
    out = []
    for doc in documents:
        if isinstance(doc.obj, dict) and isinstance(doc.obj.get("apiVersion"), str) \
                and isinstance(doc.obj.get("kind"), str) \
                and doc.obj["kind"] not in ("Namespace", "CustomResourceDefinition"):
            ref = (doc.obj.get("apiVersion"), doc.obj.get("kind"))
            if seen.get(ref, 0) < 3:  # up to three objects per kind keeps the run bounded
                seen[ref] = seen.get(ref, 0) + 1
                out.append(doc.obj)
    return out


DIST = _dist_objects()


def _leaves(obj: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in sorted(obj.items()) for p in _leaves(v, (*at, k))] or [at]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _leaves(v, (*at, i))] or [at]
    return [at]


_VALUES = [None, 0, -1, 70000, "", "Bad_Name", "$(VAR)", "a" * 300, True, [], {}, "x", 1.5]


def _mutate(obj: dict[str, Any], leaf: int, op: int, value: int) -> tuple[str, dict[str, Any]]:
    out = copy.deepcopy(obj)
    paths = [p for p in _leaves(out) if p and p[0] not in ("apiVersion", "kind")]
    path = paths[leaf % len(paths)]
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == 0 and isinstance(parent, dict):
        del parent[last]
        what = "delete"
    elif op == 1 and isinstance(parent, dict):
        parent["zzUnknown"] = "x"
        what = "unknown field beside"
    else:
        parent[last] = _VALUES[value % len(_VALUES)]
        what = f"set {parent[last]!r:.20}"
    return f"{obj['kind']}/{'.'.join(map(str, path))} {what}", out


_MUTATION_TALLY = Tally()
_MUTATION_FAILURES: list[str] = []
_MUTATION_CONTEXT: dict[str, Any] = {}


@settings(max_examples=1500, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(which=st.integers(0, 10_000), leaf=st.integers(0, 10_000), op=st.integers(0, 4),
       value=st.integers(0, 100))
def _one_mutation(which: int, leaf: int, op: int, value: int) -> None:
    client, validator = _MUTATION_CONTEXT["client"], _MUTATION_CONTEXT["validator"]
    key, obj = _mutate(DIST[which % len(DIST)], leaf, op, value)
    _check(client, validator, _MUTATION_TALLY, key, obj, _MUTATION_FAILURES)


@pytest.mark.skipif(not DIST, reason="examples/ is not in this copy of the repository")
def test_mutated_examples_agree_with_the_api_server(server: KubeClient) -> None:
    _MUTATION_CONTEXT.update(client=server, validator=Validator("1.33"))
    _MUTATION_TALLY.start = time.monotonic()
    _one_mutation()
    print("\n" + _MUTATION_TALLY.line("mutations") + f" over {len(DIST)} example objects")
    assert not _MUTATION_FAILURES, "\n".join(sorted(set(_MUTATION_FAILURES)))


# --- mutations of the valid hand-written cases: the kinds the examples do not emit (Ingress, HPA, PDB,
# RBAC rules, container resources, a CRD with `format: byte`) get the same treatment ---

OK_CASES = [obj for key, obj in sorted(CASES.items()) if key.endswith("-ok")]
_OK_TALLY = Tally()
_OK_FAILURES: list[str] = []


@settings(max_examples=600, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(which=st.integers(0, 10_000), leaf=st.integers(0, 10_000), op=st.integers(0, 4),
       value=st.integers(0, 100))
def _one_case_mutation(which: int, leaf: int, op: int, value: int) -> None:
    client, validator = _MUTATION_CONTEXT["client"], _MUTATION_CONTEXT["validator"]
    key, obj = _mutate(OK_CASES[which % len(OK_CASES)], leaf, op, value)
    _check(client, validator, _OK_TALLY, key, obj, _OK_FAILURES)


def test_mutated_valid_cases_agree_with_the_api_server(server: KubeClient) -> None:
    _MUTATION_CONTEXT.update(client=server, validator=Validator("1.33"))
    _OK_TALLY.start = time.monotonic()
    _one_case_mutation()
    print("\n" + _OK_TALLY.line("case mutations") + f" over {len(OK_CASES)} valid cases")
    assert not _OK_FAILURES, "\n".join(sorted(set(_OK_FAILURES)))
