"""INF3xx: the inference wiring (InferencePool, endpoint picker, vLLM, LLMInferenceService) end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator

from infergate.policies import Hit, rule
from infergate.policies._common import backend_refs, inference_routes, is_pool_ref
from infergate.policies._examples import stack_variant
from infergate.policies._inference import (
    epp_pods,
    epp_service_resolved,
    main_container,
    model_pods,
    pods_of_service,
    pool_view,
    pools,
    service_target,
)

from infergate.core.findings import Severity
from infergate.core.graph import (
    POOL_GROUPS,
    Graph,
    K8sObject,
    PodModel,
    as_dict,
    as_list,
)
from infergate.synth import profiles

GIE = "https://gateway-api-inference-extension.sigs.k8s.io/"
KSERVE_LLMISVC = (
    "https://kserve.github.io/website/docs/model-serving/generative-inference/llmisvc/llmisvc-overview"
)
VLLM_ARGS = "https://docs.vllm.ai/en/stable/serving/openai_compatible_server.html"
ISTIO_GROUP = "networking.istio.io"


def _hit_pod(pod: PodModel, message: str, *path: str | int) -> Hit:
    return Hit(pod.source, message, (*pod.spec_path, *path) if pod.spec_path or path else ())


# ---- INF301 -----------------------------------------------------------------------------------------
@rule(
    "INF301",
    "pool-selects-no-model-server",
    Severity.ERROR,
    summary="an InferencePool whose selector matches no model-server pod, or whose pods do not expose its "
    "target port",
    rationale="The endpoint picker only ever sees pods the pool selects, on the pool's target "
    "port. A selector "
    "that matches nothing (a label typo, the EPP's labels instead of vLLM's) or a wrong "
    "port leaves "
    "the pool empty: every request fails with 503 'no healthy upstream' although vLLM "
    "is running. "
    "KServe labels its model-server pods `app.kubernetes.io/name`, `app.kubernetes.io/part-of: "
    "llminferenceservice`, `kserve.io/component: workload` and serves on 8000.",
    links=(GIE + "api-types/inferencepool/",),
    fix="Select the model-server pods by the labels they really carry (for KServe: "
    "`kserve.io/component: workload` + `app.kubernetes.io/name: <llmisvc>`), with the port vLLM "
    "listens on.",
    bad=(
        stack_variant(
            "selector: {matchLabels: {app: vllm}}\n  targetPorts",
            "selector: {matchLabels: {app: vlm}}  # <-\n  targetPorts",
        ),
        stack_variant("targetPorts: [{number: 8000}]", "targetPorts: [{number: 8080}]  # <-"),
    ),
    good=(
        """\
# context: stack
""",
    ),
)
def inf301(graph: Graph) -> Iterator[Hit]:
    for pool in pools(graph):
        view = pool_view(pool)
        pods = model_pods(graph, view)
        # pods that match but are no model server (the EPP's labels) are a definite miss; no pod at all may
        # only mean the model server is deployed from outside the tree
        ns = pool.namespace or "default"
        if not pods and (
            graph.pods_matching(ns, view.selector)
            or graph.pods_unresolved(
                ns, view.selector, referrer=pool, path=view.selector_path,
                need="the pool's model-server pods and target port",
            )
        ):
            yield Hit(
                pool,
                f"InferencePool {pool.name} selects no model-server pod in namespace "
                f"{pool.namespace} "
                f"(selector {view.selector})",
                view.selector_path,
            )
            continue
        if not pods:
            continue  # pods outside the tree (open world, or provided): noted, nothing to check
        missing = [port for port in view.target_ports if not any(p.exposes(port) for p in pods)]
        if missing:
            names = ", ".join(sorted({p.name for p in pods}))
            yield Hit(
                pool,
                f"the pods InferencePool {pool.name} selects ({names}) do not expose target port "
                f"{', '.join(map(str, missing))}",
                view.ports_path,
            )


# ---- INF302 -----------------------------------------------------------------------------------------
def _epp_flag_problems(pod: PodModel, pool: K8sObject) -> Iterator[str]:
    container = main_container(pod)
    if container is None:
        return
    expected = {"--pool-name": pool.name, "--pool-namespace": pool.namespace, "--pool-group": pool.group}
    for flag, want in expected.items():
        value = container.flag(flag)
        if value is not None and value != want:
            yield f"{flag} {value!r} but the pool is {want!r}"


@rule(
    "INF302",
    "pool-endpoint-picker-unresolved",
    Severity.ERROR,
    summary="an InferencePool whose extensionRef/endpointPickerRef resolves to no Service "
    "selecting EPP pods on "
    "the EPP gRPC port, or EPP --pool-name/--pool-namespace/--pool-group that do not match it",
    rationale="The gateway asks the endpoint picker (ext_proc, gRPC 9002) for every request. If "
    "the reference "
    "names no Service, the Service selects no EPP pods, or the EPP watches another "
    "pool, requests "
    "fail — or, with `failureMode: FailOpen` (the reference deployment), silently "
    "bypass scheduling "
    "so nobody notices. The reference deployment's own Pattern-3 EPP policy used the "
    "wrong label; "
    "the same class of typo here breaks the data path.",
    links=(GIE + "api-types/inferencepool/", GIE + "guides/"),
    fix="Reference the EPP Service by name and port 9002; select the EPP pods by their labels; "
    "start the EPP "
    "with `--pool-name <pool> --pool-namespace <ns> --pool-group <pool API group>`.",
    bad=(
        """\
