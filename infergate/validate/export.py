"""`infergate schemas export DIR`: kubeconform-compatible JSON schemas for every pinned CRD.

Layout ``DIR/{group}/{kind}_{version}.json`` (lower-case kind), i.e. what kubeconform reads with
``-schema-location 'DIR/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'``. Each file is
self-contained (ObjectMeta embedded under ``$defs``), strict (unknown fields rejected) and keeps the
CRD's descriptions for editors. CEL rules cannot be expressed in JSON Schema: kubeconform users still
need `infergate validate` for those.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from infergate.core.errors import InfergateError
from infergate.validate import core_schema, crd_schema
from infergate.validate.crdset import profile_entries


def export_path(directory: Path, crd: crd_schema.CrdVersion) -> Path:
    return directory / crd.group / f"{crd.kind.lower()}_{crd.version}.json"


def export_schemas(directory: Path, kubernetes_version: str = "1.33",
                   profile: str | None = None) -> list[str]:
    """Write every schema of a platform profile's CRDs (atomically per file); return the report lines."""
    version = core_schema.resolve_version(kubernetes_version)
    meta_defs = core_schema.object_meta_defs(version)
    crds, notes = crd_schema.chosen_crds(profile_entries(profile))
    written = 0
    for crd in crds:
        target = export_path(directory, crd)
        data = json.dumps(crd_schema.json_schema(crd, meta_defs, keep_docs=True), indent=2, sort_keys=True)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
            os.replace(tmp, target)
        except OSError as exc:
            raise InfergateError(f"cannot write schema: {exc.strerror}", file=str(target)) from exc
        written += 1
    return [*(f"note: {n}" for n in notes),
            f"wrote {written} schemas for {len({c.crd_name for c in crds})} CRDs to {directory} "
            "(kubeconform: -schema-location '" + str(directory) +
            "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json')"]
