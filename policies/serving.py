"""INF305-INF309: TLS consistency of EPP and vLLM, the LLMInferenceService router, model ids, secrets."""

from __future__ import annotations

from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._common import backend_refs, inference_routes, is_pool_ref, listeners_for
from infergate.policies._examples import stack_variant
from infergate.policies._inference import (
    destination_rules_for,
    dr_tls_mode,
    epp_pods,
    epp_secure,
    epp_service,
    main_container,
    model_pods,
    pool_view,
    pools,
    served_model_ids,
    serves_tls,
    services_selecting,
)

from infergate.core import kserve_presets
from infergate.core.findings import Severity
from infergate.core.graph import (
    GATEWAY_GROUP,
    KSERVE_GROUP,
    POOL_GROUPS,
    Graph,
    K8sObject,
    PodModel,
    as_dict,
    as_list,
)

GIE = "https://gateway-api-inference-extension.sigs.k8s.io/"
ISTIO_DR = "https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings"
KSERVE_LLMISVC = (
    "https://kserve.github.io/website/docs/model-serving/generative-inference/llmisvc/llmisvc-overview"
)
VLLM_SERVE = "https://docs.vllm.ai/en/stable/cli/serve.html"


def _istio_gateway(graph: Graph, gw: K8sObject) -> bool:
    cls = str(gw.spec.get("gatewayClassName", ""))
    gwc = graph.get("GatewayClass", None, cls, GATEWAY_GROUP)
    if gwc is not None:
        return "istio.io" in str(gwc.spec.get("controllerName", ""))
    return "istio" in cls


def _pools_behind_istio(graph: Graph) -> set[tuple[str | None, str]]:
    """(namespace, name) of pools that an inference route attached to an Istio Gateway sends traffic to."""
    found: set[tuple[str | None, str]] = set()
    for route in inference_routes(graph, include_virtual=True):
        istio = False
        for ref in as_list(route.spec.get("parentRefs")):
            ref = as_dict(ref)
            gw = graph.resolve(
                "Gateway", ref.get("namespace") or route.namespace, ref.get("name", ""), GATEWAY_GROUP,
                referrer=route, need="whether an Istio gateway carries the route",
            ).obj
            istio = istio or (gw is not None and bool(listeners_for(gw, ref)) and _istio_gateway(graph, gw))
        if istio:
            for _, b in backend_refs(route):
                if is_pool_ref(b):
                    found.add((str(b.get("namespace") or route.namespace), str(b.get("name"))))
    return found


def _injected(graph: Graph, pod: PodModel) -> bool:
    explicit = pod.annotations.get("sidecar.istio.io/inject") or pod.labels.get("sidecar.istio.io/inject")
    if explicit is not None:
        return explicit.lower() == "true"
    ns = graph.namespaces.get(pod.namespace)
    labels = ns.labels if ns else {}
    return labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels


# ---- INF305 -----------------------------------------------------------------------------------------
@rule(
    "INF305",
    "epp-tls-behind-istio",
    Severity.ERROR,
    summary="a TLS-serving EPP (--secure-serving) behind an Istio gateway without a "
    "DestinationRule (tls SIMPLE) "
    "for its host, or with sidecar injection",
    rationale="The endpoint picker serves gRPC over TLS by default (`--secure-serving` defaults "
    "to true). Istio's "
    "gateway connects to it in plaintext unless a DestinationRule originates TLS (mode "
    "SIMPLE), so "
    "ext_proc fails with TLS errors and the pool's failure mode decides between outage "
    "and silent "
    "bypass. KServe writes such a DestinationRule for the EPPs it manages; a hand-made "
    "EPP needs one "
    "too. An injected sidecar in front of a TLS-serving EPP breaks the handshake the "
    "same way (the "
    "reference deployment's Pattern-3 ALPN/TLS errors).",
    links=(ISTIO_DR, GIE + "guides/"),
    fix="Add `DestinationRule {host: <epp-service>.<ns>.svc.cluster.local, trafficPolicy: {tls: "
    "{mode: SIMPLE, "
    "insecureSkipVerify: true}}}` (or a CA), and keep sidecars off the EPP (`sidecar.istio.io/inject: "
    '"false"`) — or run the EPP with `--secure-serving=false`.',
    bad=(
        """\
# context: stack
# file: secure-epp.yaml
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: inference-gateway, namespace: demo}
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
metadata: {name: gateway-tls, namespace: demo}
spec: {secretName: gateway-tls, issuerRef: {kind: ClusterIssuer, name: ca-issuer}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool2, port: 8000}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool2, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {kind: Service, name: epp2, port: {number: 9002}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: epp2, namespace: demo}
spec:
  selector: {matchLabels: {app: epp2}}
  template:
    metadata: {labels: {app: epp2}}
    spec:
      serviceAccountName: epp
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
        args: [--pool-name=pool2, --pool-namespace=demo, --pool-group=inference.networking.k8s.io]
        ports: [{name: grpc, containerPort: 9002}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 250m, memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata:  # <-
  name: epp2
  namespace: demo
spec:
  selector: {app: epp2}
  ports: [{name: grpc, port: 9002, targetPort: grpc, appProtocol: http2}]
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
        "# context: gateway\n"
        + stack_variant("--secure-serving=false]", "--secure-serving]")
        + """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: epp-tls, namespace: demo}
spec:
  host: epp.demo.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true}}
