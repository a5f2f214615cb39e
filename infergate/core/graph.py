"""The object graph lint rules reason over: every object in the output, indexed, plus what the platform makes.

Besides the objects in Git, rules must see the pods the cluster will run: pods of workload controllers in
the output, the model-server (and, in managed router mode, EPP) pods KServe creates for each
``LLMInferenceService`` (labels and ports as KServe sets them), and the gateway pods Istio creates for each
``Gateway``. Those are ``PodModel``s. Objects KServe creates in managed mode (pool, EPP Service, route,
workload Service) are *virtual* objects: lookups resolve them, but rules only iterate the real ones.

PodModel is a public contract (the NetworkPolicy engine consumes it): add fields, never rename them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from infergate.core import kserve_presets
from infergate.core.loader import Document
from infergate.core.world import RefNote, World
from infergate.synth import multihost

# Kinds that live outside namespaces (the ones this stack meets; unknown kinds count as namespaced).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CustomResourceDefinition",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "RuntimeClass",
        "IngressClass",
        "GatewayClass",
        "ClusterIssuer",
        "Istio",
        "IstioCNI",
        "IstioRevision",
        "IstioRevisionTag",
        "ZTunnel",
        "CSIDriver",
        "VolumeAttachment",
    }
)

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "CronJob", "Pod", "LeaderWorkerSet"}
)

KSERVE_GROUP = "serving.kserve.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"
POOL_GROUPS = ("inference.networking.x-k8s.io", "inference.networking.k8s.io")

# What KServe (ODH release-v0.15 presets) puts on the pods it creates.
KSERVE_WORKLOAD_LABELS = {
    "app.kubernetes.io/component": "llminferenceservice-workload",
    "app.kubernetes.io/part-of": "llminferenceservice",
    "kserve.io/component": "workload",
    "llm-d.ai/role": "both",
}
KSERVE_EPP_LABELS = {
    "app.kubernetes.io/component": "llminferenceservice-router-scheduler",
    "app.kubernetes.io/part-of": "llminferenceservice",
}
KSERVE_MODEL_PORT = 8000
# Labels KServe puts on the workload Service it creates (v0.20 workload.go reconcileWorkloadService), over
# which spec.labels are laid: what a ServiceMonitor selects it by.
KSERVE_WORKLOAD_SERVICE_LABELS = {
    "app.kubernetes.io/component": "llminferenceservice-workload",
    "app.kubernetes.io/part-of": "llminferenceservice",
}
KSERVE_TLS_DIR = "/var/run/kserve/tls"
KSERVE_EPP_IMAGE = "quay.io/opendatahub/llm-d-inference-scheduler:release-v0.4"
KSERVE_EPP_PORTS = (("grpc", 9002), ("grpc-health", 9003), ("metrics", 9090), ("zmq", 5557))
_HARDENED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
# Isolation probes (charts/probes.py) carry the labels of the role they imitate, and this one.
PROBE_LABEL = "infergate.io/probe"


@dataclass(frozen=True, slots=True)
class Port:
    number: int | None
    name: str | None = None
    protocol: str = "TCP"


@dataclass(slots=True)
class Container:
    name: str
    image: str | None
    ports: list[Port]
    env: list[dict[str, Any]]
    args: list[str]
    command: list[str]
    resources: dict[str, Any]
    security_context: dict[str, Any]
    probes: dict[str, dict[str, Any]]  # liveness/readiness/startup -> probe
    init: bool = False
    path: tuple[str | int, ...] = ()  # JSON path of the container inside its source object (for lines)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    _argv: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def argv(self) -> list[str]:
        """command + args split into words (``bash -c "<script>"`` scripts included), for flag lookups."""
        if self._argv is None:
            words: list[str] = []
            for item in (*self.command, *self.args):
                words.extend(str(item).replace("\\\n", " ").split())
            self._argv = words
        return self._argv

    def flag(self, name: str) -> str | None:
        """Value of ``--name=value`` / ``--name value`` in argv; "" for a bare flag; None when absent."""
        words = self.argv
        for i, word in enumerate(words):
            if word == name:
                nxt = words[i + 1] if i + 1 < len(words) else ""
                return "" if nxt.startswith("-") else nxt.strip("'\"")
            if word.startswith(name + "="):
                return word[len(name) + 1 :].strip("'\"")
        return None

    def env_value(self, name: str) -> str | None:
        for item in self.env:
            if isinstance(item, dict) and item.get("name") == name:
                value = item.get("value")
                return str(value) if value is not None else None
        return None


@dataclass(slots=True)
class PodModel:
    """A pod the cluster will run, whoever creates it."""

    namespace: str
    name: str  # the controller's name (pods get a suffix)
    labels: dict[str, str]
    annotations: dict[str, str]
    containers: list[Container]
    init_containers: list[Container]
    spec: dict[str, Any]  # the (effective) pod spec, for host*, volumes, securityContext, tolerations...
    origin: str  # "manifest" | "kserve" | "istio"
    source: K8sObject  # the object in the output this pod comes from (file/line of findings)
    role: str  # "model-server" | "epp" | "gateway" | "other"
    spec_path: tuple[str | int, ...] = ()  # JSON path of the pod spec inside ``source``
    service_account: str = "default"
    kind: str = "Pod"  # the kind of controller (Deployment, LLMInferenceService, Gateway...)

    @property
    def all_containers(self) -> list[Container]:
        return [*self.init_containers, *self.containers]

    def exposes(self, port: int | str) -> bool:
        """True when a container declares this port number (int) or port name (str)."""
        for container in self.containers:
            for p in container.ports:
                if (isinstance(port, int) and p.number == port) or (isinstance(port, str) and p.name == port):
                    return True
        return False

    @property
    def port_numbers(self) -> set[int]:
        return {p.number for c in self.containers for p in c.ports if p.number is not None}


@dataclass(slots=True)
class K8sObject:
    doc: Document
    obj: dict[str, Any]
    api_version: str
    group: str
    version: str
    kind: str
    namespace: str | None
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    virtual: bool = False  # created by a controller, not in the output
    owner: K8sObject | None = None  # for virtual objects: the object in the output they come from
    namespace_defaulted: bool = False  # no metadata.namespace: the run's default (kubectl's context) applies

    @property
    def key(self) -> tuple[str, str, str | None, str]:
        return (self.group, self.kind, self.namespace, self.name)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.obj.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Resolved:
    state: str  # "tree" | "ambiguous" | "provided" | "unknown"
    obj: K8sObject | None = None
    copies: tuple[K8sObject, ...] = ()

    @property
    def missing(self) -> bool:
        """Unknown: the caller reports it only in a closed world (``graph.world.closed``)."""
        return self.state == "unknown"


def _selector_text(selector: Any) -> str:
    if not isinstance(selector, Mapping):
        return str(selector)
    plain = selector.get("matchLabels", selector) if "matchExpressions" not in selector else selector
    if isinstance(plain, Mapping) and all(isinstance(v, str | int | bool) for v in plain.values()):
        return ",".join(f"{k}={v}" for k, v in sorted(plain.items(), key=lambda kv: str(kv[0])))
    return str(selector)


@dataclass(slots=True)
class NamespaceInfo:
    name: str
    labels: dict[str, str]
    obj: K8sObject | None  # None when only referenced (implicit)


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True, slots=True)
class Selector:
    """A label selector with its values stringified once (rules test one selector against many objects)."""

    labels: tuple[tuple[Any, str], ...] = ()
    expressions: tuple[tuple[Any, str, frozenset[str]], ...] = ()
    never: bool = False  # a malformed expression (or selector): matches nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.never:
            return False
        for key, value in self.labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.expressions:
            present = key in labels
            if (
                (op == "In" and (not present or labels[key] not in values))
                or (op == "NotIn" and present and labels[key] in values)
                or (op == "Exists" and not present)
                or (op == "DoesNotExist" and present)
            ):
                return False
        return True


def compile_selector(selector: Mapping[str, Any]) -> Selector:
    """matchLabels + matchExpressions, or a plain map; see ``selector_matches``."""
    if not isinstance(selector, Mapping):
        return Selector(never=True)
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = as_dict(selector.get("matchLabels"))
        expressions = as_list(selector.get("matchExpressions"))
    else:
        match_labels, expressions = dict(selector), []
    compiled = []
    for expr in expressions:
        if not isinstance(expr, dict) or expr.get("operator") not in _OPERATORS:
            return Selector(never=True)
        key = expr.get("key")
        try:
            hash(key)
        except TypeError:
            key = None  # an unhashable key names no label
        compiled.append((key, expr["operator"], frozenset(str(v) for v in as_list(expr.get("values")))))
    return Selector(tuple((k, str(v)) for k, v in match_labels.items()), tuple(compiled))


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels + matchExpressions, or a plain map).

    ``None`` matches nothing; an empty selector matches everything (as in NetworkPolicy/Service). Rules
    that test one selector against many objects use ``Graph.selector_matches`` (compiled once per run).
    """
    if selector is None:
        return False
    return compile_selector(selector).matches(labels)


