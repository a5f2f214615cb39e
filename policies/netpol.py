"""NP1xx: NetworkPolicy reachability, computed exactly and checked against the security model.

The evaluator (infergate/netpol) decides every flow between the pods the cluster will run (including the
ones KServe and Istio create) and the platform's endpoints (DNS, API server, internet); the security model
(policies/data/security-model.yaml) says which flows must work and which must not. The rules were written
against the reference deployment's three NetworkPolicy mistakes (README, "What infergate fixes", rows 4-6).
"""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule

from infergate.core.findings import Severity
from infergate.core.graph import Graph
from infergate.netpol import checks

NP_DOCS = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
RAY_PORTS = "https://docs.ray.io/en/latest/ray-core/configure.html#ports-configurations"
LWS_TPU = "https://github.com/kubernetes-sigs/lws/blob/v0.10.0/pkg/utils/accelerators/tpu.go"
MODEL = "policies/data/security-model.yaml"


def _hits(found: Iterator[checks.Found]) -> Iterator[Hit]:
    for target, message, path in found:
        yield Hit(target, message, path)


# --- examples: the stack and gateway contexts, plus the policies that isolate them correctly -----------
_NAMESPACES = """\
# file: namespaces.yaml
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Namespace
metadata: {name: gateway}
"""

_DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: NS}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: NS}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""

_GATEWAY_POLICIES = (
    "# file: gateway-policies.yaml\n"
    + _DENY.replace("NS", "gateway")
    + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway, namespace: gateway}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: 443}]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: demo}}
      podSelector: {matchLabels: {app: vllm}}
    ports: [{port: 8000}]
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: demo}}
      podSelector: {matchLabels: {app: epp}}
    ports: [{port: 9002}]
"""
)

_FROM_GATEWAY = """\
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gateway}}
      podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: inference-gateway}}"""

_VLLM_INGRESS = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: vllm, namespace: demo}}
spec:
  podSelector: {{matchLabels: {{app: vllm}}}}
  policyTypes: [Ingress]
  ingress:
  - from:
{_FROM_GATEWAY}
    - podSelector: {{matchLabels: {{app: epp}}}}
    ports: [{{port: 8000}}]
"""

_EPP_INGRESS = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: epp-ingress, namespace: demo}}
spec:
  podSelector: {{matchLabels: {{app: epp}}}}
  policyTypes: [Ingress]
  ingress:
  - from:
{_FROM_GATEWAY}
    ports: [{{port: 9002}}]
"""

_EPP_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: epp-egress, namespace: demo}
spec:
  podSelector: {matchLabels: {app: epp}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: vllm}}}]
    ports: [{port: 8000}]
"""

_HEAD = "# context: stack, gateway\n"


def _example(
    deny: str = _DENY.replace("NS", "demo"),
    vllm: str = _VLLM_INGRESS,
    epp_in: str = _EPP_INGRESS,
    extra: str = "",
) -> str:
    parts = [
        p
        for p in (
            deny.rstrip("\n"),
            vllm.rstrip("\n"),
            epp_in.rstrip("\n"),
            _EPP_EGRESS.rstrip("\n"),
            extra.rstrip("\n"),
        )
        if p
    ]
    return (
        _HEAD
        + _NAMESPACES
        + "# file: demo-policies.yaml\n"
        + "\n---\n".join(parts)
        + "\n"
        + _GATEWAY_POLICIES
    )


GOOD = _example()


@rule(
    "NP100",
    "invalid-networkpolicy",
    Severity.ERROR,
    summary="a NetworkPolicy the API server would reject (so its isolation cannot be evaluated)",
    rationale="The checks are the API server's own (ValidateNetworkPolicySpec and what it calls in "
    "kubernetes pkg/apis/networking/validation): an unknown selector operator, In/NotIn without values, a "
    "bad label key or value, a peer with no field set (`podSelector: null` is unset) or an ipBlock next to "
    "a selector, a CIDR without prefix length, an `except` not strictly inside its `cidr`, a bad port name "
    '(`port: "8080"` is a name, and names need a letter), endPort without a numeric port. Such a policy is '
    "rejected at apply time: Argo CD shows a failed sync and the namespace runs without the isolation the "
    "file promises. The reachability rules skip it, so this rule makes the gap visible.",
    links=(NP_DOCS, "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/"),
    fix="Fix the field named in the message (operators are In, NotIn, Exists, DoesNotExist; port numbers "
    "are not quoted; CIDRs carry a prefix length).",
    bad=(
        _example(
            extra="""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: demo}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: Equals, values: [vllm]}  # <-
  policyTypes: [Ingress]"""
        ),
        _example(
            extra="""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: metrics, namespace: demo}
spec:
  podSelector: {matchLabels: {app: vllm}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: epp}}}]
    ports: [{port: "8000"}]  # <-"""
        ),
    ),
    good=(GOOD,),
)
def np100(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np100(graph))


