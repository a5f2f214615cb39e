"""The inference Gateway: listeners, TLS certificate, the deployment parameters and the HTTP redirect.

Everything the seed did imperatively is declared here: the gateway
ServiceAccount's pull secret and the CA bundle the gateway pods need to trust KServe's model-server
certificates come in through `infrastructure.parametersRef` instead of `kubectl patch`/copied ConfigMaps.
"""

from __future__ import annotations

import yaml
from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import Chart, labels, meta
from infergate.charts.resources import (
    Certificate,
    CertificateSpec,
    Gateway,
    GatewaySpec,
    HTTPRoute,
    HTTPRouteSpec,
    Listener,
)

from infergate.synth.config import Environment

# KServe's DestinationRules point the gateway at this CA file (ISTIO_CA_CERTIFICATE_PATH, odh-xks overlay).
CA_MOUNT_DIR = "/var/run/secrets/opendatahub"
CA_FILE = f"{CA_MOUNT_DIR}/ca.crt"


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def route_namespaces(env: Environment) -> dict:
    """Only the model namespaces may attach routes (the seed allowed every namespace)."""
    return {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(env.model_namespaces)}]}}}


class GatewayChart(Chart):
    WAVE = 0  # after the mesh and KServe

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=env.gateway.namespace)
        gw = env.gateway
        lab = labels(gw.name, "gateway", "infergate")
        parameters: dict[str, str] = {"deployment": _dump({"spec": {"template": {"spec": {
            # The CA that signed the gateway's certificate (cert-manager puts it in ca.crt) also signs
            # KServe's model-server certificates: mount it where KServe's DestinationRules look.
            "volumes": [{"name": "odh-ca-bundle", "secret": {
                "secretName": gw.tls.secret_name, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}],
            "containers": [{"name": "istio-proxy", "volumeMounts": [
                {"name": "odh-ca-bundle", "mountPath": CA_MOUNT_DIR, "readOnly": True}]}],
        }}}})}
        if gw.image_pull_secrets:
            parameters["serviceAccount"] = _dump(
                {"imagePullSecrets": [{"name": s} for s in gw.image_pull_secrets]})
        k8s.KubeConfigMap(self, "parameters", metadata=meta(gw.parameters_config_map, gw.namespace, lab),
                          data=parameters)

        tls = gw.tls
        cert: CertificateSpec = {
            "secretName": tls.secret_name, "commonName": tls.common_name, "dnsNames": list(tls.dns_names),
            "duration": tls.duration, "renewBefore": tls.renew_before,
            "issuerRef": {"name": tls.issuer.name, "kind": tls.issuer.kind, "group": "cert-manager.io"},
            "usages": ["digital signature", "key encipherment", "server auth"],
        }
        if gw.addresses:
            cert["ipAddresses"] = list(gw.addresses)
        Certificate(self, tls.certificate_name, namespace=gw.namespace, labels=lab, spec=cert)

        listeners: list[Listener] = [{
            "name": "https", "port": 443, "protocol": "HTTPS",
            "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret",
                                                              "name": tls.secret_name}]},
            "allowedRoutes": route_namespaces(env)}]
        if gw.http == "serve":
            listeners.append({"name": "http", "port": 80, "protocol": "HTTP",
                              "allowedRoutes": route_namespaces(env)})
        elif gw.http == "redirect":
            listeners.append({"name": "http", "port": 80, "protocol": "HTTP",
                              "allowedRoutes": {"namespaces": {"from": "Same"}}})
        spec: GatewaySpec = {
            "gatewayClassName": gw.class_name,
            "listeners": listeners,
            "infrastructure": {
                "labels": {"serving.kserve.io/gateway": "kserve-ingress-gateway"},
                "parametersRef": {"group": "", "kind": "ConfigMap", "name": gw.parameters_config_map},
            },
        }
        if gw.addresses:  # a reserved IP keeps the certificate's IP SAN valid
            spec["addresses"] = [{"type": "IPAddress", "value": ip} for ip in gw.addresses]
        Gateway(self, gw.name, namespace=gw.namespace, labels=lab, spec=spec)

        if gw.http == "redirect":
            redirect: HTTPRouteSpec = {
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name,
                                "namespace": gw.namespace, "sectionName": "http"}],
                "rules": [{"filters": [{"type": "RequestRedirect",
                                        "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
            }
            HTTPRoute(self, f"{gw.name}-http-redirect", namespace=gw.namespace, labels=lab, spec=redirect)
