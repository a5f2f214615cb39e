"""The string formats the API server checks in a NetworkPolicy, as its validation code defines them.

Each function returns an error message, or None when the API server accepts the value. Sources (facts,
not code, carried over from kubernetes/kubernetes):
- ``qualified_name_error``, ``label_value_error``, ``port_name_error``: IsQualifiedName,
  IsValidLabelValue and IsValidPortName in staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
  (label keys and values are checked by ValidateLabelSelector / ValidateLabelSelectorRequirement /
  ValidateLabels in staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go).
- ``parse_cidr``: ValidateIPBlock (pkg/apis/networking/validation/validation.go) checks ``cidr`` and each
  ``except`` with IsValidCIDRForLegacyField, i.e. netutils.ParseCIDRSloppy (StrictIPCIDRValidation is an
  alpha gate, off by default). That parser needs ``/`` and a decimal prefix length, reads IPv4 octets
  with leading zeros as decimal, and allows bits set past the prefix (``10.1.2.3/8`` is 10.0.0.0/8).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")
_IPV4_SLOPPY = re.compile(r"[0-9]+(\.[0-9]+){3}")
_DIGITS = re.compile(r"[0-9]+")


@lru_cache(maxsize=8192)  # label keys and values repeat across policies: check each once
def qualified_name_error(value: str) -> str | None:
    """A label key: ``[prefix/]name``, prefix a DNS-1123 subdomain, name at most 63 characters."""
    parts = value.split("/")
    if len(parts) > 2:
        return "must be a qualified name with at most one '/' (e.g. 'example.com/MyName')"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return "prefix part must be non-empty"
        if len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return "prefix part must be a lowercase DNS-1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and start and end "
                "with an alphanumeric character")
    return None


@lru_cache(maxsize=8192)
def label_value_error(value: str) -> str | None:
    """A label value: empty, or at most 63 alphanumerics, '-', '_', '.' starting and ending alphanumeric."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _LABEL_VALUE.fullmatch(value):
        return ("must consist of alphanumeric characters, '-', '_' or '.', and start and end with an "
                "alphanumeric character")
    return None


def port_name_error(value: str) -> str | None:
    """A named port: 1-15 of [-a-z0-9], at least one letter, no '--', no '-' at either end.

    So a quoted number (``port: "8080"``) is rejected: it is read as a name and has no letter.
    """
    if len(value) > 15:
        return "must be no more than 15 characters"
    if not _PORT_NAME_CHARS.fullmatch(value):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if not re.search(r"[a-z]", value):
        return "must contain at least one letter (a-z); a port number must not be quoted"
    if "--" in value:
        return "must not contain consecutive hyphens"
    if value[0] == "-" or value[-1] == "-":
        return "must not begin or end with a hyphen"
    return None


@lru_cache(maxsize=4096)
def parse_cidr(value: str) -> Network | str:
    """The network ParseCIDRSloppy reads from ``value``, or why the API server rejects it.

    Cached: policies repeat the same few CIDRs and ipaddress parsing is slow.
    """
    addr, slash, bits = value.partition("/")
    if not slash:
        return "must be a valid CIDR value with a prefix length (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    if not _DIGITS.fullmatch(bits):
        return "the prefix length must be a decimal number (e.g. /24)"
    if _IPV4_SLOPPY.fullmatch(addr):
        octets = [int(o) for o in addr.split(".")]
        if any(o > 255 for o in octets):
            return "must be a valid CIDR value (an IPv4 octet is over 255)"
        addr = ".".join(map(str, octets))  # leading zeros are decimal to the API server, not octal
    elif "%" in addr:
        return "must be a valid CIDR value (no IPv6 zone)"
    try:
        return ipaddress.ip_network(f"{addr}/{int(bits)}", strict=False)
    except ValueError as exc:
        return f"must be a valid CIDR value: {exc}"
