"""GW2xx: the Gateway API wiring in front of inference (TLS at the gateway, route attachment, backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infergate.policies import Hit, rule
from infergate.policies._common import (
    backend_refs,
    gateway_listeners,
    inference_routes,
    is_redirect_only,
    listeners_for,
)

from infergate.core.findings import Severity
from infergate.core.graph import (
    GATEWAY_GROUP,
    POOL_GROUPS,
    Graph,
    K8sObject,
    Resolved,
    as_dict,
    as_list,
)

GW_SPEC = "https://gateway-api.sigs.k8s.io/reference/spec/"
SEED = "the reference deployment's gateway requirements"
_EVERY_NAMESPACE: dict[str, Any] = {}  # a missing selector selects every namespace (one object: cached once)


def route_admitted(graph: Graph, gw: K8sObject, listener: dict[str, Any], route: K8sObject) -> bool:
    """Does this listener's allowedRoutes admit the route (namespace and kind)?"""
    allowed = as_dict(listener.get("allowedRoutes"))
    kinds = [as_dict(k) for k in as_list(allowed.get("kinds"))]
    if kinds and not any(
        k.get("kind") == route.kind and k.get("group", GATEWAY_GROUP) == route.group for k in kinds
    ):
        return False
    if not kinds and listener.get("protocol") not in ("HTTP", "HTTPS"):
        return False  # TLS/TCP/UDP listeners take other route kinds by default
    namespaces = as_dict(allowed.get("namespaces"))
    mode = namespaces.get("from", "Same")
    if mode == "All":
        return True
    if mode == "Same":
        return route.namespace == gw.namespace
    if mode == "Selector":
        info = graph.namespaces.get(route.namespace or "default")
        labels = info.labels if info else {"kubernetes.io/metadata.name": route.namespace or "default"}
        selector = namespaces.get("selector")
        if graph.selector_matches(selector if isinstance(selector, dict) else _EVERY_NAMESPACE, labels):
            return True
        if info is not None and info.obj is not None:
            return False  # the Namespace is in the tree: its labels are known
        # the Namespace is not in the tree: the labels it really carries are unknown (open world: admitted,
        # and the reference is noted; closed world: only the API server's name label is certain)
        found = graph.resolve(
            "Namespace", None, route.namespace or "default", "", referrer=route,
            path=("metadata", "namespace"), need="allowedRoutes namespace selector",
        )
        return found.state == "provided" or (found.missing and not graph.world.closed)
    return False


def parent_gateway(
    graph: Graph, route: K8sObject, ref: dict[str, Any], path: tuple[str | int, ...]
) -> Resolved:
    """The Gateway a parentRef names (one copy of the tree, or why none: ambiguous/provided/unknown)."""
    return graph.resolve(
        "Gateway", ref.get("namespace") or route.namespace, ref.get("name", ""), GATEWAY_GROUP,
        referrer=route, path=path, need="the listeners the route attaches to",
    )


def attachments(graph: Graph, route: K8sObject) -> Iterator[tuple[int, dict, K8sObject | None, list]]:
    """(parentRef index, parentRef, Gateway or None, [(listener index, listener) it attaches to])."""
    for i, ref in enumerate(as_list(route.spec.get("parentRefs"))):
        if not isinstance(ref, dict):
            continue
        if ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP or ref.get("kind", "Gateway") != "Gateway":
            continue
        gw = parent_gateway(graph, route, ref, ("spec", "parentRefs", i)).obj
        attached = (
            []
            if gw is None
            else [(li, ls) for li, ls in listeners_for(gw, ref) if route_admitted(graph, gw, ls, route)]
        )
        yield i, ref, gw, attached


def _tls_terminating(listener: dict[str, Any]) -> bool:
    tls = as_dict(listener.get("tls"))
    return (
        listener.get("protocol") == "HTTPS"
        and tls.get("mode", "Terminate") == "Terminate"
        and bool(as_list(tls.get("certificateRefs")))
    )


