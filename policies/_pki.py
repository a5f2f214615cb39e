"""Helpers of the PKI8xx rules: which issuer signs a Certificate, whether it is ACME, what a pod mounts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from infergate.core.graph import GATEWAY_GROUP, Graph, K8sObject, as_dict, as_list

CERT_GROUP = "cert-manager.io"
CA_KEY = "ca.crt"
# Names only the cluster resolves: no public CA (and no ACME server) can validate them.
CLUSTER_SUFFIXES = (".svc", ".cluster.local", ".local", ".internal")


def cluster_local(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name.endswith(CLUSTER_SUFFIXES) or ".svc." in name or "." not in name


def _issuer_ref(cert: K8sObject) -> tuple[str, str, str]:
    ref = as_dict(cert.spec.get("issuerRef"))
    return str(ref.get("group") or CERT_GROUP), str(ref.get("kind") or "Issuer"), str(ref.get("name") or "")


def acme_issuer(graph: Graph, cert: K8sObject) -> str | None:
    """The name of the ACME issuer that signs ``cert`` (None when it is not one, or unknown): an
    Issuer/ClusterIssuer of the output with ``spec.acme``, or one the platform facts call ACME
    (``acme_issuers``: "ClusterIssuer/<name>" or "<namespace>/<name>")."""
    group, kind, name = _issuer_ref(cert)
    if group != CERT_GROUP or kind not in ("Issuer", "ClusterIssuer"):
        return None  # an external issuer (Vault, Google CAS...) is no ACME server
    namespace = None if kind == "ClusterIssuer" else cert.namespace
    if graph.get(kind, namespace, name, CERT_GROUP) is not None:
        # in the tree: read it, unless the scope defines it twice (never judged from an arbitrary copy)
        found = graph.resolve(kind, namespace, name, CERT_GROUP, referrer=cert, path=("spec", "issuerRef"),
                              need="whether its issuer is ACME")
        return name if found.obj is not None and "acme" in found.obj.spec else None
    platform = graph.platform
    known = platform.fact("acme_issuers", ()) if platform is not None and hasattr(platform, "fact") else ()
    wanted = f"ClusterIssuer/{name}" if kind == "ClusterIssuer" else f"{cert.namespace}/{name}"
    return name if wanted in {str(k) for k in known or ()} else None


def acme_secrets(graph: Graph) -> dict[tuple[str | None, str], K8sObject]:
    """(namespace, secret name) -> the Certificate that an ACME issuer fills it from."""
    out: dict[tuple[str | None, str], K8sObject] = {}
    for cert in graph.of_kind("Certificate", CERT_GROUP):
        secret = cert.spec.get("secretName")
        if isinstance(secret, str) and acme_issuer(graph, cert):
            out[(cert.namespace, secret)] = cert
    return out


@dataclass(frozen=True, slots=True)
class PodSource:
    """A pod spec a rule can read volumes from: a workload's template, or the deployment patch a Gateway's
    parametersRef ConfigMap hands Istio for its gateway pods (a YAML string in ``data.deployment``)."""

    obj: K8sObject
    namespace: str
    spec: Mapping[str, Any]
    path: tuple[str | int, ...]  # where findings point (the ConfigMap's data.deployment, or the volumes)


def pod_sources(graph: Graph) -> Iterator[PodSource]:
    for pod in graph.pods:
        if pod.origin == "manifest":
            yield PodSource(pod.source, pod.namespace, pod.spec, (*pod.spec_path, "volumes"))
    for gw in graph.of_kind("Gateway", GATEWAY_GROUP):
        ref = as_dict(as_dict(gw.spec.get("infrastructure")).get("parametersRef"))
        if ref.get("kind") != "ConfigMap" or ref.get("group", ""):
            continue
        cm = graph.get("ConfigMap", gw.namespace, str(ref.get("name", "")), "")
        if cm is not None:  # a ConfigMap defined twice in the scope is not read (REF002 says so)
            cm = graph.resolve("ConfigMap", gw.namespace, str(ref.get("name", "")), "", referrer=gw,
                               path=("spec", "infrastructure", "parametersRef"),
                               need="the gateway pods' deployment patch").obj
        text = as_dict(cm.obj.get("data")).get("deployment") if cm is not None else None
        if not isinstance(text, str):
            continue
        try:
            patch = yaml.safe_load(text)
        except yaml.YAMLError:
            continue  # not this rule's business: Istio reports an unreadable patch
        spec = as_dict(as_dict(as_dict(as_dict(patch).get("spec")).get("template")).get("spec"))
        if spec:
            yield PodSource(cm, gw.namespace or "default", spec, ("data", "deployment"))  # type: ignore[arg-type]


def secret_volumes(source: PodSource) -> Iterator[tuple[int, str, dict[str, str] | None, list[str]]]:
    """(volume index, secret name, {key: file} it selects or None for every key, mount paths) of each
    secret volume of the pod."""
    mounts: dict[str, list[str]] = {}
    for container in as_list(source.spec.get("containers")):
        for mount in as_list(as_dict(container).get("volumeMounts")):
            m = as_dict(mount)
            if isinstance(m.get("name"), str) and isinstance(m.get("mountPath"), str):
                mounts.setdefault(m["name"], []).append(m["mountPath"].rstrip("/"))
    for i, volume in enumerate(as_list(source.spec.get("volumes"))):
        v = as_dict(volume)
        secret = as_dict(v.get("secret"))
        name = secret.get("secretName")
        if not isinstance(name, str):
            continue
        items = [as_dict(x) for x in as_list(secret.get("items"))]
        keys = {str(x.get("key")): str(x.get("path") or x.get("key")) for x in items} if items else None
        yield i, name, keys, mounts.get(str(v.get("name")), [])


def trusted_files(source: PodSource) -> dict[str, str]:
    """File path in the pod -> the secret whose ca.crt key would be there."""
    files: dict[str, str] = {}
    for _, secret, keys, paths in secret_volumes(source):
        if keys is not None and CA_KEY not in keys:
            continue
        for path in paths:
            files[f"{path}/{keys[CA_KEY] if keys else CA_KEY}"] = secret
    return files
