"""What a CEL rule may call beyond the language, as the API server provides it, and CEL's reserved words.

Both evaluators (cel.py on cel-rust, celfast compiled to Python) share this module; it imports neither.
"""

from __future__ import annotations

import re
import sys
import types
from typing import Any


def _import_cel() -> Any:
    """Import ``cel`` without its interactive CLI: ``cel/__init__`` imports ``cel.cli`` (typer, rich,
    prompt_toolkit: ~0.3 s, more than validating a repository), which nothing here uses."""
    if "cel" not in sys.modules and "cel.cli" not in sys.modules:
        sys.modules["cel.cli"] = types.ModuleType("cel.cli", "placeholder: infergate does not use cel's CLI")
        try:
            import cel as module
        finally:
            if sys.modules.get("cel.cli") is not None and not hasattr(sys.modules["cel.cli"], "main"):
                del sys.modules["cel.cli"]  # a later `import cel.cli` still gets the real one
        return module
    import cel as module

    return module


cel = _import_cel()
from cel.stdlib import EXTENSIONS  # noqa: E402 - after the import above

# Kubernetes escapes property names that are CEL keywords (``__namespace__``).
RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
            "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}


# --- Kubernetes URL library (k8s.io/apiserver/pkg/cel/library/urls.go), Go url.ParseRequestURI rules ---

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


def _parse_request_uri(value: str) -> tuple[str, str, str, str]:
    """(scheme, host, path, query) or ValueError, following Go's url.ParseRequestURI closely enough."""
    if not isinstance(value, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("invalid control character in URL")
    scheme, rest = "", value
    if not value.startswith("/"):
        head, sep, tail = value.partition(":")
        if not sep or not _SCHEME.fullmatch(head):
            raise ValueError("missing protocol scheme")
        scheme, rest = head.lower(), tail
        if not rest.startswith("/"):
            raise ValueError("invalid URI for request")
    rest, _, query = rest.partition("?")
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        host = authority.rpartition("@")[2]
        if any(c in host for c in " <>\"{}|\\^`%") and "%25" not in host:
            raise ValueError("invalid character in host name")
    return scheme, host, rest, query


def _url(value: str) -> str:
    _parse_request_uri(value)
    return value  # the URL stays its string; the accessors below re-parse it


def _is_url(value: str) -> bool:
    if not isinstance(value, str):  # cel-go: no isURL overload for a non-string (an evaluation error)
        raise TypeError(f"no such overload: isURL({type(value).__name__})")
    try:
        _parse_request_uri(value)
    except ValueError:
        return False
    return True


def _hostname(value: str) -> str:
    host = _parse_request_uri(value)[1]
    if host.startswith("["):
        return host[1:host.find("]")]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _port(value: str) -> str:
    host = _parse_request_uri(value)[1]
    tail = host.rpartition("]")[2] if host.startswith("[") else host
    return tail.rpartition(":")[2] if ":" in tail else ""


KUBERNETES_FUNCTIONS: dict[str, Any] = {
    **{name: fn for name, fn in EXTENSIONS["strings"].items() if name != "strings.quote"},
    "url": _url, "isURL": _is_url,
    "getScheme": lambda u: _parse_request_uri(u)[0],
    "getHost": lambda u: _parse_request_uri(u)[1],
    "getHostname": _hostname, "getPort": _port,
    "getEscapedPath": lambda u: _parse_request_uri(u)[2],
    "getQuery": lambda u: _parse_request_uri(u)[3],
}
