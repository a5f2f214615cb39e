"""Address sets (CIDRs minus exceptions) as sorted integer intervals, and how much of one another covers.

A side of a flow admits the addresses of the *union* of the ipBlocks of every rule that applies (rules and
policies are additive), so coverage is decided on that union, never block by block: ``0.0.0.0/1`` plus
``128.0.0.0/1`` admits every IPv4 address. Against an endpoint's addresses the answer is three-valued:
``ALL`` (every address), ``SOME`` (part of them: a flow that works for some addresses only, e.g. an ipBlock
over part of the pod CIDR admits "some pods, unpredictably", since pod IPs are ephemeral) or ``NONE``.
An endpoint without addresses is matched by no ipBlock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from infergate.netpol.policy import IPBlock, Network

Span = tuple[int, int, int]  # (IP version, first address, last address)
Spans = tuple[Span, ...]  # sorted, disjoint, not adjacent
ALL, SOME, NONE = "all", "some", "none"


def to_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _span(net: Network) -> Span:
    return (net.version, int(net.network_address), int(net.broadcast_address))


def merge(spans: Iterable[Span]) -> Spans:
    """The union of ``spans`` as sorted, disjoint, non-adjacent intervals."""
    out: list[list[int]] = []
    for v, lo, hi in sorted(spans):
        if out and out[-1][0] == v and lo <= out[-1][2] + 1:
            out[-1][2] = max(out[-1][2], hi)
        else:
            out.append([v, lo, hi])
    return tuple((v, lo, hi) for v, lo, hi in out)


def minus(spans: Spans, cuts: Iterable[Span]) -> Spans:
    """``spans`` without the addresses of ``cuts`` (exact set difference)."""
    pieces = list(spans)
    for cv, clo, chi in cuts:
        out: list[Span] = []
        for v, lo, hi in pieces:
            if v != cv or chi < lo or clo > hi:
                out.append((v, lo, hi))
                continue
            if lo < clo:
                out.append((v, lo, clo - 1))
            if chi < hi:
                out.append((v, chi + 1, hi))
        pieces = out
    return tuple(pieces)


def address_set(cidrs: Iterable[Network], excepts: Iterable[Network] = ()) -> Spans:
    return merge(minus(merge(_span(n) for n in cidrs), [_span(e) for e in excepts]))


def block_set(block: IPBlock) -> Spans:
    return address_set((block.cidr,), block.excepts)


def union_of_blocks(blocks: Iterable[IPBlock]) -> Spans:
    return merge(s for b in blocks for s in block_set(b))


def coverage(allowed: Spans, target: Spans) -> str:
    """How much of ``target`` lies in ``allowed`` (both merged): ALL, SOME or NONE (also for no target)."""
    if not target:
        return NONE
    covered_all, touched = True, False
    j = 0
    for v, lo, hi in target:
        # allowed spans that end before this target span starts cannot touch it or any later one
        while j < len(allowed) and (allowed[j][0], allowed[j][2]) < (v, lo):
            j += 1
        pos, k = lo, j
        while k < len(allowed) and allowed[k][0] == v and allowed[k][1] <= hi:
            _, alo, ahi = allowed[k]
            touched = True
            if alo > pos:
                covered_all = False
            pos = max(pos, ahi + 1)
            k += 1
        if pos <= hi:
            covered_all = False
    if covered_all:
        return ALL
    return SOME if touched else NONE