# context: stack
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: orphan, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {kind: Service, name: no-such-epp, port: {number: 9002}}  # <-
""",
        """\
# context: stack
# file: epp-watching-another-pool.yaml
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool2, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {kind: Service, name: epp, port: {number: 9002}}  # <-
""",
    ),
    good=(
        """\
# context: stack
""",
    ),
)
def inf302(graph: Graph) -> Iterator[Hit]:
    for pool in pools(graph):
        view = pool_view(pool)
        found = epp_service_resolved(graph, view)
        svc = found.obj if found is not None else None
        if svc is None:
            if found is None or (found.missing and graph.world.closed):
                yield Hit(
                    pool,
                    f"endpoint picker {view.epp_kind} {pool.namespace}/{view.epp_name} is not in the output",
                    view.epp_path,
                )
            continue  # ambiguous, provided or (open world) unknown: noted by the resolution
        index, _ = service_target(svc, view.epp_port)
        if index is None:
            yield Hit(
                pool, f"Service {svc.name} has no port {view.epp_port} (the EPP gRPC port)", view.epp_path
            )
            continue
        pods = epp_pods(graph, view)
        if not pods:
            if pods_of_service(graph, svc) or graph.pods_unresolved(
                svc.namespace or "default", svc.spec.get("selector"), referrer=svc, path=("spec", "selector"),
                need=f"the endpoint-picker pods of InferencePool {pool.name}",
            ):
                yield Hit(
                    pool, f"Service {svc.name} selects no pod serving its port {view.epp_port}", view.epp_path
                )
            continue
        for pod in pods:
            problems = list(_epp_flag_problems(pod, pool))
            if problems:
                yield Hit(
                    pool,
                    f"endpoint picker {pod.name} does not watch this pool: {'; '.join(problems)}",
                    view.epp_path,
                )


# ---- INF303 -----------------------------------------------------------------------------------------
def istio_version(graph: Graph) -> tuple[tuple[int, int] | None, K8sObject | None]:
    """(major, minor) of the Istio that serves the gateways: the sail-operator Istio in the output, else the
    platform's Istio version, else the default of the platform's profile."""
    for istio in graph.of_kind("Istio", "sailoperator.io"):
        parsed = _version(istio.spec.get("version"))
        if parsed:
            return parsed, istio
    platform = graph.platform
    version = _version(getattr(platform, "istio_version", None))
    if version is None and platform is not None and hasattr(platform, "fact"):
        name = platform.fact("profile")
        if name in profiles.names():
            version = _version(profiles.get(name).istio_version)
    return version, None


def _version(value: object) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", str(value or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def pool_api_problem(group: str, version: tuple[int, int]) -> str | None:
    """Why an Istio version cannot route to an InferencePool of ``group`` (the profile table's matrix)."""
    shown = f"Istio {version[0]}.{version[1]}"
    served = profiles.pool_groups_for_istio(f"{version[0]}.{version[1]}")
    if group in served:
        return None
    fits = profiles.profiles_for_pool_group(group)
    needs = "; ".join(f"Istio {' or '.join(p.istio_minors)} (profile {p.name})" for p in fits) or "no Istio"
    if not served:
        return f"{shown} has no InferencePool support ({group} needs {needs})"
    only = ", ".join(sorted(served))
    return f"{shown} serves only {only} InferencePools, not {group} (which needs {needs})"


@rule(
    "INF303",
    "pool-api-mismatch",
    Severity.ERROR,
    summary="a route backend API group different from the pool's, or a pool API the configured "
    "Istio cannot serve (the platform profiles' matrix: x-k8s.io v1alpha2 with Istio 1.26/1.27 and "
    "ENABLE_GATEWAY_API_INFERENCE_EXTENSION; Istio >= 1.28: inference.networking.k8s.io/v1 only)",
    rationale="Istio's InferencePool support is version-coupled: upstream 1.26 has none, 1.27 serves the "
    "x-k8s.io v1alpha2 pool behind the istiod flag "
    "ENABLE_GATEWAY_API_INFERENCE_EXTENSION, 1.28 serves "
    "only the GA inference.networking.k8s.io/v1 pool. A mismatch leaves the route unaccepted "
    "('InferencePool not enabled', 'InferencePool Not Created') — the reference "
    "deployment pinned "
    "OSSM 3.1 / Istio 1.26.6 precisely to serve KServe v0.15's v1alpha2 pool. The matrix is the "
    "platform profile table (infergate/synth/data/profiles.yaml) that synth and validate read too; "
    "without an Istio in the output or the environment, the profile's default Istio is assumed.",
    links=(
        "https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api-inference-extension/",
        GIE + "api-types/inferencepool/",
    ),
    fix="Use the pool API group the route names (and the Istio version serves: switch the environment's "
    "`profile` to move pool API and Istio together); set "
    '`values.pilot.env.ENABLE_GATEWAY_API_INFERENCE_EXTENSION: "true"` in the sail `Istio`.',
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
    - {group: inference.networking.x-k8s.io, kind: InferencePool, name: pool, port: 8000}  # <-
""",
        """\
# context: stack, gateway
apiVersion: sailoperator.io/v1
kind: Istio
metadata: {name: default}
spec:
  namespace: istio-system
  version: v1.27.3
  values:
    pilot:
      env: {PILOT_ENABLE_GATEWAY_API: "true"}  # <-
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: inference-gateway, namespace: gateway}]
  rules:
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}  # <-
""",
    ),
    good=(
        """\