@rule(
    "NP101",
    "no-default-deny",
    Severity.ERROR,
    summary="a namespace running workloads leaves some pod not isolated for Ingress or Egress (no default "
    "deny)",
    rationale="A pod no policy selects for a direction is open that way: every pod nobody thought of - the "
    "ones KServe and Istio create, a debug pod, a new controller - unless a policy selecting every pod "
    "(`podSelector: {}`) isolates the namespace for both directions. Allow rules only mean something on top "
    "of that. Isolation is computed, not read from the wording: a `podSelector: {}` "
    "policy with both policyTypes isolates every pod even if it has rules (the flow rules judge those), and "
    "the finding names the pods left open (a workload, or 'any other pod'). Checked once the output has any "
    "NetworkPolicy at all; a namespace holding only Istio's gateway pods that the output neither declares "
    "nor puts a policy in is left to the gateway's installer.",
    links=(NP_DOCS + "#default-deny-all-ingress-and-all-egress-traffic",),
    fix="Add `podSelector: {}` with `policyTypes: [Ingress, Egress]` and no rules to the namespace, then "
    "allow exactly the flows of the security model.",
    bad=(
        _example(deny=_DENY.replace("NS", "demo").split("---\n", 1)[1]).replace(
            "metadata: {name: demo}", "metadata: {name: demo}  # <-"
        ),
    ),
    good=(GOOD,),
)
def np101(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np101(graph))


@rule(
    "NP102",
    "peer-admits-every-pod",
    Severity.ERROR,
    summary="an ingress rule admits every pod of every namespace to a model server, EPP or BBR",
    rationale="`namespaceSelector: {}` with an empty or absent podSelector, a rule without `from`, or an "
    "ipBlock covering the pod CIDR admits every pod of the cluster. The reference deployment added such a "
    'peer "for kubelet health probes": kubelet probes come from the node, not from a pod, and are allowed '
    "anyway - the peer only opened vLLM to every pod and made the gateway-only rule pointless. (Egress to "
    "everything is the source's business; the destination's ingress decides, see NP106.) Judged for the "
    "workloads whose clients the security model names (model server, EPP, BBR); for any other pod who "
    "may connect is its owner's design (Argo CD's install opens its metrics ports to every namespace for "
    "Prometheus), which infergate cannot check.",
    links=(NP_DOCS + "#behavior-of-to-and-from-selectors",),
    fix="Delete the peer (probes need no rule) or name the namespaces and pods that must connect.",
    bad=(
        _example(
            vllm=_VLLM_INGRESS.replace(
                "    - podSelector: {matchLabels: {app: epp}}\n",
                "    - podSelector: {matchLabels: {app: epp}}\n"
                "    - namespaceSelector: {}  # <-\n      podSelector: {}\n",
            )
        ),
        _example(vllm=_VLLM_INGRESS.replace("  - from:\n", "  - ports: [{port: 8000}]  # <-\n  - from:\n")),
    ),
    good=(GOOD,),
)
def np102(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np102(graph))


_VLLM_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: vllm-egress, namespace: demo}
spec:
  podSelector: {matchLabels: {app: vllm}}
  policyTypes: [Egress]
  egress:
  - to:  # <-
    - PEER
    ports: [{protocol: TCP, port: 443}]
