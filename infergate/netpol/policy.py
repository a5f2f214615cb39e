"""NetworkPolicy objects (networking.k8s.io/v1) parsed into checked, immutable values.

Parsing applies the API's defaults and rejects what the API server would reject (so the evaluator
never guesses): unknown selector operators, In/NotIn without values, ipBlock mixed with selectors, an
empty peer, a named port with endPort, a bad CIDR. Problems raise ``PolicyError`` with the JSON path.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from infergate.netpol.model import PROTOCOLS

INGRESS = "Ingress"
EGRESS = "Egress"
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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


def parse_selector(value: Any, path: tuple[str | int, ...]) -> LabelSelector:
    spec = _mapping(value, path)
    reqs: list[Requirement] = []
    for key, val in sorted(_mapping(spec.get("matchLabels"), (*path, "matchLabels")).items()):
        if not isinstance(val, str):
            raise PolicyError(f"label value of {key!r} must be a string", (*path, "matchLabels", key))
        reqs.append(Requirement(key, "In", frozenset((val,))))
    for i, expr in enumerate(_list(spec.get("matchExpressions"), (*path, "matchExpressions"))):
        where = (*path, "matchExpressions", i)
        expr = _mapping(expr, where)
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values")
        if not isinstance(key, str) or not key:
            raise PolicyError("matchExpressions need a key", where)
        if op not in _OPERATORS:
            raise PolicyError(f"unknown operator {op!r} (In, NotIn, Exists, DoesNotExist)",
                              (*where, "operator"))
        values = _list(values, (*where, "values"))
        if not all(isinstance(v, str) for v in values):
            raise PolicyError("values must be strings", (*where, "values"))
        if op in ("In", "NotIn") and not values:
            raise PolicyError(f"operator {op} needs values", (*where, "values"))
        if op in ("Exists", "DoesNotExist") and values:
            raise PolicyError(f"operator {op} takes no values", (*where, "values"))
        reqs.append(Requirement(key, op, frozenset(values)))
    return LabelSelector(tuple(reqs))


@lru_cache(maxsize=4096)
def _network(value: str) -> Network | str:
    """Parsed CIDR, or the error text (ipaddress parsing is slow; policies repeat the same few CIDRs)."""
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        return str(exc)


def parse_network(value: Any, path: tuple[str | int, ...]) -> Network:
    if not isinstance(value, str):
        raise PolicyError("must be a CIDR string", path)
    net = _network(value)
    if isinstance(net, str):
        raise PolicyError(f"invalid CIDR {value!r}: {net}", path)
    return net


def _parse_ip_block(value: Any, path: tuple[str | int, ...]) -> IPBlock:
    spec = _mapping(value, path)
    cidr = parse_network(spec.get("cidr"), (*path, "cidr"))
    excepts = []
    for i, item in enumerate(_list(spec.get("except"), (*path, "except"))):
        net = parse_network(item, (*path, "except", i))
        if net.version != cidr.version or not net.subnet_of(cidr):  # type: ignore[arg-type]
            raise PolicyError(f"except {item!r} is not inside {spec.get('cidr')!r}", (*path, "except", i))
        excepts.append(net)
    return IPBlock(cidr, tuple(excepts))


def _parse_peer(value: Any, path: tuple[str | int, ...]) -> Peer:
    spec = _mapping(value, path)
    # the peer's fields are pointers: null (`namespaceSelector:` with nothing after it) is unset, not {}
    has_pod, has_ns, has_ip = (spec.get(k) is not None
                               for k in ("podSelector", "namespaceSelector", "ipBlock"))
    if has_ip and (has_pod or has_ns):
        raise PolicyError("ipBlock cannot be combined with podSelector or namespaceSelector", path)
    if not (has_pod or has_ns or has_ip):
        raise PolicyError("a peer needs podSelector, namespaceSelector or ipBlock", path)
    if has_ip:
        return Peer(ip_block=_parse_ip_block(spec["ipBlock"], (*path, "ipBlock")))
    return Peer(
        pod_selector=parse_selector(spec["podSelector"], (*path, "podSelector")) if has_pod else None,
        namespace_selector=(parse_selector(spec["namespaceSelector"], (*path, "namespaceSelector"))
                            if has_ns else None))


def _parse_port(value: Any, path: tuple[str | int, ...]) -> PolicyPort:
    spec = _mapping(value, path)
    protocol = spec.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        raise PolicyError(f"unknown protocol {protocol!r}", (*path, "protocol"))
    port, end_port = spec.get("port"), spec.get("endPort")
    if isinstance(port, bool) or not (port is None or isinstance(port, int | str)):
        raise PolicyError("port must be a number or a name", (*path, "port"))
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise PolicyError(f"port {port} out of range", (*path, "port"))
    if isinstance(port, str) and not port:
        raise PolicyError("empty port name", (*path, "port"))
    if end_port is not None:
        if isinstance(end_port, bool) or not isinstance(end_port, int) or not 1 <= end_port <= 65535:
            raise PolicyError("endPort must be a port number", (*path, "endPort"))
        if not isinstance(port, int):
            raise PolicyError("endPort needs a numeric port", (*path, "endPort"))
        if end_port < port:
            raise PolicyError("endPort is smaller than port", (*path, "endPort"))
    return PolicyPort(protocol, port, end_port)


def _parse_rule(value: Any, path: tuple[str | int, ...], peer_key: str) -> Rule:
    spec = _mapping(value, path)
    peers = _list(spec.get(peer_key), (*path, peer_key))
    ports = _list(spec.get("ports"), (*path, "ports"))
    return Rule(
        peers=tuple(_parse_peer(p, (*path, peer_key, i)) for i, p in enumerate(peers)) or None,
        ports=tuple(_parse_port(p, (*path, "ports", i)) for i, p in enumerate(ports)) or None)


def parse_policy(obj: Any, source: Any = None, default_namespace: str = "default") -> Policy:
    """One NetworkPolicy object -> Policy (API defaults applied)."""
    obj = _mapping(obj, ())
    meta = _mapping(obj.get("metadata"), ("metadata",))
    name = meta.get("name")
    namespace = meta.get("namespace") or default_namespace
    if not isinstance(name, str) or not isinstance(namespace, str):
        raise PolicyError("metadata.name and metadata.namespace must be strings", ("metadata",))
    spec = _mapping(obj.get("spec"), ("spec",))
    if "podSelector" not in spec:
        raise PolicyError("spec.podSelector is required (use {} for every pod)", ("spec",))
    selector = parse_selector(spec["podSelector"], ("spec", "podSelector"))
    ingress_raw = _list(spec.get("ingress"), ("spec", "ingress"))
    egress_raw = _list(spec.get("egress"), ("spec", "egress"))
    types_raw = _list(spec.get("policyTypes"), ("spec", "policyTypes"))
    for i, t in enumerate(types_raw):
        if t not in (INGRESS, EGRESS):
            raise PolicyError(f"unknown policy type {t!r}", ("spec", "policyTypes", i))
    # API default (also for an empty list): Ingress always, Egress iff there are egress rules
    default_types = (INGRESS, EGRESS) if egress_raw else (INGRESS,)
    types = frozenset(types_raw or default_types)
    ingress = tuple(_parse_rule(r, ("spec", "ingress", i), "from") for i, r in enumerate(ingress_raw))
    egress = tuple(_parse_rule(r, ("spec", "egress", i), "to") for i, r in enumerate(egress_raw))
    # rules of a direction not in policyTypes are ignored by the API
    return Policy(namespace, name, selector, types, ingress if INGRESS in types else (),
                  egress if EGRESS in types else (), source)
