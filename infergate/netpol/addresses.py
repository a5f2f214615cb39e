"""Address sets (CIDRs minus exceptions) and the one question the evaluator asks of them.

An ipBlock matches an endpoint only if it matches *every* address the endpoint may have: the
addresses of an external endpoint, or the whole pod CIDR for a pod (pod IPs are ephemeral, so a block
that covers part of the pod range admits "some pods, unpredictably" and is treated as admitting none).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from infergate.netpol.policy import IPBlock, Network


def to_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def subtract(nets: Iterable[Network], minus: Iterable[Network]) -> tuple[Network, ...]:
    """nets minus minus, as disjoint CIDRs (exact set difference)."""
    pieces = list(nets)
    for cut in minus:
        out: list[Network] = []
        for piece in pieces:
            if piece.version != cut.version or not piece.overlaps(cut):
                out.append(piece)
            elif piece.subnet_of(cut):  # type: ignore[arg-type]
                continue
            else:  # cut lies inside piece
                out.extend(piece.address_exclude(cut))  # type: ignore[arg-type]
        pieces = out
    return tuple(pieces)


@lru_cache(maxsize=4096)
def block_covers(block: IPBlock, pieces: tuple[Network, ...]) -> bool:
    """Every address of ``pieces`` (disjoint CIDRs) lies in block.cidr and outside every except."""
    if not pieces:
        return False  # an endpoint without addresses is matched by no ipBlock
    for piece in pieces:
        if piece.version != block.cidr.version or not piece.subnet_of(block.cidr):  # type: ignore[arg-type]
            return False
        if any(piece.version == e.version and piece.overlaps(e) for e in block.excepts):
            return False
    return True