"""


@rule(
    "NP103",
    "external-egress-via-selectors",
    Severity.WARNING,
    summary="egress meant for outside the cluster is written with pod/namespace selectors only",
    rationale="Selectors match pods, never addresses: `namespaceSelector: {}` on 443 does not reach Hugging "
    "Face, and a managed API server (GKE) is not a pod, so `podSelector: {component: apiserver}` matches "
    "nothing. The reference deployment's model download failed with `Name or service not known` / "
    '`Cannot resolve URL for hf:...` and was "fixed" with allow-all egress. Ports checked: 80, 443, 6443 '
    "(kube-apiserver's port on self-managed clusters: NetworkPolicy sees the endpoint's port, not the "
    "`kubernetes` Service's 443) and the platform's API server ports.",
    links=(NP_DOCS + "#networkpolicy-resource",),
    fix="Use an `ipBlock` (the API server's CIDR; `0.0.0.0/0` with the cluster's ranges in `except` for "
    "downloads); keep selectors for in-cluster peers.",
    bad=(
        _example(extra=_VLLM_EGRESS.replace("PEER", "namespaceSelector: {}")),
        _example(
            extra=_VLLM_EGRESS.replace(
                "PEER", "namespaceSelector: {}\n      podSelector: {matchLabels: {component: apiserver}}"
            )
        ),
        _example(
            extra="""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: epp-api-server, namespace: demo}
