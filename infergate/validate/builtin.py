"""The API server's built-in validation beyond the OpenAPI schema, for the rules that matter.

The OpenAPI schemas say nothing about object names, label syntax, base64 in ``Secret.data`` or the pod
spec's cross-field rules; the server checks them in Go. The rules here are ported (not copied) from
upstream, each function naming the one it follows:

- k8s.io/apimachinery/pkg/util/validation/validation.go: IsDNS1123Label, IsDNS1123Subdomain,
  IsDNS1035Label, IsQualifiedName, IsValidLabelValue, IsValidPortName, IsValidPortNum;
- k8s.io/apimachinery/pkg/api/validation/objectmeta.go: ValidateObjectMetaAccessor (name, namespace,
  generateName), ValidateAnnotations (keys, total size 256 KiB);
- k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go: ValidateLabels;
- k8s.io/kubernetes/pkg/apis/core/validation/validation.go: ValidateNamespaceName, ValidateServiceName
  (NameIsDNS1035Label), ValidatePodSpec, validateInitContainers, validateContainers, validateContainerPorts,
  ValidateServiceAccountName, ValidateService (ports), ValidateSecret (data keys);
- k8s.io/kubernetes/pkg/apis/rbac/validation/validation.go: ValidateRBACName (path segment names),
  ValidateRoleBinding / ValidateClusterRoleBinding, ValidateRole / ValidateClusterRole -> ValidatePolicyRule;
  pkg/apis/rbac/v1/defaults.go SetDefaults_RoleBinding, SetDefaults_Subject (apiGroups defaulted first);
- k8s.io/kubernetes/pkg/apis/networking/validation/validation.go: ValidateNetworkPolicySpec,
  ValidateIngressCreate (ValidateIngressSpec, validateIngressRules, validateHTTPIngressPath,
  validateIngressBackend, validateIngressTLS);
- k8s.io/kubernetes/pkg/apis/autoscaling/validation/validation.go: validateHorizontalPodAutoscalerSpec,
  ValidateCrossVersionObjectReference, validateMetricSpec, validateMetricTarget, validateScalingRules;
- k8s.io/kubernetes/pkg/apis/policy/validation/validation.go: ValidatePodDisruptionBudgetSpec (with
  apps validation ValidatePositiveIntOrPercent, IsNotMoreThan100Percent);
- k8s.io/kubernetes/pkg/apis/core/validation/validation.go: ValidateContainerResourceRequirements ->
  validateResourceRequirements, validateContainerResourceName, ValidateResourceQuantityValue (with
  pkg/apis/core/helper IsNativeResource / IsExtendedResourceName / IsOvercommitAllowed); quantity syntax
  in quantity.py (k8s.io/apimachinery/pkg/api/resource/quantity.go ParseQuantity).

Each check yields ``(path, message)``; the engine turns them into V007 findings at the path's line.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from infergate.netpol.validation import parse_cidr
from infergate.validate import quantity

Problem = tuple[tuple[str | int, ...], str]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PORT_NAME = re.compile(r"[-a-z0-9]+")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
TOTAL_ANNOTATION_SIZE = 256 * 1024  # objectmeta.go: TotalAnnotationSizeLimitB

# kinds whose objects the server keeps cluster-wide: it clears metadata.namespace (rest.BeforeCreate)
CLUSTER_SCOPED = {"Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition", "StorageClass", "PriorityClass", "IngressClass", "GatewayClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "RuntimeClass",
                  "CSIDriver", "CSINode", "VolumeAttachment", "ClusterIssuer"}
_WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
RBAC = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
RBAC_GROUP = "rbac.authorization.k8s.io"
_CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1",
                "policy/v1", "autoscaling/v2", "autoscaling/v1"}


def _bounded_match(value: str, limit: int, pattern: re.Pattern[str], message: str) -> str | None:
    """The shape of validation.go's name checks: a length limit, then a pattern (message or None)."""
    if len(value) > limit:
        return f"must be no more than {limit} characters"
    return None if pattern.fullmatch(value) else message


def is_dns1123_label(value: str) -> str | None:
    """validation.go IsDNS1123Label: the message, or None when valid."""
    return _bounded_match(value, 63, DNS1123_LABEL, "a lowercase RFC 1123 label must consist of lower "
                          "case alphanumeric characters or '-', and must start and end with an "
                          "alphanumeric character")


def is_dns1123_subdomain(value: str) -> str | None:
    """validation.go IsDNS1123Subdomain."""
    return _bounded_match(value, 253, DNS1123_SUBDOMAIN, "a lowercase RFC 1123 subdomain must consist "
                          "of lower case alphanumeric characters, '-' or '.', and must start and end with "
                          "an alphanumeric character")


def is_dns1035_label(value: str) -> str | None:
    """validation.go IsDNS1035Label."""
    return _bounded_match(value, 63, DNS1035_LABEL, "a DNS-1035 label must consist of lower case "
                          "alphanumeric characters or '-', start with an alphabetic character, and end with "
                          "an alphanumeric character")


def is_path_segment_name(value: str) -> str | None:
    """k8s.io/apimachinery/pkg/api/validation/path/name.go IsValidPathSegmentName (RBAC names)."""
    if value in (".", ".."):
        return f"may not be '{value}'"
    for bad in ("/", "%"):
        if bad in value:
            return f"may not contain '{bad}'"
    return None


