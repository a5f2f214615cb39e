"""Pinned CRDs -> JSON Schema (2020-12) the way the API server reads their structural schemas.

What the conversion encodes (apiextensions-apiserver semantics, strict field validation):
  * unknown fields are errors: every object node gets ``additionalProperties: false`` unless it says
    ``x-kubernetes-preserve-unknown-fields: true`` or has its own ``additionalProperties`` (the server
    prunes them; ``kubectl --validate=strict`` and ``kubeconform -strict`` reject them). An object with no
    ``properties`` at all therefore only admits ``{}``, as the pruner would leave it;
  * ``x-kubernetes-int-or-string`` -> integer or string; ``nullable`` -> ``null`` also allowed;
  * ``x-kubernetes-embedded-resource`` -> ``apiVersion``/``kind`` required, ``metadata`` is ObjectMeta;
  * the root ``metadata`` is ObjectMeta (from the Kubernetes schemas), plus whatever the CRD says about
    ``name``/``generateName``;
  * value validations inside ``allOf``/``anyOf``/``oneOf``/``not`` are kept as written (they may not add
    fields, so no ``additionalProperties`` is injected there);
  * ``x-kubernetes-list-type: set`` -> ``uniqueItems``; ``map``/``set`` are kept (null items, see
    structural.py); ``format: byte`` becomes ``x-infergate-format: byte`` (base64, structural.py), other
    formats are not checked (as kubeconform).
CEL rules (``x-kubernetes-validations``) are lifted into a separate plan (see ``cel.py``).

Which CRDs count: the lock entries a platform profile names (infergate/synth/data/profiles.yaml; the
default profile's when none is given), but a CRD name defined by several of its files is taken from the
first file in ``PREFERENCE`` order. For the odh-v0.15 profile that is what KServe's ``odh-xks`` overlay
installs, i.e. the ODH GIE bundle (bundle v1.0.1: InferencePool x-k8s.io v1alpha2 + k8s.io v1,
InferenceModel, InferenceObjective); the stand-alone GIE v0.3.0/v1.0.1 files are alternates it shadows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from infergate.core.errors import InfergateError
from infergate.crds import lockfile as lock
from infergate.validate import formats
from infergate.validate.crdset import profile_entries

PREFERENCE = ("gie/odh-kserve-v0.15-gateway-inference-extension",)
_DOC_KEYS = ("description", "example", "externalDocs")
_LOGIC_KEYS = ("allOf", "anyOf", "oneOf")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class CrdVersion:
    """One served version of one chosen CRD."""

    group: str
    version: str
    kind: str
    crd_name: str
    source: str  # lock entry name
    scope: str
    schema: dict[str, Any]  # the CRD's openAPIV3Schema, untouched
    status_subresource: bool = False  # the version serves /status: a client's status is reset on create

    @property
    def validated_schema(self) -> dict[str, Any]:
        """What the server validates on create: with the status subresource, the status is dropped
        first (customResourceStrategy PrepareForCreate), so its rules (``required``, enums, CEL) never
        run; the typed patch of server-side apply still checks its types (json_schema keeps them)."""
        if not self.status_subresource or "status" not in self.schema.get("properties", {}):
            return self.schema
        return {**self.schema, "properties": {k: v for k, v in self.schema["properties"].items()
                                              if k != "status"}}

    @property
    def gvk(self) -> str:
        return f"{self.group}/{self.version}/{self.kind}"


def _ordered(entries: list[lock.LockEntry]) -> list[lock.LockEntry]:
    rank = {name: i for i, name in enumerate(PREFERENCE)}
    return sorted(entries, key=lambda e: rank.get(e.name, len(rank)))


def iter_crd_documents(entry: lock.LockEntry) -> Iterator[dict[str, Any]]:
    path = lock.verified_path(entry)
    try:
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.load_all(fh, Loader=yaml.CSafeLoader):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    yield doc
    except yaml.YAMLError as exc:
        raise InfergateError(f"pinned CRD file is not valid YAML: {exc}", file=str(path)) from exc


def chosen_crds(entries: list[lock.LockEntry] | None = None) -> tuple[list[CrdVersion], list[str]]:
    """Every served version of every chosen CRD, and notes on the alternates that were shadowed."""
    entries = [e for e in (profile_entries() if entries is None else entries) if e.kind == "crd"]
    taken: dict[str, str] = {}
    notes: list[str] = []
    out: list[CrdVersion] = []
    for entry in _ordered(entries):
        for doc in iter_crd_documents(entry):
            name = doc["metadata"]["name"]
            if name in taken:
                notes.append(f"{name}: using {taken[name]}, not {entry.name}")
                continue
            taken[name] = entry.name
            spec = doc["spec"]
            for ver in spec["versions"]:
                if not ver.get("served", True):
                    continue
                schema = (ver.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
                status = "status" in (ver.get("subresources") or spec.get("subresources") or {})
                out.append(CrdVersion(spec["group"], ver["name"], spec["names"]["kind"], name, entry.name,
                                      spec.get("scope", "Namespaced"), schema, status))
    out.sort(key=lambda c: c.gvk)
    return out, sorted(notes)


def convert(node: dict[str, Any], *, keep_docs: bool = False, in_logic: bool = False) -> dict[str, Any]:
    """One structural-schema node -> JSON Schema (recursively)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "x-kubernetes-list-type" and value in ("map", "set"):
            out[key] = value  # structural.null_items: server-side apply refuses null items there
            continue
        if key.startswith("x-kubernetes-") or key == "default" or key == "nullable":
            continue
        if key in _DOC_KEYS and not keep_docs:
            continue
        if key == "properties":
            out[key] = {name: convert(child, keep_docs=keep_docs, in_logic=in_logic)
                        for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = convert(value, keep_docs=keep_docs, in_logic=in_logic or key == "not")
        elif key in _LOGIC_KEYS:
            out[key] = [convert(child, keep_docs=keep_docs, in_logic=True) for child in value]
        elif key == "format":
            if value == "byte":  # checked by structural.byte_fields (base64), as the server does
                out["x-infergate-format"] = "byte"
            elif value in formats.CHECKS:  # evaluated by the schema validator, inside oneOf/anyOf too
                out["format"] = formats.PREFIX + value
            continue  # other formats: not decisive for the pinned CRDs (numbers, status timestamps)
        else:
            out[key] = value
    nullable = node.get("nullable") is True
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        if "anyOf" not in out and "oneOf" not in out:
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if nullable:
            out["anyOf"] = [*out.get("anyOf", []), {"type": "null"}]
            nullable = False
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props["metadata"] = _metadata_schema(node.get("properties", {}).get("metadata"), keep_docs)
        out["required"] = sorted({*out.get("required", []), "apiVersion", "kind"})
        out.setdefault("type", "object")
    if (not in_logic and not node.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in node
            and (node.get("type") == "object" or "properties" in node)):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if nullable:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


# value validations (not types): a status the server drops before validating is not held to them
_VALUE_KEYWORDS = {"required", "enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum",
                   "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
                   "minProperties", "maxProperties", "oneOf", "allOf", "not", "x-infergate-format",
                   "format"}


def types_only(node: Any) -> Any:
    """A converted schema node without its value validations (types, unknown fields and list types stay:
    the typed patch checks those). ``anyOf`` stays: int-or-string is written as one."""
    if isinstance(node, dict):
        return {k: types_only(v) for k, v in node.items() if k not in _VALUE_KEYWORDS}
    if isinstance(node, list):
        return [types_only(v) for v in node]
    return node


def _metadata_schema(crd_meta: dict[str, Any] | None, keep_docs: bool) -> dict[str, Any]:
    """ObjectMeta, narrowed by what the CRD says about ``name``/``generateName`` (never widened)."""
    ref = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    extra = {k: v for k, v in (crd_meta or {}).get("properties", {}).items() if k in ("name", "generateName")}
    if not extra:
        return ref
    narrowed = {name: convert(child, keep_docs=keep_docs, in_logic=True) for name, child in extra.items()}
    return {"allOf": [ref, {"properties": narrowed}]}


def json_schema(crd: CrdVersion, object_meta_defs: dict[str, Any], *,
                keep_docs: bool = False) -> dict[str, Any]:
    """A self-contained JSON Schema for one served version (ObjectMeta definitions embedded)."""
    schema = convert(crd.schema, keep_docs=keep_docs)
    props = schema.setdefault("properties", {})
    if crd.status_subresource and isinstance(props.get("status"), dict):
        props["status"] = types_only(props["status"])
    props["apiVersion"] = {"type": "string", "enum": [f"{crd.group}/{crd.version}"]}
    props["kind"] = {"type": "string", "enum": [crd.kind]}
    props["metadata"] = _metadata_schema(crd.schema.get("properties", {}).get("metadata"), keep_docs)
    schema["type"] = "object"
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
    schema["additionalProperties"] = bool(crd.schema.get("x-kubernetes-preserve-unknown-fields"))
    return {"$schema": DRAFT, **schema, "$defs": object_meta_defs}