def _ports(raw: Any) -> list[Port]:
    ports = []
    for item in as_list(raw):
        if isinstance(item, dict):
            number = item.get("containerPort")
            ports.append(
                Port(
                    number if isinstance(number, int) else None,
                    item.get("name") if isinstance(item.get("name"), str) else None,
                    str(item.get("protocol") or "TCP"),
                )
            )
    return ports


def container_from(raw: dict[str, Any], path: tuple[str | int, ...], init: bool = False) -> Container:
    probes = {
        kind: as_dict(raw.get(f"{kind}Probe"))
        for kind in ("liveness", "readiness", "startup")
        if isinstance(raw.get(f"{kind}Probe"), dict)
    }
    return Container(
        name=str(raw.get("name", "")),
        image=raw.get("image") if isinstance(raw.get("image"), str) else None,
        ports=_ports(raw.get("ports")),
        env=[e for e in as_list(raw.get("env")) if isinstance(e, dict)],
        args=[str(a) for a in as_list(raw.get("args"))],
        command=[str(a) for a in as_list(raw.get("command"))],
        resources=as_dict(raw.get("resources")),
        security_context=as_dict(raw.get("securityContext")),
        probes=probes,
        init=init,
        path=path,
        raw=raw,
    )


def preset_pod_containers(
    effective: Mapping[str, Any], user: Mapping[str, Any], path: tuple[str | int, ...]
) -> tuple[list[Any], list[Any]]:
    """Containers of an effective pod spec; each located at the user's container of the same name (the
    finding's line), else at the pod spec the user wrote (a container only a preset or baseRef adds)."""
    out: tuple[list[Any], list[Any]] = ([], [])
    for key, init, bucket in (("containers", False, out[0]), ("initContainers", True, out[1])):
        mine = {kserve_presets.merge_key(c.get("name")): i
                for i, c in enumerate(as_list(user.get(key))) if isinstance(c, dict)}
        for c in as_list(effective.get(key)):
            if isinstance(c, dict):
                name = kserve_presets.merge_key(c.get("name"))
                where = (*path, key, mine[name]) if name in mine else path
                bucket.append(container_from(c, where, init=init))
    return out