spec:
  podSelector: {matchLabels: {app: epp}}
  policyTypes: [Egress]
  egress:
  - to:  # <-
    - podSelector: {matchLabels: {component: kube-apiserver}}
    ports: [{port: 6443}]"""
        ),
    ),
    good=(
        _example(
            extra=_VLLM_EGRESS.replace("  # <-", "").replace(
                "PEER", "ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}"
            )
        ),
    ),
)
def np103(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np103(graph))


@rule(
    "NP104",
    "dangling-networkpolicy",
    Severity.ERROR,
    summary="a NetworkPolicy's podSelector matches no pod the cluster runs",
    rationale="A policy that selects nothing isolates nothing and allows nothing: usually a wrong label "
    "(the reference deployment's Pattern-3 EPP policy used `app.kubernetes.io/component: router-scheduler`, "
    "the pods say `llminferenceservice-router-scheduler`). The pods KServe and Istio create count.",
    links=(NP_DOCS,),
    fix="Copy the labels from the pods the policy is meant for (`infergate flows PATH` lists them), or "
    "delete the policy.",
    bad=(
        _example(
            extra=_EPP_INGRESS.replace("epp-ingress", "epp-typo").replace(
                "  podSelector: {matchLabels: {app: epp}}",
                "  podSelector: {matchLabels: {app: router-scheduler}}  # <-",
            )
        ),
    ),
    good=(GOOD,),
)
def np104(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np104(graph))


@rule(
    "NP105",
    "required-flow-denied",
    Severity.ERROR,
    summary="a flow the stack needs is denied (gateway->model server/EPP/istiod, EPP->model server/API "
    "server, DNS, model download, the hosts of a multi-host slice to each other)",
    rationale=f"The flows in `{MODEL}` are what serving needs. The reference deployment's default deny also "
    "covered the endpoint picker and nothing allowed the gateway to reach its gRPC port 9002: the "
    "InferencePool's `failureMode: FailOpen` hid it and requests were routed without scheduling. A flow "
    "allowed for some addresses only (an ipBlock over part of the download range) is not allowed. The "
    "hosts of a multi-host TPU slice (KServe's LeaderWorkerSet: leader = model-server, workers = "
    "model-worker) must reach each other on the runtime's ports, or the leader waits for hosts that never "
    "join: Ray's GCS TCP/6379 (head only), raylet node manager 6380 and object manager 6381, dashboard agent "
    "6382/6384, runtime-env agent 6383 and worker processes 10002-10101 (Ray's port settings, random by "
    "default, pinned by infergate), the TPU runtime's 8471 and TPU_PROCESS_PORT 8476 (LeaderWorkerSet's "
    "default); the chips' own ICI links are not TCP and no policy sees them. The finding lands on the "
    "policy that should allow the flow (or the default deny isolating it).",
    links=(NP_DOCS, RAY_PORTS, LWS_TPU),
    fix="Add an allow rule for the flow named in the message (source and destination, port, protocol); "
    "remember that both the source's egress and the destination's ingress must allow it.",
    bad=(
        _example(epp_in="").replace(
            "metadata: {name: default-deny, namespace: demo}",
            "metadata: {name: default-deny, namespace: demo}  # <-",
        ),
    ),
    good=(GOOD,),
)
def np105(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np105(graph))


@rule(
    "NP106",
    "forbidden-flow-allowed",
    Severity.ERROR,
    summary="a flow the security model forbids is allowed (other pods->model server, model server->model "
    "server, anything but the gateway->EPP gRPC)",
    rationale=f"`{MODEL}` forbids lateral movement: only the gateway and the endpoint picker talk to vLLM, "
    "model servers do not talk to each other, and only the gateway may use the endpoint picker's ext_proc "
    "port (whoever can, can steer traffic). Only the hosts of a multi-host slice reach each other's Ray and "
    "TPU ports: whoever joins a Ray cluster runs code on it. A flow open for some addresses only (an "
    "ipBlock over part of the pod CIDR admits some pods, unpredictably) counts as open. The finding lands "
    "on the ingress rule that admits the flow.",
    links=(NP_DOCS,),
    fix="Narrow the rule's `from` to the gateway's namespace and pods (and the endpoint picker's pods).",
    bad=(
        _example(
            vllm=_VLLM_INGRESS.replace("  - from:\n", "  - from:  # <-\n").replace(
                "    - podSelector: {matchLabels: {app: epp}}\n",
                "    - podSelector: {matchLabels: {app: epp}}\n"
                "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}\n",
            )
        ),
    ),
    good=(GOOD,),
)
def np106(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np106(graph))


_DOWNLOAD_BLOCK = "ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}"


@rule(
    "NP107",
    "model-server-allow-all-egress",
    Severity.ERROR,
    summary="a model server's egress allows every destination on every port",
    rationale="`egress: [{}]` (or a rule without `to` on every port) is how the reference deployment "
    '"fixed" its failing model download. From vLLM it reaches the Kubernetes API server, istiod and the node '
    "metadata server 169.254.169.254, which hands out the node's cloud credentials: one prompt-injection or "
    "deserialization bug in the model server becomes a cluster compromise.",
    links=(NP_DOCS + "#allow-all-egress-traffic", "https://cloud.google.com/kubernetes-engine/docs/how-to/"
           "protecting-cluster-metadata"),
    fix="Allow DNS and the model download range only: `ipBlock: {cidr: 0.0.0.0/0, except: [<cluster "
    "ranges>, 169.254.0.0/16, <API server>]}` on 443.",
    bad=(
        _example(
            extra=_VLLM_EGRESS.replace("  - to:  # <-\n    - PEER\n    ports: [{protocol: TCP, port: 443}]\n",
                                       "  - {}  # <-\n")
        ),
        _example(
            extra=_VLLM_EGRESS.replace("  - to:  # <-\n    - PEER\n    ports: [{protocol: TCP, port: 443}]\n",
                                       "  - ports: [{port: 1, endPort: 65535}]  # <-\n")
        ),
    ),
    good=(
        _example(extra=_VLLM_EGRESS.replace("  # <-", "").replace(
            "PEER", _DOWNLOAD_BLOCK.replace("]}", ", 169.254.0.0/16]}"))),
    ),
)
def np107(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np107(graph))


@rule(
    "NP108",
    "model-server-reaches-metadata-server",
    Severity.ERROR,
    summary="a model server's egress reaches the node metadata server (169.254.169.254)",
    rationale="An ipBlock of `0.0.0.0/0` minus the cluster's private ranges still contains 169.254.169.254, "
    "the cloud metadata server. On port 80 it answers with the node's service account token (GCE, EKS "
    "without IMDSv2 hop limits, AKS): a compromised model server steals the node's credentials. The model "
    "download needs 443 to the model hub only. The address is the platform fact `metadata-server-cidrs`.",
    links=("https://cloud.google.com/kubernetes-engine/docs/how-to/protecting-cluster-metadata",
           NP_DOCS + "#networkpolicy-resource"),
    fix="Add `169.254.0.0/16` to the ipBlock's `except` (and keep egress to port 443).",
    bad=(
        _example(
            extra=_VLLM_EGRESS.replace("PEER", _DOWNLOAD_BLOCK).replace(
                "ports: [{protocol: TCP, port: 443}]", "ports: [{port: 443}, {port: 80}]")
        ),
    ),
    good=(
        _example(
            extra=_VLLM_EGRESS.replace("  # <-", "").replace(
                "PEER", _DOWNLOAD_BLOCK.replace("]}", ", 169.254.0.0/16]}")).replace(
                "ports: [{protocol: TCP, port: 443}]", "ports: [{port: 443}, {port: 80}]")
        ),
    ),
)
def np108(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np108(graph))


@rule(
    "NP109",
    "model-server-reaches-api-server",
    Severity.ERROR,
    summary="a model server's egress reaches the Kubernetes API server",
    rationale="vLLM needs no Kubernetes API; the endpoint picker does. An egress ipBlock that contains the "
    "API server's address (platform fact `api-server-cidrs`; when unknown, a block admitting every address "
    "on 443/6443) lets a compromised model server probe the API with its service account token and any "
    "mounted credentials. GKE's public endpoint is inside `0.0.0.0/0` minus the private ranges.",
    links=(NP_DOCS + "#networkpolicy-resource",
           "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"),
    fix="Put the API server's CIDR in the download rule's `except` (and keep egress to the API server on the "
    "endpoint picker's policy only).",
    bad=(_example(extra=_VLLM_EGRESS.replace("PEER", "ipBlock: {cidr: 0.0.0.0/0}")),),
    good=(_example(extra=_VLLM_EGRESS.replace("  # <-", "").replace("PEER", _DOWNLOAD_BLOCK)),),
)
def np109(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np109(graph))


_ISTIO = """\
# file: mesh.yaml
apiVersion: sailoperator.io/v1
kind: Istio
metadata: {name: default}
spec:
  version: v1.26.6
  namespace: istio-system
