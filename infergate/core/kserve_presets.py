"""What KServe really runs for an LLMInferenceService: the user's spec merged over the well-known presets.

The llmisvc controller (``pkg/controller/llmisvc/config_merge.go`` at opendatahub-io/kserve release-v0.15,
``pkg/controller/v1alpha2/llmisvc/config_merge.go`` at kserve/kserve v0.20.0) resolves each service as

1. the spec merged with its ``spec.baseRefs`` (only to learn which components are enabled);
2. the applicable well-known ``LLMInferenceServiceConfig`` presets (``well_known_names``), then the baseRefs
   in order, then the service's own spec, each strategic-merge-patched over the previous result (a patch
   built from the zero spec to the override, so unset fields never erase the base);
3. Go ``text/template`` over the result (``{{ .Spec.Model.Name }}``, ``{{ ChildName ... }}``...).

Pod rules must judge that result, not the user's fragment: the presets add the hardened securityContext,
probes, volumes and (for the endpoint picker) resources. Which presets: those of the platform profile that
serves the object (``dist/<env>``: the environment's profile; elsewhere the object's apiVersion picks it:
``v1alpha1`` -> odh-v0.15, ``v1alpha2`` -> upstream-2026, and the resolution says it was assumed).

KServe's GlobalConfig (TLS, default gateway) is a cluster setting: see ``global_config`` for where it is
read from. Not modelled: the ODH overlay's other patches (only its images of vLLM, the scheduler and the
routing sidecar are applied), pipeline-parallel presets (KServe names them but ships none: the controller
fails, so nothing is merged), the ``kserve-config-llm-tokenizer`` preset of later releases,
``shutdownTimeout``/``kvTransferConfig`` template functions (rendered as their default / empty), and
versioned config names (``LLM_INFERENCE_SERVICE_VERSIONED_CONFIG``): the presets are looked up by their plain
names. (The pods of ``worker`` are the graph's: infergate/core/graph.py, infergate/synth/multihost.py.)
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

PROFILE_BY_API_VERSION = {"v1alpha1": "odh-v0.15", "v1alpha2": "upstream-2026"}
CONFIG_PREFIX = "kserve-"
# Images the ODH overlay (config/overlays/odh: params.env, per SOURCES.md of ../shared/kserve) patches into
# the presets on install: vLLM of every workload preset, the scheduler, the decode routing sidecar.
ODH_LLM_IMAGE = ("registry.redhat.io/rhaiis/vllm-cuda-rhel9@sha256:"
                 "fc68d623d1bfc36c8cb2fe4a71f19c8578cfb420ce8ce07b20a02c1ee0be0cf3")
ODH_EPP_IMAGE = "quay.io/opendatahub/llm-d-inference-scheduler:release-v0.4"
ODH_SIDECAR_IMAGE = "quay.io/opendatahub/llm-d-routing-sidecar:release-v0.4"
ODH_PROFILE = "odh-v0.15"

# Strategic merge keys of the Kubernetes types inside an LLMInferenceServiceSpec (k8s.io/api/core/v1
# ``patchMergeKey`` tags). Any other list is replaced whole, as SMP does for lists without a strategy.
_POD_LIST_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "topologySpreadConstraints": "topologyKey",
}
_CONTAINER_LIST_KEYS = {
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "resizePolicy": "resourceName",
}
# Where pod specs live in an LLMInferenceServiceSpec (dotted path inside ``spec``).
POD_SPEC_PATHS = ("template", "worker", "prefill.template", "prefill.worker", "router.scheduler.template")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def merge_key(value: Any) -> Any:
    """A merge key as a dict key (user input: an unhashable key matches nothing)."""
    try:
        hash(value)
    except TypeError:
        return None
    return value


# ---- preset files ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PresetSet:
    profile: str
    configs: Mapping[str, dict[str, Any]]  # config name -> its spec
    unavailable: tuple[str, ...] = ()  # lock entries of the profile that are not in the cache


@lru_cache(maxsize=4)
def preset_set(profile: str) -> PresetSet:
    """The well-known presets a platform profile installs (lock entries of its ``presets:``, from the cache
    ``infergate crds sync`` fills). A missing file is reported by name, never guessed."""
    from infergate.crds import lockfile
    from infergate.synth import profiles

    try:
        names = profiles.get(profile).presets
    except KeyError:
        return PresetSet(profile, {}, ())
    by_name = {e.name: e for e in lockfile.read_lock() if e.kind == "preset"}
    configs: dict[str, dict[str, Any]] = {}
    unavailable = []
    for name in names:
        entry = by_name.get(name)
        if entry is None or not lockfile.is_cached(entry):
            unavailable.append(name)
            continue
        try:
            doc = yaml.load(lockfile.cached_file(entry).read_text(encoding="utf-8"),  # C loader: safe, fast
                            Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, yaml.YAMLError):
            unavailable.append(name)
            continue
        if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
            spec = _odh_overlay(doc["spec"]) if profile == ODH_PROFILE else doc["spec"]
            configs[str(doc.get("metadata", {}).get("name", ""))] = spec
    return PresetSet(profile, configs, tuple(unavailable))


# ---- which presets apply ---------------------------------------------------------------------------
def _dig(obj: Any, dotted: str) -> Any:
    for step in dotted.split("."):
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def _data_parallel(parallelism: Any) -> bool:
    p = parallelism if isinstance(parallelism, dict) else {}
    return bool(p.get("data") or p.get("dataLocal"))


def _pipeline_parallel(parallelism: Any) -> bool:
    p = parallelism if isinstance(parallelism, dict) else {}
    return bool(p.get("pipeline"))


def well_known_names(spec: Mapping[str, Any], version: str) -> list[str]:
    """The presets KServe adds for this (baseRef-resolved) spec, in merge order (config_merge.go)."""
    names = []
    router = spec.get("router") if isinstance(spec.get("router"), dict) else {}
    scheduler, route = router.get("scheduler"), router.get("route")
    if isinstance(scheduler, dict) and not _dig(scheduler, "pool.ref.name"):
        names.append("config-llm-scheduler")
    if version == "v1alpha2" and _latency_producer(spec):
        names.append("config-llm-scheduler-latency-predictor")
    if isinstance(route, dict) and not _dig(route, "http.refs"):
        names.append("config-llm-router-route")
    if version == "v1alpha2" and spec.get("tracing") is not None:
        names.append("config-llm-tracing")

    def workload(prefix: str, side: Mapping[str, Any]) -> str | None:
        if side.get("worker") is None:
            return f"config-llm-{prefix}template"
        if _data_parallel(side.get("parallelism")):
            return f"config-llm-{prefix}worker-data-parallel"
        if _pipeline_parallel(side.get("parallelism")):
            return f"config-llm-{prefix}worker-pipeline-parallel"  # named by KServe, shipped by nobody
        return None

    prefill = spec.get("prefill")
    if isinstance(prefill, dict):
        names += [n for n in (workload("prefill-", prefill), workload("decode-", spec)) if n]
    else:
        name = workload("", spec)
        if name:
            names.append(name)
    return [CONFIG_PREFIX + n for n in names]


def _latency_producer(spec: Mapping[str, Any]) -> bool:
    """v0.20 adds the latency-predictor preset when the inline scheduler config has a plugin of type
    ``predicted-latency-producer`` (scheduler_latency_predictor.go hasLatencyProducerInSpec)."""
    config = _dig(spec, "router.scheduler.config.inline")
    if isinstance(config, str):
        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError:
            return False
    plugins = config.get("plugins") if isinstance(config, dict) else None
    return any(isinstance(p, dict) and p.get("type") == "predicted-latency-producer" for p in _list(plugins))


# ---- strategic merge ------------------------------------------------------------------------------
def _list_key(context: str, name: str) -> str | None:
    if context == "pod":
        return _POD_LIST_KEYS.get(name)
    if context == "container":
        return _CONTAINER_LIST_KEYS.get(name)
    return None


def _child_context(context: str, path: str, name: str) -> tuple[str, str]:
    """(context, dotted path) of field ``name`` under a node: pod specs and containers get merge keys."""
    child_path = f"{path}.{name}" if path else name
    if context == "spec" and child_path in POD_SPEC_PATHS:
        return "pod", child_path
    if context == "pod" and name in ("containers", "initContainers", "ephemeralContainers"):
        return "container", child_path
    return ("spec" if context == "spec" else "other"), child_path


def _merge(base: Any, patch: Any, context: str, path: str) -> Any:
    """New dicts/lists along merged paths; untouched subtrees are shared with the inputs, which are never
    mutated (treat the result as read-only: ``render_tree`` makes the copy callers get)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            continue  # an explicit null is dropped by the Go types before the patch is made
        ctx, child = _child_context(context, path, str(key))
        merge_key = _list_key(context, str(key))
        if merge_key and isinstance(value, list) and isinstance(out.get(key), list):
            item_ctx = "container" if ctx == "container" else "other"
            out[key] = _merge_list(out[key], value, merge_key, item_ctx, child)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, ctx, child)
        else:
            out[key] = value
    return out


