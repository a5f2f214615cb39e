"""The schema store: converted schemas and CEL plans, built once and cached on disk by content hash.

Layout: ``<cache_root>/validate/<key>/index.json`` plus one ``<n>.json`` per kind (``{"schema", "plan"}``).
The key hashes everything the output depends on: the chosen pinned files (their sha256), the
kubernetes-validate version and Kubernetes minor, and the source of the converter modules. A warm run
reads the small index and, lazily, only the kinds present in the input; it parses no CRD YAML.
The directory is built under a temporary name and renamed into place, so readers never see half a store.
Which pinned CRDs a store holds is a platform profile's choice (infergate/synth/data/profiles.yaml): one
store per (profile, Kubernetes minor).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema_rs

from infergate.crds import lockfile as lock
from infergate.validate import cel as cel_mod
from infergate.validate import core_schema, crd_schema, formats
from infergate.validate.crdset import profile_entries

FORMAT = "1"



def store_key(version: str, entries: list[lock.LockEntry]) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    for module in (crd_schema, core_schema, cel_mod):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(f"kubernetes-validate={core_schema.package_version()};k8s={version}".encode())
    for entry in entries:
        digest.update(f"{entry.name}={entry.sha256}\n".encode())
    return digest.hexdigest()[:24]


def _write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), sort_keys=True)


def build(directory: Path, version: str, entries: list[lock.LockEntry]) -> None:
    """Convert every chosen CRD version and every core kind into ``directory`` (must not exist)."""
    meta_defs = core_schema.object_meta_defs(version)
    crds, notes = crd_schema.chosen_crds(entries)
    kinds: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=directory.parent))
    try:
        for n, (gvk, definition) in enumerate(core_schema.gvk_index(version).items()):
            schema = core_schema.kind_schema(version, definition)
            _write_json(tmp / f"k{n}.json", {"schema": schema, "plan": None})
            kinds[gvk] = {"file": f"k{n}.json", "source": f"kubernetes {version}", "rules": 0}
        for n, crd in enumerate(crds):  # a CRD wins over a core kind of the same GVK (none today)
            plan = cel_mod.extract_plan(crd.validated_schema)
            _write_json(tmp / f"c{n}.json", {"schema": crd_schema.json_schema(crd, meta_defs), "plan": plan})
            kinds[crd.gvk] = {"file": f"c{n}.json", "source": crd.source, "scope": crd.scope,
                              "crd": crd.crd_name, "rules": cel_mod.count_rules(plan)}
        _write_json(tmp / "index.json", {"kubernetes": version, "notes": notes,
                                         "kinds": dict(sorted(kinds.items()))})
        try:
            os.rename(tmp, directory)
        except OSError:  # another process finished first: theirs is identical
            if not (directory / "index.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class SchemaStore:
    """Lazy access to compiled validators and CEL plans by ``group/version/Kind``."""

    def __init__(self, directory: Path, built: bool) -> None:
        self.directory = directory
        self.built = built  # True when this process had to build the store (a cold run)
        self._validators: dict[str, Any] = {}
        self._plans: dict[str, Any] = {}
        self._schemas: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, kubernetes_version: str = "1.33", profile: str | None = None) -> SchemaStore:
        version = core_schema.resolve_version(kubernetes_version)
        entries = profile_entries(profile)
        directory = lock.cache_root() / "validate" / store_key(version, entries)
        built = False
        if not (directory / "index.json").exists():
            directory.parent.mkdir(parents=True, exist_ok=True)
            build(directory, version, entries)
            built = True
        return cls(directory, built)

    @cached_property
    def index(self) -> dict[str, Any]:
        with (self.directory / "index.json").open(encoding="utf-8") as fh:
            return json.load(fh)

    def has(self, gvk: str) -> bool:
        return gvk in self.index["kinds"]

    def _load(self, gvk: str) -> None:
        entry = self.index["kinds"][gvk]
        with (self.directory / entry["file"]).open(encoding="utf-8") as fh:
            data = json.load(fh)
        self._validators[gvk] = jsonschema_rs.validator_for(
            data["schema"], formats=formats.VALIDATOR_FORMATS, validate_formats=True)
        self._plans[gvk] = data["plan"]

    def validator(self, gvk: str) -> Any:
        if gvk not in self._validators:
            self._load(gvk)
        return self._validators[gvk]

    def plan(self, gvk: str) -> dict[str, Any] | None:
        if gvk not in self._plans:
            self._load(gvk)
        return self._plans[gvk]

    def schema(self, gvk: str) -> dict[str, Any]:
        """The kind's JSON schema as stored (read once per process; callers must not mutate it)."""
        if gvk not in self._schemas:
            entry = self.index["kinds"][gvk]
            with (self.directory / entry["file"]).open(encoding="utf-8") as fh:
                self._schemas[gvk] = json.load(fh)["schema"]
        return self._schemas[gvk]