---
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
def inf305(graph: Graph) -> Iterator[Hit]:
    behind = _pools_behind_istio(graph)
    seen: set[int] = set()
    for pool in pools(graph, include_virtual=True):
        if (pool.namespace, pool.name) not in behind:
            continue
        view = pool_view(pool)
        svc = epp_service(graph, view)
        for pod in epp_pods(graph, view):
            container = main_container(pod)
            if container is None or not epp_secure(container) or id(pod) in seen:
                continue
            seen.add(id(pod))
            if _injected(graph, pod):
                yield Hit(
                    pod.source,
                    f"endpoint picker {pod.name} serves TLS and gets an Istio "
                    "sidecar injected; "
                    "disable injection for it",
                    ("metadata",),
                )
            if pod.origin != "manifest" or svc is None or svc.virtual:
                continue  # KServe writes the DestinationRule of the EPPs it manages
            if not any(dr_tls_mode(dr) == "SIMPLE" for dr in destination_rules_for(graph, svc)):
                yield Hit(
                    svc,
                    f"endpoint picker {pod.name} serves TLS (--secure-serving) behind an "
                    "Istio gateway, "
                    f"but no DestinationRule with tls.mode SIMPLE targets {svc.name}.{svc.namespace}",
                    ("metadata",),
                )


# ---- INF306 -----------------------------------------------------------------------------------------
_TLS_APP_PROTOCOLS = {"https": True, "http": False, "h2c": False, "kubernetes.io/h2c": False, "http2": False}


def _model_port(pod: PodModel) -> tuple[int | None, set]:
    container = main_container(pod)
    ports = container.ports if container else []
    numbers = {p.number for p in ports} | {p.name for p in ports if p.name}
    return (ports[0].number if ports else None), numbers


@rule(
    "INF306",
    "vllm-tls-mismatch",
    Severity.ERROR,
    summary="vLLM TLS mode (--ssl-certfile) disagreeing with its probes' scheme, its Service "
    "appProtocol, its "
    "DestinationRule, or the EPP --model-server-metrics-scheme",
    rationale="Whether vLLM serves HTTPS is one decision that five places must agree on. The reference "
    "deployment overrode KServe's args so vLLM served plain HTTP, while its probes said HTTPS, "
    "KServe's workload Service keeps `appProtocol: https` (hard-coded) and its DestinationRules "
    "originate TLS: probes failed, and the gateway's TLS to vLLM broke ('Secret is not "
    "supplied by "
    "SDS'); the EPP scraped metrics over https from an http server and scheduled blind.",
    links=(
        ISTIO_DR,
        "https://kubernetes.io/docs/concepts/services-networking/service/#application-protocol",
        VLLM_SERVE,
    ),
    fix="Pick one mode. Under KServe keep TLS: `--ssl-certfile/--ssl-keyfile "
    "/var/run/kserve/tls/tls.{crt,key}`, "
    "probes `scheme: HTTPS`, EPP `--model-server-metrics-scheme https`. Plain HTTP needs HTTP probes, "
    "`appProtocol: http` and no TLS-originating DestinationRule.",
    bad=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}  # <-
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main  # <- KServe's preset liveness probe (HTTPS) stays
      image: vllm/vllm-openai:v0.10.1
      args: [--model=/mnt/models, --served-model-name=Qwen/Qwen2.5-3B-Instruct]
      readinessProbe:
        httpGet: {path: /health, port: 8000, scheme: HTTPS}  # <-
      resources: {requests: {cpu: "2", memory: 8Gi}}
