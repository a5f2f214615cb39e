"""Lint rules: one module per rule family, each rule registered with ``@rule``.

How to add a rule
-----------------
1. Pick the family module (``gateway.py`` GW2xx, ``inference.py`` INF3xx, ``tpu.py`` TPU40x, ``gpu.py``
   GPU41x, ``argocd.py`` CD5xx, ``security.py`` SEC6xx, ``deprecations.py`` DEP7xx, ``monitoring.py`` MON8xx,
   ``scaling.py`` SCL9xx, ``netpol.py`` NP1xx) or create a new ``policies/<family>.py``: every module of this
   package is discovered automatically (``all_rules``).
2. Write a check function ``check(graph: Graph) -> Iterable[Hit]`` and decorate it::

       @rule("GW299", "short-slug", Severity.ERROR,
             summary="one line, what is wrong",
             rationale="why it matters, which failure it prevents",
             links=("https://...",),
             fix="what to change",
             bad=("<YAML that must fire this rule; mark each expected line with `# <-`>",),
             good=("<YAML that must fire nothing>",))
       def gw299(graph: Graph) -> Iterator[Hit]:
           for gw in graph.of_kind("Gateway", GATEWAY_GROUP):
               yield Hit(gw, "message", path=("spec", "listeners", 0))

   ``Hit.target`` is the object the finding is about (a ``K8sObject``; for a pod, ``pod.source``);
   ``path`` locates the line inside it (computed lazily, only for findings).
3. The examples *are* the tests (tests/test_rules.py): every bad example must fire exactly this rule, on
   exactly the lines marked ``# <-``; every good example must fire nothing at all. Then regenerate the docs:
   ``infergate rules --format markdown > docs/rules.md``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from infergate.core.findings import Severity
from infergate.core.graph import Graph, K8sObject
from infergate.core.reporters import RuleMeta

EXPECT_MARK = "# <-"
FILE_MARK = "# file: "
CONTEXT_MARK = "# context: "
_PAD = re.compile(r"\$\{pad:(\d+)\}")
DOCS_BASE = "https://github.com/infergate/infergate/blob/main/docs/rules.md"


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule violation, before the engine turns it into a located Finding."""

    target: K8sObject
    message: str
    path: tuple[str | int, ...] = ()


CheckFn = Callable[[Graph], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    slug: str
    severity: Severity
    summary: str
    rationale: str
    fix: str
    check: CheckFn = field(repr=False, compare=False)
    links: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    good: tuple[str, ...] = ()
    family: str = ""

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE}#{self.code.lower()}"

    def meta(self) -> RuleMeta:
        help_text = f"{self.rationale}\n\nFix: {self.fix}"
        if self.links:
            help_text += "\n\nSee: " + " ".join(self.links)
        return RuleMeta(self.code, self.slug, self.summary, help_text, self.help_uri, self.severity)


_REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    slug: str,
    severity: Severity,
    *,
    summary: str,
    rationale: str,
    fix: str,
    links: Iterable[str] = (),
    bad: Iterable[str] = (),
    good: Iterable[str] = (),
) -> Callable[[CheckFn], CheckFn]:
    """Register ``check`` as rule ``code`` (codes are stable and unique)."""

    def register(check: CheckFn) -> CheckFn:
        if code in _REGISTRY:
            raise ValueError(f"rule {code} registered twice")
        family = check.__module__.rpartition(".")[2]
        _REGISTRY[code] = Rule(
            code,
            slug,
            severity,
            summary,
            rationale,
            fix,
            check,
            tuple(links),
            tuple(bad),
            tuple(good),
            family,
        )
        return check

    return register


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """Every rule of every module in this package, sorted by code."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
        importlib.import_module(f"{__name__}.{module}")
    return tuple(sorted(_REGISTRY.values(), key=lambda r: (_family_order(r.code), r.code)))


def _family_order(code: str) -> tuple[int, str]:
    digits = "".join(ch for ch in code if ch.isdigit())
    return (int(digits) if digits else 0, code)


def example_files(example: str, *, with_context: bool = True) -> list[tuple[str, str]]:
    """Split an example into (file name, YAML text): ``# file: NAME`` lines start a new file.

    ``# context: NAME`` adds a shared context (policies/_examples.py) the example builds on;
    ``${pad:N}`` stands for N filler characters (examples of size limits stay readable in the docs).
    """
    from infergate.policies._examples import CONTEXTS

    files: list[tuple[str, list[str]]] = [("example.yaml", [])]
    contexts: list[str] = []
    for line in example.splitlines():
        if line.startswith(FILE_MARK):
            files.append((line[len(FILE_MARK) :].strip(), []))
        elif line.startswith(CONTEXT_MARK):
            contexts.extend(c.strip() for c in line[len(CONTEXT_MARK) :].split(","))
            files[-1][1].append("")  # keep line numbers as written
        else:
            files[-1][1].append(_PAD.sub(lambda m: "x" * int(m.group(1)), line))
    result = [(name, "\n".join(lines) + "\n") for name, lines in files if any(ln.strip() for ln in lines)]
    if with_context:
        for name in contexts:
            result.extend(example_files(CONTEXTS[name], with_context=False))
    return result


def expected_lines(example: str) -> set[tuple[str, int]]:
    """(file, line) of every line marked ``# <-`` in an example."""
    marks = set()
    for name, text in example_files(example, with_context=False):
        for number, line in enumerate(text.splitlines(), start=1):
            if EXPECT_MARK in line:
                marks.add((name, number))
    return marks


def rule_by_code(code: str) -> Rule | None:
    wanted = code.strip().upper()
    return next((r for r in all_rules() if r.code == wanted), None)
