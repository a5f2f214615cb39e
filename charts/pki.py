"""The internal CA chain (pki:): self-signed ClusterIssuer -> CA Certificate -> CA ClusterIssuer.

Every in-cluster TLS hop trusts this CA: the EPP and vLLM serving certificates come from it (KServe ODH
signs model servers with it directly: SERVICE_CA_SIGNING_SECRET_NAME), and the gateway mounts its
ca.crt. So it must exist before the KServe controller starts.
"""

from __future__ import annotations

from constructs import Construct
from infergate.charts.common import Chart, labels
from infergate.charts.resources import Certificate, CertificateSpec, ClusterIssuer

from infergate.synth.config import Environment


class PkiChart(Chart):
    WAVE = -2  # after cert-manager (-3); before KServe's webhook certificate (-1)

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        issuer = env.pki.issuer
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=issuer.ca_namespace)
        lab = labels("pki", "certificate-authority", "infergate")
        ClusterIssuer(self, issuer.self_signed_issuer_name, labels=lab, spec={"selfSigned": {}})
        ca: CertificateSpec = {
            "isCA": True, "commonName": issuer.ca_certificate_name, "secretName": issuer.ca_certificate_name,
            "privateKey": {"algorithm": "RSA", "size": 4096}, "duration": "87600h", "renewBefore": "2160h",
            "issuerRef": {"name": issuer.self_signed_issuer_name, "kind": "ClusterIssuer",
                          "group": "cert-manager.io"},
        }
        Certificate(self, issuer.ca_certificate_name, namespace=issuer.ca_namespace, labels=lab, spec=ca)
        ClusterIssuer(self, issuer.name, labels=lab, spec={"ca": {"secretName": issuer.ca_certificate_name}})
