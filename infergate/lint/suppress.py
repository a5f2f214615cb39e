"""Per-object suppression: annotation ``ignore-check.infergate.io/<CODE>: "<reason>"``.

A suppression needs a reason (reviewers read it); without one it suppresses nothing and is itself a
finding (SUP001). An annotation naming no known rule is a finding too (SUP002): typos must not hide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from infergate.core.findings import Finding, Severity, finding_for
from infergate.core.graph import K8sObject
from infergate.core.loader import line_of

PREFIX = "ignore-check.infergate.io/"
SUPPRESSION_RULES = {
    "SUP001": (
        "suppression-without-reason",
        Severity.ERROR,
        "a suppression annotation must give its reason; it suppresses nothing until it does",
    ),
    "SUP002": (
        "suppression-of-unknown-rule",
        Severity.WARNING,
        "a suppression annotation names no known rule",
    ),
}


def suppressions(obj: K8sObject) -> dict[str, str]:
    """CODE -> reason (stripped; "" when missing) for every suppression annotation of ``obj``."""
    return {
        key[len(PREFIX) :].upper(): value.strip()
        for key, value in obj.annotations.items()
        if key.startswith(PREFIX)
    }


def suppression_findings(objects: Iterable[K8sObject], known_codes: set[str]) -> Iterator[Finding]:
    for obj in objects:
        for code, reason in suppressions(obj).items():
            path = ("metadata", "annotations", PREFIX + code)
            if code not in known_codes:
                slug, severity, summary = SUPPRESSION_RULES["SUP002"]
                yield finding_for(
                    obj.doc,
                    "SUP002",
                    slug,
                    severity,
                    f"{summary}: {code}",
                    line=line_of(obj.doc, _exact_key_path(obj, path)),
                )
            elif not reason:
                slug, severity, summary = SUPPRESSION_RULES["SUP001"]
                yield finding_for(
                    obj.doc,
                    "SUP001",
                    slug,
                    severity,
                    f"{summary} ({code})",
                    line=line_of(obj.doc, _exact_key_path(obj, path)),
                )


def _exact_key_path(obj: K8sObject, path: tuple[str, ...]) -> tuple[str, ...]:
    """The annotation key as written (codes are matched case-insensitively)."""
    for key in obj.annotations:
        if key.upper() == path[-1].upper():
            return (*path[:-1], key)
    return path