# context: stack, gateway
apiVersion: sailoperator.io/v1
kind: Istio
metadata: {name: default}
spec:
  namespace: istio-system
  version: v1.28.0
  values:
    pilot:
      env: {ENABLE_GATEWAY_API_INFERENCE_EXTENSION: "true"}
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
def inf303(graph: Graph) -> Iterator[Hit]:
    version, istio = istio_version(graph)
    routes = inference_routes(graph, include_virtual=True)
    for route in routes:
        for path, ref in backend_refs(route):
            if not is_pool_ref(ref):
                continue
            group, name = str(ref.get("group")), str(ref.get("name"))
            ns = str(ref.get("namespace") or route.namespace)
            if graph.get("InferencePool", ns, name, group) is None:
                other = [g for g in POOL_GROUPS if g != group and graph.get("InferencePool", ns, name, g)]
                if other:
                    yield Hit(
                        route,
                        f"backendRef names InferencePool {name} in group {group}, but the pool is {other[0]}",
                        path,
                    )
                    continue
            problem = pool_api_problem(group, version) if version else None
            if route.virtual and version and version >= (1, 28):
                problem = None  # KServe moves its own route to the v1 pool when the gateway rejects v1alpha2
            if problem:
                yield Hit(route, f"backendRef InferencePool {name}: {problem}", path)
    if istio is not None and routes:
        env = as_dict(as_dict(as_dict(istio.spec.get("values")).get("pilot")).get("env"))
        if str(env.get("ENABLE_GATEWAY_API_INFERENCE_EXTENSION", "")).lower() != "true":
            has_env = "env" in as_dict(as_dict(istio.spec.get("values")).get("pilot"))
            yield Hit(
                istio,
                'inference routes need ENABLE_GATEWAY_API_INFERENCE_EXTENSION="true" '
                "in istiod's "
                "env (values.pilot.env)",
                ("spec", "values", "pilot", "env") if has_env else ("spec",),
            )


# ---- INF304 -----------------------------------------------------------------------------------------
VERBS = {"get", "list", "watch"}


