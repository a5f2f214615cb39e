"""NP100-NP110 as plain functions over the lint graph: (object, message, JSON path) per finding.

policies/netpol.py registers them as lint rules. All of them are silent for a cluster without any
NetworkPolicy (a repository that does not manage isolation at all); once one exists, every namespace
that runs workloads of the output is held to the security model. NP101 skips a namespace whose only pods
are Istio's gateway pods when the output neither declares it nor puts a policy in it (the gateway
install's namespace, e.g. KServe's ``opendatahub``). Findings land on the policy to change when there is
one, otherwise on the namespace (or the first workload running in it; NP110: the ``Istio`` object).
Rules do not report what another rule reports: NP106 skips NP102's rules, NP108/NP109 skip NP107's, and
rules about one side of a flow skip pods whose side is not isolated at all (NP101's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infergate.netpol.addresses import address_set, to_networks
from infergate.netpol.cluster import Cluster, build_cluster
from infergate.netpol.evaluate import DENIED, PARTIAL, RuleRef, iter_bits
from infergate.netpol.flows import Violation, forbidden_violations, required_violations
from infergate.netpol.model import Endpoint
from infergate.netpol.policy import EGRESS, INGRESS, Policy, Rule
from infergate.netpol.security_model import security_model

Found = tuple[Any, str, tuple[str | int, ...]]  # (K8sObject, message, path)
# the workloads whose legitimate clients the security model names (gateways are meant to be reached from
# anywhere, probes serve nothing); for any other pod who may connect is its owner's design (Argo CD opens
# its metrics ports to every namespace for Prometheus, its API server to all)
GUARDED_ROLES = ("model-server", "epp", "bbr")
# plus the platform's API server ports: what egress "to the outside" uses (6443: kube-apiserver's default
# secure port on self-managed clusters, where the in-cluster Service's 443 is translated to it)
EXTERNAL_PORTS = (80, 443, 6443)
API_SERVER_PORTS_UNKNOWN = (443, 6443)  # where an API server listens when the platform does not say


def cluster_for(graph: Any) -> Cluster | None:
    """The cluster of ``graph`` (built once per lint run), or None when it has no NetworkPolicy."""
    if "netpol.cluster" not in graph.cache:
        graph.cache["netpol.cluster"] = build_cluster(graph) if graph.of_kind("NetworkPolicy") else None
    return graph.cache["netpol.cluster"]


def np100(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    for bad in cluster.bad_policies if cluster else ():
        yield bad.source, f"invalid NetworkPolicy: {bad.message}; its isolation was not evaluated", bad.path


def np101(graph: Any) -> Iterator[Found]:
    """Namespaces running workloads where some pod is not isolated in a direction.

    Isolation is effective, not worded: a policy selecting a pod for a direction isolates it whatever its
    rules say (``podSelector: {}`` with both policyTypes and allow rules still isolates every pod). The pods
    are the workloads and the namespace's "any other pod" probe (a debug pod, a new controller).
    """
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    by_ns: dict[str, list[Endpoint]] = {}
    probes: dict[str, int] = {}
    for i, ep in enumerate(ev.endpoints):
        if ep.is_pod and not ep.synthetic:
            by_ns.setdefault(ep.namespace or "", []).append(ep)
        elif ep.role == "any-pod":
            probes[ep.namespace or ""] = i
    policed = {p.namespace for p in cluster.policies}
    for ns, pods in sorted(by_ns.items()):
        declared = graph.get("Namespace", None, ns, "")
        if declared is None and ns not in policed \
                and all((p.attrs or {}).get("origin") == "istio" for p in pods):
            # only Istio's gateway pods, in a namespace the output neither declares nor isolates: the
            # gateway install owns it (reported to the lead: dist/ should isolate it too)
            continue
        members = ev.ns_members.get(ns, 0) & ev.real_pods
        if ns in probes:
            members |= 1 << probes[ns]
        # per direction: a pod isolated for Ingress but not Egress must not read as open both ways
        gaps: list[tuple[str, int]] = [(d, members & ~iso) for d, iso in
                                       ((INGRESS, ev.ingress_isolated), (EGRESS, ev.egress_isolated))
                                       if members & ~iso]
        if not gaps:
            continue
        target = declared
        if target is None:
            target = sorted((p.source for p in pods), key=lambda o: (o.doc.file, o.doc.line))[0]
        names = ", ".join(sorted({p.name for p in pods}))

        def shown(bits: int) -> str:
            return ", ".join(sorted({"any other pod" if ev.endpoints[i].role == "any-pod"
                                     else ev.endpoints[i].name for i in iter_bits(bits)}))

        if len(gaps) == 2 and gaps[0][1] == gaps[1][1]:
            open_text = f"{shown(gaps[0][1])} for Ingress and Egress"
        else:
            open_text = "; ".join(f"{shown(bits)} for {d}" for d, bits in gaps)
        yield (target, f"namespace {ns} runs workloads ({names}) but no NetworkPolicy isolates "
               f"{open_text}: add a default deny (podSelector: {{}}, "
               "policyTypes: [Ingress, Egress]) and allow the flows of the security model on top",
               ("metadata",))


def _covers_pods(cluster: Cluster, bits: int) -> bool:
    pods = cluster.evaluator.pods
    return bits & pods == pods


def _open_rules(cluster: Cluster, policy: Policy) -> Iterator[tuple[int, int | None]]:
    """(rule index, peer index or None) of ingress rules/peers admitting every pod of every namespace.

    ipBlocks count together (their union covers the pod CIDR, e.g. 10.0.0.0/9 + 10.128.0.0/9): the
    finding then lands on the rule's first ipBlock.
    """
    ev = cluster.evaluator
    for i, rule in enumerate(policy.ingress):
        if rule.peers is None:
            yield i, None
            continue
        found = [j for j, peer in enumerate(rule.peers) if peer.is_every_pod
                 or (peer.ip_block is not None and _covers_pods(cluster, ev.peer_bits(peer, "")))]
        blocks = [j for j, peer in enumerate(rule.peers) if peer.ip_block is not None]
        if not found and blocks and _covers_pods(cluster, ev.rule_reach(Rule(
                tuple(rule.peers[j] for j in blocks), None), policy.namespace)[0]):
            found = blocks[:1]
        for j in found:
            yield i, j


def _non_public_selected(cluster: Cluster, policy: Policy) -> list[Endpoint]:
    ev = cluster.evaluator
    selected = ev.selected(policy)
    # an isolation probe wears a workload's labels but serves nothing: no rule exposes it
    return [e for e in (ev.endpoints[i] for i in iter_bits(selected & _real_pods(cluster)))
            if e.role in GUARDED_ROLES]


def _real_pods(cluster: Cluster) -> int:
    """Bitset of the pods of the output (not probes, not platform pods)."""
    return cluster.evaluator.real_pods


def _serving(cluster: Cluster, port: int) -> int:
    """Bitset of the output's pods that declare ``port``."""
    ev = cluster.evaluator
    bits = 0
    for k in iter_bits(_real_pods(cluster)):
        if any(q.number == port for q in ev.endpoints[k].ports):
            bits |= 1 << k
    return bits


