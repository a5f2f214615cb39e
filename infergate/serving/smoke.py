"""Smoke test of an OpenAI-compatible endpoint: the served model is listed and answers a chat completion.

Standard library only: this file also ships alone inside a ConfigMap and runs on a plain Python image in a
Kubernetes Job:

    python smoke.py --url https://gateway.example --model my-model [--ca-file /etc/ca/ca.crt]
                    [--server-name NAME]

prints one line and exits 0 (pass), 1 (fail) or 2 (usage error). TLS is always verified, against --ca-file
when given, else the system trust store. While the server warms up (connection refused/reset, 502/503/504)
the check is retried with exponential backoff, a bounded number of times.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RETRIES = 8
DEFAULT_BACKOFF = 1.0
DEFAULT_TIMEOUT = 30.0
MAX_DELAY = 15.0  # one sleep between attempts never exceeds this, however many retries are allowed
WARMING_STATUSES = frozenset({502, 503, 504})  # what a gateway answers while no backend is ready
PROMPT = "Reply with one short sentence."


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    reason: str  # one line: what passed, or why it failed
    attempts: int
    elapsed_s: float

    def line(self) -> str:
        return f"{'ok' if self.ok else 'fail'}: {self.reason}"


class _Retryable(Exception):
    """The server is not ready yet: try again after a pause."""


class _Failed(Exception):
    """A definite failure: no retry can fix it."""


def normalize_base_url(url: str) -> str:
    """`https://host[:port][/prefix]` without a trailing slash or /v1; ValueError with one line if bad."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise ValueError(f"bad URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad URL {url!r}: expected http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise ValueError(f"bad URL {url!r}: no query or fragment expected")
    del port
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class _ServerNameContext(ssl.SSLContext):
    """Sends `server_name` as SNI and verifies the certificate against it, whatever host the URL connects
    to: an in-cluster Service name (a Gateway's `<name>-istio`) is often not in the certificate."""

    server_name = ""

    def wrap_socket(self, sock: socket.socket, *args: object, **kwargs: object) -> ssl.SSLSocket:
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)  # type: ignore[arg-type]


