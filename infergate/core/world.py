"""The world a lint run assumes: what exists besides the objects in the linted tree.

Every object a rule looks up is *in the tree*, *provided* (declared by the user: environment platform facts,
``[tool.infergate.lint.provided]`` or ``--provided KIND/NS/NAME``) or *unknown*. In a closed world (the
rendered ``dist/<env>`` of an infergate project, or ``--closed-world``) unknown means missing, and rules
report it; in an open world (any other tree: Helm charts, the platform and ``kubectl create secret`` make
objects nobody linted) an unknown reference is one info finding and the rules that needed it say what they
skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Spellings accepted for kinds in ``--provided`` and the config table (kind names compare case-insensitively).
_ALIASES = {
    "crd": "crd",
    "crds": "crd",
    "crd-group": "crd",
    "crd-groups": "crd",
    "customresourcedefinition": "crd",
    "secrets": "secret",
    "gateways": "gateway",
    "services": "service",
    "svc": "service",
    "namespaces": "namespace",
    "ns": "namespace",
    "configmaps": "configmap",
    "cm": "configmap",
    "inferencepools": "inferencepool",
    "httproutes": "httproute",
    "pods": "pod",
    "llminferenceserviceconfigs": "llminferenceserviceconfig",
}
# Kinds whose objects have no namespace: ``KIND/NAME`` names the object itself.
_CLUSTER_KINDS = frozenset({"namespace", "crd", "clusterissuer", "gatewayclass", "clusterrole", "node"})
ANY = "*"


class ProvidedError(ValueError):
    """A ``--provided`` / config entry that names nothing (the caller adds file:line)."""


def kind_key(kind: str) -> str:
    low = kind.strip().lower()
    return _ALIASES.get(low, low)


def parse_provided(spec: str) -> tuple[str, str, str]:
    """``KIND/NS/NAME`` (``*`` for any namespace or name) or ``KIND/NAME`` (a cluster-scoped object, a CRD
    group, or a namespaced object in any namespace) -> (kind key, namespace or "" or "*", name)."""
    if not isinstance(spec, str):
        raise ProvidedError(f"{spec!r} is not a string KIND/NS/NAME")
    parts = spec.strip().split("/")
    if len(parts) == 2:
        kind, name = parts
        key = kind_key(kind)
        namespace = "" if key in _CLUSTER_KINDS else ANY
    elif len(parts) == 3:
        kind, namespace, name = parts
        key = kind_key(kind)
        if key in _CLUSTER_KINDS:
            raise ProvidedError(f"{spec!r}: {kind} is cluster-scoped (write {kind}/NAME)")
        if not namespace.strip():
            raise ProvidedError(f"{spec!r} has an empty namespace (write * for any)")
    else:
        raise ProvidedError(f"{spec!r} is not KIND/NS/NAME or KIND/NAME")
    if not key or not name.strip():
        raise ProvidedError(f"{spec!r} has an empty kind or name")
    return key, namespace.strip(), name.strip()


@dataclass(frozen=True, slots=True)
class RefNote:
    """One reference a rule could not follow to a single object of the tree."""

    state: str  # "unknown" | "ambiguous" | "namespace"
    referrer: Any  # the K8sObject holding the reference
    path: tuple[str | int, ...]
    rule: str
    need: str  # what the rule could not check without the object
    detail: str = ""


@dataclass(frozen=True, slots=True)
class World:
    closed: bool = False
    provided: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)

    @classmethod
    def of(cls, platform: Any) -> World:
        """The world a Platform (lint facts) declares; ``None`` (a bare graph): open and empty."""
        if platform is None:
            return cls()
        entries: set[tuple[str, str, str]] = set(getattr(platform, "provided", ()) or ())
        for secret in getattr(platform, "provided_secrets", ()) or ():
            ns, _, name = str(secret).rpartition("/")
            entries.add(("secret", ns or ANY, name))
        for config in getattr(platform, "provided_configs", ()) or ():
            entries.add(("llminferenceserviceconfig", ANY, str(config)))
        fact = getattr(platform, "fact", None)
        gateway = fact("kserve_ingress_gateway") if callable(fact) else None
        if isinstance(gateway, str) and "/" in gateway:  # KServe's default gateway is the platform's
            ns, _, name = gateway.partition("/")
            entries.add(("gateway", ns, name))
        return cls(bool(getattr(platform, "closed_world", False)), frozenset(entries))

    def plus(self, entry: tuple[str, str, str]) -> World:
        return self if entry in self.provided else World(self.closed, self.provided | {entry})

    def provides(self, kind: str, namespace: str | None, name: str) -> bool:
        key, ns = kind_key(kind), namespace or ""
        entries = self.provided
        return any(
            entry in entries for entry in ((key, ns, name), (key, ANY, name), (key, ns, ANY), (key, ANY, ANY))
        ) or (not ns and (key, "", ANY) in entries)

    def provides_crd_group(self, group: str) -> bool:
        return ("crd", "", group) in self.provided or ("crd", "", ANY) in self.provided


def provided_entries(values: Iterable[Any]) -> frozenset[tuple[str, str, str]]:
    """Parse many ``KIND/NS/NAME`` strings (already-parsed tuples pass through)."""
    out: set[tuple[str, str, str]] = set()
    for value in values:
        if isinstance(value, tuple) and len(value) == 3:
            out.add((kind_key(value[0]), str(value[1]), str(value[2])))
        else:
            out.add(parse_provided(value))
    return frozenset(out)


# [tool.infergate.lint.provided]: kind (plural) -> list of "NS/NAME" (or "NAME" for cluster kinds);
# ``objects`` takes full KIND/NS/NAME strings.
def provided_from_table(table: Mapping[str, Any]) -> frozenset[tuple[str, str, str]]:
    specs: list[str] = []
    for key, values in table.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ProvidedError(f"provided.{key} must be a list of strings")
        if key == "objects":
            specs.extend(values)
        else:
            specs.extend(f"{key}/{v}" for v in values)
    return provided_entries(specs)
