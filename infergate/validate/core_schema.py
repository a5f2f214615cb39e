"""Kubernetes core kinds: the strict JSON schemas bundled with the kubernetes-validate package.

kubernetes-validate ships one ``_definitions.json`` per Kubernetes minor (OpenAPI v3 definitions turned into
JSON Schema 2020-12, ``additionalProperties: false`` in the ``-strict`` flavour). We index it by the
``x-kubernetes-group-version-kind`` annotation (exact GVKs: file names would confuse ``networking.k8s.io``
with ``networking.istio.io``) and cut one self-contained schema per kind: the kind's definition plus the
transitive closure of the definitions it references, so a validator compiles only what it needs.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_REF = re.compile(r'"\$ref":\s*"#/\$defs/([^"]+)"')
# kinds that carry a GVK annotation but are not objects anyone stores (API machinery envelopes)
_ENVELOPES = {"DeleteOptions", "WatchEvent", "Status", "APIGroup", "APIGroupList", "APIResourceList",
              "APIVersions", "Eviction", "Scale", "TokenReview", "SubjectAccessReview", "TokenRequest",
              "SelfSubjectAccessReview", "SelfSubjectRulesReview", "LocalSubjectAccessReview",
              "SelfSubjectReview"}


def package_dir() -> Path:
    """The bundled schemas, located without importing the package (its import costs ~50 ms)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        raise ConfigError("the kubernetes-validate package is not installed (see requirements.lock)")
    return Path(spec.origin).resolve().parent / "kubernetes-json-schema"


def package_version() -> str:
    """The installed version, read from the dist-info directory name next to the package: what
    importlib.metadata would find, without its ~9 ms import on every run (this keys the schema cache)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is not None and spec.origin is not None:
        found = sorted(Path(spec.origin).resolve().parent.parent.glob("kubernetes_validate-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removeprefix("kubernetes_validate-").removesuffix(".dist-info")
    from importlib import metadata  # unusual layouts (eggs, zip imports)

    return metadata.version("kubernetes-validate")


def available_versions() -> list[str]:
    found = set()
    for entry in package_dir().iterdir():
        match = re.fullmatch(r"v(\d+\.\d+)\.\d+-local-strict", entry.name)
        if match:
            found.add(match.group(1))
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def resolve_version(requested: str) -> str:
    """Newest bundled minor not newer than ``requested`` (``1.33``, ``v1.33.2``); error if none."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", requested.strip())
    if not match:
        raise ConfigError(f"invalid Kubernetes version {requested!r} (expected e.g. 1.33)")
    wanted = (int(match.group(1)), int(match.group(2)))
    versions = available_versions()
    usable = [v for v in versions if tuple(int(p) for p in v.split(".")) <= wanted]
    if not usable or wanted > tuple(int(p) for p in versions[-1].split(".")):
        raise ConfigError(f"Kubernetes {requested} is not supported by the bundled schemas "
                          f"(kubernetes-validate {package_version()}: {versions[0]}..{versions[-1]})")
    return usable[-1]


def definitions_file(version: str) -> Path:
    return package_dir() / f"v{version}.0-local-strict" / "_definitions.json"


@cache
def definitions(version: str) -> dict[str, Any]:
    with definitions_file(version).open(encoding="utf-8") as fh:
        return json.load(fh)["$defs"]


def closure(defs: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """The definitions reachable from ``roots`` (by ``#/$defs/`` references)."""
    seen: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = defs[name]
        todo.extend(_REF.findall(json.dumps(defs[name])))
    return dict(sorted(seen.items()))


def gvk_index(version: str) -> dict[str, str]:
    """``group/version/Kind`` (core group: ``/v1/Kind``) -> definition name."""
    index: dict[str, str] = {}
    for name, schema in definitions(version).items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            kind = gvk.get("kind")
            if kind in _ENVELOPES or not name.endswith("." + str(kind)):
                continue
            index[f"{gvk.get('group', '')}/{gvk['version']}/{kind}"] = name
    return dict(sorted(index.items()))


# OpenAPI ``required`` entries the API server does not enforce for built-in kinds. A built-in object is
# decoded into Go structs (an absent field is its zero value), defaulted, then judged by the Go validation
# functions only; the OpenAPI ``required`` list is documentation there. Where defaulting fills the field or
# the validation accepts its zero value, requiring it would reject what the server accepts:
NOT_ENFORCED_REQUIRED: dict[str, set[str]] = {
    # pkg/apis/rbac/v1/defaults.go SetDefaults_RoleBinding / SetDefaults_ClusterRoleBinding: an empty
    # roleRef.apiGroup becomes "rbac.authorization.k8s.io" before validation
    "io.k8s.api.rbac.v1.RoleRef": {"apiGroup"},
    # pkg/apis/networking/validation/validation.go ValidateNetworkPolicySpec: spec.podSelector is a struct
    # (not a pointer); absent it is the empty selector, which ValidateLabelSelector accepts (all pods)
    "io.k8s.api.networking.v1.NetworkPolicySpec": {"podSelector"},
}


def _server_required(defs: dict[str, Any]) -> dict[str, Any]:
    """``defs`` with the unenforced ``required`` entries removed (copies only the definitions touched)."""
    out = dict(defs)
    for name, fields in NOT_ENFORCED_REQUIRED.items():
        if name in out and out[name].get("required"):
            kept = [f for f in out[name]["required"] if f not in fields]
            out[name] = {k: v for k, v in out[name].items() if k != "required"} | ({"required": kept} if kept
                                                                                     else {})
    return out


STATUS_PREFIX = "status."


def _status_copies(defs: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The definitions under the root's ``status``, copied (as ``status.<name>``) without ``required``:
    a client's status is reset on create (each kind's strategy PrepareForCreate) and never validated, so
    only its types count (decoding and the typed patch check them). Even a list-map item without its
    key field is accepted there (the differential test shows it: a Deployment status condition without
    ``type``). ``root``'s status reference is rewritten in place."""
    status = root.get("properties", {}).get("status")
    names = _REF.findall(json.dumps(status)) if isinstance(status, dict) else []
    if not names:
        return {}
    copies = {}
    for name, node in closure(defs, names).items():
        copy = json.loads(json.dumps(node).replace('"#/$defs/', f'"#/$defs/{STATUS_PREFIX}'))
        copy.pop("required", None)
        copies[STATUS_PREFIX + name] = copy
    root["properties"] = {**root["properties"], "status": json.loads(
        json.dumps(status).replace('"#/$defs/', f'"#/$defs/{STATUS_PREFIX}'))}
    return copies


def kind_schema(version: str, definition: str) -> dict[str, Any]:
    """A self-contained strict schema for one kind (``required`` as the server enforces it)."""
    defs = definitions(version)
    root = {k: v for k, v in defs[definition].items() if k not in ("$schema", "$id")}
    inner = _server_required(closure(defs, [definition]))
    status = _status_copies(defs, root)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **root,
            "$defs": dict(sorted({**inner, **status}.items()))}


def object_meta_defs(version: str) -> dict[str, Any]:
    """ObjectMeta and what it references: CRD schemas embed it for ``metadata``."""
    return closure(definitions(version), [OBJECT_META])
