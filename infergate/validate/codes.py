"""The stable finding codes of `infergate validate` (E001 is the shared "unreadable input" code)."""

from __future__ import annotations

from infergate.core.findings import Severity
from infergate.core.reporters import RuleMeta

SCHEMA = RuleMeta("V001", "schema-violation", "object does not match its JSON schema",
                  "The object breaks its Kubernetes or CRD OpenAPI schema (unknown field, wrong type, enum, "
                  "range, required field...). The API server would reject it.")
CEL = RuleMeta("V002", "cel-rule-violation", "a CRD CEL validation rule (x-kubernetes-validations) fails",
               "The CRD's own CEL rule rejects the object; the message is the CRD's.")
MISSING_SCHEMA = RuleMeta("V003", "missing-schema", "no schema for this apiVersion/kind",
                          "Neither the Kubernetes schemas nor a pinned CRD define this kind; pin its CRD in "
                          "infergate/crds/crds.lock or pass --ignore-missing-schemas.")
NOT_OBJECT = RuleMeta("V004", "not-a-kubernetes-object", "document is not a Kubernetes object",
                      "A Kubernetes object is a mapping with string apiVersion and kind.")
CEL_NOT_EVALUATED = RuleMeta("V005", "cel-rule-not-evaluated", "a CEL rule could not be evaluated",
                             "The evaluator cannot compile or run this rule; it was not checked (reported "
                             "once per rule, never passed silently).", default_severity=Severity.INFO)
DUPLICATE_KEY = RuleMeta("V006", "duplicate-key", "a mapping repeats a key",
                         "YAML/JSON mappings must not repeat keys: which value wins depends on the parser, "
                         "and the API server's strict decoding rejects it.")
BUILTIN = RuleMeta(
    "V007", "builtin-validation", "the API server's built-in validation rejects the object",
    "Beyond its OpenAPI schema the API server validates names (DNS-1123), namespaces, label and annotation "
    "keys and values, Secret data (base64), Service and pod spec rules (container names, init container "
    "restartPolicy, serviceAccountName, ports, resource quantities and requests against limits), RBAC "
    "rules and bindings, NetworkPolicies, Ingresses, HorizontalPodAutoscalers and PodDisruptionBudgets. "
    "It would reject this.")
SERVER_FIELD = RuleMeta(
    "V008", "server-populated-field", "a field only the API server writes is set",
    "metadata.uid, resourceVersion, creationTimestamp, managedFields, generation, selfLink or a status: the "
    "manifest was likely copied from a live cluster and may fail to apply elsewhere.",
    default_severity=Severity.WARNING)
UNREADABLE = RuleMeta("E001", "unreadable-input", "file or document cannot be read",
                      "The file is missing, binary, not UTF-8, too large, or not valid YAML/JSON.")

ALL = (UNREADABLE, SCHEMA, CEL, MISSING_SCHEMA, NOT_OBJECT, CEL_NOT_EVALUATED, DUPLICATE_KEY,
       BUILTIN, SERVER_FIELD)