def _rules_for_sa(graph: Graph, ns: str, sa: str) -> list[dict] | None:
    """The RBAC rules bound to the ServiceAccount; None when a bound role is not known (provided, duplicated,
    or outside an open-world tree): what it grants cannot be checked."""
    rules: list[dict] = []
    bindings = [
        *graph.in_namespace("RoleBinding", ns, "rbac.authorization.k8s.io"),
        *graph.of_kind("ClusterRoleBinding", "rbac.authorization.k8s.io"),
    ]
    for binding in bindings:
        subjects = [as_dict(s) for s in as_list(binding.obj.get("subjects"))]
        if not any(
            s.get("kind") == "ServiceAccount"
            and s.get("name") == sa
            and (s.get("namespace") or binding.namespace) == ns
            for s in subjects
        ):
            continue
        ref = as_dict(binding.obj.get("roleRef"))
        kind = "Role" if ref.get("kind") == "Role" else "ClusterRole"
        found = graph.resolve(
            kind, binding.namespace if kind == "Role" else None, str(ref.get("name")),
            "rbac.authorization.k8s.io", referrer=binding, path=("roleRef",),
            need="what the role grants the endpoint picker",
        )
        if found.obj is not None:
            rules.extend(as_dict(r) for r in as_list(found.obj.obj.get("rules")))
        elif not (found.missing and graph.world.closed):
            return None
    return rules


def _allows(rules: list[dict], group: str, resource: str) -> bool:
    granted: set[str] = set()
    for r in rules:
        groups = [str(g) for g in as_list(r.get("apiGroups"))]
        resources = [str(x) for x in as_list(r.get("resources"))]
        if (group in groups or "*" in groups) and (resource in resources or "*" in resources):
            verbs = {str(v) for v in as_list(r.get("verbs"))}
            granted |= VERBS if "*" in verbs else verbs
    return granted >= VERBS


@rule(
    "INF304",
    "epp-rbac-missing",
    Severity.ERROR,
    summary="an EPP ServiceAccount without get/list/watch on pods and on the pool's inferencepools (and "
    "inferencemodels/inferenceobjectives)",
    rationale="The endpoint picker builds its view of the pool from the API server: it watches "
    "pods and its "
    "InferencePool (and the objectives/models). Without those verbs it logs `forbidden` "
    "and never "
    "becomes ready; the gateway then fails (FailClose) or bypasses it (FailOpen). "
    "KServe's own EPP role "
    "grants exactly pods + inferencepools (both groups) + inferenceobjectives.",
    links=(GIE + "guides/", "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"),
    fix="Bind the EPP's ServiceAccount to a Role with `get, list, watch` on `pods`, on "
    "`inferencepools` of the "
    "pool's API group, and on `inferenceobjectives`/`inferencemodels` (inference.networking.x-k8s.io).",
    bad=(
        """\
# context: stack
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
      serviceAccountName: epp2  # <-
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
        args: [--pool-name=pool2, --pool-namespace=demo, --pool-group=inference.networking.k8s.io,
               --secure-serving=false]
        ports: [{name: grpc, containerPort: 9002}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 250m, memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: epp2, namespace: demo}
spec:
  selector: {app: epp2}
  ports: [{name: grpc, port: 9002, targetPort: grpc, appProtocol: http2}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: epp2, namespace: demo}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: epp2, namespace: demo}
rules:  # the x-k8s.io group, but the pool is inference.networking.k8s.io
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
- {apiGroups: [inference.networking.x-k8s.io], resources: [inferencepools, inferenceobjectives],
   verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: epp2, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: epp2}
subjects: [{kind: ServiceAccount, name: epp2, namespace: demo}]
""",
    ),
    good=(
        """\
# context: stack
""",
    ),
)
def inf304(graph: Graph) -> Iterator[Hit]:
    for pool in pools(graph):
        view = pool_view(pool)
        for pod in epp_pods(graph, view):
            if pod.origin != "manifest":
                continue  # KServe creates the managed EPP's Role itself
            rules = _rules_for_sa(graph, pod.namespace, pod.service_account)
            if rules is None:
                continue  # a bound role outside the tree: noted by the resolution
            missing = [
                f"{g or 'core'}/{r}"
                for g, r in (("", "pods"), (pool.group, "inferencepools"))
                if not _allows(rules, g, r)
            ]
            if not (
                _allows(rules, POOL_GROUPS[0], "inferenceobjectives")
                or _allows(rules, POOL_GROUPS[0], "inferencemodels")
            ):
                missing.append(f"{POOL_GROUPS[0]}/inferenceobjectives or inferencemodels")
            if missing:
                yield _hit_pod(
                    pod,
                    f"ServiceAccount {pod.service_account} of endpoint picker "
                    f"{pod.name} lacks "
                    f"get/list/watch on {', '.join(missing)}",
                    "serviceAccountName",
                )
