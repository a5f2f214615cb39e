"""PKI8xx: certificates and trust bundles across the two trust domains (a public issuer, the internal CA)."""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._common import HARDENED_CONTAINER, HARDENED_POD
from infergate.policies._pki import (
    CA_KEY,
    CERT_GROUP,
    acme_issuer,
    acme_secrets,
    cluster_local,
    pod_sources,
    secret_volumes,
    trusted_files,
)

from infergate.core.findings import Severity
from infergate.core.graph import Graph, as_dict, as_list

CERT_DOCS = "https://cert-manager.io/docs/usage/certificate/"
ACME_DOCS = "https://cert-manager.io/docs/configuration/acme/"
CA_CRT = "https://cert-manager.io/docs/faq/#why-isnt-my-certificates-chain-in-my-issued-secrets-cacrt"
ISTIO_DR_TLS = "https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings"

_ACME_ISSUER = """\
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt-prod}
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef: {name: letsencrypt-prod-account}
    solvers: [{dns01: {cloudDNS: {project: example}}}]
"""


@rule(
    "PKI801",
    "acme-certificate-for-cluster-names",
    Severity.ERROR,
    summary="a Certificate for cluster-local names (*.svc, *.cluster.local) or IP addresses issued by an "
    "ACME issuer",
    rationale="An ACME server (Let's Encrypt) only signs names it can validate on the public internet; "
    "`<service>.<namespace>.svc.cluster.local` resolves inside the cluster alone, so the order fails and "
    "the Secret never appears: the pods that mount it stay in ContainerCreating. This is what "
    "happens when one issuer serves both trust domains, e.g. the EPP's serving certificate sent to the "
    "public listener's Let's Encrypt issuer. In-cluster TLS needs an internal CA.",
    links=(ACME_DOCS, CERT_DOCS),
    fix="Issue certificates for in-cluster names from the internal CA issuer (infergate: `pki.issuer`, "
    "the self-signed chain by default) and keep the ACME issuer for the public hostnames.",
    bad=(
        _ACME_ISSUER
        + """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: epp-tls, namespace: demo}
spec:
  secretName: epp-tls
  commonName: epp.demo.svc.cluster.local
  dnsNames:
  - epp.demo.svc.cluster.local  # <-
  - epp.demo.svc  # <-
  issuerRef: {kind: ClusterIssuer, name: letsencrypt-prod}
""",
    ),
    good=(
        _ACME_ISSUER
        + """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec:
  secretName: gateway-tls
  commonName: inference.example.com
  dnsNames: [inference.example.com]
  issuerRef: {kind: ClusterIssuer, name: letsencrypt-prod}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: epp-tls, namespace: demo}
spec:
  secretName: epp-tls
  commonName: epp.demo.svc.cluster.local
  dnsNames: [epp.demo.svc.cluster.local, epp.demo.svc]
  issuerRef: {kind: ClusterIssuer, name: internal-ca-issuer}
""",
    ),
)
def pki801(graph: Graph) -> Iterator[Hit]:
    for cert in graph.of_kind("Certificate", CERT_GROUP):
        issuer = acme_issuer(graph, cert)
        if issuer is None:
            continue
        for i, name in enumerate(as_list(cert.spec.get("dnsNames"))):
            if isinstance(name, str) and cluster_local(name):
                yield Hit(cert, f"Certificate {cert.name} asks ACME issuer {issuer} for the cluster-local "
                          f"name {name}, which it cannot validate", ("spec", "dnsNames", i))
        for i, ip in enumerate(as_list(cert.spec.get("ipAddresses"))):
            yield Hit(cert, f"Certificate {cert.name} asks ACME issuer {issuer} for the IP address {ip}, "
                      "which it does not validate", ("spec", "ipAddresses", i))


@rule(
    "PKI802",
    "common-name-not-in-dns-names",
    Severity.ERROR,
    summary="a Certificate whose commonName is not one of its dnsNames (or ipAddresses)",
    rationale="Clients ignore the common name and check the subject alternative names only (RFC 6125), "
    "and ACME servers refuse an order whose common name is not among them. A default common name "
    "such as the gateway's `<name>.<namespace>.svc.cluster.local` next to public dnsNames is what breaks "
    "a Let's Encrypt listener certificate before it is ever issued. CA certificates (`isCA`) are exempt.",
    links=(CERT_DOCS, ACME_DOCS),
    fix="Omit `commonName`, or set it to one of `dnsNames` (infergate: the first of them by default).",
    bad=(
        """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec:
  secretName: gateway-tls
  commonName: inference-gateway.gateway.svc.cluster.local  # <-
  dnsNames: [inference.example.com]
  issuerRef: {kind: ClusterIssuer, name: ca-issuer}
""",
    ),
    good=(
        """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec:
  secretName: gateway-tls
  commonName: inference.example.com
  dnsNames: [inference.example.com]
  issuerRef: {kind: ClusterIssuer, name: ca-issuer}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: internal-ca, namespace: cert-manager}
spec:
  isCA: true
  commonName: internal-ca
  secretName: internal-ca
  issuerRef: {kind: ClusterIssuer, name: selfsigned}
""",
    ),
)
def pki802(graph: Graph) -> Iterator[Hit]:
    for cert in graph.of_kind("Certificate", CERT_GROUP):
        common = cert.spec.get("commonName")
        if not isinstance(common, str) or cert.spec.get("isCA") is True:
            continue
        names = {str(n).lower() for key in ("dnsNames", "ipAddresses", "uris", "emailAddresses")
                 for n in as_list(cert.spec.get(key))}
        if common.lower() not in names:
            yield Hit(cert, f"Certificate {cert.name}: commonName {common} is not among its dnsNames "
                      f"({', '.join(sorted(names)) or 'none'})", ("spec", "commonName"))


