"""Pod Security Standards (baseline, restricted) as the admission controller checks them, on plain dicts.

One predicate for two users: synth labels each namespace it creates with the strictest level every pod it
knows of there meets (charts/namespaces.py), and lint reports a namespace whose enforced level rejects a
pod of the output (SEC605). A pod whose security context infergate cannot see (Istio's gateway pods) is
passed as a spec without one, which meets baseline only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")  # loosest first
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
STANDARDS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

_BASELINE_CAPS = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                            "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
_SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                           "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                           "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                           "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"})
_RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                 "persistentVolumeClaim", "projected", "secret"})
_VOLUME_META = frozenset({"name"})


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def baseline_problems(pod: Mapping[str, Any], containers: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why ``pod`` (a PodSpec) with ``containers`` (container dicts, init containers included) fails
    baseline; empty when it meets it."""
    out = [f"{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    for volume in _list(pod.get("volumes")):
        if isinstance(volume, Mapping) and "hostPath" in volume:
            out.append(f"hostPath volume {volume.get('name')}")
    pod_sc = _dict(pod.get("securityContext"))
    if _dict(pod_sc.get("seccompProfile")).get("type") == "Unconfined":
        out.append("pod seccompProfile Unconfined")
    for sysctl in _list(pod_sc.get("sysctls")):
        name = _dict(sysctl).get("name")
        if name not in _SAFE_SYSCTLS:
            out.append(f"sysctl {name}")
    for c in containers:
        sc, name = _dict(c.get("securityContext")), c.get("name")
        if sc.get("privileged") is True:
            out.append(f"container {name} privileged")
        added = {str(cap) for cap in _list(_dict(sc.get("capabilities")).get("add"))} - _BASELINE_CAPS
        if added:
            out.append(f"container {name} adds {', '.join(sorted(added))}")
        if _dict(sc.get("seccompProfile")).get("type") == "Unconfined":
            out.append(f"container {name} seccompProfile Unconfined")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"container {name} procMount {sc.get('procMount')}")
        if any(_dict(p).get("hostPort") for p in _list(c.get("ports"))):
            out.append(f"container {name} hostPort")
    return out


def restricted_problems(pod: Mapping[str, Any], containers: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why the pod fails restricted (baseline's reasons included); empty when it meets it."""
    out = baseline_problems(pod, containers)
    for volume in _list(pod.get("volumes")):
        kinds = set(_dict(volume)) - _VOLUME_META
        if kinds and not kinds <= _RESTRICTED_VOLUMES:
            out.append(f"volume {_dict(volume).get('name')} of type {', '.join(sorted(kinds))}")
    pod_sc = _dict(pod.get("securityContext"))
    pod_seccomp = _dict(pod_sc.get("seccompProfile")).get("type")
    for c in containers:
        sc, name = _dict(c.get("securityContext")), c.get("name")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"container {name} does not set allowPrivilegeEscalation: false")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"container {name} does not run as non-root (runAsNonRoot)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            out.append(f"container {name} runs as user 0")
        seccomp = _dict(sc.get("seccompProfile")).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"container {name} has no RuntimeDefault seccomp profile")
        caps = _dict(sc.get("capabilities"))
        if "ALL" not in {str(x) for x in _list(caps.get("drop"))}:
            out.append(f"container {name} does not drop ALL capabilities")
        extra = {str(x) for x in _list(caps.get("add"))} - {"NET_BIND_SERVICE"}
        if extra:
            out.append(f"container {name} adds {', '.join(sorted(extra))}")
    return out


def problems(level: str, pod: Mapping[str, Any], containers: Sequence[Mapping[str, Any]]) -> list[str]:
    if level == "restricted":
        return restricted_problems(pod, containers)
    if level == "baseline":
        return baseline_problems(pod, containers)
    return []


def strictest_level(pods: Iterable[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]]) -> str:
    """The strictest level every pod meets (restricted for none: nothing to reject)."""
    level = "restricted"
    for pod, containers in pods:
        if level == "restricted" and restricted_problems(pod, containers):
            level = "baseline"
        if level == "baseline" and baseline_problems(pod, containers):
            return "privileged"
    return level


def containers_of(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every container of a PodSpec, init containers included."""
    return [c for key in ("initContainers", "containers") for c in _list(pod.get(key))
            if isinstance(c, Mapping)]