def is_qualified_name(value: str) -> str | None:
    """validation.go IsQualifiedName: ``[prefix/]name``, prefix a DNS-1123 subdomain, name <= 63."""
    prefix, slash, name = value.rpartition("/") if "/" in value else ("", "", value)
    if slash and value.count("/") > 1:
        return ("a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional "
                "DNS subdomain prefix and '/'")
    if slash:
        if not prefix:
            return "prefix part must be non-empty"
        problem = is_dns1123_subdomain(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED.fullmatch(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character")
    return None


def is_label_value(value: str) -> str | None:
    """validation.go IsValidLabelValue."""
    if not value:
        return None
    return _bounded_match(value, 63, _QUALIFIED, "a valid label must be an empty string or consist of "
                          "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                          "alphanumeric character")


def is_port_name(value: str) -> str | None:
    """validation.go IsValidPortName (IANA_SVC_NAME)."""
    if len(value) > 15:
        return "must be no more than 15 characters"
    if not _PORT_NAME.fullmatch(value):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if not re.search(r"[a-z]", value):
        return "must contain at least one letter (a-z)"
    if "--" in value:
        return "must not contain consecutive hyphens"
    if value.startswith("-") or value.endswith("-"):
        return "must not begin or end with a hyphen"
    return None


def _port_num(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def name_rule(api_version: str, kind: str) -> Any:
    """Which name check the server applies to this kind (the ValidateXName the kind's validation uses)."""
    if api_version == "v1" and kind == "Namespace":
        return is_dns1123_label  # ValidateNamespaceName
    if api_version == "v1" and kind == "Service":
        return is_dns1035_label  # ValidateServiceName
    if api_version == "rbac.authorization.k8s.io/v1" and kind in RBAC:
        return is_path_segment_name  # ValidateRBACName
    if api_version == "policy/v1" and kind == "PodDisruptionBudget":
        # policy validation.go ValidatePodDisruptionBudget validates the spec only; the name gets the
        # generic check of rest.BeforeCreate (ValidateObjectMetaAccessor with ValidatePathSegmentName)
        return is_path_segment_name
    return is_dns1123_subdomain  # NameIsDNSSubdomain: most kinds, and every custom resource


def check(obj: dict[str, Any]) -> Iterator[Problem]:
    """Every built-in rule this object breaks (the object is a mapping with apiVersion and kind)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        yield from object_meta(meta, ("metadata",), name_rule(api_version, kind), kind not in CLUSTER_SCOPED)
    for path, value in _byte_fields(obj):
        if isinstance(value, str) and not _is_base64(value):
            yield path, "illegal base64 data (a `format: byte` field is base64-encoded)"
    if api_version not in _CORE_GROUPS:
        return
    spec = obj.get("spec")
    if kind == "Secret" and api_version == "v1":
        yield from secret(obj)
    elif kind == "ConfigMap" and api_version == "v1":
        yield from config_map(obj)
    elif kind == "Service" and api_version == "v1" and isinstance(spec, dict):
        yield from service(spec, ("spec",))
    elif kind == "NetworkPolicy" and isinstance(spec, dict):
        yield from network_policy(spec, ("spec",))
    elif kind in ("RoleBinding", "ClusterRoleBinding") and api_version == "rbac.authorization.k8s.io/v1":
        yield from role_binding(obj, kind)
    elif kind in ("Role", "ClusterRole") and api_version == RBAC_GROUP + "/v1":
        yield from policy_rules(obj, kind)
    elif kind == "Ingress" and api_version == "networking.k8s.io/v1" and isinstance(spec, dict):
        yield from ingress(obj, spec)
    elif kind == "HorizontalPodAutoscaler" and api_version == "autoscaling/v2" and isinstance(spec, dict):
        yield from hpa(spec)
    elif kind == "PodDisruptionBudget" and api_version == "policy/v1" and isinstance(spec, dict):
        yield from pdb(spec)
    if kind in _WORKLOADS and isinstance(spec, dict):
        yield from workload_selector(spec)
    for path, pod_spec in pod_specs(kind, spec):
        yield from pod(pod_spec, path)


def object_meta(meta: dict[str, Any], at: tuple[str | int, ...], name_check: Any,
                namespaced: bool = True) -> Iterator[Problem]:
    """objectmeta.go ValidateObjectMetaAccessor, ValidateAnnotations; metav1 validation ValidateLabels."""
    name, generate = meta.get("name"), meta.get("generateName")
    if not name and not generate:
        yield (*at, "name"), "name or generateName is required"
    if isinstance(name, str) and name:
        problem = name_check(name)
        if problem:
            yield (*at, "name"), f"Invalid value: {name!r}: {problem}"
    namespace = meta.get("namespace")
    if namespaced and isinstance(namespace, str) and namespace:
        problem = is_dns1123_label(namespace)
        if problem:
            yield (*at, "namespace"), f"Invalid value: {namespace!r}: {problem}"
    labels = meta.get("labels")
    if isinstance(labels, dict):
        yield from label_map(labels, (*at, "labels"))
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        total = 0
        for key, value in annotations.items():
            problem = is_qualified_name(key.lower())
            if problem:
                yield (*at, "annotations", key), f"Invalid value: {key!r}: {problem}"
            total += len(key) + (len(value) if isinstance(value, str) else 0)
        if total > TOTAL_ANNOTATION_SIZE:
            yield (*at, "annotations"), f"Too long: may not be more than {TOTAL_ANNOTATION_SIZE} bytes"


def label_map(labels: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """metav1 validation.go ValidateLabels: keys qualified names, values label values."""
    for key, value in labels.items():
        problem = is_qualified_name(key)
        if problem:
            yield (*at, key), f"Invalid value: {key!r}: {problem}"
        if isinstance(value, str):
            problem = is_label_value(value)
            if problem:
                yield (*at, key), f"Invalid value: {value!r}: {problem}"


def secret(obj: dict[str, Any]) -> Iterator[Problem]:
    """Secret.data is ``format: byte``: the server decodes it as base64 (encoding/json into []byte:
    StdEncoding, padding required) and ValidateSecret checks the keys (IsConfigMapKey)."""
    data = obj.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _config_key(key, ("data", key))
            if isinstance(value, str) and not _is_base64(value):
                yield ("data", key), "illegal base64 data (Secret.data values are base64-encoded)"
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        for key in string_data:
            yield from _config_key(key, ("stringData", key))


def config_map(obj: dict[str, Any]) -> Iterator[Problem]:
    """ValidateConfigMap: keys IsConfigMapKey, binaryData base64, no key in both."""
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    for key in data:
        yield from _config_key(key, ("data", key))
    for key, value in binary.items():
        yield from _config_key(key, ("binaryData", key))
        if key in data:
            yield ("binaryData", key), f"Duplicate value: {key!r} (also in data)"
        if isinstance(value, str) and not _is_base64(value):
            yield ("binaryData", key), "illegal base64 data"


def _config_key(key: str, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validation.go IsConfigMapKey."""
    if len(key) > 253:
        yield at, f"Invalid value: {key!r}: must be no more than 253 characters"
    elif not _CONFIG_KEY.fullmatch(key):
        yield at, f"Invalid value: {key!r}: a valid config key must consist of alphanumeric characters, " \
                  "'-', '_' or '.'"
    elif key in (".", "..") or key.startswith(".."):
        yield at, f"Invalid value: {key!r}: must not be '.' or '..' or start with '..'"


def _is_base64(value: str) -> bool:
    """Go's encoding/json decodes ``[]byte`` with base64.StdEncoding (padded; ``\\r\\n`` are skipped)."""
    try:
        base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def service(spec: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidateService: port names (required when several, unique, IANA_SVC_NAME), port numbers, and
    targetPort (a port number or an IANA_SVC_NAME)."""
    ports = spec.get("ports")
    if not isinstance(ports, list):
        return
    seen: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        here = (*at, "ports", i)
        name = port.get("name")
        if len(ports) > 1 and not name:
            yield (*here, "name"), "Required value: port names are required when a service has several ports"
        if isinstance(name, str) and name:
            problem = is_dns1123_label(name)
            if problem:
                yield (*here, "name"), f"Invalid value: {name!r}: {problem}"
            if name in seen:
                yield (*here, "name"), f"Duplicate value: {name!r}"
            seen.add(name)
        yield from _protocol(port, here)
        if isinstance(port.get("port"), int) and not _port_num(port["port"]):
            yield (*here, "port"), f"Invalid value: {port['port']!r}: must be between 1 and 65535, inclusive"
        target = port.get("targetPort")
        if isinstance(target, str):
            problem = is_port_name(target)
            if problem:
                yield (*here, "targetPort"), f"Invalid value: {target!r}: {problem}"
        elif isinstance(target, int) and target != 0 and not _port_num(target):
            yield (*here, "targetPort"), f"Invalid value: {target!r}: must be between 1 and 65535, inclusive"


def pod_specs(kind: str, spec: Any) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """The pod specs an object of ``kind`` carries, with their paths."""
    if not isinstance(spec, dict):
        return
    if kind == "Pod":
        yield ("spec",), spec
        return
    template: Any = None
    at: tuple[str | int, ...] = ()
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"):
        template, at = spec.get("template"), ("spec", "template")
    elif kind == "CronJob":
        job = spec.get("jobTemplate")
        template = job.get("spec", {}).get("template") if isinstance(job, dict) and \
            isinstance(job.get("spec"), dict) else None
        at = ("spec", "jobTemplate", "spec", "template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield (*at, "spec"), template["spec"]


def pod(spec: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidatePodSpec (the rules that bite real manifests): serviceAccountName, container and init
    container names (DNS-1123 labels, unique across both lists), init containers' restartPolicy,
    container ports."""
    for field in ("serviceAccountName", "serviceAccount"):
        value = spec.get(field)
        if isinstance(value, str) and value:  # ValidateServiceAccountName = NameIsDNSSubdomain
            problem = is_dns1123_subdomain(value)
            if problem:
                yield (*at, field), f"Invalid value: {value!r}: {problem}"
    volume_list = spec.get("volumes") if isinstance(spec.get("volumes"), list) else []
    volumes = {v.get("name") for v in volume_list if isinstance(v, dict) and isinstance(v.get("name"), str)}
    yield from _volumes(volume_list, (*at, "volumes"))
    yield from _security_profiles(spec.get("securityContext"), (*at, "securityContext"))
    names: set[str] = set()
    for field in ("initContainers", "containers"):
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        for i, container in enumerate(containers):
            if not isinstance(container, dict):
                continue
            here = (*at, field, i)
            name = container.get("name")
            if isinstance(name, str):
                problem = is_dns1123_label(name)
                if problem:
                    yield (*here, "name"), f"Invalid value: {name!r}: {problem}"
                elif name in names:
                    yield (*here, "name"), f"Duplicate value: {name!r}"
                names.add(name)
            policy = container.get("restartPolicy")
            if field == "initContainers" and policy is not None and policy != "Always":
                # validateInitContainers -> validateContainerRestartPolicy: only "Always" (sidecars)
                yield (*here, "restartPolicy"), f"Unsupported value: {policy!r}: supported values: \"Always\""
            elif field == "containers" and policy is not None:
                yield (*here, "restartPolicy"), "Forbidden: may not be set for non-init containers"
            yield from _container_ports(container, here)
            yield from _security_profiles(container.get("securityContext"), (*here, "securityContext"))
            yield from container_resources(container, here)
            yield from _env(container, here)
            if not container.get("image"):  # validateContainers: image is required (templates too)
                yield (*here, "image"), "Required value"
            for enum_field, allowed in _CONTAINER_ENUMS.items():
                value = container.get(enum_field)
                if value is not None and value not in allowed:
                    yield (*here, enum_field), f"Unsupported value: {value!r}: supported values: " \
                                               + ", ".join(f'"{v}"' for v in allowed)
            mounts = container.get("volumeMounts")
            for j, mount in enumerate(mounts if isinstance(mounts, list) else ()):
                name = mount.get("name") if isinstance(mount, dict) else None
                if isinstance(name, str) and name not in volumes:  # ValidateVolumeMounts
                    yield (*here, "volumeMounts", j, "name"), f"Not found: {name!r}"
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if isinstance(container.get(probe), dict):
                    yield from _handler(container[probe], (*here, probe))
            lifecycle = container.get("lifecycle")
            if isinstance(lifecycle, dict):
                for hook in ("postStart", "preStop"):
                    if isinstance(lifecycle.get(hook), dict):
                        yield from _handler(lifecycle[hook], (*here, "lifecycle", hook))


_PROFILE_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")


def _security_profiles(context: Any, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateSeccompProfileField / validateAppArmorProfileField (pkg/apis/core/validation/validation.go):
    the type is one of three, and localhostProfile is required with Localhost and forbidden otherwise."""
    if not isinstance(context, dict):
        return
    for field in ("seccompProfile", "appArmorProfile"):
        profile = context.get(field)
        if not isinstance(profile, dict):
            continue
        here = (*at, field)
        kind, local = profile.get("type"), profile.get("localhostProfile")
        if kind is None or kind == "":
            yield (*here, "type"), "Required value: type is required when " + field + " is set"
        elif kind not in _PROFILE_TYPES:
            yield (*here, "type"), f"Unsupported value: {kind!r}: supported values: " + ", ".join(
                f'"{v}"' for v in _PROFILE_TYPES)
        elif kind == "Localhost" and not local:
            yield (*here, "localhostProfile"), f"Required value: must be set when {field}.type is Localhost"
        elif kind != "Localhost" and local is not None:
            yield (*here, "localhostProfile"), f"Invalid value: only with {field}.type Localhost"


def _container_ports(container: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateContainerPorts: containerPort and hostPort in range, names IANA_SVC_NAME and unique."""
    ports = container.get("ports")
    if not isinstance(ports, list):
        return
    seen: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        here = (*at, "ports", i)
        name = port.get("name")
        if isinstance(name, str) and name:
            problem = is_port_name(name)
            if problem:
                yield (*here, "name"), f"Invalid value: {name!r}: {problem}"
            elif name in seen:
                yield (*here, "name"), f"Duplicate value: {name!r}"
            seen.add(name)
        yield from _protocol(port, here)
        if isinstance(port.get("containerPort"), int) and not _port_num(port["containerPort"]):
            yield (*here, "containerPort"), \
                f"Invalid value: {port['containerPort']!r}: must be between 1 and 65535, inclusive"
        host = port.get("hostPort")
        if isinstance(host, int) and host != 0 and not _port_num(host):
            yield (*here, "hostPort"), f"Invalid value: {host!r}: must be between 1 and 65535, inclusive"


# metadata fields only the server writes (objectmeta.go / rest.BeforeCreate reset or reject them)
SERVER_POPULATED = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds")
# kinds whose top-level ``status`` a client may legitimately write in a manifest
_STATUS_OK = {"CustomResourceDefinition", "APIService"}


def server_populated(obj: dict[str, Any]) -> Iterator[Problem]:
    """Fields copied from a live cluster: ``kubectl get -o yaml`` output applied elsewhere. The server
    ignores or rejects them (a stale resourceVersion is a conflict, a uid of another object a precondition
    failure); ``creationTimestamp: null`` and an empty status, as ``kubectl create --dry-run`` writes them,
    are harmless and not reported."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_POPULATED:
            if meta.get(key) not in (None, "", [], {}):
                yield ("metadata", key), f"metadata.{key} is written by the API server; remove it " \
                                         "(a manifest copied from a live cluster?)"
    if obj.get("status") not in (None, {}) and obj.get("kind") not in _STATUS_OK:
        yield ("status",), "status is written by the API server and ignored on create/apply; remove it"


def _env(container: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidateEnv: names are IsEnvVarName; with RelaxedEnvironmentVariableValidation (on in 1.33) any
    printable ASCII but '='."""
    env = container.get("env")
    if not isinstance(env, list):
        return
    for i, var in enumerate(env):
        name = var.get("name") if isinstance(var, dict) else None
        if isinstance(name, str) and (not name or "=" in name or any(not 32 <= ord(c) <= 126 for c in name)):
            yield (*at, "env", i, "name"), f"Invalid value: {name!r}: a valid environment variable name " \
                                            "must consist only of printable ASCII characters other than '='"


def _port_or_name(value: Any, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidatePortNumOrName: an int port in range or an IANA_SVC_NAME."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not _port_num(value):
        yield at, f"Invalid value: {value}: must be between 1 and 65535, inclusive"
    elif isinstance(value, str):
        problem = is_port_name(value)
        if problem:
            yield at, f"Invalid value: {value!r}: {problem}"


def _handler(handler: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateHandler / validateHTTPGetAction / validateTCPSocketAction / validateGRPCAction: ports."""
    for action in ("httpGet", "tcpSocket"):
        body = handler.get(action)
        if isinstance(body, dict) and "port" in body:
            yield from _port_or_name(body["port"], (*at, action, "port"))
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and isinstance(grpc.get("port"), int) and not _port_num(grpc["port"]):
        yield (*at, "grpc", "port"), f"Invalid value: {grpc['port']}: must be between 1 and 65535, inclusive"


def label_selector(selector: Any, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """metav1 validation.go ValidateLabelSelector: matchLabels as labels; expressions' keys qualified
    names, In/NotIn need values, Exists/DoesNotExist forbid them."""
    if not isinstance(selector, dict):
        return
    if isinstance(selector.get("matchLabels"), dict):
        yield from label_map(selector["matchLabels"], (*at, "matchLabels"))
    expressions = selector.get("matchExpressions")
    for i, expr in enumerate(expressions if isinstance(expressions, list) else ()):
        if not isinstance(expr, dict):
            continue
        here = (*at, "matchExpressions", i)
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values")
        if isinstance(key, str):
            problem = is_qualified_name(key)
            if problem:
                yield (*here, "key"), f"Invalid value: {key!r}: {problem}"
        if op in ("In", "NotIn") and not values:
            yield (*here, "values"), "Required value: must be specified when `operator` is 'In' or 'NotIn'"
        elif op in ("Exists", "DoesNotExist") and values:
            yield (*here, "values"), "Forbidden: may not be specified when `operator` is 'Exists' or " \
                                     "'DoesNotExist'"
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist") and isinstance(op, str):
            yield (*here, "operator"), f"Invalid value: {op!r}: not a valid selector operator"
        for j, value in enumerate(values if isinstance(values, list) else ()):
            problem = is_label_value(value) if isinstance(value, str) else None
            if problem:
                yield (*here, "values", j), f"Invalid value: {value!r}: {problem}"


def _selects(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """metav1.LabelSelectorAsSelector(selector).Matches(labels)."""
    match = selector.get("matchLabels")
    if isinstance(match, dict) and any(labels.get(k) != v for k, v in match.items()):
        return False
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else ():
        if not isinstance(expr, dict):
            continue
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (op == "In" and (not present or labels[key] not in values)) \
                or (op == "NotIn" and present and labels[key] in values) \
                or (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def workload_selector(spec: dict[str, Any]) -> Iterator[Problem]:
    """apps validation ValidateDeploymentSpec / ValidateStatefulSetSpec / ValidateDaemonSetSpec /
    ValidateReplicaSetSpec: the selector is valid, non-empty, and selects the template's labels."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return
    yield from label_selector(selector, ("spec", "selector"))
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield ("spec", "selector"), "Invalid value: empty selector is invalid for this workload"
        return
    template = spec.get("template")
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict) or not _selects(selector, labels):
        yield ("spec", "template", "metadata", "labels"), "Invalid value: `selector` does not match " \
                                                         "template `labels`"


def network_policy(spec: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """networking validation ValidateNetworkPolicySpec: selectors, ports (ValidateNetworkPolicyPort:
    port number or IANA name, endPort only with a numeric port and not below it), ipBlock CIDRs
    (ValidateIPBlock, via netpol/validation.py parse_cidr)."""
    yield from label_selector(spec.get("podSelector"), (*at, "podSelector"))
    types = spec.get("policyTypes")
    for i, value in enumerate(types if isinstance(types, list) else ()):
        if value not in ("Ingress", "Egress"):  # a null item decodes to ""
            yield (*at, "policyTypes", i), f"Unsupported value: {value or ''!r}: supported values: " \
                                           '"Ingress", "Egress"'
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        for i, rule in enumerate(rules if isinstance(rules, list) else ()):
            if not isinstance(rule, dict):
                continue
            here = (*at, direction, i)
            ports = rule.get("ports")
            for j, port in enumerate(ports if isinstance(ports, list) else ()):
                if not isinstance(port, dict):
                    continue
                if "port" in port:
                    yield from _port_or_name(port["port"], (*here, "ports", j, "port"))
                yield from _protocol(port, (*here, "ports", j))
                end = port.get("endPort")
                if isinstance(end, int) and not isinstance(end, bool):
                    start = port.get("port")
                    if not isinstance(start, int) or isinstance(start, bool):
                        yield (*here, "ports", j, "endPort"), "Required value: may not be specified when " \
                                                              "`port` is not a number"
                    elif end < start or not _port_num(end):
                        yield (*here, "ports", j, "endPort"), f"Invalid value: {end}: must be between " \
                                                              "`port` and 65535, inclusive"
            peers = rule.get(peers_key)
            for j, peer in enumerate(peers if isinstance(peers, list) else ()):
                if not isinstance(peer, dict):
                    continue
                there = (*here, peers_key, j)
                for sel in ("podSelector", "namespaceSelector"):
                    yield from label_selector(peer.get(sel), (*there, sel))
                block = peer.get("ipBlock")
                if isinstance(block, dict):
                    excepts = block.get("except") if isinstance(block.get("except"), list) else []
                    cidrs: list[tuple[tuple[str | int, ...], Any]] = [(("cidr",), block.get("cidr"))]
                    # a null item of a []string decodes to "" (Go's JSON decoder), not a valid CIDR
                    cidrs += [(("except", k), "" if value is None else value)
                              for k, value in enumerate(excepts)]
                    for step, value in cidrs:
                        if isinstance(value, str):
                            parsed = parse_cidr(value)
                            if isinstance(parsed, str):
                                yield (*there, "ipBlock", *step), f"Invalid value: {value!r}: must be a " \
                                                                 "valid CIDR value"


def role_binding(obj: dict[str, Any], kind: str) -> Iterator[Problem]:
    """rbac validation ValidateRoleBinding / ValidateClusterRoleBinding: roleRef (apiGroup, kind, name),
    subjects (ValidateRoleBindingSubject: kind, names, ServiceAccount apiGroup and name)."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict):
        allowed = ("Role", "ClusterRole") if kind == "RoleBinding" else ("ClusterRole",)
        # rbac/v1/defaults.go SetDefaults_RoleBinding: an empty apiGroup is defaulted first
        if ref.get("apiGroup") not in (None, "", RBAC_GROUP):
            yield ("roleRef", "apiGroup"), f"Unsupported value: {ref.get('apiGroup')!r}: supported values: " \
                                           '"rbac.authorization.k8s.io"'
        if ref.get("kind") not in allowed:
            yield ("roleRef", "kind"), f"Unsupported value: {ref.get('kind')!r}: supported values: " \
                                       + ", ".join(f'"{k}"' for k in allowed)
        name = ref.get("name")
        if not name:
            yield ("roleRef", "name"), "Required value"
        elif isinstance(name, str) and is_path_segment_name(name):
            yield ("roleRef", "name"), f"Invalid value: {name!r}: {is_path_segment_name(name)}"
    subjects = obj.get("subjects")
    for i, subject in enumerate(subjects if isinstance(subjects, list) else ()):
        if not isinstance(subject, dict):
            continue
        here = ("subjects", i)
        skind, name = subject.get("kind"), subject.get("name")
        if not name:
            yield (*here, "name"), "Required value"
        if skind == "ServiceAccount":
            if subject.get("apiGroup"):
                yield (*here, "apiGroup"), f"Unsupported value: {subject['apiGroup']!r}: " \
                                           'supported values: ""'
            if isinstance(name, str) and name:
                problem = is_dns1123_subdomain(name)
                if problem:
                    yield (*here, "name"), f"Invalid value: {name!r}: {problem}"
            if kind == "ClusterRoleBinding" and not subject.get("namespace"):
                yield (*here, "namespace"), "Required value"
        elif skind in ("User", "Group"):
            # rbac/v1/defaults.go SetDefaults_Subject: an empty apiGroup becomes the RBAC group
            if subject.get("apiGroup") not in (None, "", RBAC_GROUP):
                yield (*here, "apiGroup"), f"Unsupported value: {subject.get('apiGroup')!r}: supported " \
                                           'values: "rbac.authorization.k8s.io"'
        elif isinstance(skind, str):
            yield (*here, "kind"), f'Unsupported value: {skind!r}: supported values: "ServiceAccount", ' \
                                   '"User", "Group"'


_PROTOCOLS = ("SCTP", "TCP", "UDP")
# validateContainers: validatePullPolicy, terminationMessagePolicy
_CONTAINER_ENUMS = {"imagePullPolicy": ("Always", "IfNotPresent", "Never"),
                    "terminationMessagePolicy": ("File", "FallbackToLogsOnError")}


def _protocol(port: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateServicePort / validateContainerPorts / ValidateNetworkPolicyPort: supportedPortProtocols."""
    value = port.get("protocol")
    if isinstance(value, str) and value not in _PROTOCOLS:
        yield (*at, "protocol"), f"Unsupported value: {value!r}: supported values: \"SCTP\", \"TCP\", \"UDP\""


def _volumes(volumes: list[Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidateVolumes (the sources manifests use): validateConfigMapVolumeSource (name required),
    validateSecretVolumeSource (secretName required), validateKeyToPath (key and path required)."""
    for i, volume in enumerate(volumes):
        if not isinstance(volume, dict):
            continue
        for source, name_field in (("configMap", "name"), ("secret", "secretName")):
            body = volume.get(source)
            if not isinstance(body, dict):
                continue
            here = (*at, i, source)
            if not body.get(name_field):
                yield (*here, name_field), "Required value"
            items = body.get("items")
            for j, item in enumerate(items if isinstance(items, list) else ()):
                for field in ("key", "path"):
                    if isinstance(item, dict) and not item.get(field):
                        yield (*here, "items", j, field), "Required value"


def _byte_fields(obj: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The built-in kinds' other ``format: byte`` strings (from the 1.33 OpenAPI definitions): webhook
    and APIService ``caBundle``, a CRD's conversion webhook ``caBundle``, a CSR's ``request``. Secret.data
    and ConfigMap.binaryData are checked with their kinds. (Custom resources' ``format: byte`` fields are
    not checked: the pinned ones are preserve-unknown-fields objects or cert-manager caBundles.)"""
    kind, spec = obj.get("kind"), obj.get("spec")
    if kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        hooks = obj.get("webhooks")
        for i, hook in enumerate(hooks if isinstance(hooks, list) else ()):
            config = hook.get("clientConfig") if isinstance(hook, dict) else None
            if isinstance(config, dict) and "caBundle" in config:
                yield ("webhooks", i, "clientConfig", "caBundle"), config["caBundle"]
    elif not isinstance(spec, dict):
        return
    elif kind == "APIService" and "caBundle" in spec:
        yield ("spec", "caBundle"), spec["caBundle"]
    elif kind == "CertificateSigningRequest" and "request" in spec:
        yield ("spec", "request"), spec["request"]
    elif kind == "CustomResourceDefinition":
        conversion = spec.get("conversion")
        webhook = conversion.get("webhook") if isinstance(conversion, dict) else None
        config = webhook.get("clientConfig") if isinstance(webhook, dict) else None
        if isinstance(config, dict) and "caBundle" in config:
            yield ("spec", "conversion", "webhook", "clientConfig", "caBundle"), config["caBundle"]


# --- RBAC rules ---

def policy_rules(obj: dict[str, Any], kind: str) -> Iterator[Problem]:
    """rbac validation.go ValidateRole / ValidateClusterRole -> ValidatePolicyRule: verbs non-empty; a
    rule is either about non-resource URLs (ClusterRole only, nothing else set) or names apiGroups and
    resources; ClusterRole aggregationRule: at least one clusterRoleSelector, each a valid selector."""
    rules = obj.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        if not isinstance(rule, dict):
            continue
        here = ("rules", i)
        if not rule.get("verbs"):
            yield (*here, "verbs"), "Required value: verbs must contain at least one value"
        if rule.get("nonResourceURLs"):
            if kind == "Role":
                yield (*here, "nonResourceURLs"), "Invalid value: namespaced rules cannot apply to " \
                                                  "non-resource URLs"
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                yield (*here, "nonResourceURLs"), "Invalid value: rules cannot apply to both regular " \
                                                  "resources and non-resource URLs"
            continue
        if not rule.get("apiGroups"):
            yield (*here, "apiGroups"), "Required value: resource rules must supply at least one api group"
        if not rule.get("resources"):
            yield (*here, "resources"), "Required value: resource rules must supply at least one resource"
    aggregation = obj.get("aggregationRule") if kind == "ClusterRole" else None
    if isinstance(aggregation, dict):
        selectors = aggregation.get("clusterRoleSelectors")
        if not selectors:
            yield ("aggregationRule", "clusterRoleSelectors"), \
                "Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"
        for i, selector in enumerate(selectors if isinstance(selectors, list) else ()):
            yield from label_selector(selector, ("aggregationRule", "clusterRoleSelectors", i))


# --- Ingress (networking.k8s.io/v1) ---

_WILDCARD = re.compile(rf"\*\.{_LABEL}(\.{_LABEL})*")
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


def _is_ip(value: str) -> bool:
    """k8s.io/utils/net ParseIPSloppy accepts IPv4 with leading zeros too."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        parts = value.split(".")
        return len(parts) == 4 and all(p.isdigit() and p.isascii() and int(p) < 256 for p in parts)


def _host(host: str) -> str | None:
    """validateIngressRules / validateIngressTLS: a DNS name (not an IP), ``*.`` wildcards allowed
    (IsWildcardDNS1123Subdomain)."""
    if "*" in host:
        if len(host) > 253:
            return "must be no more than 253 characters"
        if not _WILDCARD.fullmatch(host):
            return ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, "
                    "which must consist of lower case alphanumeric characters, '-' or '.' and end with an "
                    "alphanumeric character")
        return None
    return is_dns1123_subdomain(host)


def ingress(obj: dict[str, Any], spec: dict[str, Any]) -> Iterator[Problem]:
    """networking validation.go ValidateIngressCreate -> ValidateIngressSpec, validateIngressRules,
    validateHTTPIngressPath, validateIngressBackend, validateIngressTLS; ingressClassName a DNS-1123
    subdomain; the kubernetes.io/ingress.class annotation must match ingressClassName."""
    rules = spec.get("rules")
    if not rules and not spec.get("defaultBackend"):
        yield ("spec",), "Invalid value: either `defaultBackend` or `rules` must be specified"
    if isinstance(spec.get("defaultBackend"), dict):
        yield from _ingress_backend(spec["defaultBackend"], ("spec", "defaultBackend"))
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        if not isinstance(rule, dict):
            continue
        here = ("spec", "rules", i)
        host = rule.get("host")
        if isinstance(host, str) and host:
            if _is_ip(host):
                yield (*here, "host"), f"Invalid value: {host!r}: must be a DNS name, not an IP address"
            problem = _host(host)
            if problem:
                yield (*here, "host"), f"Invalid value: {host!r}: {problem}"
        http = rule.get("http")
        if not isinstance(http, dict):
            continue
        paths = http.get("paths")
        if not paths:
            yield (*here, "http", "paths"), "Required value"
        for j, path in enumerate(paths if isinstance(paths, list) else ()):
            if isinstance(path, dict):
                yield from _ingress_path(path, (*here, "http", "paths", j))
    tls = spec.get("tls")
    for i, entry in enumerate(tls if isinstance(tls, list) else ()):
        if not isinstance(entry, dict):
            continue
        hosts = entry.get("hosts")
        for j, host in enumerate(hosts if isinstance(hosts, list) else ()):
            host = "" if host is None else host  # an atomic list: a null item decodes to ""
            problem = _host(host) if isinstance(host, str) else None
            if problem:
                yield ("spec", "tls", i, "hosts", j), f"Invalid value: {host!r}: {problem}"
        secret_name = entry.get("secretName")
        if isinstance(secret_name, str) and secret_name:  # validateTLSSecretName: ValidateSecretName
            problem = is_dns1123_subdomain(secret_name)
            if problem:
                yield ("spec", "tls", i, "secretName"), f"Invalid value: {secret_name!r}: {problem}"
    class_name = spec.get("ingressClassName")
    if isinstance(class_name, str):
        problem = is_dns1123_subdomain(class_name) if class_name else "Required value"
        if problem:
            yield ("spec", "ingressClassName"), f"Invalid value: {class_name!r}: {problem}"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    annotations = meta.get("annotations")
    annotated = annotations.get("kubernetes.io/ingress.class") if isinstance(annotations, dict) else None
    if isinstance(annotated, str) and isinstance(class_name, str) and annotated != class_name:
        yield ("metadata", "annotations", "kubernetes.io/ingress.class"), \
            f"Invalid value: {annotated!r}: must match `ingressClassName` when both are specified"


def _ingress_path(path: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateHTTPIngressPath: pathType required; Exact/Prefix paths absolute, without ``//``, ``/./``,
    ``/../``, ``%2f`` and not ending in ``/..`` or ``/.``; ImplementationSpecific: absolute if set."""
    path_type, value = path.get("pathType"), path.get("path")
    value = value if isinstance(value, str) else ""
    if path_type is None:
        yield (*at, "pathType"), "Required value: pathType must be specified"
        return
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            yield (*at, "path"), f"Invalid value: {value!r}: must be an absolute path"
        for seq in _INVALID_PATH_SEQUENCES:
            if seq in value:
                yield (*at, "path"), f"Invalid value: {value!r}: must not contain '{seq}'"
        for suffix in _INVALID_PATH_SUFFIXES:
            if value.endswith(suffix):
                yield (*at, "path"), f"Invalid value: {value!r}: cannot end with '{suffix}'"
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            yield (*at, "path"), f"Invalid value: {value!r}: must be an absolute path"
    else:
        yield (*at, "pathType"), f"Unsupported value: {path_type!r}: supported values: \"Exact\", " \
                                 "\"ImplementationSpecific\", \"Prefix\""
    backend = path.get("backend")
    yield from _ingress_backend(backend if isinstance(backend, dict) else {}, (*at, "backend"))


def _ingress_backend(backend: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateIngressBackend: exactly one of service / resource; the service named as a Service
    (ValidateServiceName, DNS-1035 in 1.33) with a port name xor number; the resource's kind and name
    path segments (validateIngressTypedLocalObjectReference)."""
    service, resource = backend.get("service"), backend.get("resource")
    if isinstance(service, dict) and isinstance(resource, dict):
        yield at, "Invalid value: cannot set both resource and service backends"
    elif isinstance(resource, dict):
        group = resource.get("apiGroup")
        if isinstance(group, str) and is_dns1123_subdomain(group):
            yield (*at, "resource", "apiGroup"), f"Invalid value: {group!r}: {is_dns1123_subdomain(group)}"
        for field in ("kind", "name"):
            value = resource.get(field)
            problem = is_path_segment_name(value) if isinstance(value, str) and value else "Required value"
            if problem:
                yield (*at, "resource", field), f"Invalid value: {value!r}: {problem}" if value else problem
    elif isinstance(service, dict):
        name = service.get("name")
        if not name:
            yield (*at, "service", "name"), "Required value"
        elif isinstance(name, str) and is_dns1035_label(name):
            yield (*at, "service", "name"), f"Invalid value: {name!r}: {is_dns1035_label(name)}"
        port = service.get("port") if isinstance(service.get("port"), dict) else {}
        port_name, number = port.get("name"), port.get("number")
        if port_name and number:
            yield at, "Invalid value: cannot set both port name & port number"
        elif isinstance(port_name, str) and port_name:
            problem = is_port_name(port_name)
            if problem:
                yield (*at, "service", "port", "name"), f"Invalid value: {port_name!r}: {problem}"
        elif isinstance(number, int) and number:
            if not _port_num(number):
                yield (*at, "service", "port", "number"), f"Invalid value: {number}: must be between 1 " \
                                                          "and 65535, inclusive"
        else:
            yield at, "Required value: port name or number is required"
    else:
        yield at, "Invalid value: resource or service backend is required"


# --- HorizontalPodAutoscaler (autoscaling/v2) ---

_METRIC_SOURCES = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                   "ContainerResource": "containerResource"}


def hpa(spec: dict[str, Any]) -> Iterator[Problem]:
    """autoscaling validation.go validateHorizontalPodAutoscalerSpec: minReplicas >= 1 (HPAScaleToZero is
    alpha, off in 1.33), maxReplicas >= 1 and >= minReplicas, scaleTargetRef kind/name
    (ValidateCrossVersionObjectReference: path segment names), validateMetrics -> validateMetricSpec
    (one source, the one ``type`` names) and validateMetricTarget, validateBehavior."""
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    low_ok = isinstance(low, int) and not isinstance(low, bool)
    if low_ok and low < 1:
        yield ("spec", "minReplicas"), f"Invalid value: {low}: must be greater than or equal to 1"
    if isinstance(high, int) and not isinstance(high, bool):
        if high < 1:
            yield ("spec", "maxReplicas"), f"Invalid value: {high}: must be greater than 0"
        if high < (low if low_ok else 1):  # SetDefaults_HorizontalPodAutoscaler: minReplicas 1
            yield ("spec", "maxReplicas"), f"Invalid value: {high}: must be greater than or equal to " \
                                           "`minReplicas`"
    ref = spec.get("scaleTargetRef")
    yield from _object_reference(ref if isinstance(ref, dict) else {}, ("spec", "scaleTargetRef"))
    metrics = spec.get("metrics")
    for i, metric in enumerate(metrics if isinstance(metrics, list) else ()):
        if isinstance(metric, dict):
            yield from _metric_spec(metric, ("spec", "metrics", i))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            if isinstance(behavior.get(direction), dict):
                yield from _scaling_rules(behavior[direction], ("spec", "behavior", direction))


def _object_reference(ref: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """ValidateCrossVersionObjectReference: kind and name required, each a valid path segment."""
    for field in ("kind", "name"):
        value = ref.get(field)
        if not value:
            yield (*at, field), "Required value"
        elif isinstance(value, str) and is_path_segment_name(value):
            yield (*at, field), f"Invalid value: {value!r}: {is_path_segment_name(value)}"


def _metric_spec(metric: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    kind = metric.get("type")
    if not kind:
        yield (*at, "type"), "Required value: must specify a metric source type"
    expected = _METRIC_SOURCES.get(kind) if isinstance(kind, str) else None
    if expected is None:
        yield (*at, "type"), f"Unsupported value: {kind!r}: supported values: " \
                             + ", ".join(f'"{k}"' for k in sorted(_METRIC_SOURCES))
    present = [f for f in _METRIC_SOURCES.values() if isinstance(metric.get(f), dict)]
    if expected is not None and expected not in present:
        yield (*at, expected), "Required value: must populate information for the given metric source"
    for other in present:
        if other != expected and len(present) > 1:
            yield (*at, other), "Forbidden: must populate the given metric source only"
    if expected in present and len(present) == 1:
        source = metric[expected]
        target = source.get("target") if isinstance(source.get("target"), dict) else {}
        yield from _metric_target(target, (*at, expected, "target"))
        if expected in ("resource", "containerResource"):
            if not source.get("name"):
                yield (*at, expected, "name"), "Required value: must specify a resource name"
            if expected == "containerResource" and not source.get("container"):
                yield (*at, expected, "container"), "Required value: must specify a container"
            if target.get("averageUtilization") is None and target.get("averageValue") is None:
                yield (*at, expected, "target", "averageUtilization"), \
                    "Required value: must set either a target raw value or a target utilization"
        else:
            ident = source.get("metric") if isinstance(source.get("metric"), dict) else {}
            if not ident.get("name"):
                yield (*at, expected, "metric", "name"), "Required value: must specify a metric name"
            if isinstance(ident.get("selector"), dict):
                yield from label_selector(ident["selector"], (*at, expected, "metric", "selector"))
            if expected == "pods" and target.get("averageValue") is None:
                yield (*at, expected, "target", "averageValue"), "Required value: must specify a positive " \
                                                                 "target averageValue"
            if expected in ("object", "external") and target.get("value") is None \
                    and target.get("averageValue") is None:
                yield (*at, expected, "target", "averageValue"), "Required value: must set either a target " \
                                                                 "value or averageValue"
            if expected == "object":
                described = source.get("describedObject")
                yield from _object_reference(described if isinstance(described, dict) else {},
                                             (*at, expected, "describedObject"))


def _metric_target(target: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateMetricTarget: type Utilization/Value/AverageValue; value and averageValue positive
    quantities; averageUtilization >= 1."""
    kind = target.get("type")
    if not kind:
        yield (*at, "type"), "Required value: must specify a metric target type"
    elif kind not in ("Utilization", "Value", "AverageValue"):
        yield (*at, "type"), f"Invalid value: {kind!r}: must be either Utilization, Value, or AverageValue"
    for field in ("value", "averageValue"):
        if field in target and target[field] is not None:
            parsed = quantity.from_json(target[field])
            if isinstance(parsed, str):
                yield (*at, field), f"Invalid value: {target[field]!r}: {parsed}"
            elif parsed is not None and parsed <= 0:
                yield (*at, field), f"Invalid value: {target[field]!r}: must be positive"
    utilization = target.get("averageUtilization")
    if isinstance(utilization, int) and not isinstance(utilization, bool) and utilization < 1:
        yield (*at, "averageUtilization"), f"Invalid value: {utilization}: must be greater than 0"


def _scaling_rules(rules: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateScalingRules: stabilizationWindowSeconds 0..3600, selectPolicy Max/Min/Disabled, each
    policy of type Pods/Percent with value > 0 and periodSeconds 1..1800."""
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and not isinstance(window, bool):
        if window < 0:
            yield (*at, "stabilizationWindowSeconds"), f"Invalid value: {window}: must be greater than or " \
                                                       "equal to zero"
        elif window > 3600:
            yield (*at, "stabilizationWindowSeconds"), f"Invalid value: {window}: must be less than or " \
                                                       "equal to 3600"
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Max", "Min", "Disabled"):
        yield (*at, "selectPolicy"), f"Unsupported value: {select!r}: supported values: \"Disabled\", " \
                                     "\"Max\", \"Min\""
    policies = rules.get("policies")
    for i, policy in enumerate(policies if isinstance(policies, list) else ()):
        if not isinstance(policy, dict):
            continue
        here = (*at, "policies", i)
        if policy.get("type") not in ("Pods", "Percent"):
            yield (*here, "type"), f"Unsupported value: {policy.get('type')!r}: supported values: " \
                                   "\"Percent\", \"Pods\""
        value, period = policy.get("value"), policy.get("periodSeconds")
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            yield (*here, "value"), f"Invalid value: {value}: must be greater than zero"
        if isinstance(period, int) and not isinstance(period, bool):
            if period <= 0:
                yield (*here, "periodSeconds"), f"Invalid value: {period}: must be greater than zero"
            elif period > 1800:
                yield (*here, "periodSeconds"), f"Invalid value: {period}: must be less than or equal to 1800"


# --- PodDisruptionBudget (policy/v1) ---

_PERCENT = re.compile(r"[0-9]+%")


def pdb(spec: dict[str, Any]) -> Iterator[Problem]:
    """policy validation.go ValidatePodDisruptionBudgetSpec: not both minAvailable and maxUnavailable;
    each apps validation ValidatePositiveIntOrPercent (an int >= 0 or ``N%``) and
    IsNotMoreThan100Percent; the selector (ValidateLabelSelector); unhealthyPodEvictionPolicy."""
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        yield ("spec",), "Invalid value: minAvailable and maxUnavailable cannot be both set"
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) and value < 0:
            yield ("spec", field), f"Invalid value: {value}: must be greater than or equal to 0"
        elif isinstance(value, str):
            if not _PERCENT.fullmatch(value):
                yield ("spec", field), f"Invalid value: {value!r}: a valid percent string must be a " \
                                       "numeric string followed by an ending '%' (e.g. '1%',  or '93%')"
            elif int(value[:-1]) > 100:
                yield ("spec", field), f"Invalid value: {value!r}: must not be greater than 100%"
    yield from label_selector(spec.get("selector"), ("spec", "selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        yield ("spec", "unhealthyPodEvictionPolicy"), f"Unsupported value: {policy!r}: supported values: " \
                                                      "\"AlwaysAllow\", \"IfHealthyBudget\""


# --- resource quantities in pods ---

_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def _is_native(name: str) -> bool:
    """helper.IsNativeResource: no domain, or a kubernetes.io/ one."""
    return "/" not in name or "kubernetes.io/" in name


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_extended(name: str) -> bool:
    """helper.IsExtendedResourceName: not native, not ``requests.``-prefixed, and ``requests.<name>`` a
    qualified name."""
    return not _is_native(name) and not name.startswith("requests.") \
        and is_qualified_name("requests." + name) is None


def container_resources(container: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Problem]:
    """core validation.go ValidateContainerResourceRequirements -> validateResourceRequirements:
    names (validateContainerResourceName: qualified; standard cpu/memory/ephemeral-storage/hugepages-*
    without a domain, extended-resource syntax with one), values (Quantity syntax at decode time,
    ValidateResourceQuantityValue: non-negative, whole numbers for extended resources), requests <= limits,
    and requests == limits with the limit set for resources that cannot be overcommitted (extended,
    hugepages; helper.IsOvercommitAllowed); hugepages need cpu or memory."""
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return
    values: dict[str, dict[str, Fraction]] = {}
    for kind in ("limits", "requests"):
        table = resources.get(kind)
        values[kind] = {}
        for name, raw in (table.items() if isinstance(table, dict) else ()):
            here = (*at, "resources", kind, name)
            problem = is_qualified_name(name)
            if problem:
                yield here, f"Invalid value: {name!r}: {problem}"
            elif "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not _is_hugepages(name):
                yield here, f"Invalid value: {name!r}: must be a standard resource for containers"
            elif not _is_native(name) and not _is_extended(name):
                yield here, f"Invalid value: {name!r}: doesn't follow extended resource name standard"
            parsed = quantity.from_json(raw)
            if isinstance(parsed, str):
                yield here, f"Invalid value: {raw!r}: {parsed}"
                continue
            if parsed is None:
                continue
            values[kind][name] = parsed
            if parsed < 0:
                yield here, f"Invalid value: {raw!r}: must be greater than or equal to 0"
            elif _is_extended(name) and math.ceil(parsed * 1000) % 1000:  # MilliValue() rounds up
                yield here, f"Invalid value: {raw!r}: must be an integer"
    limits, requests = values["limits"], values["requests"]
    for name, request in requests.items():
        overcommit = _is_native(name) and not _is_hugepages(name)
        limit = limits.get(name)
        here = (*at, "resources", "requests")
        if limit is not None:
            if request != limit and not overcommit:
                yield here, f"Invalid value: {quantity.render(request)!r}: must be equal to {name} limit " \
                            f"of {quantity.render(limit)}"
            elif request > limit:
                yield here, f"Invalid value: {quantity.render(request)!r}: must be less than or equal to " \
                            f"{name} limit of {quantity.render(limit)}"
        elif not overcommit and name in (resources.get("requests") or {}):
            yield (*at, "resources", "limits"), "Required value: Limit must be set for non overcommitable " \
                                                "resources"
    names = set(limits) | set(requests)
    if any(_is_hugepages(n) for n in names) and not names & {"cpu", "memory"}:
        yield (*at, "resources"), "Forbidden: HugePages require cpu or memory"