_TRUST_STACK = (
    _ACME_ISSUER
    + """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec:
  secretName: gateway-tls
  commonName: inference.example.com
  dnsNames: [inference.example.com]
  issuerRef: {kind: ClusterIssuer, name: letsencrypt-prod}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: gateway}
spec:
  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gateway-tls}]}
  infrastructure:
    parametersRef: {group: "", kind: ConfigMap, name: gateway-params}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gateway-params, namespace: gateway}
data:
  deployment: |
    spec:
      template:
        spec:
          volumes:
          - name: ca
            secret:
              secretName: TRUST_SECRET
              items: [{key: ca.crt, path: ca.crt}]
          containers:
          - name: istio-proxy
            volumeMounts: [{name: ca, mountPath: /var/run/secrets/internal-ca}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: epp, namespace: demo}
spec:
  host: epp.demo.svc.cluster.local
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: /var/run/secrets/internal-ca/ca.crt
"""
)
_INTERNAL_TRUST = """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-upstream-trust, namespace: gateway}
spec:
  secretName: gateway-upstream-trust
  commonName: inference-gateway-istio.gateway.svc
  dnsNames: [inference-gateway-istio.gateway.svc]
  issuerRef: {kind: ClusterIssuer, name: internal-ca-issuer}
"""


@rule(
    "PKI803",
    "trust-from-key-the-secret-lacks",
    Severity.ERROR,
    summary="a volume or DestinationRule that trusts ca.crt of a Secret an ACME issuer fills (such secrets "
    "hold tls.crt and tls.key only)",
    rationale="cert-manager writes `ca.crt` only when the issuer knows the CA (a CA or self-signed issuer); "
    "an ACME issuer leaves it out. A secret volume that selects the key never mounts (the pod stays in "
    "ContainerCreating: 'couldn't find key ca.crt'), and a DestinationRule whose `caCertificates` file or "
    "`credentialName` should come from it has nothing to verify upstream certificates with. Mounting the "
    "listener certificate's ca.crt as the gateway's trust bundle works only while the listener "
    "certificate comes from the internal CA; with Let's Encrypt on the listener it breaks.",
    links=(CA_CRT, ISTIO_DR_TLS),
    fix="Take the trust bundle from a certificate the internal CA issues (infergate: the gateway's "
    "`<gateway>-upstream-trust` certificate, mounted at /var/run/secrets/opendatahub), never from the "
    "public listener's secret.",
    bad=(
        _TRUST_STACK.replace("TRUST_SECRET", "gateway-tls")
        .replace("  deployment: |", "  deployment: |  # <-")
        .replace("      caCertificates: /var/run/secrets/internal-ca/ca.crt",
                 "      caCertificates: /var/run/secrets/internal-ca/ca.crt  # <-"),
        _ACME_ISSUER
        + """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: public-tls, namespace: demo}
spec:
  secretName: public-tls
  dnsNames: [api.example.com]
  issuerRef: {kind: ClusterIssuer, name: letsencrypt-prod}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: demo}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
"""
        + HARDENED_POD
        + """
      containers:
      - name: client
        image: busybox:1.37
        volumeMounts: [{name: trust, mountPath: /etc/trust}]
"""
        + HARDENED_CONTAINER
        + """
      volumes:
      - name: trust  # <-
        secret: {secretName: public-tls, items: [{key: ca.crt, path: ca.crt}]}
""",
    ),
    good=(_TRUST_STACK.replace("TRUST_SECRET", "gateway-upstream-trust") + _INTERNAL_TRUST,),
)
def pki803(graph: Graph) -> Iterator[Hit]:
    acme = acme_secrets(graph)
    trusted: dict[str, tuple[str, str]] = {}  # file in a gateway pod -> (namespace, secret)
    for source in pod_sources(graph):
        for index, secret, keys, _ in secret_volumes(source):
            cert = acme.get((source.namespace, secret))
            if cert is not None and keys is not None and CA_KEY in keys:
                where = source.path if source.obj.kind == "ConfigMap" else (*source.path, index)
                yield Hit(source.obj, f"volume of Secret {secret} selects {CA_KEY}, which ACME Certificate "
                          f"{cert.name} never writes: the volume does not mount", where)
        if source.obj.kind == "ConfigMap":  # gateway pods: the proxies DestinationRules configure
            trusted.update({f: (source.namespace, s) for f, s in trusted_files(source).items()})
    for dr in graph.of_kind("DestinationRule", "networking.istio.io"):
        tls = as_dict(as_dict(dr.spec.get("trafficPolicy")).get("tls"))
        file, credential = tls.get("caCertificates"), tls.get("credentialName")
        if isinstance(file, str) and file in trusted and trusted[file] in acme:
            namespace, secret = trusted[file]
            yield Hit(dr, f"DestinationRule {dr.name} trusts {file}, {CA_KEY} of Secret "
                      f"{namespace}/{secret} that an ACME issuer fills without one",
                      ("spec", "trafficPolicy", "tls", "caCertificates"))
        if isinstance(credential, str) and (dr.namespace, credential) in acme:
            yield Hit(dr, f"DestinationRule {dr.name} takes its CA from Secret {credential}, which an ACME "
                      f"issuer fills without {CA_KEY}", ("spec", "trafficPolicy", "tls", "credentialName"))
