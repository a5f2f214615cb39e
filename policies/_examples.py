"""Shared example contexts: a clean inference stack that rule examples build on (``# context: NAME``).

An example that says ``# context: stack`` is linted together with the files below, so it only has to show
what it changes. Contexts must lint clean on their own (tests/test_rules.py checks that).
"""

from __future__ import annotations

STACK = """\
# file: context/stack.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  template:
    metadata: {labels: {app: vllm}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.10.1
        args: [--model=/models/qwen, --served-model-name=qwen, --port=8000]
        ports: [{name: http, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /health, port: 8000, scheme: HTTP}}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: "2", memory: 8Gi}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {kind: Service, name: epp, port: {number: 9002}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: epp, namespace: demo}
spec:
  selector: {matchLabels: {app: epp}}
  template:
    metadata: {labels: {app: epp}}
    spec:
      serviceAccountName: epp
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
        args: [--pool-name=pool, --pool-namespace=demo, --pool-group=inference.networking.k8s.io,
               --secure-serving=false]
        ports: [{name: grpc, containerPort: 9002}, {name: grpc-health, containerPort: 9003}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 250m, memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: epp, namespace: demo}
spec:
  selector: {app: epp}
  ports: [{name: grpc, port: 9002, targetPort: grpc, appProtocol: http2}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: epp, namespace: demo}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: epp, namespace: demo}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
- {apiGroups: [inference.networking.k8s.io], resources: [inferencepools], verbs: [get, list, watch]}
- {apiGroups: [inference.networking.x-k8s.io], resources: [inferenceobjectives], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: epp, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: epp}
subjects: [{kind: ServiceAccount, name: epp, namespace: demo}]
"""

GATEWAY = """\
# file: context/gateway.yaml
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
    allowedRoutes: {namespaces: {from: All}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec:
  secretName: gateway-tls
  dnsNames: [inference.example.com]
  issuerRef: {kind: ClusterIssuer, name: ca-issuer}
"""

CONTEXTS = {"stack": STACK, "gateway": GATEWAY}


def stack_variant(old: str, new: str) -> str:
    """The stack context with one change (for examples whose point is a mistake inside the stack itself)."""
    if STACK.count(old) != 1:
        raise ValueError(f"stack_variant: {old!r} must occur exactly once in the stack context")
    return STACK.replace("# file: context/stack.yaml", "# file: stack.yaml").replace(old, new)


def mark_line(text: str, needle: str) -> str:
    """Append the expected-finding mark (``# <-``) to the first line of ``text`` containing ``needle``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if needle in line:
            lines[i] = line + "  # <-"
            return "\n".join(lines) + "\n"
    raise ValueError(f"mark_line: {needle!r} not found")
