"""User charts (environment `charts:`): a function of the project adds cdk8s constructs to a chart that
infergate creates for dist/<env>/<name>/ and deploys with its own Argo CD Application.

    # <project>/platform_charts/monitoring.py
    def build(chart: cdk8s.Chart, env: infergate.api.Environment) -> None:
        ...

The module is imported from the project root, which is on ``sys.path`` only while the environment's
charts are built; the modules loaded from the project are dropped from ``sys.modules`` afterwards, so the
same module name in two projects never meets, and a module edited between two synths in one process is
read again. Every failure (module not found, attribute missing, not callable, an exception at import or
in the call) is one ConfigError naming the environment file and the line of `callable`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from infergate.core.errors import ConfigError
from infergate.synth.config import Environment, UserChart

if TYPE_CHECKING:
    import cdk8s

MAX_MESSAGE = 300  # characters of an exception's message kept in the one-line error


class ChartBuilder(Protocol):
    """The signature of a user chart: add constructs to ``chart`` (created by infergate for the
    environment's `charts[].name` folder) from ``env``. The return value is ignored."""

    def __call__(self, chart: cdk8s.Chart, env: Environment, /) -> Any: ...


def _inside(module: ModuleType, root: Path) -> bool:
    places = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
    for place in places:
        if place and (root == Path(place).resolve() or root in Path(place).resolve().parents):
            return True
    return False


def _origin(module: ModuleType) -> str:
    return str(getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or []), "?"))


@contextmanager
def project_imports(root: Path) -> Iterator[None]:
    """``root`` importable for the duration; afterwards nothing imported from it stays behind."""
    before = set(sys.modules)
    entry = str(root)
    sys.path.insert(0, entry)
    bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's project
    importlib.invalidate_caches()  # a module written since the last import must be found
    try:
        yield
    finally:
        sys.dont_write_bytecode = bytecode
        if entry in sys.path:
            sys.path.remove(entry)
        for name in sorted(set(sys.modules) - before):
            module = sys.modules.get(name)
            if module is not None and _inside(module, root):
                del sys.modules[name]


def _error(spec: UserChart, message: str) -> ConfigError:
    return ConfigError(f"chart {spec.name!r} ({spec.callable}): {message}", file=spec.file, line=spec.line)


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message``: jsii errors carry a JavaScript stack after the first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_builder(spec: UserChart) -> Callable[..., Any]:
    """The function ``spec.callable`` names (call inside :func:`project_imports` of its project root)."""
    module_name, _, attribute = spec.callable.partition(":")
    root = spec.project_root
    top = sys.modules.get(module_name.split(".")[0])
    if top is not None and not _inside(top, root):
        raise _error(spec, f"module name {top.__name__!r} is taken by {_origin(top)}, imported before; "
                     "rename the project's module")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise _error(spec, f"module {module_name!r} not found in the project root {root}") from None
        raise _error(spec, f"importing {module_name} raised {_describe(exc)}") from None
    except Exception as exc:  # SyntaxError, or whatever the module's top level raises
        raise _error(spec, f"importing {module_name} raised {_describe(exc)}") from None
    if not _inside(module, root):
        raise _error(spec, f"module {module_name} is {_origin(module)}, outside the project {root}: "
                     "user charts live in the project (its Python files key `infergate check`'s cache)")
    try:
        builder = getattr(module, attribute)
    except AttributeError:
        raise _error(spec, f"module {module_name} ({_origin(module)}) has no attribute "
                     f"{attribute!r}") from None
    if not callable(builder):
        raise _error(spec, f"{spec.callable} is a {type(builder).__name__}, not a function")
    return builder


def build_chart(chart: cdk8s.Chart, spec: UserChart, env: Environment) -> list[dict[str, Any]]:
    """Import and call the user's function on ``chart``; return the objects it rendered (at least one)."""
    builder = load_builder(spec)
    try:
        builder(chart, env)
        objects: list[dict[str, Any]] = list(chart.to_json())  # also what a bad construct fails on
    except Exception as exc:
        raise _error(spec, f"raised {_describe(exc)}") from None
    if not objects:
        raise _error(spec, f"added no Kubernetes object: its Application would sync an empty "
                     f"dist/{env.name}/{spec.name}/")
    return objects