@rule(
    "GW201",
    "inference-gateway-without-tls",
    Severity.ERROR,
    summary="a Gateway carrying inference routes without an HTTPS listener that terminates TLS",
    rationale="Prompts and completions cross the internet to the Gateway; the reference security model "
    "terminates TLS there (listener `https`, port 443, `tls.mode: Terminate`, certificateRefs). The "
    "reference deployment's documented API URL is still plain `http://` on port 80: without an HTTPS "
    "listener every request and API key travels in clear text.",
    links=(
        GW_SPEC + "#gateway.networking.k8s.io/v1.GatewayTLSConfig",
        "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/",
    ),
    fix="Add a listener `{name: https, port: 443, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: "
    "[{kind: Secret, name: <cert-manager secret>}]}}` and attach the inference routes to it.",
    bad=(
        """\
# context: stack
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: demo}
spec:
  gatewayClassName: istio
  listeners:  # <-
  - {name: tls-passthrough, port: 443, protocol: TLS, tls: {mode: Passthrough}}
  - name: grpc
    port: 8443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: []}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, sectionName: grpc}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
    good=(
        """\
# context: stack, gateway
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, namespace: gateway, sectionName: https}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
)
def gw201(graph: Graph) -> Iterator[Hit]:
    carrying: dict[int, K8sObject] = {}
    for route in inference_routes(graph, include_virtual=True):
        for _, _, gw, _ in attachments(graph, route):
            if gw is not None:
                carrying[id(gw)] = gw
    for gw in sorted(carrying.values(), key=lambda g: (g.namespace or "", g.name)):
        if not any(_tls_terminating(ls) for _, ls in gateway_listeners(gw)):
            yield Hit(
                gw,
                f"Gateway {gw.name} carries inference routes but has no HTTPS listener with "
                "tls.mode Terminate and a certificateRef",
                ("spec", "listeners"),
            )


@rule(
    "GW202",
    "gateway-certificate-not-issued",
    Severity.ERROR,
    summary="a listener certificate Secret that no cert-manager Certificate in the output issues and the "
    "environment does not declare as provided",
    rationale="A listener whose certificate Secret never appears is not programmed: Istio reports "
    "`InvalidCertificateRef` and the HTTPS port refuses connections. In the reference deployment the "
    "Secret `inference-gateway-tls-cert` exists only because cert-manager's Certificate "
    "`inference-gateway-tls` issues it.",
    links=(
        "https://cert-manager.io/docs/usage/certificate/",
        GW_SPEC + "#gateway.networking.k8s.io/v1.Listener",
    ),
    fix="Emit a cert-manager `Certificate` with `spec.secretName` equal to the listener's "
    "certificateRef (same "
    "namespace), or declare the Secret as pre-provisioned in the environment's platform facts.",
    bad=(
        """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: gateway}
spec:
  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls:
      mode: Terminate
      certificateRefs:
      - {kind: Secret, name: no-one-makes-this}  # <-
""",
    ),
    good=(
        """\
# context: gateway
""",
    ),
)
def gw202(graph: Graph) -> Iterator[Hit]:
    issued = {
        (c.namespace, str(c.spec.get("secretName"))) for c in graph.of_kind("Certificate", "cert-manager.io")
    }
    for gw in graph.of_kind("Gateway", GATEWAY_GROUP):
        for li, ls in gateway_listeners(gw):
            for ci, ref in enumerate(as_list(as_dict(ls.get("tls")).get("certificateRefs"))):
                if not isinstance(ref, dict) or ref.get("kind", "Secret") != "Secret" or ref.get("group", ""):
                    continue
                ns, name = str(ref.get("namespace") or gw.namespace), str(ref.get("name", ""))
                if (ns, name) in issued:
                    continue
                found = graph.resolve(
                    "Secret", ns, name, "", referrer=gw,
                    path=("spec", "listeners", li, "tls", "certificateRefs", ci),
                    need="that the listener certificate is issued",
                )
                if not found.missing or not graph.world.closed:
                    continue
                yield Hit(
                    gw,
                    f"listener {ls.get('name')!r} uses Secret {ns}/{name}, which no cert-manager "
                    "Certificate in the output issues and the environment does not provide",
                    ("spec", "listeners", li, "tls", "certificateRefs", ci),
                )