"""

_GATEWAY_TO_ISTIOD = """\
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}
      podSelector: {matchLabels: {app: istiod}}
    ports: [{port: 15012}]
"""

_ISTIOD_POLICIES = (
    "# file: istio-system-policies.yaml\n"
    + _DENY.replace("NS", "istio-system")
    + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: istiod, namespace: istio-system}
spec:
  podSelector: {matchLabels: {app: istiod}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{namespaceSelector: {}}]  # the mesh's proxies: xDS
    ports: [{port: 15010}, {port: 15012}]
  - from: [{ipBlock: {cidr: 172.16.0.2/32}}]  # the API server calls the webhook
    ports: [{port: 15017}]
  egress:
  - to: [{ipBlock: {cidr: 172.16.0.2/32}}]  # the API server
    ports: [{port: 443}]
"""
)


def _with_istio(extra: str = "") -> str:
    """The example stack with a sail-operator Istio (istiod in istio-system) the gateway talks xDS to."""
    text = _example() + _ISTIO + extra
    # the gateway's egress rule to the endpoint picker (the EPP's own ingress rule has other labels)
    anchor = "      podSelector: {matchLabels: {app: epp}}\n    ports: [{port: 9002}]\n"
    assert text.count(anchor) == 1
    return text.replace(anchor, anchor + _GATEWAY_TO_ISTIOD)


@rule(
    "NP110",
    "unpoliced-control-plane",
    Severity.WARNING,
    summary="the mesh control plane (istiod) runs in a namespace no NetworkPolicy isolates",
    rationale="With the workloads isolated, istiod is the open door left: every pod (and the internet, where "
    "a route exists) reaches its xDS ports, where it hands out certificates and configuration, its injection "
    "webhook and its debug/monitoring port; `infergate flows` shows internet -> istiod allowed. The control "
    "plane the output installs (a sail-operator `Istio`) is the output's to isolate; a warning, since a "
    "platform team may isolate that namespace from another repository (suppress on the `Istio` object with "
    "the reason then).",
    links=("https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio",
           NP_DOCS + "#default-deny-all-ingress-and-all-egress-traffic"),
    fix="Add a default deny in the control plane's namespace, then allow the mesh's pods to 15010/15012, the "
    "API server to the webhook (15017), your scraper to 15014, and istiod's egress to the API server.",
    bad=(_with_istio().replace("  namespace: istio-system\n", "  namespace: istio-system  # <-\n"),),
    good=(_with_istio(_ISTIOD_POLICIES),),
)
def np110(graph: Graph) -> Iterator[Hit]:
    yield from _hits(checks.np110(graph))
