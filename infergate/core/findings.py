"""The one currency of validate, lint and flows: a Finding, and the exit code it implies."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from infergate.core.loader import Document, LoadProblem


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    slug: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    apiVersion: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    path: str | None = None  # JSON path inside the object (schema findings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @property
    def object_ref(self) -> str:
        if not self.kind:
            return ""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.code, self.path or "", self.message)


def finding_for(doc: Document, code: str, slug: str, severity: Severity, message: str,
                path: str | None = None, line: int | None = None) -> Finding:
    """A finding located at ``doc`` (and its line, unless a more precise one is given)."""
    obj = doc.obj if isinstance(doc.obj, dict) else {}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return Finding(
        code=code, slug=slug, severity=severity, message=message, file=doc.file,
        line=line if line is not None else doc.line,
        apiVersion=_str_or_none(obj.get("apiVersion")), kind=_str_or_none(obj.get("kind")),
        namespace=_str_or_none(meta.get("namespace")), name=_str_or_none(meta.get("name")), path=path)


def load_problem_finding(problem: LoadProblem) -> Finding:
    return Finding(code="E001", slug="unreadable-input", severity=Severity.ERROR, message=problem.message,
                   file=problem.file, line=problem.line)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def exit_code(findings: list[Finding], fail_on: Severity = Severity.ERROR, input_error: bool = False) -> int:
    """0 clean, 1 findings at or above ``fail_on``, 2 when input could not be read."""
    if input_error:
        return 2
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0


def summarize(findings: list[Finding], objects: int, files: int, **extra: Any) -> dict[str, Any]:
    counts = {s.value: 0 for s in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return {"files": files, "objects": objects, "findings": len(findings), **counts, **extra}