@rule(
    "GW203",
    "inference-route-on-plaintext-listener",
    Severity.WARNING,
    summary="an inference route attached to a plaintext HTTP listener (anything but a redirect to HTTPS)",
    rationale="The reference deployment kept an `http` listener on port 80 'for backwards compatibility' "
    "with `allowedRoutes: All`; its routes have no sectionName, so every inference route also "
    "answers in clear text — the HTTPS listener protects nothing if port 80 serves the same API.",
    links=(
        GW_SPEC + "#gateway.networking.k8s.io/v1.ParentReference",
        "https://gateway-api.sigs.k8s.io/guides/http-redirect-rewrite/",
    ),
    fix="Attach inference routes to the HTTPS listener only (`parentRefs[].sectionName: https`), and let "
    "the HTTP listener carry nothing but a `RequestRedirect` to https (or drop it).",
    bad=(
        """\
# context: stack
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: demo}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gateway-tls}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: demo}
spec: {secretName: gateway-tls, issuerRef: {kind: ClusterIssuer, name: ca-issuer}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs:
  - {name: inference-gateway}  # <-
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
    good=(
        """\
# context: stack
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: demo}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gateway-tls}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: demo}
spec: {secretName: gateway-tls, issuerRef: {kind: ClusterIssuer, name: ca-issuer}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, sectionName: https}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-https, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, sectionName: http}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
""",
    ),
)
def gw203(graph: Graph) -> Iterator[Hit]:
    for route in inference_routes(graph, include_virtual=True):
        if is_redirect_only(route):
            continue
        for i, _, gw, attached in attachments(graph, route):
            plain = [ls.get("name") for _, ls in attached if ls.get("protocol") == "HTTP"]
            if gw is not None and plain:
                yield Hit(
                    route,
                    f"inference route {route.name} attaches to plaintext listener(s) "
                    f"{', '.join(map(str, plain))} of Gateway {gw.name}",
                    ("spec", "parentRefs", i),
                )


@rule(
    "GW204",
    "route-parent-unresolved",
    Severity.ERROR,
    summary="an HTTPRoute parentRef that names no Gateway/listener, or a listener whose allowedRoutes "
    "excludes the route's namespace",
    rationale="A route whose parent does not exist or does not admit it is never programmed: the Gateway "
    "answers 404 and the route's status says `NotAllowedByListeners` or `NoMatchingParent` — "
    "nothing fails at apply time. The reference repository ships a stray HTTPRoute whose parent "
    "Gateway `infra-pattern1-inference-gateway` does not exist in that deployment.",
    links=(GW_SPEC + "#gateway.networking.k8s.io/v1.AllowedRoutes",),
    fix="Name an existing Gateway (and namespace, for cross-namespace parents) and an existing sectionName; "
    "on the listener, allow the route's namespace (`allowedRoutes.namespaces.from: All` or a Selector "
    "on `kubernetes.io/metadata.name`).",
    bad=(
        """\
# context: stack, gateway
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs:
  - {name: infra-pattern1-inference-gateway, namespace: gateway}  # <-
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
        """\
# context: stack
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
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gateway-tls, namespace: gateway}
spec: {secretName: gateway-tls, issuerRef: {kind: ClusterIssuer, name: ca-issuer}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs:
  - {name: inference-gateway, namespace: gateway}  # <-
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
    good=(
        """\
