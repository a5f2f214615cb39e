"""`infergate validate`: every object against its schema (Kubernetes or pinned CRD) and its CEL rules.

Per object: route by ``apiVersion``/``kind`` to a compiled jsonschema-rs validator (compiled lazily, once
per kind and process); the fast path is one ``is_valid`` call, errors are only enumerated for invalid
objects. Then the CRD's CEL plan runs over the object (defaults applied first, as the API server does).
Every finding names file, line, object and JSON path.

Exit semantics (the CLI): 2 when any input could not be read or parsed (E001; every other file is still
validated and reported), else 1 when there is an error finding, else 0. Duplicate keys are not E001 here:
the object is recovered (last value wins), reported as V006 at its path, and validated as usual.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.core.findings import Finding, Severity, finding_for, load_problem_finding
from infergate.core.loader import Document, LoadProblem, line_of, load_files
from infergate.core.reporters import RuleMeta
from infergate.validate import builtin, codes, dupkeys, normalize, structural
from infergate.validate.cache import SchemaStore
from infergate.validate.cel import Evaluator, Violation


def dotted(path: Iterable[str | int]) -> str:
    """``('spec', 'ports', 0, 'port')`` -> ``spec.ports[0].port`` (keys with dots are bracketed)."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step and all(c.isalnum() or c in "_-/" for c in step):
            out += f".{step}" if out else step
        else:
            out += f"[{step!r}]"
    return out


def gvk_of(obj: dict[str, Any]) -> str:
    api_version = obj["apiVersion"]
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}/{obj['kind']}"