def np102(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    for policy in cluster.policies:
        targets = _non_public_selected(cluster, policy)
        if not targets:
            continue
        names = ", ".join(sorted({t.name for t in targets}))
        for i, j in _open_rules(cluster, policy):
            rule = policy.ingress[i]
            ports = ", ".join(str(p) for p in rule.ports) if rule.ports else "every port"
            if j is None:
                what, path = "has no `from`, so it admits every source", ("spec", "ingress", i)
            else:
                what, path = "admits every pod of every namespace", ("spec", "ingress", i, "from", j)
            yield (policy.source, f"ingress rule {i} of {policy.key} {what} ({ports}) to non-public "
                   f"workload(s) {names}; kubelet probes do not need it (node traffic is not a pod peer)",
                   path)


def _external_ports(cluster: Cluster) -> set[int]:
    return {*EXTERNAL_PORTS, *cluster.facts["api_server_ports"]}


def np103(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    external_ports = _external_ports(cluster)
    for policy in cluster.policies:
        for i, rule in enumerate(policy.egress):
            if rule.peers is None or any(p.ip_block is not None for p in rule.peers) or rule.ports is None:
                continue
            ports = sorted({p.port for p in rule.ports
                            if (isinstance(p.port, int) and p.port in external_ports)
                            or (p.port is None and p.protocol == "TCP")}, key=str)
            for port in ports:
                if any(p.is_every_pod for p in rule.peers):
                    reach = "every pod of every namespace, but never an address outside the cluster"
                else:
                    if port is not None and ev.rule_bits(rule, policy.namespace) & _serving(cluster, port):
                        continue  # a selected pod serves that port: an in-cluster flow, not a mistake
                    reach = "only pods (none of which serves it), never the internet or a managed API server"
                shown = f"TCP/{port}" if port is not None else "every TCP port"
                yield (policy.source, f"egress rule {i} of {policy.key} allows {shown} to {reach}: "
                       "external destinations need an ipBlock", ("spec", "egress", i, "to"))
                break


def np104(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    # the output's pods, istiod (the output's Istio runs it, and NP110 asks for policies selecting it), and
    # the pods of a Gateway the tree names but does not hold (the platform runs them)
    real = _real_pods(cluster) | sum(1 << i for i, e in enumerate(ev.endpoints)
                                     if e.role == "istiod" or (e.attrs or {}).get("provided"))
    for policy in cluster.policies:
        if not ev.selected(policy) & real:
            yield (policy.source, f"{policy.key} selects no pod the cluster runs (KServe- and Istio-created "
                   "pods included): its podSelector is wrong or it is left over", ("spec", "podSelector"))


def _blamed(policies: tuple[Policy, ...], direction: str) -> Policy:
    """The policy to fix for a denied direction: one meant to allow something there, else the deny."""
    with_rules = sorted((p for p in policies if p.rules(direction)), key=lambda p: p.key)
    return with_rules[0] if with_rules else sorted(policies, key=lambda p: p.key)[0]


def _group(found: Iterator[tuple[Any, tuple[str | int, ...], str, Violation]]) -> Iterator[Found]:
    """One finding per (policy, path, flow spec): the first violating pair, and how many pairs there are."""
    groups: dict[tuple[int, tuple, str], list[Violation]] = {}
    targets: dict[tuple[int, tuple, str], Any] = {}
    for target, path, spec_id, violation in found:
        key = (id(target), path, spec_id)
        groups.setdefault(key, []).append(violation)
        targets[key] = target
    for key, items in groups.items():
        more = f" (and {len(items) - 1} more pair(s))" if len(items) > 1 else ""
        yield targets[key], items[0].describe() + more, key[1]


def np105(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return

    def located() -> Iterator[tuple[Any, tuple[str | int, ...], str, Violation]]:
        for spec in security_model().required:
            for v in required_violations(cluster, spec):
                if v.verdict is None:
                    continue  # no destination of the role in this cluster: nothing to reach
                side, direction = ((v.verdict.ingress, INGRESS) if not v.verdict.ingress.allowed
                                   else (v.verdict.egress, EGRESS))
                policy = _blamed(side.isolated_by, direction)
                yield policy.source, ("metadata",), spec.id, v

    yield from _group(located())


def np106(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    opened = {(p.key, i) for p in cluster.policies for i, _ in _open_rules(cluster, p)
              if _non_public_selected(cluster, p)}

    def located() -> Iterator[tuple[Any, tuple[str | int, ...], str, Violation]]:
        for spec in security_model().forbidden:
            for v in forbidden_violations(cluster, spec):
                assert v.verdict is not None
                if not v.verdict.ingress.isolated_by:
                    continue  # the destination's namespace has no default deny: NP101 says so
                ref: RuleRef = v.verdict.ingress.allowed_by[0]
                if (ref.policy.key, ref.index) in opened:
                    continue  # an allow-every-pod rule: NP102 says so
                yield ref.policy.source, ("spec", "ingress", ref.index), spec.id, v

    yield from _group(located())


# --- model servers' egress, and the control plane ------------------------------------------------------
def _model_servers(cluster: Cluster) -> list[int]:
    ev = cluster.evaluator
    # the workers of a multi-host slice run vLLM's model code too (Ray workers), with the same credentials
    return [i for i in iter_bits(ev.real_pods) if ev.endpoints[i].role in ("model-server", "model-worker")]


def _every_port(rule: Rule) -> bool:
    """No ports, or every TCP port (a port entry without port, or 1-65535)."""
    return rule.ports is None or any(
        p.protocol == "TCP" and (p.port is None or (p.port == 1 and p.end_port == 65535)) for p in rule.ports)


def _allow_all_egress(rule: Rule) -> bool:
    return rule.peers is None and _every_port(rule)


def np107(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    models = sum(1 << i for i in _model_servers(cluster))
    for policy in cluster.policies:
        open_rules = [i for i, rule in enumerate(policy.egress) if _allow_all_egress(rule)]
        selected = ev.selected(policy) & models if open_rules else 0
        if not selected:
            continue
        names = ", ".join(sorted({ev.endpoints[i].name for i in iter_bits(selected)}))
        for i in open_rules:
            yield (policy.source, f"egress rule {i} of {policy.key} allows every destination on every port "
                   f"to model server(s) {names}: they reach the API server, istiod and the node metadata "
                   "server 169.254.169.254 (node credentials); allow DNS and the model download range only",
                   ("spec", "egress", i))


def _located_egress(found: dict[tuple[str, int], tuple[Policy, list[str]]], refs: tuple[RuleRef, ...],
                    model: Endpoint) -> None:
    """Record ``model`` under each admitting rule that NP107 does not already report."""
    for ref in refs:
        if not _allow_all_egress(ref.policy.egress[ref.index]):
            found.setdefault((ref.policy.key, ref.index), (ref.policy, []))[1].append(model.name)


def _egress_findings(found: dict[tuple[str, int], tuple[Policy, list[str]]], what: str) -> Iterator[Found]:
    for (key, index), (policy, names) in sorted(found.items()):
        yield (policy.source, f"egress rule {index} of {key} lets model server(s) "
               f"{', '.join(sorted(set(names)))} reach {what}", ("spec", "egress", index))


def np108(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    metadata = address_set(to_networks(cluster.facts["metadata_server_cidrs"]))
    shown = ", ".join(cluster.facts["metadata_server_cidrs"])
    found: dict[tuple[str, int], tuple[Policy, list[str]]] = {}
    for m in _model_servers(cluster):
        if not (ev.egress_isolated >> m) & 1:
            continue  # egress open altogether: NP101 says so
        for port in cluster.facts["metadata_server_ports"]:
            status, refs = ev.egress_to_addresses(m, metadata, port)
            if status != DENIED:
                _located_egress(found, refs, ev.endpoints[m])
    yield from _egress_findings(found, f"the node metadata server ({shown}, TCP/"
                                f"{'/'.join(map(str, cluster.facts['metadata_server_ports']))}): whoever "
                                "compromises vLLM gets the node's cloud credentials; add 169.254.0.0/16 to "
                                "the rule's ipBlock except")


def np109(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    apis = [i for i, e in enumerate(ev.endpoints) if e.role == "api-server"]
    everywhere = address_set(to_networks(("0.0.0.0/0",)))
    found: dict[tuple[str, int], tuple[Policy, list[str]]] = {}
    partly = False
    for m in _model_servers(cluster):
        if not (ev.egress_isolated >> m) & 1:
            continue  # egress open altogether: NP101 says so
        model = ev.endpoints[m]
        if apis:  # the platform says where the API server is
            for a in apis:
                for port in ev.endpoints[a].ports:
                    side = ev.explain(model.key, ev.endpoints[a].key, port.number, port.protocol).egress
                    if side.status != DENIED:
                        partly = partly or side.status == PARTIAL
                        _located_egress(found, side.allowed_by, model)
        else:  # unknown: a rule admitting every IPv4 address reaches it, wherever it is
            for number in API_SERVER_PORTS_UNKNOWN:
                status, refs = ev.egress_to_addresses(m, everywhere, number)
                if status != DENIED and status != PARTIAL:
                    _located_egress(found, refs, model)
    where = (f"the API server ({', '.join(cluster.facts['api_server_cidrs'])}"
             f"{', some of its addresses' if partly else ''})" if apis
             else "every address on TCP/443 and 6443, so the API server wherever it is")
    yield from _egress_findings(found, f"{where}: vLLM needs no Kubernetes API, and a compromised model "
                                "server would probe it with its service account; put the API server's CIDR "
                                "in the rule's ipBlock except")


def np110(graph: Any) -> Iterator[Found]:
    cluster = cluster_for(graph)
    if cluster is None:
        return
    ev = cluster.evaluator
    for i, ep in enumerate(ev.endpoints):
        if ep.role != "istiod" or (ev.ingress_isolated >> i) & 1 or ep.source is None:
            continue
        has_ns = isinstance(ep.source.spec.get("namespace"), str)
        ports = "/".join(str(p.number) for p in ep.ports)
        yield (ep.source, f"the mesh control plane runs in namespace {ep.namespace} and no NetworkPolicy "
               f"isolates it: every pod, and the internet where it can route, reaches istiod (TCP {ports}: "
               "xDS, webhook, monitoring); add a default deny there and allow the mesh's pods on "
               "15010/15012, the API server on 15017 and your scraper on 15014",
               ("spec", "namespace") if has_ns else ("metadata",))


__all__ = ["Rule", "cluster_for", "np100", "np101", "np102", "np103", "np104", "np105", "np106", "np107",
           "np108", "np109", "np110"]