# context: stack, gateway
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, namespace: gateway}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
)
def gw204(graph: Graph) -> Iterator[Hit]:
    for route in graph.of_kind("HTTPRoute", GATEWAY_GROUP):
        for i, ref, gw, attached in attachments(graph, route):
            target = f"{ref.get('namespace') or route.namespace}/{ref.get('name')}"
            if gw is None:
                # ambiguous, provided or (open world) unknown: noted by the resolution, nothing to check
                where = ("spec", "parentRefs", i)
                if graph.world.closed and parent_gateway(graph, route, ref, where).missing:
                    yield Hit(
                        route,
                        f"parentRef names Gateway {target}, which is not in the output",
                        ("spec", "parentRefs", i),
                    )
            elif not listeners_for(gw, ref):
                yield Hit(
                    route,
                    f"Gateway {target} has no listener matching sectionName "
                    f"{ref.get('sectionName')!r} / port {ref.get('port')}",
                    ("spec", "parentRefs", i),
                )
            elif not attached:
                yield Hit(
                    route,
                    f"no listener of Gateway {target} admits HTTPRoutes from namespace "
                    f"{route.namespace} (allowedRoutes)",
                    ("spec", "parentRefs", i),
                )


def _granted(graph: Graph, route: K8sObject, group: str, kind: str, ns: str, name: str) -> bool:
    for grant in graph.of_kind("ReferenceGrant", GATEWAY_GROUP):
        if grant.namespace != ns:
            continue
        spec = grant.spec
        if not any(
            as_dict(f).get("group") == GATEWAY_GROUP
            and as_dict(f).get("kind") == route.kind
            and as_dict(f).get("namespace") == route.namespace
            for f in as_list(spec.get("from"))
        ):
            continue
        if any(
            as_dict(t).get("group", "") == group
            and as_dict(t).get("kind") == kind
            and as_dict(t).get("name", name) == name
            for t in as_list(spec.get("to"))
        ):
            return True
    return False


@rule(
    "GW205",
    "route-backend-unresolved",
    Severity.ERROR,
    summary="an HTTPRoute backendRef naming no Service/InferencePool (group, kind, name, namespace), or "
    "cross-namespace without a ReferenceGrant",
    rationale="An unresolved backend makes the Gateway answer 500 for the rule (`ResolvedRefs=False`, "
    "`BackendNotFound`/`RefNotPermitted`); the mistake is only visible in route status. The "
    "reference repository's stray HTTPRoute points at InferencePool `gaie-pattern1`, which that "
    "deployment never creates.",
    links=(
        GW_SPEC + "#gateway.networking.k8s.io/v1.BackendRef",
        "https://gateway-api.sigs.k8s.io/api-types/referencegrant/",
    ),
    fix="Point the backendRef at an existing Service or InferencePool (matching group and kind) in "
    "the route's "
    "namespace, or add a ReferenceGrant in the backend's namespace for cross-namespace references.",
    bad=(
        """\
# context: stack, gateway
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, namespace: gateway}]
  rules:
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: gaie-pattern1, port: 8000}  # <-
  - matches: [{path: {type: PathPrefix, value: /health}}]
    backendRefs:
    - {kind: Service, name: epp, namespace: other, port: 9003}  # <-
""",
    ),
    good=(
        """\
# context: stack, gateway
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: gateway}
spec:
  parentRefs: [{name: inference-gateway}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, namespace: demo,
                   port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateway-routes, namespace: demo}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateway}]
  to: [{group: inference.networking.k8s.io, kind: InferencePool}]
""",
    ),
)
def gw205(graph: Graph) -> Iterator[Hit]:
    for route in graph.of_kind("HTTPRoute", GATEWAY_GROUP):
        for path, ref in backend_refs(route):
            group, kind = str(ref.get("group", "")), str(ref.get("kind", "Service"))
            ns, name = str(ref.get("namespace") or route.namespace), str(ref.get("name", ""))
            if (group, kind) != ("", "Service") and not (kind == "InferencePool" and group in POOL_GROUPS):
                continue  # other backend kinds are outside this stack
            if kind == "InferencePool" and graph.get(kind, ns, name, group) is None \
                    and any(graph.get(kind, ns, name, g) for g in POOL_GROUPS):
                continue  # the pool exists in the other API group: INF303 reports the group
            found = graph.resolve(kind, ns, name, group, referrer=route, path=path, need="the backend")
            if found.obj is None:
                if found.missing and graph.world.closed:
                    yield Hit(
                        route,
                        f"backendRef {kind} {ns}/{name} (group {group or 'core'!r}) is not in the output",
                        path,
                    )
            elif ns != route.namespace and not _granted(graph, route, group, kind, ns, name):
                yield Hit(
                    route,
                    f"backendRef {kind} {ns}/{name} is in another namespace and no ReferenceGrant "
                    f"in {ns} allows HTTPRoutes from {route.namespace}",
                    path,
                )


