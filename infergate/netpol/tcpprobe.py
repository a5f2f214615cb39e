"""One isolation probe: TCP connects that must succeed or must fail, from the pod this runs in.

Standard library only: this file ships alone inside a ConfigMap and runs on a plain Python image in a Job
whose pod wears the labels of the role it imitates (charts/probes.py), so the NetworkPolicies treat it as
that role:

    python tcpprobe.py --check FLOW HOST PORT connect|blocked [--check ...] [--timeout S] [--attempts N]

HOST `@nameserver` is the first nameserver of /etc/resolv.conf (the cluster DNS Service). Each check prints
one line (`pass`/`FAIL`, expected and actual outcome); the last line is the verdict, `ok: ...` (exit 0) or
`fail: ...` (exit 1) naming the first check that did not go as expected; exit 2 for usage errors. Outcomes:
connected, refused, timeout, unreachable, no-dns (the name does not resolve: the check proves nothing and
fails either way). A check expected to connect is tried up to --attempts times, 2 s apart.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

NAMESERVER = "@nameserver"
EXPECTATIONS = ("connect", "blocked")
BLOCKED_OUTCOMES = frozenset({"refused", "timeout", "unreachable"})  # no listener answered: not reached
RETRY_PAUSE_S = 2.0


@dataclass(frozen=True)
class Check:
    flow: str
    host: str
    port: int
    expect: str  # connect | blocked


@dataclass(frozen=True)
class Outcome:
    check: Check
    actual: str  # connected | refused | timeout | unreachable | no-dns
    elapsed_ms: int
    attempts: int

    @property
    def passed(self) -> bool:
        if self.check.expect == "connect":
            return self.actual == "connected"
        return self.actual in BLOCKED_OUTCOMES

    def line(self) -> str:
        c = self.check
        tries = f", {self.attempts} attempts" if self.attempts > 1 else ""
        return (f"{'pass' if self.passed else 'FAIL'} {c.flow} {c.host}:{c.port} expected {c.expect}, "
                f"got {self.actual} ({self.elapsed_ms} ms{tries})")


def nameserver(resolv_conf: str = "/etc/resolv.conf") -> str:
    with open(resolv_conf, encoding="utf-8") as f:
        for row in f:
            parts = row.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
    raise ValueError(f"no nameserver in {resolv_conf}")


def connect_once(host: str, port: int, timeout: float) -> str:
    """The outcome of one TCP connect (every address the name resolves to, as create_connection does)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "connected"
    except socket.gaierror:
        return "no-dns"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:  # socket.timeout is TimeoutError since 3.10
        return "timeout"
    except OSError:
        return "unreachable"  # no route, network unreachable, reset during the handshake


def run_check(check: Check, timeout: float, attempts: int,
              sleep: Callable[[float], None] = time.sleep) -> Outcome:
    host = nameserver() if check.host == NAMESERVER else check.host
    start = time.monotonic()
    tries = 0
    while True:
        tries += 1
        actual = connect_once(host, check.port, timeout)
        # only a connect that should work is retried: a blocked one that connects once is already a failure
        if actual == "connected" or check.expect == "blocked" or tries >= attempts:
            break
        sleep(RETRY_PAUSE_S)
    return Outcome(check, actual, int((time.monotonic() - start) * 1000), tries)


def run_checks(checks: list[Check], timeout: float, attempts: int) -> tuple[list[str], bool]:
    outcomes = [run_check(c, timeout, attempts) for c in checks]
    lines = [o.line() for o in outcomes]
    failed = [o for o in outcomes if not o.passed]
    if failed:
        lines.append(f"fail: {len(failed)} of {len(outcomes)} checks not as expected: {failed[0].line()}")
    else:
        lines.append(f"ok: {len(outcomes)} checks as expected")
    return lines, not failed


def _check(values: list[str]) -> Check:
    flow, host, port, expect = values
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"--check {flow}: port {port!r} is not 1-65535")
    if expect not in EXPECTATIONS:
        raise ValueError(f"--check {flow}: expectation {expect!r} is not one of {', '.join(EXPECTATIONS)}")
    return Check(flow, host, int(port), expect)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


_positive_float.__name__ = "positive number"


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # the Job's termination message: one line, not the usage
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="tcpprobe.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", nargs=4, action="append", required=True,
                        metavar=("FLOW", "HOST", "PORT", "EXPECT"))
    parser.add_argument("--timeout", type=_positive_float, default=3.0, help="seconds per connect")
    parser.add_argument("--attempts", type=int, choices=range(1, 11), default=3, metavar="1-10",
                        help="tries of a check expected to connect")
    args = parser.parse_args(argv)
    try:
        checks = [_check(values) for values in args.check]
        lines, ok = run_checks(checks, args.timeout, args.attempts)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
