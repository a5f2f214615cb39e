"""String formats of CRD schemas that the API server checks, with its semantics.

apiextensions-apiserver validates `format` against kube-openapi's strfmt registry
(k8s.io/kube-openapi/pkg/validation/strfmt/default.go). Of the formats the pinned CRDs use, these decide
accept/reject inside `oneOf`/`anyOf` branches (Gateway API's `addresses[].value`: anyOf ipv4 | ipv6), so
they are evaluated by the schema validator itself, under names of their own (``k8s-<format>``) so that no
other format gets jsonschema's semantics. `byte` is checked separately (structural.byte_fields).

The registry's checks: ipv4 = `netutils.ParseIPSloppy(s) != nil && strings.Contains(s, ".")`,
ipv6 = the same with ":", cidr = `netutils.ParseCIDRSloppy(s)` succeeds. "Sloppy" is Go's pre-1.17
net.ParseIP, which accepts leading zeros in IPv4 octets (read as decimal) and no IPv6 zone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

PREFIX = "k8s-"


def _sloppy_v4(text: str) -> str | None:
    """A dotted quad with leading zeros read as decimal (Go's old ParseIP), canonical; else None."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return None
    values = [int(p) for p in parts]
    return ".".join(map(str, values)) if all(v <= 255 for v in values) else None


def parse_ip_sloppy(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text or "%" in text:  # Go's ParseIP takes no zone
        return None
    if ":" not in text:
        canonical = _sloppy_v4(text)
        return ipaddress.IPv4Address(canonical) if canonical else None
    head, _, tail = text.rpartition(":")
    if "." in tail:  # an embedded IPv4 tail may carry leading zeros too
        canonical = _sloppy_v4(tail)
        if canonical is None:
            return None
        text = f"{head}:{canonical}"
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


# a format constrains strings only (JSON Schema): another type is the `type` keyword's business
def is_ipv4(text: str) -> bool:
    return not isinstance(text, str) or (parse_ip_sloppy(text) is not None and "." in text)


def is_ipv6(text: str) -> bool:
    return not isinstance(text, str) or (parse_ip_sloppy(text) is not None and ":" in text)


def is_cidr(text: str) -> bool:
    if not isinstance(text, str):
        return True
    address, slash, prefix = text.partition("/")
    if not slash or not prefix.isascii() or not prefix.isdigit() or len(prefix) > 3:
        return False  # the pre-1.17 parser (sloppy) reads "08" as 8, like the octets
    ip = parse_ip_sloppy(address)
    return ip is not None and int(prefix) <= ip.max_prefixlen


CHECKS: dict[str, Callable[[str], bool]] = {"ipv4": is_ipv4, "ipv6": is_ipv6, "cidr": is_cidr}
# what the schema validator is given: only our names, so no other format is ever evaluated
VALIDATOR_FORMATS: dict[str, Callable[[str], bool]] = {PREFIX + name: fn for name, fn in CHECKS.items()}