class Validator:
    """Validates Documents; keeps counters for the summary."""

    def __init__(self, kubernetes_version: str = "1.33", *, cel: bool = True, ignore_missing: bool = False,
                 strict: bool = True, profile: str | None = None) -> None:
        self.store = SchemaStore.open(kubernetes_version, profile)
        self.cel = cel
        self.ignore_missing = ignore_missing
        self.strict = strict
        self.evaluator = Evaluator()
        self.first_unevaluated: dict[str, Finding] = {}
        self.skipped_missing = 0
        self._byte_kinds: dict[str, bool] = {}
        self._default_kinds: dict[str, bool] = {}

    def _finding(self, doc: Document, meta: RuleMeta, message: str, path: tuple[str | int, ...] = (),
                 severity: Severity | None = None) -> Finding:
        line = line_of(doc, path) if path or doc.prefix else doc.line
        return finding_for(doc, meta.code, meta.slug, severity or meta.default_severity, message,
                           path=dotted(path) or None, line=line)

    def document(self, doc: Document) -> list[Finding]:
        obj = doc.obj
        if not isinstance(obj, dict) or not isinstance(obj.get("apiVersion"), str) \
                or not isinstance(obj.get("kind"), str) or not obj["apiVersion"] or not obj["kind"]:
            what = "a mapping" if isinstance(obj, dict) else type(obj).__name__
            return [self._finding(doc, codes.NOT_OBJECT,
                                  f"not a Kubernetes object ({what} without string apiVersion and kind)")]
        gvk = gvk_of(obj)
        if not self.store.has(gvk):
            if self.ignore_missing:
                self.skipped_missing += 1
                return []
            return [self._finding(doc, codes.MISSING_SCHEMA,
                                  f"no schema for {obj['apiVersion']} {obj['kind']} (not a Kubernetes "
                                  "kind of this version, not in a pinned CRD)")]
        findings: list[Finding] = []
        validator = self.store.validator(gvk)
        plan = self.store.plan(gvk)
        is_crd = bool(self.store.index["kinds"][gvk].get("crd"))
        schema_ok = validator.is_valid(obj)
        # a default can also make a valid-looking object invalid (Gateway addresses[].type defaults to
        # IPAddress, which then holds `value` to ipv4|ipv6 in a oneOf): CRs with defaults are checked as
        # the server sees them
        if not schema_ok or (is_crd and self._has_defaults(gvk, plan)):
            original = doc.obj
            self._normalize(doc, gvk, plan, is_crd)
            obj = doc.obj
            if obj is not original:
                schema_ok = validator.is_valid(obj)
        if not schema_ok:
            findings.extend(self._schema_findings(doc, validator))
        findings.extend(self._structural_findings(doc, gvk, is_crd))
        if plan:
            findings.extend(self._cel_findings(doc, plan, schema_ok))
        for path, message in builtin.check(obj):
            findings.append(self._finding(doc, codes.BUILTIN, message, path))
        for path, message in builtin.server_populated(obj):
            findings.append(self._finding(doc, codes.SERVER_FIELD, message, path))
        return findings

    def _has_defaults(self, gvk: str, plan: dict[str, Any] | None) -> bool:
        if gvk not in self._default_kinds:
            self._default_kinds[gvk] = _plan_has_defaults(plan)
        return self._default_kinds[gvk]

    def _normalize(self, doc: Document, gvk: str, plan: dict[str, Any] | None, is_crd: bool) -> None:
        """Nulls dropped and defaults applied as the server does before validating (normalize.py);
        ``doc.obj`` becomes the normalized copy when that changed anything.

        A custom resource's metadata field of the wrong type (``namespace: []``, a number as a label
        value) stays an error: objectmeta/coerce.go GetObjectMeta would drop it on a create or update,
        but under server-side apply (the generated Applications set ServerSideApply=true) the typed
        patch refuses it first (".metadata.namespace: expected string", a 500)."""
        obj = copy.deepcopy(doc.obj)
        if is_crd:
            if isinstance(obj.get("metadata"), dict):  # ObjectMeta is decoded as a Go struct
                normalize.drop_nulls(obj["metadata"])
            normalize.apply_defaults(obj, plan)
        else:
            normalize.drop_nulls(obj)
        if obj != doc.obj:
            doc.obj = obj

    def _structural_findings(self, doc: Document, gvk: str, is_crd: bool) -> list[Finding]:
        """structural.py: null items in associative lists (every kind), ``format: byte`` (CRDs)."""
        out = []
        if structural.has_null_item(doc.obj):
            for path, message in structural.null_items(doc.obj, self.store.schema(gvk)):
                out.append(self._finding(doc, codes.SCHEMA, message, path))
        if is_crd and self._has_byte_fields(gvk):
            for path, message in structural.byte_fields(doc.obj, self.store.schema(gvk)):
                out.append(self._finding(doc, codes.SCHEMA, message, path))
        return out

    def _has_byte_fields(self, gvk: str) -> bool:
        if gvk not in self._byte_kinds:
            self._byte_kinds[gvk] = structural.BYTE_MARK in json.dumps(self.store.schema(gvk))
        return self._byte_kinds[gvk]

    def _schema_findings(self, doc: Document, validator: Any) -> list[Finding]:
        out = []
        for error in validator.iter_errors(doc.obj):
            path = tuple(error.instance_path)
            if type(error.kind).__name__ == "AdditionalProperties":
                if self.strict:  # one finding per unknown field, located at the field itself
                    for name in getattr(error.kind, "unexpected", None) or ():
                        out.append(self._finding(doc, codes.SCHEMA, f'unknown field "{name}"', (*path, name)))
                continue
            out.append(self._finding(doc, codes.SCHEMA, error.message, path))
        return out

    def _cel_findings(self, doc: Document, plan: dict[str, Any], schema_ok: bool) -> list[Finding]:
        out = []
        for violation in self.evaluator.run(doc.obj, plan, cel=self.cel):
            if violation.rule == "x-kubernetes-list-map-keys":  # a structural check, not a CEL rule
                out.append(self._finding(doc, codes.SCHEMA, violation.message, violation.path))
            elif violation.error:
                out.append(self._finding(doc, codes.CEL, violation.message, violation.path))
            elif schema_ok or violation.rule in self.evaluator.unevaluated:
                # a runtime error on a schema-invalid object is noise (the schema finding says it all);
                # a rule that cannot be compiled is reported wherever it applies
                self._note_unevaluated(doc, violation)
        return out

    def _note_unevaluated(self, doc: Document, violation: Violation) -> None:
        current = self.first_unevaluated.get(violation.rule)
        if current is not None and (current.file or "", current.line or 0) < (doc.file, doc.line):
            return  # an earlier object already holds it: skip locating this one (line_of parses)
        _keep_first(self.first_unevaluated, violation.rule, self._finding(
            doc, codes.CEL_NOT_EVALUATED, f"CEL rule {violation.rule!r} {violation.message}", violation.path))