def containers_of(
    spec: dict[str, Any], spec_path: tuple[str | int, ...]
) -> tuple[list[Container], list[Container]]:
    main = [
        container_from(c, (*spec_path, "containers", i))
        for i, c in enumerate(as_list(spec.get("containers")))
        if isinstance(c, dict)
    ]
    init = [
        container_from(c, (*spec_path, "initContainers", i), init=True)
        for i, c in enumerate(as_list(spec.get("initContainers")))
        if isinstance(c, dict)
    ]
    return main, init


def pod_template_path(kind: str) -> tuple[str, ...] | None:
    """Where the pod template of a workload kind lives (``None``: not a workload)."""
    return {
        "Pod": (),
        "CronJob": ("spec", "jobTemplate", "spec", "template"),
        "LeaderWorkerSet": ("spec", "leaderWorkerTemplate", "workerTemplate"),
    }.get(kind, ("spec", "template") if kind in WORKLOAD_KINDS else None)


def dig(obj: Any, path: Iterable[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            obj = obj[step] if isinstance(obj, list) and 0 <= step < len(obj) else None
        else:
            obj = obj.get(step) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


class Graph:
    """Every object of a lint run, indexed; the pods the cluster will run; platform facts."""

    def __init__(self, documents: Iterable[Document], platform: Any = None) -> None:
        self.platform = platform
        # kubectl's rule: the object's own namespace, else the context's (--namespace / config), else default
        self.default_namespace = str(getattr(platform, "default_namespace", None) or "default")
        self.world = World.of(platform)
        self.current_rule = ""  # set by the engine while a rule runs (resolution notes name it)
        self.notes: dict[tuple[str, str, str | None, str], list[RefNote]] = {}
        self._noted: set[tuple[Any, ...]] = set()
        self.objects: list[K8sObject] = []
        self.documents: list[Document] = []  # non-object documents are kept for rules that care (none yet)
        self._by_key: dict[tuple[str, str, str | None, str], list[K8sObject]] = defaultdict(list)
        self._by_kind: dict[str, list[K8sObject]] = defaultdict(list)
        self._by_kind_ns: dict[tuple[str, str | None], list[K8sObject]] = defaultdict(list)
        # resolution indexes: (kind, namespace, name) and (file, kind, name) (namespace mixes are per file)
        self._by_ref: dict[tuple[str, str | None, str], list[K8sObject]] = defaultdict(list)
        self._by_file_ref: dict[tuple[str, str, str], list[K8sObject]] = defaultdict(list)
        self.virtual: list[K8sObject] = []
        self.pods: list[PodModel] = []
        self._pods_by_label: dict[tuple[str, str], list[PodModel]] = defaultdict(list)
        self._pods_by_ns: dict[str, list[PodModel]] = defaultdict(list)
        self._pods_by_ns_label: dict[tuple[str, str, str], list[PodModel]] = defaultdict(list)
        self.namespaces: dict[str, NamespaceInfo] = {}
        self.cache: dict[str, Any] = {}  # per-run memo for rule helpers (e.g. object -> Argo CD Application)
        # id(selector) -> (selector, compiled): the selector is kept so its id cannot be reused in this run
        self._selectors: dict[int, tuple[Any, Selector]] = {}
        for doc in documents:
            obj = self._object(doc)
            if obj is None:
                self.documents.append(doc)
                continue
            self.objects.append(obj)
            self._add(obj)
        self._build_namespaces()
        for obj in list(self.objects):
            self._pods_for(obj)
        for pod in self.pods:
            self._pods_by_ns[pod.namespace].append(pod)
            for key, value in pod.labels.items():
                self._pods_by_label[(key, value)].append(pod)
                self._pods_by_ns_label[(pod.namespace, key, value)].append(pod)

    # ---- objects -------------------------------------------------------------------------------------
    def _object(self, doc: Document) -> K8sObject | None:
        obj = doc.obj
        if not isinstance(obj, dict):
            return None
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = as_dict(obj.get("metadata"))
        name = meta.get("name")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not isinstance(name, str):
            return None
        group, version = split_api_version(api_version)
        namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
        defaulted = namespace is None and kind not in CLUSTER_SCOPED
        if defaulted:
            namespace = self.default_namespace  # what `kubectl apply -n <ns>` (else `default`) would use
        return K8sObject(
            doc,
            obj,
            api_version,
            group,
            version,
            kind,
            namespace,
            name,
            str_map(meta.get("labels")),
            str_map(meta.get("annotations")),
            namespace_defaulted=defaulted,
        )

    def _add(self, obj: K8sObject) -> None:
        self._by_key[obj.key].append(obj)
        self._by_kind[obj.kind].append(obj)
        self._by_kind_ns[(obj.kind, obj.namespace)].append(obj)
        self._by_ref[(obj.kind, obj.namespace, obj.name)].append(obj)
        self._by_file_ref[(obj.doc.file, obj.kind, obj.name)].append(obj)

    def add_virtual(self, source: K8sObject, body: dict[str, Any]) -> K8sObject:
        """An object a controller will create from ``source`` (located at the source for findings)."""
        doc = Document(
            source.doc.file, source.doc.index, source.doc.line, body, source.doc.text, source.doc.first_line
        )
        obj = self._object(doc)
        assert obj is not None
        obj.virtual, obj.owner = True, source
        self.virtual.append(obj)
        self._add(obj)
        return obj

    def of_kind(
        self, kind: str, group: str | None = None, *, include_virtual: bool = False
    ) -> list[K8sObject]:
        return [
            o
            for o in self._by_kind.get(kind, ())
            if (group is None or o.group == group) and (include_virtual or not o.virtual)
        ]

    def in_namespace(
        self, kind: str, namespace: str | None, group: str | None = None, *, include_virtual: bool = False
    ) -> list[K8sObject]:
        """Objects of a kind in one namespace (indexed: rules call this per pod)."""
        return [
            o
            for o in self._by_kind_ns.get((kind, namespace), ())
            if (group is None or o.group == group) and (include_virtual or not o.virtual)
        ]

    def get(self, kind: str, namespace: str | None, name: str, group: str | None = None) -> K8sObject | None:
        """The object (real first, then virtual) with this kind/namespace/name (any group if None).

        References come from user input: a name or namespace that is not a string names nothing.
        """
        if not isinstance(name, str) or not (namespace is None or isinstance(namespace, str)) \
                or not isinstance(kind, str) or not (group is None or isinstance(group, str)):
            return None
        if group is not None:
            found = self._by_key.get((group, kind, namespace, name))
            return found[0] if found else None
        for obj in self._by_kind_ns.get((kind, namespace), ()):
            if obj.name == name:
                return obj
        return None

    # ---- the world model: resolve a reference to one object of the tree, or say why not -------------------
    def resolve(
        self,
        kind: str,
        namespace: str | None,
        name: Any,
        group: str | tuple[str, ...] | None = None,
        *,
        referrer: K8sObject,
        path: tuple[str | int, ...] = (),
        need: str = "",
    ) -> Resolved:
        """Follow a reference: ``tree`` (one object; real first, then virtual), ``ambiguous`` (the scope
        defines it more than once: rules must not pick a copy), ``provided`` (declared to exist outside the
        tree) or ``unknown``. Ambiguous and open-world unknown references are noted for the engine (one info
        finding each, naming what ``need`` the current rule skipped); in a closed world the rule reports."""
        if not isinstance(name, str) or not (namespace is None or isinstance(namespace, str)):
            return Resolved("unknown")
        groups = (group,) if isinstance(group, str) else group
        copies = [
            o for o in self._by_ref.get((kind, namespace, name), ()) if groups is None or o.group in groups
        ]
        real = [o for o in copies if not o.virtual]
        per_key: dict[tuple[str, str, str | None, str], int] = {}
        for o in real:
            per_key[o.key] = per_key.get(o.key, 0) + 1
        if any(n > 1 for n in per_key.values()):
            self._note((kind, namespace, name), RefNote("ambiguous", referrer, path, self.current_rule, need,
                                                        f"{len(real)} copies"))
            return Resolved("ambiguous", None, tuple(real))
        if copies:
            target = real[0] if real else copies[0]
            self._check_namespace_mix(referrer, path, target)
            return Resolved("tree", target)
        if self.world.provides(kind, namespace, name):
            return Resolved("provided")
        self._missing_namespace_mix(kind, namespace, name, referrer, path)
        if not self.world.closed:
            self._note((kind, namespace, name), RefNote("unknown", referrer, path, self.current_rule, need))
        return Resolved("unknown")

    def pods_unresolved(
        self, namespace: str, selector: Any, *, referrer: K8sObject, path: tuple[str | int, ...], need: str
    ) -> bool:
        """No pod of the tree matches ``selector``: True when a rule may report it (closed world, nothing
        provided); in an open world the pods may come from a chart or an operator, so it is noted instead."""
        text = _selector_text(selector)
        if self.world.provides("Pod", namespace, text):
            return False
        if self.world.closed:
            return True
        self._note(("Pod", namespace, text), RefNote("unknown", referrer, path, self.current_rule, need))
        return False

    def _note(self, key: tuple[str, str | None, str], note: RefNote) -> None:
        # identity, not equality: comparing objects field by field made many referrers quadratic
        seen = (note.state, *key, id(note.referrer), note.path, note.rule, note.need)
        if seen not in self._noted:
            self._noted.add(seen)
            self.notes.setdefault((note.state, *key), []).append(note)

    def _check_namespace_mix(
        self, referrer: K8sObject, path: tuple[str | int, ...], target: K8sObject
    ) -> None:
        if (
            target.namespace is not None
            and target.doc.file == referrer.doc.file
            and target.namespace_defaulted != referrer.namespace_defaulted
            and not target.virtual
            and not referrer.virtual
        ):
            defaulted = target if target.namespace_defaulted else referrer
            self._note(
                (target.kind, target.namespace, target.name),
                RefNote("namespace", referrer, path, self.current_rule, "",
                        f"{defaulted.kind} {defaulted.name} has no namespace and resolves only while the "
                        f"default namespace is {self.default_namespace!r}"),
            )

    def _missing_namespace_mix(
        self, kind: str, namespace: str | None, name: str, referrer: K8sObject, path: tuple[str | int, ...]
    ) -> None:
        """The reference misses because one side took the default namespace and the other did not."""
        for other in self._by_file_ref.get((referrer.doc.file, kind, name), ()):
            if (
                other.namespace != namespace
                and other.namespace_defaulted != referrer.namespace_defaulted
                and not other.virtual
            ):
                defaulted = other if other.namespace_defaulted else referrer
                self._note(
                    (kind, namespace, name),
                    RefNote("namespace", referrer, path, self.current_rule, "",
                            f"{kind} {name} is in {other.namespace} but looked up in {namespace}: "
                            f"{defaulted.kind} {defaulted.name} has no namespace and took "
                            f"{self.default_namespace!r}"),
                )
                return

    def duplicates(self) -> Iterator[list[K8sObject]]:
        for objs in self._by_key.values():
            real = [o for o in objs if not o.virtual]
            if len(real) > 1:
                yield real

    # ---- namespaces ----------------------------------------------------------------------------------
    def _build_namespaces(self) -> None:
        for obj in self.of_kind("Namespace", ""):
            labels = dict(obj.labels)
            labels["kubernetes.io/metadata.name"] = obj.name  # set by the API server, always
            self.namespaces[obj.name] = NamespaceInfo(obj.name, labels, obj)
        for obj in self.objects:
            if obj.namespace and obj.namespace not in self.namespaces:
                self.namespaces[obj.namespace] = NamespaceInfo(
                    obj.namespace, {"kubernetes.io/metadata.name": obj.namespace}, None
                )

    # ---- pods ----------------------------------------------------------------------------------------
    def _pods_for(self, obj: K8sObject) -> None:
        if obj.kind == "LLMInferenceService" and obj.group == KSERVE_GROUP:
            self._kserve_pods(obj)
        elif obj.kind == "Gateway" and obj.group == GATEWAY_GROUP:
            self._gateway_pod(obj)
        else:
            path = pod_template_path(obj.kind)
            if path is None or obj.group not in ("", "apps", "batch", "leaderworkerset.x-k8s.io"):
                return
            template = dig(obj.obj, path) if path else obj.obj
            if not isinstance(template, dict):
                return
            meta = as_dict(template.get("metadata"))
            spec = as_dict(template.get("spec"))
            spec_path = (*path, "spec")
            main, init = containers_of(spec, spec_path)
            labels = str_map(meta.get("labels"))
            if obj.kind == "LeaderWorkerSet":  # the LWS controller labels every pod of the set
                labels[multihost.LWS_NAME_LABEL] = obj.name
            self.pods.append(
                PodModel(
                    namespace=obj.namespace or "default",
                    name=obj.name,
                    labels=labels,
                    annotations=str_map(meta.get("annotations")),
                    containers=main,
                    init_containers=init,
                    spec=spec,
                    origin="manifest",
                    source=obj,
                    role=_guess_role(main, labels),
                    spec_path=spec_path,
                    service_account=str(spec.get("serviceAccountName") or "default"),
                    kind=obj.kind,
                )
            )

    def _gateway_pod(self, gw: K8sObject) -> None:
        spec = gw.spec
        infra = as_dict(spec.get("infrastructure"))
        labels = {
            **str_map(infra.get("labels")),
            GATEWAY_NAME_LABEL: gw.name,
            "gateway.istio.io/managed": "istio.io-gateway-controller",
        }
        listener_ports = sorted(
            {
                ls.get("port")
                for ls in as_list(spec.get("listeners"))
                if isinstance(ls, dict) and isinstance(ls.get("port"), int)
            }
        )
        ports = [Port(p, None, "TCP") for p in listener_ports] + [
            Port(15021, "status-port"),
            Port(15090, "http-envoy-prom"),
        ]
        proxy = Container(
            name="istio-proxy",
            image="auto",
            ports=ports,
            env=[],
            args=[],
            command=[],
            resources={},
            security_context={},
            probes={},
            path=("spec",),
        )
        self.pods.append(
            PodModel(
                namespace=gw.namespace or "default",
                name=f"{gw.name}-istio",
                labels=labels,
                annotations=str_map(infra.get("annotations")),
                containers=[proxy],
                init_containers=[],
                spec={},
                origin="istio",
                source=gw,
                role="gateway",
                spec_path=(),
                service_account=f"{gw.name}-istio",
                kind="Gateway",
            )
        )

    def _kserve_pods(self, svc: K8sObject) -> None:
        spec = svc.spec
        ns, name = svc.namespace or "default", svc.name
        template = as_dict(spec.get("template"))
        resolution = self.kserve_resolution(svc)
        if isinstance(spec.get("worker"), dict):
            self._kserve_multi_node_pods(svc, resolution)
        else:
            self._kserve_single_node_pod(svc, template, resolution)
        # the workload Service KServe always creates: appProtocol https (hard-coded in release-v0.15; v0.20
        # writes http unless inferenceservice-config enables LLMInferenceService TLS)
        protocol = "https" if resolution.tls else "http"
        self.add_virtual(
            svc,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"{name}-kserve-workload-svc", "namespace": ns,
                             "labels": {**KSERVE_WORKLOAD_SERVICE_LABELS, "app.kubernetes.io/name": name,
                                        **{k: v for k, v in as_dict(spec.get("labels")).items()
                                           if isinstance(k, str) and isinstance(v, str)}}},
                "spec": {
                    "selector": {
                        "app.kubernetes.io/part-of": "llminferenceservice",
                        "app.kubernetes.io/name": name,
                        "kserve.io/component": "workload",
                    },
                    "ports": [
                        {
                            "name": protocol,
                            "appProtocol": protocol,
                            "port": KSERVE_MODEL_PORT,
                            "targetPort": KSERVE_MODEL_PORT,
                            "protocol": "TCP",
                        }
                    ],
                },
            },
        )
        if managed_scheduler(spec):
            self._kserve_managed_router(svc, spec)
        self._kserve_managed_route(svc, spec)

    def _kserve_single_node_pod(
        self, svc: K8sObject, template: dict[str, Any], resolution: kserve_presets.Resolution
    ) -> None:
        spec = svc.spec
        ns, name = svc.namespace or "default", svc.name
        if resolution.workload_merged:  # what KServe runs: the presets and baseRefs under the user's template
            effective = as_dict(resolution.spec.get("template"))
            main, init = preset_pod_containers(effective, template, ("spec", "template"))
        else:  # preset files not synced: the preset's known defaults on the user's fragment
            effective = template
            main, init = containers_of(template, ("spec", "template"))
            model_name = as_dict(spec.get("model")).get("name")
            for container in main:
                if container.name == "main":
                    _apply_workload_preset(container, name,
                                           model_name if isinstance(model_name, str) else name)
        labels = {**KSERVE_WORKLOAD_LABELS, "app.kubernetes.io/name": name}
        prefill = as_dict(resolution.spec.get("prefill")) if resolution.workload_merged else {}
        if prefill:
            labels["llm-d.ai/role"] = "decode"  # with a prefill side, the main pods decode
            self._kserve_prefill_pod(svc, prefill)
        effective_spec = dict(effective)
        effective_spec.setdefault("serviceAccountName", "default")
        self.pods.append(
            PodModel(
                namespace=ns,
                name=f"{name}-kserve",
                labels=labels,
                annotations={},
                containers=main,
                init_containers=init,
                spec=effective_spec,
                origin="kserve",
                source=svc,
                role="model-server",
                spec_path=("spec", "template"),
                service_account=str(effective_spec["serviceAccountName"]),
                kind="LLMInferenceService",
            )
        )

    def _kserve_multi_node_pods(self, svc: K8sObject, resolution: kserve_presets.Resolution) -> None:
        """The LeaderWorkerSet KServe makes of ``template`` (leader) + ``worker``: its pods, with the labels
        KServe (workload_multi_node.go) and the LWS controller give them, each over what the merged configs
        (the tree's pipeline-parallel config, baseRefs) add. Without a leader template LWS runs the worker
        template as leader too, and KServe puts the pool labels on the workers."""
        ns, name = svc.namespace or "default", svc.name
        merged = resolution.spec if resolution.workload_merged else svc.spec
        user_template, user_worker = as_dict(svc.spec.get("template")), as_dict(svc.spec.get("worker"))
        template = as_dict(merged.get("template")) or user_template
        worker = as_dict(merged.get("worker")) or user_worker
        has_leader = bool(template)
        account = multihost.lws_name(name)  # KServe's multi-node ServiceAccount
        group = multihost.group_selector(name)
        leader_labels = (multihost.leader_labels(name) if has_leader
                         else multihost.worker_labels(name, has_leader_template=False))
        leader = ((template, user_template, ("spec", "template")) if has_leader
                  else (worker, user_worker, ("spec", "worker")))
        for role, (pod_spec, user, path), pod_labels, suffix in (
            ("model-server", leader, {**leader_labels, **group, multihost.LWS_WORKER_INDEX_LABEL: "0"}, ""),
            # worker-index 1..size-1 differs per worker: left out
            ("model-worker", (worker, user_worker, ("spec", "worker")),
             {**multihost.worker_labels(name, has_leader), **group}, "-worker"),
        ):
            if resolution.workload_merged:
                main, init = preset_pod_containers(pod_spec, user, path)
            else:
                main, init = containers_of(pod_spec, path)
            self.pods.append(
                PodModel(
                    namespace=ns,
                    name=f"{multihost.lws_name(name)}{suffix}",
                    labels=pod_labels,
                    annotations={},
                    containers=main,
                    init_containers=init,
                    spec={**pod_spec, "serviceAccountName": account},
                    origin="kserve",
                    source=svc,
                    role=role,
                    spec_path=path,
                    service_account=account,
                    kind="LLMInferenceService",
                )
            )

    def _kserve_prefill_pod(self, svc: K8sObject, prefill: dict[str, Any]) -> None:
        """The prefill pods of a prefill/decode service (KServe's ``<name>-kserve-prefill`` workload)."""
        ns, name = svc.namespace or "default", svc.name
        effective = as_dict(prefill.get("template"))
        user = as_dict(as_dict(svc.spec.get("prefill")).get("template"))
        path: tuple[str | int, ...] = ("spec", "prefill", "template")
        main, init = preset_pod_containers(effective, user, path)
        spec = {"serviceAccountName": "default", **effective}
        self.pods.append(
            PodModel(
                namespace=ns,
                name=kserve_presets.child_name(name, "-kserve-prefill"),
                labels={
                    "app.kubernetes.io/component": "llminferenceservice-workload-prefill",
                    "app.kubernetes.io/name": name,
                    "app.kubernetes.io/part-of": "llminferenceservice",
                    "kserve.io/component": "workload",
                    "llm-d.ai/role": "prefill",
                },
                annotations={},
                containers=main,
                init_containers=init,
                spec=spec,
                origin="kserve",
                source=svc,
                role="model-server",
                spec_path=path,
                service_account=str(spec["serviceAccountName"]),
                kind="LLMInferenceService",
            )
        )

    def kserve_resolution(self, svc: K8sObject) -> kserve_presets.Resolution:
        """``svc``'s spec merged with the presets of its served profile and its baseRefs (memoized)."""
        memo = self.cache.setdefault("kserve.resolutions", {})
        if id(svc) not in memo:
            configs = {(o.namespace, o.name): o.spec for o in self.of_kind("LLMInferenceServiceConfig",
                                                                            KSERVE_GROUP)}
            controller = self.cache.get("kserve.controller")
            if controller is None:  # the tree's inferenceservice-config, if it holds one
                controller = self.cache["kserve.controller"] = kserve_presets.controller_config(
                    [o.obj for o in self.of_kind("ConfigMap", "") if o.name == "inferenceservice-config"])
            memo[id(svc)] = (svc, kserve_presets.resolve(svc.name, svc.namespace or "default", svc.version,
                                                         svc.spec, self.platform, configs, controller))
        return memo[id(svc)][1]

    def _kserve_route_pool_group(self, svc: K8sObject) -> str:
        """The pool group the served version's route preset points at (release-v0.15: x-k8s; v0.20: GA)."""
        rules = dig(self.kserve_resolution(svc).spec, ("router", "route", "http", "spec", "rules"))
        for rule in as_list(rules):
            for ref in as_list(as_dict(rule).get("backendRefs")):
                if as_dict(ref).get("kind") == "InferencePool" and as_dict(ref).get("group") in POOL_GROUPS:
                    return str(ref["group"])
        return POOL_GROUPS[0]

    def _kserve_managed_route(self, svc: K8sObject, spec: dict[str, Any]) -> None:
        """The HTTPRoute KServe makes when ``router.route`` is set without refs to routes of the user."""
        router = as_dict(spec.get("router"))
        route = router.get("route")
        if not isinstance(route, dict) or as_list(as_dict(route.get("http")).get("refs")):
            return
        ns, name = svc.namespace or "default", svc.name
        gateways = [g for g in as_list(as_dict(router.get("gateway")).get("refs")) if isinstance(g, dict)]
        if not gateways:
            gw_ns, _, gw_name = self.kserve_resolution(svc).gateway.rpartition("/")
            gateways = [{"name": gw_name, "namespace": gw_ns or ns}]
            # the gateway KServe's own config names exists wherever KServe runs: the platform provides it
            self.world = self.world.plus(("gateway", gw_ns or ns, gw_name))
        scheduler = router.get("scheduler")
        if isinstance(scheduler, dict):
            pool = as_dict(as_dict(scheduler.get("pool")).get("ref")).get("name") or f"{name}-inference-pool"
            backend = {
                "group": self._kserve_route_pool_group(svc),
                "kind": "InferencePool",
                "name": pool,
                "port": KSERVE_MODEL_PORT,
            }
        else:
            backend = {"kind": "Service", "name": f"{name}-kserve-workload-svc", "port": KSERVE_MODEL_PORT}
        self.add_virtual(
            svc,
            {
                "apiVersion": f"{GATEWAY_GROUP}/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": f"{name}-kserve-route", "namespace": ns},
                "spec": {
                    "parentRefs": [
                        {
                            "group": GATEWAY_GROUP,
                            "kind": "Gateway",
                            "name": str(g.get("name", "")),
                            "namespace": str(g.get("namespace") or ns),
                        }
                        for g in gateways
                    ],
                    "rules": [{"backendRefs": [backend]}],
                },
            },
        )

    def _kserve_managed_router(self, svc: K8sObject, spec: dict[str, Any]) -> None:
        ns, name = svc.namespace or "default", svc.name
        pool_name, epp_service = f"{name}-inference-pool", f"{name}-epp-service"
        scheduler = as_dict(as_dict(spec.get("router")).get("scheduler"))
        sched_template = as_dict(scheduler.get("template"))
        epp_path: tuple[str | int, ...] = ("spec", "router", "scheduler")
        resolution = self.kserve_resolution(svc)
        if "kserve-config-llm-scheduler" in resolution.applied:
            user_template = sched_template
            sched_template = as_dict(as_dict(as_dict(resolution.spec.get("router")).get("scheduler")).get(
                "template"))
            main, init = preset_pod_containers(sched_template, user_template, (*epp_path, "template"))
        elif as_list(sched_template.get("containers")):
            main, init = containers_of(sched_template, (*epp_path, "template"))
        else:
            main, init = (
                [
                    Container(
                        name="main",
                        image=KSERVE_EPP_IMAGE,
                        ports=[Port(n, p) for p, n in KSERVE_EPP_PORTS],
                        env=[],
                        args=[
                            "--pool-name",
                            pool_name,
                            "--pool-namespace",
                            ns,
                            "--pool-group",
                            POOL_GROUPS[0],
                            "--zap-encoder",
                            "json",
                            "--grpc-port",
                            "9002",
                            "--grpc-health-port",
                            "9003",
                            "--secure-serving",
                            "--model-server-metrics-scheme",
                            "https",
                            "--cert-path",
                            KSERVE_TLS_DIR,
                        ],
                        command=[],
                        resources={"requests": {"cpu": "256m", "memory": "500Mi"}},
                        security_context={**_HARDENED, "readOnlyRootFilesystem": True},
                        probes={"liveness": {"grpc": {"port": 9003}}, "readiness": {"grpc": {"port": 9003}}},
                        path=epp_path,
                    )
                ],
                [],
            )
        labels = {**KSERVE_EPP_LABELS, "app.kubernetes.io/name": name}
        self.pods.append(
            PodModel(
                namespace=ns,
                name=f"{name}-kserve-router-scheduler",
                labels=labels,
                annotations={},
                containers=main,
                init_containers=init,
                spec={**sched_template, "serviceAccountName": f"{name}-epp-sa"},
                origin="kserve",
                source=svc,
                role="epp",
                spec_path=(*epp_path, "template"),
                service_account=f"{name}-epp-sa",
                kind="LLMInferenceService",
            )
        )
        workload_selector = {
            "app.kubernetes.io/part-of": "llminferenceservice",
            "app.kubernetes.io/name": name,
            "kserve.io/component": "workload",
        }
        self.add_virtual(
            svc,
            {
                "apiVersion": f"{POOL_GROUPS[0]}/v1alpha2",
                "kind": "InferencePool",
                "metadata": {"name": pool_name, "namespace": ns},
                "spec": {
                    "selector": workload_selector,
                    "targetPortNumber": KSERVE_MODEL_PORT,
                    "extensionRef": {"kind": "Service", "name": epp_service, "failureMode": "FailOpen"},
                },
            },
        )
        self.add_virtual(
            svc,
            {
                "apiVersion": f"{POOL_GROUPS[1]}/v1",
                "kind": "InferencePool",
                "metadata": {"name": pool_name, "namespace": ns},
                "spec": {
                    "selector": {"matchLabels": workload_selector},
                    "targetPorts": [{"number": KSERVE_MODEL_PORT}],
                    "endpointPickerRef": {
                        "kind": "Service",
                        "name": epp_service,
                        "port": {"number": 9002},
                        "failureMode": "FailOpen",
                    },
                },
            },
        )
        self.add_virtual(
            svc,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": epp_service, "namespace": ns},
                "spec": {
                    "selector": labels,
                    "ports": [
                        {"name": p, "port": n, "targetPort": p, "protocol": "TCP"}
                        for p, n in sorted(KSERVE_EPP_PORTS)
                    ],
                },
            },
        )

    # ---- selectors -----------------------------------------------------------------------------------
    def selector_matches(self, selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
        """``selector_matches`` with the selector compiled once per run (a Gateway's namespace selector is
        tested for every route; its values were stringified again each time)."""
        if selector is None:
            return False
        entry = self._selectors.get(id(selector))
        if entry is None or entry[0] is not selector:
            entry = self._selectors[id(selector)] = (selector, compile_selector(selector))
        return entry[1].matches(labels)

    # ---- pod queries ---------------------------------------------------------------------------------
    def pods_in(self, namespace: str) -> list[PodModel]:
        return self._pods_by_ns.get(namespace, [])

    def pods_matching(self, namespace: str | None, selector: Mapping[str, Any] | None) -> list[PodModel]:
        """Pods (in ``namespace``, or anywhere if None) whose labels the selector matches."""
        if selector is None:
            return []
        plain = (
            as_dict(selector.get("matchLabels"))
            if ("matchLabels" in selector or "matchExpressions" in selector)
            else selector
        )
        if plain and namespace is not None:
            candidates = min(
                (self._pods_by_ns_label.get((namespace, str(k), str(v)), []) for k, v in plain.items()),
                key=len,
            )
        elif plain:
            key, value = next(iter(plain.items()))
            candidates = self._pods_by_label.get((str(key), str(value)), [])
        else:
            candidates = self.pods if namespace is None else self.pods_in(namespace)
        return [
            p
            for p in candidates
            if (namespace is None or p.namespace == namespace) and self.selector_matches(selector, p.labels)
        ]


def managed_scheduler(spec: dict[str, Any]) -> bool:
    """KServe runs its own EPP and pool when ``router.scheduler`` is set without a pool ref."""
    router = spec.get("router")
    if not isinstance(router, dict) or not isinstance(router.get("scheduler"), dict):
        return False
    pool = as_dict(router["scheduler"].get("pool"))
    return not as_dict(pool.get("ref")).get("name")


def _apply_workload_preset(container: Container, llmisvc: str, model_name: str) -> None:
    """Fill in what the ``kserve-config-llm-template`` preset gives the main container (if omitted)."""
    if not container.ports:
        container.ports = [Port(KSERVE_MODEL_PORT, None, "TCP")]
    if not container.command:
        container.command = ["/bin/bash", "-c"] if container.args else []
    if not container.command and not container.args:
        # the preset's own command line: vLLM serves HTTPS under the model's name
        container.args = [
            "vllm",
            "serve",
            "/mnt/models",
            "--served-model-name",
            model_name,
            "--port",
            str(KSERVE_MODEL_PORT),
            "--enable-ssl-refresh",
            "--ssl-certfile",
            f"{KSERVE_TLS_DIR}/tls.crt",
            "--ssl-keyfile",
            f"{KSERVE_TLS_DIR}/tls.key",
        ]
    for kind, path in (("liveness", "/health"), ("readiness", "/health")):
        container.probes.setdefault(
            kind, {"httpGet": {"path": path, "port": KSERVE_MODEL_PORT, "scheme": "HTTPS"}}
        )
    container._argv = None  # command/args changed: recompute words on next use
    merged = {**_HARDENED, "readOnlyRootFilesystem": False}
    merged.update(container.security_context)
    container.security_context = merged


def _guess_role(containers: list[Container], labels: dict[str, str]) -> str:
    if PROBE_LABEL in labels:
        return "other"  # an isolation probe wears another role's labels but runs no workload
    if labels.get("kserve.io/component") == "workload":
        return "model-server"
    for container in containers:
        argv = " ".join(container.argv) + " " + (container.image or "")
        if "--pool-name" in argv or "inference-scheduler" in argv or "epp" in container.name.lower():
            return "epp"
        if "vllm" in argv.lower():
            return "model-server"
    if GATEWAY_NAME_LABEL in labels:
        return "gateway"
    return "other"
