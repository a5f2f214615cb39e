"""Every object in dist/ passes a strict structural check.

Custom resources: the pinned CRD's openAPIV3Schema with unknown fields rejected (additionalProperties
false wherever the schema lists properties and does not say x-kubernetes-preserve-unknown-fields), for
every definition of that group/version/kind that the platform profile of the object's environment pins
(infergate/synth/data/profiles.yaml). Core kinds: kubernetes-validate's bundled Kubernetes
1.33 strict schemas. (The full validator, `infergate validate`, adds CEL; this test needs only jsonschema.)
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infergate.core.loader import skipped_as_not_manifest
from infergate.crds import lockfile as crds
from infergate.project.discovery import env_file_for_dist
from infergate.synth import profiles
from infergate.synth.envfiles import declared
from infergate.validate.crdset import profile_entries
from tests.conftest import REPO, example_dist_roots

KUBERNETES_VERSION = "1.33"


def _closed(schema: Any) -> Any:
    """A copy of an OpenAPI v3 CRD schema that rejects fields it does not declare."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@cache
def crd_schemas(profile: str | None = None) -> dict[tuple[str, str], list[jsonschema.Draft7Validator]]:
    """(apiVersion, kind) -> validators of the closed schema of every CRD file of ``profile`` defining it."""
    found: dict[tuple[str, str], list[jsonschema.Draft7Validator]] = {}
    for entry in profile_entries(profile):
        with crds.verified_path(entry).open(encoding="utf-8") as fh:
            for doc in yaml.load_all(fh, Loader=yaml.CSafeLoader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
                for version in doc["spec"]["versions"]:
                    schema = _closed(version["schema"]["openAPIV3Schema"])
                    props = schema["properties"]  # Istio's CRDs declare neither apiVersion nor kind
                    props.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                  "metadata": {"type": "object"}})  # metadata: checked as ObjectMeta
                    found.setdefault((f"{group}/{version['name']}", kind), []).append(
                        jsonschema.Draft7Validator(schema))
    return found


GOLDEN = REPO / "tests" / "golden"


@cache
def profile_of(file: str) -> str:
    """The platform profile of the environment whose output holds ``file`` (examples' dist/<env>, the golden
    tests/golden/<env>); the default profile elsewhere."""
    path = REPO / file
    env_file = env_file_for_dist(path)
    if path.is_relative_to(GOLDEN):
        candidate = GOLDEN / "envs" / f"{path.relative_to(GOLDEN).parts[0]}.yaml"
        env_file = candidate if candidate.is_file() else None
    found = declared(env_file, "profile") if env_file else None  # follows base:
    return str(found[0]) if found else profiles.default_name()


@cache
def dist_objects() -> list[tuple[str, dict[str, Any]]]:
    objects = []
    # dist/ and the golden charts (they exercise the options dist/ leaves at one value)
    golden = [p for p in sorted((REPO / "tests" / "golden").rglob("*.yaml")) if "envs" not in p.parts]
    for path in [*(p for root in example_dist_roots() for p in sorted(root.rglob("*.yaml"))), *golden]:
        if skipped_as_not_manifest(path):  # Argo CD's Helm values and argocd-cm patch
            continue
        with path.open(encoding="utf-8") as fh:
            objects.extend((str(path.relative_to(REPO)), doc) for doc in yaml.safe_load_all(fh) if doc)
    return objects


def structural_errors(obj: dict[str, Any], profile: str | None = None) -> list[str]:
    key = (obj.get("apiVersion"), obj.get("kind"))
    meta = obj.get("metadata") or {}
    errors = [] if meta.get("name") else ["metadata.name missing"]
    schemas = crd_schemas(profile)
    if key in schemas:
        for validator in schemas[key]:
            errors += [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                       for e in validator.iter_errors(obj)]
        # metadata of a custom resource is an ObjectMeta: check it with the core schema
        probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
        try:
            kubernetes_validate.validate(probe, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"metadata: {exc.message}")
        return errors
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        errors.append(f"{'.'.join(map(str, exc.path))}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError:
        errors.append(f"no schema for {key} (neither a pinned CRD nor Kubernetes {KUBERNETES_VERSION})")
    return errors


def test_dist_has_objects_of_every_concern() -> None:
    kinds = {obj["kind"] for _, obj in dist_objects()}
    assert {"Istio", "Gateway", "Certificate", "ClusterIssuer", "HTTPRoute", "InferencePool",
            "InferenceObjective", "InferenceModel", "LLMInferenceService", "Deployment", "NetworkPolicy",
            "DestinationRule", "AppProject", "Application", "ApplicationSet"} <= kinds


@pytest.mark.parametrize(("file", "obj"), dist_objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_object_is_structurally_valid(file: str, obj: dict[str, Any]) -> None:
    assert structural_errors(obj, profile_of(file)) == [], file


def test_the_check_rejects_unknown_fields_and_wrong_types() -> None:
    """The strict check is not vacuous: it catches the reference deployment's scorer-weights failure."""
    llmisvc = next(o for _, o in dist_objects() if o["kind"] == "LLMInferenceService")
    bad = copy.deepcopy(llmisvc)
    bad["spec"]["router"]["scheduler"]["scorerWeights"] = {"prefix-cache-scorer": 2}
    assert any("scorerWeights" in e for e in structural_errors(bad))
    deployment = copy.deepcopy(next(o for _, o in dist_objects() if o["kind"] == "Deployment"))
    deployment["spec"]["replicas"] = "one"
    assert structural_errors(deployment)
    policy = copy.deepcopy(next(o for _, o in dist_objects() if o["kind"] == "NetworkPolicy"))
    policy["spec"]["podSelector"]["matchLabelz"] = {}
    assert structural_errors(policy)