""",
    ),
    good=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.10.1
      args: [--model=/mnt/models, --served-model-name=Qwen/Qwen2.5-3B-Instruct,
             --ssl-certfile=/var/run/kserve/tls/tls.crt, --ssl-keyfile=/var/run/kserve/tls/tls.key]
      readinessProbe:
        httpGet: {path: /health, port: 8000, scheme: HTTPS}
      resources: {requests: {cpu: "2", memory: 8Gi}}
""",
        """\
# context: stack
""",
    ),
)
def inf306(graph: Graph) -> Iterator[Hit]:
    seen: set[tuple[int, str]] = set()

    def once(target: K8sObject, message: str, path: tuple) -> Iterator[Hit]:
        if (id(target), message) not in seen:
            seen.add((id(target), message))
            yield Hit(target, message, path)

    for pod in graph.pods:
        if pod.role != "model-server":
            continue
        container = main_container(pod)
        if container is None:
            continue
        tls = serves_tls(container)
        mode = "HTTPS" if tls else "plain HTTP"
        for kind, probe in sorted(container.probes.items()):
            http = as_dict(probe.get("httpGet"))
            if not http:
                continue
            scheme = str(http.get("scheme", "HTTP")).upper()
            if (scheme == "HTTPS") != tls:
                key = f"{kind}Probe"
                path = (*container.path, key, "httpGet", "scheme") if key in container.raw else container.path
                yield from once(
                    pod.source, f"vLLM in {pod.name} serves {mode} but its {kind} probe uses {scheme}", path
                )
        _, ports = _model_port(pod)
        for svc in services_selecting(graph, pod):
            for i, port in enumerate(as_list(svc.spec.get("ports"))):
                port = as_dict(port)
                if port.get("targetPort", port.get("port")) not in ports:
                    continue
                expected = _TLS_APP_PROTOCOLS.get(str(port.get("appProtocol", "")).lower())
                if expected is not None and expected != tls and svc.virtual and any(
                        dr_tls_mode(dr) is not None and (dr_tls_mode(dr) in ("SIMPLE", "MUTUAL")) == tls
                        for dr in destination_rules_for(graph, svc)):
                    expected = None  # a DestinationRule of the output decides what Envoy speaks to it
                if expected is not None and expected != tls:
                    yield from once(
                        svc,
                        f"Service {svc.name} declares appProtocol "
                        f"{port.get('appProtocol')} for "
                        f"vLLM in {pod.name}, which serves {mode}"
                        + (f" (KServe writes {port.get('appProtocol')} for this release and TLS setting: "
                           "make vLLM match, or set TLS with a DestinationRule)" if svc.virtual else ""),
                        ("spec", "ports", i, "appProtocol"),
                    )
            if svc.virtual:
                continue
            for dr in destination_rules_for(graph, svc):
                dr_mode = dr_tls_mode(dr)
                if (dr_mode in ("SIMPLE", "MUTUAL") and not tls) or (dr_mode == "DISABLE" and tls):
                    yield from once(
                        dr,
                        f"DestinationRule {dr.name} sets tls.mode {dr_mode} for "
                        f"{svc.name}, but vLLM "
                        f"in {pod.name} serves {mode}",
                        ("spec", "trafficPolicy", "tls", "mode"),
                    )
    for pool in pools(graph, include_virtual=True):
        view = pool_view(pool)
        servers = model_pods(graph, view)
        modes = {serves_tls(c) for p in servers if (c := main_container(p)) is not None}
        if len(modes) != 1:
            continue
        tls = modes.pop()
        for epp in epp_pods(graph, view):
            container = main_container(epp)
            if container is None:
                continue
            scheme = (container.flag("--model-server-metrics-scheme") or "http").lower()
            if (scheme == "https") != tls:
                yield from once(
                    epp.source,
                    f"endpoint picker {epp.name} scrapes vLLM metrics over "
                    f"{scheme}, but vLLM "
                    f"serves {'HTTPS' if tls else 'plain HTTP'}",
                    (*container.path, "args") if "args" in container.raw else container.path,
                )


