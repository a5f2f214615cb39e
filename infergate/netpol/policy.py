"""NetworkPolicy objects (networking.k8s.io/v1) parsed into checked, immutable values.

Parsing applies the API's defaults and rejects what the API server would reject (so the evaluator
never guesses), following pkg/apis/networking/validation/validation.go in kubernetes/kubernetes
(ValidateNetworkPolicySpec, ValidateNetworkPolicyPeer, ValidateNetworkPolicyPort, ValidateIPBlock) and the
label selector checks it calls: unknown selector operators, In/NotIn without values, bad label keys and
values, a peer with no field set or ipBlock next to a selector, a bad CIDR or an except that is not
strictly inside it, a bad port name (a quoted number is a name), endPort without a numeric port, more than
two policyTypes. ``null`` is unset, as in the API's pointer fields. Problems raise ``PolicyError`` with
the JSON path of the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infergate.netpol.model import PROTOCOLS
from infergate.netpol.validation import (
    Network,
    label_value_error,
    parse_cidr,
    port_name_error,
    qualified_name_error,
)

INGRESS = "Ingress"
EGRESS = "Egress"
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class PolicyError(ValueError):
    """A NetworkPolicy the API server would reject; ``path`` locates the offending field."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".")
        return f"{where}: {self.args[0]}" if where else str(self.args[0])


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """matchLabels are folded into In requirements with one value: one code path, same semantics."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Any) -> bool:
        for req in self.requirements:
            present = req.key in labels
            if req.operator == "In":
                if not present or labels[req.key] not in req.values:
                    return False
            elif req.operator == "NotIn":
                if present and labels[req.key] in req.values:
                    return False
            elif req.operator == "Exists":
                if not present:
                    return False
            elif present:  # DoesNotExist
                return False
        return True


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: Network
    excepts: tuple[Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Peer:
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    @property
    def is_every_pod(self) -> bool:
        """``namespaceSelector: {}`` with an empty or absent podSelector: every pod of every namespace."""
        return (self.namespace_selector is not None and self.namespace_selector.is_empty
                and (self.pod_selector is None or self.pod_selector.is_empty))


@dataclass(frozen=True, slots=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None  # None: every port of the protocol
    end_port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return f"{self.protocol}/*"
        if self.end_port is not None:
            return f"{self.protocol}/{self.port}-{self.end_port}"
        return f"{self.protocol}/{self.port}"


@dataclass(frozen=True, slots=True)
class Rule:
    peers: tuple[Peer, ...] | None  # None: from/to absent or empty, i.e. every source/destination
    ports: tuple[PolicyPort, ...] | None  # None: ports absent or empty, i.e. every port


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    source: Any = None  # the Document, for locating findings

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


def _mapping(value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError("must be a mapping", path)
    return value


def _list(value: Any, path: tuple[str | int, ...]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError("must be a list", path)
    return value


def _string_list(value: Any, path: tuple[str | int, ...]) -> list[str]:
    items = _list(value, path)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise PolicyError("must be a string", (*path, i))
    return items


def parse_selector(value: Any, path: tuple[str | int, ...]) -> LabelSelector:
    """A metav1.LabelSelector, checked as ValidateLabelSelector does (apimachinery meta/v1/validation)."""
    spec = _mapping(value, path)
    reqs: list[Requirement] = []
    for key, val in sorted(_mapping(spec.get("matchLabels"), (*path, "matchLabels")).items()):
        where = (*path, "matchLabels", key)
        if not isinstance(val, str):
            raise PolicyError(f"label value of {key!r} must be a string", where)
        problem = qualified_name_error(key)
        if problem:
            raise PolicyError(f"label key {key!r}: {problem}", where)
        problem = label_value_error(val)
        if problem:
            raise PolicyError(f"label value {val!r}: {problem}", where)
        reqs.append(Requirement(key, "In", frozenset((val,))))
    for i, expr in enumerate(_list(spec.get("matchExpressions"), (*path, "matchExpressions"))):
        where = (*path, "matchExpressions", i)
        expr = _mapping(expr, where)
        key, op = expr.get("key") or "", expr.get("operator") or ""
        if not isinstance(key, str) or not isinstance(op, str):
            raise PolicyError("key and operator must be strings", where)
        values = _string_list(expr.get("values"), (*where, "values"))
        # ValidateLabelSelectorRequirement: operator first, then the key, then each value
        if op not in _OPERATORS:
            raise PolicyError(f"unknown operator {op!r} (In, NotIn, Exists, DoesNotExist)",
                              (*where, "operator"))
        if op in ("In", "NotIn") and not values:
            raise PolicyError(f"operator {op} needs values", (*where, "values"))
        if op in ("Exists", "DoesNotExist") and values:
            raise PolicyError(f"operator {op} takes no values", (*where, "values"))
        problem = qualified_name_error(key)
        if problem:
            raise PolicyError(f"key {key!r}: {problem}", (*where, "key"))
        for j, item in enumerate(values):
            problem = label_value_error(item)
            if problem:
                raise PolicyError(f"value {item!r}: {problem}", (*where, "values", j))
        reqs.append(Requirement(key, op, frozenset(values)))
    return LabelSelector(tuple(reqs))


def parse_network(value: Any, path: tuple[str | int, ...]) -> Network:
    """A CIDR as ValidateIPBlock accepts it (see ``validation.parse_cidr``)."""
    if value is None or value == "":
        raise PolicyError("is required", path)
    if not isinstance(value, str):
        raise PolicyError("must be a CIDR string", path)
    net = parse_cidr(value)
    if isinstance(net, str):
        raise PolicyError(f"invalid CIDR {value!r}: {net}", path)
    return net


def _parse_ip_block(value: Any, path: tuple[str | int, ...]) -> IPBlock:
    """ValidateIPBlock (pkg/apis/networking/validation/validation.go)."""
    spec = _mapping(value, path)
    cidr = parse_network(spec.get("cidr"), (*path, "cidr"))
    excepts = []
    for i, item in enumerate(_list(spec.get("except"), (*path, "except"))):
        net = parse_network(item, (*path, "except", i))
        # "must be a strict subset of `cidr`": inside it and with a longer prefix (so never equal)
        if (net.version != cidr.version or net.network_address not in cidr
                or net.prefixlen <= cidr.prefixlen):
            raise PolicyError(f"except {item!r} must be a strict subset of cidr {spec.get('cidr')!r}",
                              (*path, "except", i))
        excepts.append(net)
    return IPBlock(cidr, tuple(excepts))


def _parse_peer(value: Any, path: tuple[str | int, ...]) -> Peer:
    """ValidateNetworkPolicyPeer: count the fields that are set; null is unset (they are pointers)."""
    spec = _mapping(value, path)
    has_pod, has_ns, has_ip = (spec.get(k) is not None
                               for k in ("podSelector", "namespaceSelector", "ipBlock"))
    if not (has_pod or has_ns or has_ip):
        raise PolicyError("must specify a peer (podSelector, namespaceSelector or ipBlock)", path)
    if has_ip and (has_pod or has_ns):
        raise PolicyError("may not specify both ipBlock and another peer", path)
    if has_ip:
        return Peer(ip_block=_parse_ip_block(spec["ipBlock"], (*path, "ipBlock")))
    return Peer(
        pod_selector=parse_selector(spec["podSelector"], (*path, "podSelector")) if has_pod else None,
        namespace_selector=(parse_selector(spec["namespaceSelector"], (*path, "namespaceSelector"))
                            if has_ns else None))


def _port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_port(value: Any, path: tuple[str | int, ...]) -> PolicyPort:
    """ValidateNetworkPolicyPort; protocol null or absent defaults to TCP (SetDefaults_NetworkPolicyPort)."""
    spec = _mapping(value, path)
    protocol = spec.get("protocol")
    if protocol is None:
        protocol = "TCP"
    if protocol not in PROTOCOLS:
        raise PolicyError(f"unsupported protocol {protocol!r} (TCP, UDP, SCTP)", (*path, "protocol"))
    port, end_port = spec.get("port"), spec.get("endPort")
    if port is not None and not (_port_number(port) or isinstance(port, str)):
        raise PolicyError("port must be a number or a name", (*path, "port"))
    if end_port is not None and not _port_number(end_port):
        raise PolicyError("endPort must be a port number", (*path, "endPort"))
    if _port_number(port):
        if not 1 <= port <= 65535:
            raise PolicyError(f"port {port} must be between 1 and 65535", (*path, "port"))
        if end_port is not None:
            if end_port < port:
                raise PolicyError("endPort must be greater than or equal to port", (*path, "endPort"))
            if not 1 <= end_port <= 65535:
                raise PolicyError(f"endPort {end_port} must be between 1 and 65535", (*path, "endPort"))
    elif isinstance(port, str):
        if end_port is not None:
            raise PolicyError("endPort may not be specified when port is non-numeric", (*path, "endPort"))
        problem = port_name_error(port)
        if problem:
            raise PolicyError(f"port name {port!r}: {problem}", (*path, "port"))
    elif end_port is not None:
        raise PolicyError("endPort may not be specified when port is not specified", (*path, "endPort"))
    return PolicyPort(protocol, port, end_port)


def _parse_rule(value: Any, path: tuple[str | int, ...], peer_key: str) -> Rule:
    spec = _mapping(value, path)
    peers = _list(spec.get(peer_key), (*path, peer_key))
    ports = _list(spec.get("ports"), (*path, "ports"))
    # ValidateNetworkPolicySpec checks a rule's ports before its peers
    parsed_ports = tuple(_parse_port(p, (*path, "ports", i)) for i, p in enumerate(ports))
    parsed_peers = tuple(_parse_peer(p, (*path, peer_key, i)) for i, p in enumerate(peers))
    return Rule(peers=parsed_peers or None, ports=parsed_ports or None)


def parse_policy(obj: Any, source: Any = None, default_namespace: str = "default") -> Policy:
    """One NetworkPolicy object -> Policy (API defaults applied), checked like ValidateNetworkPolicySpec."""
    obj = _mapping(obj, ())
    meta = _mapping(obj.get("metadata"), ("metadata",))
    name = meta.get("name")
    namespace = meta.get("namespace") or default_namespace
    if not isinstance(name, str) or not isinstance(namespace, str):
        raise PolicyError("metadata.name and metadata.namespace must be strings", ("metadata",))
    spec = _mapping(obj.get("spec"), ("spec",))
    # podSelector is optional and defaults to {} (every pod of the namespace): the field is a struct, not a
    # pointer, so absent and null both decode to the empty selector (networking/v1 types.go)
    selector = parse_selector(spec.get("podSelector"), ("spec", "podSelector"))
    ingress_raw = _list(spec.get("ingress"), ("spec", "ingress"))
    egress_raw = _list(spec.get("egress"), ("spec", "egress"))
    ingress = tuple(_parse_rule(r, ("spec", "ingress", i), "from") for i, r in enumerate(ingress_raw))
    egress = tuple(_parse_rule(r, ("spec", "egress", i), "to") for i, r in enumerate(egress_raw))
    types_raw = _list(spec.get("policyTypes"), ("spec", "policyTypes"))
    if len(types_raw) > 2:
        raise PolicyError("may not specify more than two policyTypes", ("spec", "policyTypes"))
    for i, t in enumerate(types_raw):
        if t not in (INGRESS, EGRESS):
            raise PolicyError(f"unsupported policy type {t!r} (Ingress, Egress)", ("spec", "policyTypes", i))
    # API default (also for an empty list): Ingress always, Egress iff there are egress rules
    default_types = (INGRESS, EGRESS) if egress_raw else (INGRESS,)
    types = frozenset(types_raw or default_types)
    # rules of a direction not in policyTypes are ignored by the API
    return Policy(namespace, name, selector, types, ingress if INGRESS in types else (),
                  egress if EGRESS in types else (), source)
