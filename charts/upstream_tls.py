"""vLLM's serving certificate from the internal CA, and the DestinationRules that make the gateway use it.

Only for profiles whose KServe signs each model server's certificate with a self-signed key of its own and
writes no DestinationRules (upstream KServe): the gateway could trust neither. The certificate replaces
the preset's `tls-certs` volume (charts/llmisvc.py); the rules originate TLS from the gateway to the
workload Service and to the Service Istio derives from the InferencePool, trusting the internal CA bundle
the gateway pods mount (charts/gateway.py).
"""

from __future__ import annotations

import hashlib

from constructs import Construct
from infergate.charts.common import fqdn, labels
from infergate.charts.gateway import CA_FILE
from infergate.charts.resources import Certificate, DestinationRule, DestinationRuleSpec

from infergate.synth.config import Environment, Model

SERVICE_NAME_MAX = 63
_IP_SEPARATOR, _HASH_SIZE = "-ip-", 8


def istio_pool_service(pool: str) -> str:
    """The Service istiod creates for an InferencePool: `<pool>-ip-<first 8 hex of sha256(pool)>`, the pool
    name cut so that the whole fits a Service name (Istio's gateway controller, 1.27+)."""
    digest = hashlib.sha256(pool.encode()).hexdigest()[:_HASH_SIZE]
    base = pool[:SERVICE_NAME_MAX - len(_IP_SEPARATOR) - _HASH_SIZE]
    return f"{base}{_IP_SEPARATOR}{digest}"


class ModelServerTls(Construct):
    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        ns, issuer = model.namespace, env.pki.issuer
        lab = labels(model.name, "model-server", "infergate")
        workload = fqdn(model.workload_service, ns)
        Certificate(self, model.vllm_certificate_name, namespace=ns, labels=lab, spec={
            "secretName": model.vllm_certificate_name, "commonName": workload,
            "dnsNames": [workload, f"{model.workload_service}.{ns}.svc", "localhost"],
            "duration": "2160h", "renewBefore": "360h",
            "usages": ["digital signature", "key encipherment", "server auth"],
            "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": "cert-manager.io"}})
        tls = {"mode": "SIMPLE", "caCertificates": CA_FILE, "sni": workload}
        # the workload Service, and the one istiod makes for the pool routes go through (KServe names a
        # managed pool as infergate names its own)
        hosts = {f"{model.name}-vllm": workload,
                 f"{model.name}-vllm-pool": fqdn(istio_pool_service(model.pool_name), ns)}
        for name, host in hosts.items():
            spec: DestinationRuleSpec = {"host": host, "trafficPolicy": {"tls": dict(tls)}}
            DestinationRule(self, name, namespace=ns, labels=lab, spec=spec)