def _ref_missing(
    graph: Graph, kind: str, ns: str | None, name: str, group: str | tuple[str, ...], svc: K8sObject,
    path: tuple[str | int, ...], need: str,
) -> bool:
    """A reference of ``svc`` to report: unknown in a closed world (open world / ambiguous: noted)."""
    found = graph.resolve(kind, ns, name, group, referrer=svc, path=path, need=need)
    return found.missing and graph.world.closed


# ---- INF307 -----------------------------------------------------------------------------------------
@rule(
    "INF307",
    "llmisvc-router-invalid",
    Severity.ERROR,
    summary="an LLMInferenceService router that KServe rejects or never reconciles (refs that name "
    "nothing; baseRefs to configs not provided)",
    rationale="KServe resolves `spec.router` at reconcile time, not at admission: a route/gateway/pool "
    "ref naming nothing, or a baseRef to a missing LLMInferenceServiceConfig, leaves the service "
    "`Ready=False` (RouterReady/PresetsCombined) — the apply succeeds and nothing serves. A scheduler "
    "without `router.route` is not one of these: KServe still creates the EPP and the InferencePool and "
    "only skips the managed HTTPRoute (the user routes to the pool themselves, e.g. KServe's gpt-oss "
    "sample with an AIGatewayRoute; `reconcileHTTPRoutes` in KServe's llmisvc router.go).",
    links=(KSERVE_LLMISVC,),
    fix="Make every ref name an object of the output (or a KServe well-known config); use either refs "
    "or an inline spec, not both.",
    bad=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:  # KServe's preset gives vLLM no resources
    containers: [{name: main, resources: {requests: {cpu: "2", memory: 8Gi}}}]
  baseRefs:
  - {name: kserve-config-llm-tpu}  # <-
  router:
    scheduler: {}
    gateway:
      refs:
      - {name: no-such-gateway, namespace: gateway}  # <-
""",
    ),
    good=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers: [{name: main, resources: {requests: {cpu: "2", memory: 8Gi}}}]
  baseRefs:
  - {name: kserve-config-llm-template}
""",
    ),
)
def inf307(graph: Graph) -> Iterator[Hit]:
    configs = {c.name for c in graph.of_kind("LLMInferenceServiceConfig", KSERVE_GROUP)}
    for svc in graph.of_kind("LLMInferenceService", KSERVE_GROUP):
        spec, ns = svc.spec, svc.namespace
        # the well-known presets of the release serving this version (v0.20 adds tracing, latency predictor)
        presets = kserve_presets.preset_set(graph.kserve_resolution(svc).profile).configs
        for i, ref in enumerate(as_list(spec.get("baseRefs"))):
            name = str(as_dict(ref).get("name", ""))
            # KServe looks a baseRef up in the service's namespace, then in its own (system) namespace
            if name not in configs and name not in presets and _ref_missing(
                graph, "LLMInferenceServiceConfig", ns, name, KSERVE_GROUP, svc, ("spec", "baseRefs", i),
                "the preset the service builds on",
            ):
                yield Hit(
                    svc,
                    f"baseRef {name!r} is neither an LLMInferenceServiceConfig in the "
                    "output nor one the "
                    "platform provides",
                    ("spec", "baseRefs", i),
                )
        router = spec.get("router")
        if not isinstance(router, dict):
            continue
        # a scheduler without a route is valid: KServe reconciles the EPP and pool and skips only the
        # managed HTTPRoute (bring-your-own route to the pool)
        route, scheduler = router.get("route"), router.get("scheduler")
        http = as_dict(as_dict(route).get("http"))
        if as_list(http.get("refs")) and http.get("spec"):
            yield Hit(
                svc,
                "router.route.http sets both refs and spec (mutually exclusive)",
                ("spec", "router", "route"),
            )
        for i, ref in enumerate(as_list(http.get("refs"))):
            name = str(as_dict(ref).get("name", ""))
            path = ("spec", "router", "route", "http", "refs", i)
            if _ref_missing(graph, "HTTPRoute", ns, name, GATEWAY_GROUP, svc, path, "the route serving it"):
                yield Hit(
                    svc,
                    f"router.route.http.refs names HTTPRoute {ns}/{name}, which is not in the output",
                    ("spec", "router", "route", "http", "refs", i),
                )
        for i, ref in enumerate(as_list(as_dict(router.get("gateway")).get("refs"))):
            ref = as_dict(ref)
            gw_ns, name = str(ref.get("namespace") or ns), str(ref.get("name", ""))
            path = ("spec", "router", "gateway", "refs", i)
            if _ref_missing(graph, "Gateway", gw_ns, name, GATEWAY_GROUP, svc, path, "the gateway it uses"):
                yield Hit(
                    svc,
                    f"router.gateway.refs names Gateway {gw_ns}/{name}, which is not in the output",
                    ("spec", "router", "gateway", "refs", i),
                )
        pool = as_dict(as_dict(scheduler).get("pool"))
        pool_ref = as_dict(pool.get("ref")).get("name")
        if pool_ref and pool.get("spec"):
            yield Hit(
                svc,
                "router.scheduler.pool sets both ref and spec (mutually exclusive)",
                ("spec", "router", "scheduler", "pool"),
            )
        if pool_ref and _ref_missing(
            graph, "InferencePool", ns, str(pool_ref), POOL_GROUPS, svc,
            ("spec", "router", "scheduler", "pool", "ref"),
            "the pool it schedules on",
        ):
            yield Hit(
                svc,
                f"router.scheduler.pool.ref names InferencePool {ns}/{pool_ref}, which is not in the output",
                ("spec", "router", "scheduler", "pool", "ref"),
            )