# a Gateway whose HTTPS listener has a hostname, with its certificate (GW206's examples)
_HOSTNAME_LISTENER = """\
# context: stack
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: gateway}
spec:
  gatewayClassName: istio
  listeners:
  - name: https
    hostname: api.example.com
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
  dnsNames: [api.example.com]
  issuerRef: {kind: ClusterIssuer, name: ca-issuer}
---
"""


@rule(
    "GW206",
    "inference-route-without-hostnames",
    Severity.WARNING,
    summary="an inference route without hostnames attached to a listener that has a hostname",
    rationale="A route without `hostnames` takes the hostname of every listener it attaches to: a listener "
    "added later for another host (another team's API, a staging name) serves the model there too, "
    "unseen in review. Naming the route's hostnames keeps what a model answers on in the route itself, "
    "and lets several models share a path on different hosts.",
    links=(GW_SPEC + "#gateway.networking.k8s.io/v1.HTTPRouteSpec",
           "https://gateway-api.sigs.k8s.io/api-types/httproute/#hostnames"),
    fix="Set `spec.hostnames` on the route (infergate: `gateway.hostnames`, or `hostnames` per model).",
    bad=(
        _HOSTNAME_LISTENER + """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:  # <-
  parentRefs: [{name: inference-gateway, namespace: gateway, sectionName: https}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
    good=(
        _HOSTNAME_LISTENER + """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, namespace: gateway, sectionName: https}]
  hostnames: [api.example.com]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
""",
    ),
)
def gw206(graph: Graph) -> Iterator[Hit]:
    for route in inference_routes(graph):  # KServe's own routes take no hostnames: not the user's to fix
        if as_list(route.spec.get("hostnames")):
            continue
        hosts = sorted({str(ls["hostname"]) for _, _, gw, attached in attachments(graph, route)
                        for _, ls in attached if gw is not None and ls.get("hostname")})
        if hosts:
            yield Hit(route, f"inference route {route.name} has no hostnames and answers on every "
                      f"hostname of the listeners it attaches to ({', '.join(hosts)})", ("spec",))


MODEL_HEADER = "x-gateway-model-name"  # set by GIE's Body-Based Router from the body's `model`
_STACK_HEAD = """\
# context: stack
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
  dnsNames: [inference-gateway.gateway.svc]
  issuerRef: {kind: ClusterIssuer, name: ca-issuer}
"""
_BBR_FILTER = """\
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: bbr, namespace: gateway}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: inference-gateway}]
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY}
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.ext_proc.bbr
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
          grpc_service: {envoy_grpc: {cluster_name: "outbound|9004||bbr.gateway.svc.cluster.local"}}
"""


def _route(name: str, header: str | None) -> str:
    headers = f", headers: [{{name: X-Gateway-Model-Name, value: {header}}}]" if header else ""
    return f"""\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: demo}}
spec:
  parentRefs: [{{name: inference-gateway, namespace: gateway, sectionName: https}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /v1}}{headers}}}]
    backendRefs: [{{group: inference.networking.k8s.io, kind: InferencePool, name: pool}}]