def validate_documents(documents: list[Document], validator: Validator) -> list[Finding]:
    findings: list[Finding] = []
    for doc in documents:
        findings.extend(validator.document(doc))
    return findings


@dataclass
class ChunkResult:
    """What validating a set of files yields; chunks validated apart (in other processes) merge into one."""

    findings: list[Finding] = field(default_factory=list)
    unevaluated: dict[str, Finding] = field(default_factory=dict)  # CEL rule -> its first V005
    files: set[str] = field(default_factory=set)
    objects: int = 0
    input_errors: int = 0
    cel_evaluated: int = 0
    cel_transition_skipped: int = 0
    skipped_missing: int = 0

    def merge(self, other: ChunkResult) -> None:
        self.findings.extend(other.findings)
        for rule, finding in other.unevaluated.items():
            _keep_first(self.unevaluated, rule, finding)
        self.files |= other.files
        self.objects += other.objects
        self.input_errors += other.input_errors
        self.cel_evaluated += other.cel_evaluated
        self.cel_transition_skipped += other.cel_transition_skipped
        self.skipped_missing += other.skipped_missing


def _keep_first(seen: dict[str, Finding], rule: str, finding: Finding) -> None:
    """"First" by location, not by arrival: the report must not depend on how files were split."""
    current = seen.get(rule)
    if current is None or finding.sort_key() < current.sort_key():
        seen[rule] = finding


def validate_files(files: list[Path], problems: list[LoadProblem], validator: Validator) -> ChunkResult:
    """Load and validate ``files``; ``problems`` are inputs already known to be unreadable."""
    documents, load_problems = load_files(files)
    result = ChunkResult(files={str(f) for f in files})
    for problem in (*problems, *load_problems):
        result.files.add(problem.file)
        recovered = dupkeys.recover(problem) if dupkeys.is_duplicate_key_problem(problem) else None
        if recovered is None:
            result.findings.append(load_problem_finding(problem))
            result.input_errors += 1
            continue
        doc, duplicates = recovered
        for dup in duplicates:
            result.findings.append(finding_for(doc, codes.DUPLICATE_KEY.code, codes.DUPLICATE_KEY.slug,
                                               Severity.ERROR, f'duplicate key "{dup.path[-1]}"',
                                               path=dotted(dup.path), line=dup.line))
        documents.append(doc)
    evaluated_before = validator.evaluator.evaluated
    skipped_before = validator.evaluator.transition_skipped
    missing_before = validator.skipped_missing
    result.findings.extend(validate_documents(documents, validator))
    for rule, finding in validator.first_unevaluated.items():
        _keep_first(result.unevaluated, rule, finding)
    result.objects = len(documents)
    result.cel_evaluated = validator.evaluator.evaluated - evaluated_before
    result.cel_transition_skipped = validator.evaluator.transition_skipped - skipped_before
    result.skipped_missing = validator.skipped_missing - missing_before
    return result


def _plan_has_defaults(plan: Any) -> bool:
    """Whether a CEL/defaulting plan (cel.extract_plan) sets any structural default."""
    if not isinstance(plan, dict):
        return False
    if plan.get("d"):
        return True
    return any(_plan_has_defaults(sub) for key in ("p", "a", "i")
               for sub in ((plan.get(key) or {}).values() if key == "p" else [plan.get(key)]))