# ---- INF308 -----------------------------------------------------------------------------------------
@rule(
    "INF308",
    "served-model-name-mismatch",
    Severity.WARNING,
    summary="vLLM serving the model under an id other than spec.model.name / InferenceModel modelName",
    rationale="Clients, the InferenceModel and the EPP address the model by name "
    "(`Qwen/Qwen2.5-3B-Instruct`); "
    "vLLM answers only to its served ids, which default to the model path. The "
    "reference deployment "
    "ran vLLM without `--served-model-name`, so it answered to `/mnt/models` only and "
    "its own test "
    "scripts' requests for `Qwen/Qwen2.5-3B-Instruct` got 'model does not exist'.",
    links=(VLLM_SERVE, GIE + "api-types/inferencemodel/"),
    fix="Start vLLM with `--served-model-name <spec.model.name>` (more names may follow, e.g. "
    "`/mnt/models` "
    "for old clients).",
    bad=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.10.1
      args:  # <-
      - >-
        python3 -m vllm.entrypoints.openai.api_server --model=/mnt/models
        --ssl-certfile=/var/run/kserve/tls/tls.crt
      resources: {requests: {cpu: "2", memory: 8Gi}}
""",
    ),
    good=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.10.1
      args:
      - >-
        python3 -m vllm.entrypoints.openai.api_server --model=/mnt/models
        --ssl-certfile=/var/run/kserve/tls/tls.crt --served-model-name Qwen/Qwen2.5-3B-Instruct /mnt/models
      resources: {requests: {cpu: "2", memory: 8Gi}}
""",
    ),
)
def inf308(graph: Graph) -> Iterator[Hit]:
    for pod in graph.pods:
        if pod.origin != "kserve" or pod.role != "model-server":
            continue
        # the name KServe uses: the service's, else a baseRef's, else the object's own (resolved spec)
        wanted = as_dict(graph.kserve_resolution(pod.source).spec.get("model")).get("name")
        container = main_container(pod)
        if not isinstance(wanted, str) or container is None:
            continue
        served = served_model_ids(container)
        if served is not None and wanted not in served:
            path = (*container.path, "args") if "args" in container.raw else container.path
            own = as_dict(pod.source.spec.get("model")).get("name")
            how = ("" if own == wanted else " (KServe's default: the object's name)"
                   if wanted == pod.source.name else " (from a baseRef)")
            yield Hit(pod.source, f"vLLM serves {', '.join(served)} but spec.model.name is {wanted!r}{how}",
                      path)
    for im in graph.of_kind("InferenceModel", POOL_GROUPS[0]):
        wanted = im.spec.get("modelName")
        ref = as_dict(im.spec.get("poolRef"))
        pool = graph.resolve(
            "InferencePool", im.namespace, str(ref.get("name", "")), str(ref.get("group", POOL_GROUPS[0])),
            referrer=im, path=("spec", "poolRef"), need="the model names its pool's vLLM serves",
        ).obj
        if not isinstance(wanted, str) or pool is None:
            continue
        for pod in model_pods(graph, pool_view(pool)):
            container = main_container(pod)
            served = served_model_ids(container) if container else None
            if served is not None and wanted not in served:
                yield Hit(
                    im,
                    f"InferenceModel asks for {wanted!r} but vLLM in {pod.name} serves {', '.join(served)}",
                    ("spec", "modelName"),
                )
                break