def tls_context(ca_file: str | None, server_name: str | None = None) -> ssl.SSLContext:
    """Verifying context: only `ca_file` is trusted when given, else the system store. Never unverified."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
        if not server_name:
            return context
        named = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks host names
        named.server_name = server_name
        named.options, named.verify_flags = context.options, context.verify_flags
        if ca_file is None:
            named.load_default_certs()
        else:
            named.load_verify_locations(cafile=ca_file)
        return named
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load CA file {ca_file!r}: {exc}") from None


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _request(url: str, context: ssl.SSLContext | None, timeout: float,
             body: dict[str, object] | None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    what = f"{req.get_method()} {urllib.parse.urlsplit(url).path}"
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = _one_line(exc.read().decode("utf-8", "replace"), 120)
        message = f"{what} returned HTTP {exc.code}" + (f": {detail}" if detail else "")
        raise (_Retryable if exc.code in WARMING_STATUSES else _Failed)(message) from None
    except urllib.error.URLError as exc:
        raise _transport_error(what, exc.reason) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _transport_error(what, exc) from None
    try:
        return json.loads(raw)
    except ValueError:
        raise _Failed(f"{what} returned a body that is not JSON: {_one_line(raw[:80])}") from None


def _transport_error(what: str, reason: object) -> Exception:
    # a certificate problem is a misconfiguration, not a warm-up: fail at once, and say so
    if isinstance(reason, ssl.SSLCertVerificationError):
        return _Failed(f"{what}: TLS verification failed: {reason.verify_message or reason}")
    if isinstance(reason, ssl.SSLError):
        return _Failed(f"{what}: TLS error: {_one_line(reason)}")
    if isinstance(reason, TimeoutError | socket.timeout):
        return _Failed(f"{what}: no answer within the timeout")
    if isinstance(reason, ConnectionRefusedError | ConnectionResetError | ConnectionAbortedError):
        return _Retryable(f"{what}: {reason.strerror or type(reason).__name__}")
    if isinstance(reason, http.client.RemoteDisconnected):
        return _Retryable(f"{what}: server closed the connection without answering")
    if isinstance(reason, socket.gaierror):
        return _Failed(f"{what}: cannot resolve host: {reason.strerror}")
    return _Failed(f"{what}: {_one_line(reason)}")


def _check_once(base: str, model: str, context: ssl.SSLContext | None, timeout: float) -> str:
    listing = _request(f"{base}/v1/models", context, timeout, None)
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        raise _Failed("GET /v1/models: no 'data' list in the answer")
    served = [str(m.get("id")) for m in data if isinstance(m, dict)]
    if model not in served:
        raise _Failed(f"GET /v1/models does not list {model!r} (served: {', '.join(served) or 'none'})")
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 32,
            "temperature": 0}
    answer = _request(f"{base}/v1/chat/completions", context, timeout, body)
    try:
        content = answer["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise _Failed("POST /v1/chat/completions: no choices[0].message.content in the answer") from None
    if not isinstance(content, str) or not content.strip():
        raise _Failed("POST /v1/chat/completions: choices[0].message.content is empty")
    return content


def run_smoke(base_url: str, model: str, ca_file: str | None = None, retries: int = DEFAULT_RETRIES,
              backoff: float = DEFAULT_BACKOFF, timeout: float = DEFAULT_TIMEOUT,
              sleep: Callable[[float], None] = time.sleep, server_name: str | None = None) -> SmokeResult:
    """List models, then ask the model one chat question; retry `retries` times while the server warms up.

    `server_name`: the name to verify the certificate against (and send as SNI) instead of the URL's host.
    Raises ValueError (one line) for a bad URL or an unreadable CA file: those are usage errors."""
    base = normalize_base_url(base_url)
    for option, value in (("--ca-file", ca_file), ("--server-name", server_name)):
        if value is not None and not base.startswith("https://"):
            raise ValueError(f"{option} given but {base_url!r} is not an https:// URL")
    context = tls_context(ca_file, server_name) if base.startswith("https://") else None
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            content = _check_once(base, model, context, timeout)
        except _Failed as exc:
            return SmokeResult(False, str(exc), attempt, time.monotonic() - start)
        except _Retryable as exc:
            if attempt > retries:
                reason = f"{exc} (still failing after {attempt} attempts, {time.monotonic() - start:.1f} s)"
                return SmokeResult(False, reason, attempt, time.monotonic() - start)
            sleep(min(backoff * 2 ** (attempt - 1), MAX_DELAY))
            continue
        elapsed = time.monotonic() - start
        reason = (f"{model!r} listed and answered ({len(content)} chars) in {elapsed:.2f} s, "
                  f"attempt {attempt}")
        return SmokeResult(True, reason, attempt, elapsed)


def _non_negative(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value < 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"non-negative {kind.__name__}"  # argparse names the type in its error line
    return parse


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


_positive_float.__name__ = "positive number"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoke.py", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. https://gateway.example")
    parser.add_argument("--model", required=True, help="served model name")
    parser.add_argument("--ca-file", default=None, help="PEM CA bundle to verify the server against")
    parser.add_argument("--server-name", default=None,
                        help="verify the certificate as this name (and send it as SNI), not the URL's host")
    parser.add_argument("--retries", type=_non_negative(int), default=DEFAULT_RETRIES)
    parser.add_argument("--backoff", type=_non_negative(float), default=DEFAULT_BACKOFF,
                        help="first pause in seconds, doubled each retry")
    parser.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT,
                        help="seconds per request")
    args = parser.parse_args(argv)
    try:
        result = run_smoke(args.url, args.model, args.ca_file, args.retries, args.backoff, args.timeout,
                           server_name=args.server_name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.line(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