def _merge_list(base: list[Any], patch: list[Any], key: str, context: str, path: str) -> list[Any]:
    """Lists with a patch merge key: items with the same key merge. The patch's items come first, in its
    order (SMP's ``$setElementOrder``), then the base's other items: an item the user wrote keeps its index,
    so findings point at the user's line."""
    by_key = {merge_key(item.get(key)): item for item in base if isinstance(item, dict) and key in item}
    by_key.pop(None, None)
    out, used = [], set()
    for item in patch:
        k = merge_key(item.get(key)) if isinstance(item, dict) else None
        if k is not None and k in by_key:
            used.add(k)
            out.append(_merge(by_key[k], item, context, path))
        else:
            out.append(item)
    out += [item for item in base if not (isinstance(item, dict) and merge_key(item.get(key)) in used)]
    return out


def merge_specs(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` strategic-merged over ``base`` (both LLMInferenceServiceSpecs)."""
    return _merge(dict(base), dict(override), "spec", "")


# ---- Go templates ---------------------------------------------------------------------------------
_ACRONYM = re.compile(r"^([A-Z]+)(?=[A-Z][a-z])")


def _json_name(go_field: str) -> str:
    """Go field name -> its JSON name (KVCacheOffloading -> kvCacheOffloading, DataRPCPort -> dataRPCPort)."""
    m = _ACRONYM.match(go_field)
    if m and len(m.group(1)) > 1:
        return m.group(1).lower() + go_field[len(m.group(1)):]
    return go_field[:1].lower() + go_field[1:]


def child_name(parent: str, suffix: str) -> str:
    """knative.dev/pkg/kmeta.ChildName: ``parent+suffix``, hashed down to 63 characters."""
    longest, md5_len = 63, 32
    if len(parent) > longest - len(suffix):
        head = longest - len(suffix)
        if head <= 0:
            return hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
        return f"{parent[:head - md5_len]}{digest}{suffix}"
    return parent + suffix


@dataclass(slots=True)
class TemplateContext:
    name: str
    namespace: str
    spec: dict[str, Any]
    global_config: dict[str, Any] = field(default_factory=dict)

    def lookup(self, dotted: str) -> Any:
        parts = [p for p in dotted.split(".") if p]
        if not parts:
            return None
        if parts[0] == "ObjectMeta":
            return {"Name": self.name, "Namespace": self.namespace}.get(parts[1]) if len(parts) > 1 else None
        if parts[0] == "GlobalConfig":
            return self.global_config.get(parts[1]) if len(parts) > 1 else None
        node: Any = self.spec if parts[0] == "Spec" else None
        for part in parts[1:]:
            node = node.get(_json_name(part)) if isinstance(node, dict) else None
        return node


_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_TOKEN = re.compile(r"`[^`]*`|\"[^\"]*\"|\S+")


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value != {} and value != []


def _eval(expr: str, ctx: TemplateContext) -> Any:
    words = _TOKEN.findall(expr)
    if not words:
        return None

    def arg(word: str) -> Any:
        if word[0] in "`\"":
            return word[1:-1]
        if word == "nil":
            return None
        if word.lstrip("-").isdigit():
            return int(word)
        return ctx.lookup(word) if word.startswith(".") else None

    head, rest = words[0], [arg(w) for w in words[1:]]
    functions: dict[str, Callable[..., Any]] = {
        "ChildName": lambda p, s: child_name(str(p), str(s)),
        "or": lambda *a: next((x for x in a if _truthy(x)), a[-1] if a else None),
        "and": lambda *a: next((x for x in a if not _truthy(x)), a[-1] if a else None),
        "not": lambda x: not _truthy(x),
        "shutdownTimeout": lambda _obj, default: default,  # the default unless the pod sets a grace period
        # vLLM's --kv-transfer-config JSON for spec.kvCacheOffloading: not modelled (no pod rule reads it)
        "kvTransferConfig": lambda _offloading: "",
    }
    if head in functions:
        try:
            return functions[head](*rest)
        except TypeError:
            return None
    return arg(head)


def render(text: str, ctx: TemplateContext) -> str:
    """KServe's Go ``text/template`` subset used by its presets: fields, if/else/end, or/and, ChildName."""
    if "{{" not in text:
        return text
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (this branch emits, the enclosing block emits)
    pos = 0
    for m in _ACTION.finditer(text):
        literal = text[pos:m.start()]
        if m.group(1):
            literal = literal.rstrip()
        if all(s[0] for s in stack):
            out.append(literal)
        pos = m.end()
        if m.group(3):
            while pos < len(text) and text[pos].isspace():
                pos += 1
        action = m.group(2)
        emitting = all(s[0] for s in stack)
        if action.startswith("if "):
            stack.append((emitting and _truthy(_eval(action[3:], ctx)), emitting))
        elif action == "else" and stack:
            branch, outer = stack[-1]
            stack[-1] = (outer and not branch, outer)
        elif action == "end" and stack:
            stack.pop()
        elif emitting:
            value = _eval(action, ctx)
            out.append("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
    if all(s[0] for s in stack):
        out.append(text[pos:])
    return "".join(out)


def render_tree(value: Any, ctx: TemplateContext) -> Any:
    """``value`` with every template string rendered; subtrees without templates are shared, not copied
    (a resolution is read-only)."""
    if isinstance(value, str):
        return render(value, ctx) if "{{" in value else value
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for k, v in value.items():
            r = render_tree(v, ctx)
            if r is not v:
                if out is None:
                    out = dict(value)
                out[k] = r
        return value if out is None else out
    if isinstance(value, list):
        items = [render_tree(v, ctx) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


# ---- resolution ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Resolution:
    """The effective spec of one LLMInferenceService and how it was obtained (``spec`` shares subtrees with
    the presets and the object: read it, never change it)."""

    spec: dict[str, Any]
    profile: str
    assumed: bool  # the profile came from the apiVersion, not from an environment
    applied: list[str]  # configs merged, in order (presets, then baseRefs)
    missing: list[str]  # configs KServe would merge that are neither in the tree nor known presets
    tls: bool = True  # GlobalConfig.EnableTLS: the workload Service's appProtocol (https/http) follows it
    tls_source: str = ""  # where ``tls`` came from (see ``global_config``)
    gateway: str = ""  # "namespace/name" of the gateway ``router.gateway: {}`` attaches to

    @property
    def workload_merged(self) -> bool:
        """A workload preset (or a baseRef) shaped the model-server pod."""
        return any("scheduler" not in n and "route" not in n and "tracing" not in n for n in self.applied)


def served_profile(version: str, platform: Any) -> tuple[str, bool]:
    """The profile whose presets KServe runs: the environment's, else the apiVersion's (assumed)."""
    profile = platform.fact("profile") if platform is not None and hasattr(platform, "fact") else None
    if isinstance(profile, str) and profile:
        return profile, False
    return PROFILE_BY_API_VERSION.get(version, ODH_PROFILE), True


# inferenceservice-config ``ingress.kserveIngressGateway`` as each profile installs it: the odh-xks overlay's
# gateway (the reference deployment), and the kserve Helm chart's default
# (kserve.controller.gateway.ingressGateway.kserveGateway).
DEFAULT_GATEWAYS = {ODH_PROFILE: "opendatahub/inference-gateway",
                    "upstream-2026": "kserve/kserve-ingress-gateway"}


def default_gateway(profile: str, platform: Any = None, controller: Mapping[str, Any] | None = None) -> str:
    """"namespace/name" of the Gateway KServe attaches ``router.gateway: {}`` to: the platform fact
    ``kserve_ingress_gateway`` (an environment's gateway), else the tree's inferenceservice-config
    (``ingress.kserveIngressGateway``), else the profile's install default."""
    fallback = DEFAULT_GATEWAYS.get(profile, DEFAULT_GATEWAYS[ODH_PROFILE])
    configured = (controller or {}).get("kserveIngressGateway")
    if isinstance(configured, str) and configured:
        # "name" alone means the controller's own namespace (config_loader.go NewConfig)
        fallback = configured if "/" in configured else f"{fallback.partition('/')[0]}/{configured}"
    if platform is not None and hasattr(platform, "fact"):
        return str(platform.fact("kserve_ingress_gateway", fallback) or fallback)
    return fallback


def controller_config(configmaps: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``ingress`` settings of an ``inferenceservice-config`` ConfigMap of the tree (KServe reads its
    GlobalConfig from there): the JSON object, or {} when absent or unreadable."""
    import json

    for cm in configmaps:
        data = cm.get("data") if isinstance(cm.get("data"), dict) else {}
        try:
            ingress = json.loads(data.get("ingress") or "{}")
        except (TypeError, ValueError):
            continue
        if isinstance(ingress, dict):
            return ingress
    return {}


def _serves_tls(spec: Mapping[str, Any]) -> bool:
    """Whether what the user wrote (spec and baseRefs) makes vLLM serve TLS: its certificate flags, or
    HTTPS probes of the main container."""
    for where in ("template", "prefill.template", "worker"):
        for c in _list(_dig(spec, f"{where}.containers")):
            if not isinstance(c, dict) or c.get("name") != "main":
                continue
            words = " ".join(str(w) for w in [*_list(c.get("command")), *_list(c.get("args"))])
            if "--ssl-certfile" in words:
                return True
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                get = _dig(c, f"{kind}.httpGet")
                if isinstance(get, dict) and str(get.get("scheme", "")).upper() == "HTTPS":
                    return True
    return False


def global_config(
    platform: Any, namespace: str, profile: str, controller: Mapping[str, Any] | None = None,
    spec: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The controller's GlobalConfig values the presets read (ingress gateway, TLS), and where TLS came from.

    TLS: the release-v0.15 presets always serve it. v0.20 renders it only when inferenceservice-config's
    ``ingress.enableLLMInferenceServiceTLS`` is true (false when unset). A cluster setting no manifest of a
    service shows: the platform fact ``kserve_enable_tls`` says it, else the tree's inferenceservice-config,
    else the tree's own vLLM (certificate flags or HTTPS probes: the install must match it), else the
    release's default.
    """
    controller = controller or {}
    gateway = default_gateway(profile, platform, controller)
    fact = platform.fact("kserve_enable_tls") if platform is not None and hasattr(platform, "fact") else None
    if profile == ODH_PROFILE:
        tls, source = True, "release-v0.15 presets"
    elif isinstance(fact, bool):
        tls, source = fact, "platform fact kserve_enable_tls"
    elif isinstance(controller.get("enableLLMInferenceServiceTLS"), bool):
        tls, source = controller["enableLLMInferenceServiceTLS"], "inferenceservice-config"
    elif spec is not None and _serves_tls(spec):
        tls, source = True, "assumed: the tree's vLLM serves TLS"
    else:
        tls, source = False, "v0.20 default"
    gw_ns, _, gw_name = gateway.rpartition("/")
    config = {"IngressGatewayName": gw_name, "IngressGatewayNamespace": gw_ns or namespace, "EnableTLS": tls,
              "ModelBasedRoutingHeaderName": "X-Gateway-Model-Name", "InferencePoolNamespacedName": ""}
    return config, source


def resolve(
    name: str,
    namespace: str,
    version: str,
    spec: Mapping[str, Any],
    platform: Any = None,
    tree_configs: Mapping[tuple[str | None, str], Mapping[str, Any]] | None = None,
    controller: Mapping[str, Any] | None = None,
) -> Resolution:
    """Merge ``spec`` over the presets of its served profile and its baseRefs; render the templates.

    ``tree_configs``: LLMInferenceServiceConfig specs of the tree by (namespace, name). As the controller
    does, a name is looked up in the service's namespace, then in KServe's own namespace; one found there
    replaces the preset of the same name.
    """
    profile, assumed = served_profile(version, platform)
    presets = preset_set(profile)
    tree_configs = tree_configs or {}
    system_ns = _kserve_namespace(profile)
    user_configs = {n: c for (ns, n), c in tree_configs.items() if ns == system_ns}
    user_configs.update({n: c for (ns, n), c in tree_configs.items() if ns == namespace})

    def config(config_name: str) -> Mapping[str, Any] | None:
        if config_name in user_configs:
            return user_configs[config_name]
        return presets.configs.get(config_name)

    base_refs = [str(r.get("name")) for r in _list(spec.get("baseRefs"))
                 if isinstance(r, dict) and r.get("name")]
    resolved: dict[str, Any] = dict(spec)
    for ref in base_refs:
        cfg = config(ref)
        if cfg is not None:
            resolved = merge_specs(resolved, cfg)
    refs = [*well_known_names(resolved, version), *base_refs]
    if any(ref in user_configs for ref in refs):
        merged, applied, missing = _merge_configs(tuple(refs), config)
    else:  # presets only: the same few combinations for every service of a run
        merged, applied, missing = _preset_base(profile, tuple(refs))
    merged = merge_specs(merged, spec)
    model = merged.get("model") if isinstance(merged.get("model"), dict) else {}
    if not model.get("name"):
        merged["model"] = {**model, "name": name}  # KServe defaults the model name to the object's
    config, tls_source = global_config(platform, namespace, profile, controller, resolved)
    ctx = TemplateContext(name, namespace, merged, config)
    rendered = render_tree(merged, ctx)
    scheduler_template = _dig(rendered, "router.scheduler.template")
    if isinstance(scheduler_template, dict) and not scheduler_template.get("serviceAccountName"):
        # new dicts along the path: the rest of the tree is shared with the presets
        router, scheduler = rendered["router"], rendered["router"]["scheduler"]
        template = {**scheduler_template, "serviceAccountName": child_name(name, "-epp-sa")}
        rendered = {**rendered, "router": {**router, "scheduler": {**scheduler, "template": template}}}
    return Resolution(rendered, profile, assumed, list(applied), list(missing),
                      bool(config["EnableTLS"]), tls_source, f"{config['IngressGatewayNamespace']}/"
                      f"{config['IngressGatewayName']}")


def _merge_configs(
    refs: tuple[str, ...], config: Callable[[str], Mapping[str, Any] | None]
) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    """The configs named ``refs`` merged in order: (spec, names applied, names not found)."""
    merged: dict[str, Any] = {}
    applied, missing = [], []
    for ref in refs:
        cfg = config(ref)
        if cfg is None:
            missing.append(ref)
            continue
        merged = merge_specs(merged, cfg)
        applied.append(ref)
    return merged, tuple(applied), tuple(missing)


@lru_cache(maxsize=64)
def _preset_base(
    profile: str, refs: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    return _merge_configs(refs, preset_set(profile).configs.get)


def _kserve_namespace(profile: str) -> str | None:
    from infergate.synth import profiles

    try:
        return profiles.get(profile).kserve.namespace
    except KeyError:
        return None


def _odh_overlay(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The image substitutions the ODH overlay makes to the upstream presets on install."""
    out = copy.deepcopy(dict(cfg))
    for where in POD_SPEC_PATHS:
        pod = _dig(out, where)
        if not isinstance(pod, dict):
            continue
        for c in [*_list(pod.get("containers")), *_list(pod.get("initContainers"))]:
            if not isinstance(c, dict) or "image" not in c:
                continue
            if where == "router.scheduler.template":
                if c.get("name") == "main":
                    c["image"] = ODH_EPP_IMAGE
            elif c.get("name") == "main":
                c["image"] = ODH_LLM_IMAGE
            elif "routing-sidecar" in str(c.get("name")):
                c["image"] = ODH_SIDECAR_IMAGE
    return out