"""


def _bbr_gateways(graph: Graph) -> set[tuple[str | None, str]]:
    """(namespace, name) of Gateways an EnvoyFilter puts an ext_proc filter named for BBR in front of."""
    out: set[tuple[str | None, str]] = set()
    for ef in graph.of_kind("EnvoyFilter", "networking.istio.io"):
        patches = [as_dict(as_dict(p).get("patch")) for p in as_list(ef.spec.get("configPatches"))]
        if not any("bbr" in str(as_dict(p.get("value")).get("name", "")) for p in patches):
            continue
        for ref in as_list(ef.spec.get("targetRefs")):
            if as_dict(ref).get("kind") == "Gateway":
                out.add((ef.namespace, str(as_dict(ref).get("name", ""))))
    return out


@rule(
    "GW207",
    "models-share-path-without-bbr",
    Severity.WARNING,
    summary="two inference routes match the same path on the same gateway and host, and nothing tells "
    "their requests apart by model",
    rationale="Two HTTPRoutes with the same path match (and the same headers) on one listener and hostname "
    "conflict: the gateway sends every request to the oldest route's pool, so the other model is never "
    "reached, and the clients of both get one model's answers. Several models can share a path only "
    "when each route also matches the model the request names: GIE's Body-Based Router copies the "
    "body's OpenAI `model` into the X-Gateway-Model-Name header, which the routes match. Matching that "
    "header without the router in front of the gateway matches nothing.",
    links=("https://gateway-api-inference-extension.sigs.k8s.io/guides/serve-multiple-genai-models/",
           "https://gateway-api.sigs.k8s.io/api-types/httproute/#rules"),
    fix="Give each model its own path prefix or hostname, or route by model (infergate: "
    "`gateway.sharedPath`, which deploys the Body-Based Router and adds the header matches).",
    bad=(_STACK_HEAD + _route("llama", None) + _route("qwen", None).replace("spec:", "spec:  # <-", 1),
         _STACK_HEAD + _route("llama", "llama").replace("spec:", "spec:  # <-", 1)
         + _route("qwen", "qwen").replace("spec:", "spec:  # <-", 1)),
    good=(_STACK_HEAD + _BBR_FILTER + _route("llama", "llama") + _route("qwen", "qwen"),),
)
def gw207(graph: Graph) -> Iterator[Hit]:
    bbr = _bbr_gateways(graph)
    seen: dict[tuple, K8sObject] = {}
    for route in sorted(inference_routes(graph), key=lambda r: (r.namespace or "", r.name)):
        hosts = sorted(str(h) for h in as_list(route.spec.get("hostnames"))) or ["*"]
        hit = None
        for _, _ref, gw, attached in attachments(graph, route):
            if gw is None:
                continue
            for rule_ in as_list(route.spec.get("rules")):
                for match in as_list(as_dict(rule_).get("matches")) or [{}]:
                    match = as_dict(match)
                    path = as_dict(match.get("path"))
                    headers = frozenset((str(as_dict(h).get("name", "")).lower(),
                                         str(as_dict(h).get("value"))) for h in as_list(match.get("headers")))
                    by_model = any(name == MODEL_HEADER for name, _ in headers)
                    if by_model and (gw.namespace, gw.name) not in bbr:
                        hit = hit or (f"inference route {route.name} matches the {MODEL_HEADER} header, "
                                      f"but no Body-Based Router EnvoyFilter targets Gateway {gw.name}: the "
                                      "header is never set and the match never holds")
                    for host in hosts:
                        for li, _ls in attached:
                            key = (gw.namespace, gw.name, li, host, path.get("type", "PathPrefix"),
                                   path.get("value", "/"), headers)
                            other = seen.get(key)
                            if other is not None and other is not route:
                                hit = hit or (f"inference route {route.name} matches path "
                                              f"{path.get('value', '/')} on the same gateway and host as "
                                              f"{other.name}, with nothing telling them apart: one shadows "
                                              "the other")
                            seen.setdefault(key, route)
        if hit:
            yield Hit(route, hit, ("spec",))
