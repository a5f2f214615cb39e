"""The stable finding codes of `infergate verify` (E001 is the shared "unreadable input" code)."""

from __future__ import annotations

from infergate.core.findings import Severity
from infergate.core.reporters import RuleMeta

REJECTED = RuleMeta(
    "API001", "rejected-by-api-server", "the API server rejects the object",
    "A real kube-apiserver (with the pinned CRDs installed) refused the object when it was applied the way "
    "Argo CD applies it (server-side apply, field manager argocd-controller, strict field validation): "
    "schema, CEL rule, immutable field, missing namespace or unknown kind. The message is the server's; "
    "the line is that of the field the server names, else of the object. Argo CD's sync fails the same way.")
DRIFT = RuleMeta(
    "API002", "server-added-field-shows-as-diff",
    "the server adds or changes a field that Argo CD's diff shows",
    "After the sync the live object holds a value the server rewrote, or (for an Application that syncs "
    "with ServerSideApply=true) a field the manifest does not declare, such as a CRD default inside a "
    "list the manifest replaces whole, and Argo CD's diff of this Application shows it: the Application "
    "stays OutOfSync and selfHeal re-applies it forever. Declare the field with the server's value in the "
    "chart, or list it in the Application's ignoreDifferences, or enable ServerSideDiff=true. "
    "docs/verify.md describes which diff is modelled for which Application.",
    default_severity=Severity.WARNING)
NOT_IDEMPOTENT = RuleMeta(
    "API003", "second-apply-changes-object", "applying the same manifest twice changes the object",
    "A second server-side apply of the unchanged manifest gave the object a new resourceVersion: every "
    "Argo CD sync (and selfHeal) writes it again, and its controllers see a change each time.")
NOT_CHECKED = RuleMeta(
    "API004", "not-checked-by-dry-run", "the dry-run could not check the object",
    "Against a live cluster verify only dry-runs: an object whose namespace or kind this same sync would "
    "create first (CreateNamespace=true, a Namespace or CRD earlier in the plan, "
    "SkipDryRunOnMissingResource=true) cannot be checked before they exist.",
    default_severity=Severity.INFO)
SERVER_DEFAULT = RuleMeta(
    "API005", "server-default-not-in-diff", "the server adds a field that Argo CD's diff does not show",
    "The live custom resource holds a field the manifest does not declare (a CRD default) that this "
    "Application's diff keeps on both sides (the legacy diff of a client-side sync strips it; the "
    "structured-merge diff keeps fields outside atomic lists that argocd-controller does not own), so the "
    "Application stays Synced. Listed so a chart can declare what the cluster really runs with, and "
    "because a client-side Application that switches to ServerSideApply=true sees some of them as API002.",
    default_severity=Severity.INFO)
UNREADABLE = RuleMeta("E001", "unreadable-input", "file or document cannot be read",
                      "The file is missing, binary, not UTF-8, too large, or not valid YAML/JSON.")

ALL = (UNREADABLE, REJECTED, DRIFT, NOT_IDEMPOTENT, NOT_CHECKED, SERVER_DEFAULT)