# ---- INF309 -----------------------------------------------------------------------------------------
def _secret_exists(graph: Graph, ns: str, name: str, pod: PodModel | None = None,
                   path: tuple[str | int, ...] = ()) -> bool:
    """False only for a Secret to report: not in the tree, not issued, not provided, in a closed world."""
    if graph.get("Secret", ns, name, "") is not None:
        return True
    issued = graph.cache.setdefault(
        "issued_secrets",
        {
            (c.namespace, str(c.spec.get("secretName")))
            for c in graph.of_kind("Certificate", "cert-manager.io")
        },
    )
    if (ns, name) in issued:
        return True
    if pod is None:
        return False
    found = graph.resolve(
        "Secret", ns, name, "", referrer=pod.source, path=path, need="that the Secret exists"
    )
    return not (found.missing and graph.world.closed)


@rule(
    "INF309",
    "secret-not-provided",
    Severity.WARNING,
    summary="secretKeyRef / imagePullSecrets naming a Secret neither in the output nor declared as "
    "pre-provisioned",
    rationale="Secrets are created out of band, so nothing checks their names: the reference deployment's "
    "docs disagreed (`hf-token` vs `huggingface-token`, `redhat-pull-secret` vs "
    "`11009103-jhull-svc-pull-secret`) and pods failed with CreateContainerConfigError / "
    "ErrImagePull. Declaring the names the platform provides lets every reference be checked.",
    links=("https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets",),
    fix="Use the Secret name the platform really provides, and declare it in the environment "
    "(pre-provisioned secrets) or the lint config (`[tool.infergate.lint.platform] provided-secrets`).",
    bad=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.10.1
      env:
      - name: HF_TOKEN
        valueFrom: {secretKeyRef: {name: huggingface-token, key: HF_TOKEN}}  # <-
      resources: {requests: {cpu: "2", memory: 8Gi}}
    imagePullSecrets:
    - {name: redhat-pull-secret}  # <-
""",
    ),
    good=(
        """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.10.1
      env:
      - name: HF_TOKEN
        valueFrom: {secretKeyRef: {name: hf-token, key: HF_TOKEN}}
      resources: {requests: {cpu: "2", memory: 8Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: hf-token, namespace: demo}
type: Opaque
""",
    ),
)
def inf309(graph: Graph) -> Iterator[Hit]:
    for pod in graph.pods:
        if pod.origin == "istio":
            continue
        for container in pod.all_containers:
            for i, env in enumerate(container.env):
                ref = as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef"))
                name = ref.get("name")
                path = (*container.path, "env", i, "valueFrom", "secretKeyRef", "name")
                if name and not ref.get("optional") \
                        and not _secret_exists(graph, pod.namespace, str(name), pod, path):
                    yield Hit(
                        pod.source,
                        f"{container.name} reads Secret {pod.namespace}/{name}, "
                        "which is neither "
                        "in the output nor declared as provided",
                        (*container.path, "env", i, "valueFrom", "secretKeyRef", "name"),
                    )
            for i, env_from in enumerate(as_list(container.raw.get("envFrom"))):
                ref = as_dict(as_dict(env_from).get("secretRef"))
                name = ref.get("name")
                path = (*container.path, "envFrom", i, "secretRef", "name")
                if name and not ref.get("optional") \
                        and not _secret_exists(graph, pod.namespace, str(name), pod, path):
                    yield Hit(
                        pod.source,
                        f"{container.name} loads Secret {pod.namespace}/{name}, "
                        "which is neither "
                        "in the output nor declared as provided",
                        (*container.path, "envFrom", i, "secretRef", "name"),
                    )
        for i, ref in enumerate(as_list(pod.spec.get("imagePullSecrets"))):
            name = as_dict(ref).get("name")
            path = (*pod.spec_path, "imagePullSecrets", i, "name")
            if name and not _secret_exists(graph, pod.namespace, str(name), pod, path):
                yield Hit(
                    pod.source,
                    f"image pull Secret {pod.namespace}/{name} is neither in the "
                    "output nor "
                    "declared as provided",
                    (*pod.spec_path, "imagePullSecrets", i, "name"),
                )
