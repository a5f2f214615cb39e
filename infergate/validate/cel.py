"""CRD CEL rules (``x-kubernetes-validations``): a plan extracted from the schema, and its evaluation.

Two evaluators. ``celfast`` compiles each rule of the subset the pinned CRDs use (108 of their 109
distinct rules; the 109th reads ``oldSelf``) to a Python function, ~11x faster than cel-rust and with
cel-go's semantics; it is differential-tested against cel-rust (tests/test_celfast.py). Every other rule,
and any evaluation celfast reports as a CEL error, runs on ``common-expression-language`` (module
``cel``, cel-rust), which compiles all 109 rules in ~10 ms and evaluates one in ~10-20 us; cel-python
(``celpy``) also compiles all 109 but is ~50x slower than cel-rust, so it is out.

Kubernetes semantics kept: ``self`` is the node the rule sits on, rules run only on nodes present in the
object (after the schema's defaults are applied, as the API server does), ``message`` /
``messageExpression`` / ``fieldPath`` / ``reason`` are honoured, and the Kubernetes extension functions
the pinned CRDs use are provided (strings library incl. ``split``/``substring``/``lowerAscii``, ``url``/
``getScheme``/``isURL``...). Transition rules (those reading ``oldSelf``) cannot fail on create and are
skipped (counted in the summary). A rule calling a function the evaluator does not know is never passed
silently: it is reported as "not evaluated" (info), once per rule.

Known divergences of cel-rust from cel-go, which only matter for rules celfast does not take: ``size()``
of a string counts UTF-8 bytes (cel-go: code points; they agree on ASCII), ``all``/``exists`` stop at the
first element error instead of letting a decisive element absorb it, and Go duration strings such as
``1µs`` are rejected.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from infergate.validate.cel_library import KUBERNETES_FUNCTIONS, RESERVED, cel
from infergate.validate.celfast import compile_fast

# functions cel-rust implements natively (macros such as has/all/exists are not reported by functions())
_NATIVE = {"size", "contains", "matches", "startsWith", "endsWith", "duration", "timestamp", "int", "uint",
           "double", "string", "bytes", "dyn", "type"}
Path = tuple[str | int, ...]
SUPPORTED = _NATIVE | set(KUBERNETES_FUNCTIONS)


# --- the plan: the schema reduced to the branches that carry rules or defaults -------------------------

def extract_plan(node: dict[str, Any], root: bool = True) -> dict[str, Any] | None:
    """``{"r": rules, "d": defaults, "p": {prop: plan}, "i": items plan, "a": additionalProperties plan}``."""
    plan: dict[str, Any] = {}
    rules = node.get("x-kubernetes-validations")
    if rules:
        plan["r"] = [{k: r[k] for k in ("rule", "message", "messageExpression", "fieldPath", "reason")
                      if r.get(k) is not None} for r in rules]
    props = node.get("properties") or {}
    # status is the controller's: its defaults (Gateway's "Waiting for controller") are not the user's
    defaults = {name: child["default"] for name, child in props.items()
                if isinstance(child, dict) and "default" in child and not (root and name == "status")}
    if defaults:
        plan["d"] = defaults
    children = {name: sub for name, child in props.items() if (sub := extract_plan(child, False))}
    if children:
        plan["p"] = children
    if node.get("x-kubernetes-list-type") == "map" and node.get("x-kubernetes-list-map-keys"):
        plan["m"] = list(node["x-kubernetes-list-map-keys"])
    for key, short in (("items", "i"), ("additionalProperties", "a")):
        child = node.get(key)
        if isinstance(child, dict) and (sub := extract_plan(child, False)):
            plan[short] = sub
    return plan or None


def count_rules(plan: dict[str, Any] | None) -> int:
    if not plan:
        return 0
    total = len(plan.get("r", ()))
    total += sum(count_rules(child) for child in plan.get("p", {}).values())
    return total + count_rules(plan.get("i")) + count_rules(plan.get("a"))


# --- compilation ---------------------------------------------------------------------------------------

@dataclass(slots=True)
class CompiledRule:
    rule: str
    message: str
    field_path: str | None
    reason: str | None
    program: Any = None  # cel.Program, or None when not evaluated
    message_program: Any = None
    needs_context: bool = False  # calls a Python-registered function
    aliases: dict[str, str] | None = None  # property name -> its escaped CEL name (``__namespace__``)
    skip: str | None = None  # "transition" | "not evaluated: <reason>"
    fast: Any = None  # the rule compiled to Python by celfast (None: outside its subset, use ``program``)


@dataclass(slots=True)
class Compiler:
    """Compiles each distinct rule once per process (Istio repeats the same rule hundreds of times)."""

    cache: dict[str, CompiledRule] = field(default_factory=dict)

    def compile(self, raw: dict[str, Any]) -> CompiledRule:
        key = (raw["rule"], raw.get("message"), raw.get("messageExpression"), raw.get("fieldPath"),
               raw.get("reason"))
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = _compile(raw)
        return found


def _compile(raw: dict[str, Any]) -> CompiledRule:
    rule = raw["rule"]
    compiled = CompiledRule(rule, raw.get("message") or f"failed rule: {rule}", raw.get("fieldPath"),
                            raw.get("reason"))
    try:
        program = cel.compile(rule)
    except Exception as exc:  # cel raises ValueError/RuntimeError with the parser's text
        compiled.skip = f"not evaluated: does not compile: {' '.join(str(exc).split())}"
        return compiled
    variables = set(program.variables())
    if "oldSelf" in variables:
        compiled.skip = "transition"
        return compiled
    missing = sorted(f for f in program.functions() if f[0].isalpha() and f not in SUPPORTED)
    if missing:
        compiled.skip = f"not evaluated: unsupported function(s) {', '.join(missing)}"
        return compiled
    compiled.program = program
    compiled.aliases = _aliases(rule)

    compiled.fast = compile_fast(rule)
    compiled.needs_context = any(f in KUBERNETES_FUNCTIONS for f in program.functions())
    if raw.get("messageExpression"):
        try:
            compiled.message_program = cel.compile(raw["messageExpression"])
        except Exception:
            compiled.message_program = None
    return compiled


# Kubernetes escapes property names that are CEL keywords or hold ``.-/`` or ``__`` (``__namespace__``,
# ``foo__dash__bar``). Rather than renaming every key of every object, a rule that uses an escaped name
# gets ``self`` with exactly those keys renamed.
_ESCAPES = (("__underscores__", "__"), ("__dot__", "."), ("__dash__", "-"), ("__slash__", "/"))
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unescape(name: str) -> str:
    if name.startswith("__") and name.endswith("__") and name[2:-2] in RESERVED:
        return name[2:-2]
    for escaped, plain in _ESCAPES:
        name = name.replace(escaped, plain)
    return name


def _aliases(rule: str) -> dict[str, str] | None:
    if "__" not in rule:
        return None
    found = {_unescape(tok): tok for tok in _IDENT.findall(rule) if "__" in tok}
    return {plain: tok for plain, tok in found.items() if plain != tok} or None


def _renamed(value: Any, aliases: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {aliases.get(k, k): _renamed(v, aliases) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, aliases) for v in value]
    return value


# --- evaluation ----------------------------------------------------------------------------------------

_MISSING = object()
_MEMO_LIMIT = 200_000  # entries; bounds memory on huge inputs


@dataclass(frozen=True, slots=True)
class Batch:
    rules: list[CompiledRule]
    program: Any
    needs_context: bool


def _batch(rules: list[CompiledRule]) -> Batch | None:
    """All plain rules of one node as one program ``[r1, r2, ...]``: ``self`` is converted once."""
    if len(rules) < 2 or not all(r.program is not None and not r.aliases for r in rules):
        return None
    try:
        program = cel.compile("[" + ", ".join(f"({r.rule})" for r in rules) + "]")
    except Exception:
        return None
    return Batch(rules, program, any(r.needs_context for r in rules))


@dataclass(frozen=True, slots=True)
class NodeRules:
    fast: list[CompiledRule]  # compiled by celfast
    slow: list[CompiledRule]  # left to cel-rust
    batch: Batch | None  # ``slow`` as one cel-rust program, when they can be batched


@dataclass(frozen=True, slots=True)
class Violation:
    path: tuple[str | int, ...]
    message: str
    rule: str
    error: bool = True  # False: the rule could not be evaluated (info)


class Evaluator:
    """Walks an object along a plan: applies defaults, evaluates rules on the nodes that exist."""

    def __init__(self, compiler: Compiler | None = None) -> None:
        self.compiler = compiler or Compiler()
        self.transition_skipped = 0
        self.evaluated = 0
        self.unevaluated: dict[str, str] = {}  # rule -> reason (reported once per run)
        self._rules: dict[int, tuple[Any, NodeRules]] = {}
        self._memo: dict[tuple[int, str], Any] = {}
        self._cel = True
        self._context = cel.Context()
        for name, fn in KUBERNETES_FUNCTIONS.items():
            self._context.add_function(name, fn)

    def run(self, obj: Any, plan: dict[str, Any], *, cel: bool = True) -> list[Violation]:
        """Defaults, list-map key uniqueness and (unless ``cel`` is False) the CEL rules."""
        out: list[Violation] = []
        self._cel = cel
        self._walk(obj, plan, (), out)
        return out

    def _walk(self, node: Any, plan: dict[str, Any], path: Path, out: list[Violation]) -> None:
        if isinstance(node, dict):
            for name, default in plan.get("d", {}).items():
                if name not in node:
                    node[name] = copy.deepcopy(default) if isinstance(default, dict | list) else default
            for name, sub in plan.get("p", {}).items():
                if name in node:
                    self._walk(node[name], sub, (*path, name), out)
            sub = plan.get("a")
            if sub:
                for key, value in node.items():
                    self._walk(value, sub, (*path, key), out)
        elif isinstance(node, list):
            sub = plan.get("i")
            if sub:
                for i, value in enumerate(node):
                    self._walk(value, sub, (*path, i), out)
            keys = plan.get("m")
            if keys:
                _unique_map_keys(node, keys, path, out)
        raws = plan.get("r") if self._cel else None
        if raws:
            rules = self._node_rules(raws)
            for rule in rules.fast:
                self._run_fast(rule, node, path, out)
            if rules.slow and (rules.batch is None or not self._run_batch(rules.batch, node, path, out)):
                for rule in rules.slow:
                    self._check_rule(node, rule, path, out)

    def _node_rules(self, raws: list[dict[str, Any]]) -> NodeRules:
        """A node's rules, compiled once per plan node: celfast's, and cel-rust's (batched where possible)."""
        key = id(raws)
        entry = self._rules.get(key)
        if entry is None:
            compiled = [self.compiler.compile(raw) for raw in raws]
            slow = [rule for rule in compiled if rule.fast is None]
            rules = NodeRules([rule for rule in compiled if rule.fast is not None], slow, _batch(slow))
            entry = self._rules[key] = (raws, rules)  # keep raws alive: the key is its id
        return entry[1]

    def _run_fast(self, rule: CompiledRule, node: Any, path: Path, out: list[Violation]) -> None:
        try:
            result = rule.fast(node)
        except KeyError as exc:  # "no such key": the API server rejects the object
            self.evaluated += 1
            out.append(Violation(path, f"rule evaluation error: no such key: {exc.args[0]}", rule.rule))
            return
        except Exception:  # any other CEL error: cel-rust decides, exactly as without celfast
            self._check_rule(node, rule, path, out)
            return
        self.evaluated += 1
        if result is True:
            return
        if result is not False:
            out.append(Violation(path, f"rule did not return a bool: {result!r}", rule.rule))
        else:
            out.append(Violation(_field_path(path, rule.field_path), self._message(rule, node), rule.rule))

    def _run_batch(self, batch: Batch, node: Any, path: Path, out: list[Violation]) -> bool:
        """False when the batch cannot tell (a rule raised): the caller then runs rules one by one."""
        try:
            results = self._execute(batch.program, batch.needs_context, node)
        except Exception:
            return False
        if not isinstance(results, list) or len(results) != len(batch.rules):
            return False
        self.evaluated += len(results)
        for rule, result in zip(batch.rules, results, strict=True):
            if result is True:
                continue
            if result is not False:
                out.append(Violation(path, f"rule did not return a bool: {result!r}", rule.rule))
            else:
                where = _field_path(path, rule.field_path)
                out.append(Violation(where, self._message(rule, node), rule.rule))
        return True

    def _execute(self, program: Any, needs_context: bool, node: Any) -> Any:
        """Run a program on ``self = node``, memoized: rules are pure, and manifests repeat themselves
        (the same listeners, timeouts, selectors...). ``repr`` tells JSON values apart exactly
        (``1``/``1.0``/``True`` differ); a raising evaluation is never memoized."""
        key = (id(program), repr(node))
        found = self._memo.get(key, _MISSING)
        if found is not _MISSING:
            return found
        if needs_context:
            self._context.add_variable("self", node)
            result = program.execute(self._context)
        else:
            result = program.execute({"self": node})
        if len(self._memo) < _MEMO_LIMIT:
            self._memo[key] = result
        return result

    def _check_rule(self, node: Any, rule: CompiledRule, path: Path, out: list[Violation]) -> None:
        """One rule with cel-rust."""
        if rule.skip == "transition":
            self.transition_skipped += 1
            return
        if rule.skip:  # reported at every node it applies to: the report keeps the first by location
            self.unevaluated.setdefault(rule.rule, rule.skip)
            out.append(Violation(path, rule.skip, rule.rule, error=False))
            return
        self.evaluated += 1
        if rule.aliases:
            node = _renamed(node, rule.aliases)
        try:
            result = self._execute(rule.program, rule.needs_context, node)
        except KeyError as exc:  # cel-go: "no such key" -> the API server rejects the object
            out.append(Violation(path, f"rule evaluation error: no such key: {exc.args[0]}", rule.rule))
            return
        except Exception as exc:
            out.append(Violation(path, f"rule not evaluated: {' '.join(str(exc).split())[:200]}", rule.rule,
                                 error=False))
            return
        if result is True:
            return
        if result is not False:
            out.append(Violation(path, f"rule did not return a bool: {result!r}", rule.rule))
            return
        out.append(Violation(_field_path(path, rule.field_path), self._message(rule, node), rule.rule))

    def _message(self, rule: CompiledRule, node: Any) -> str:
        message = rule.message
        if rule.message_program is not None:
            try:
                value = rule.message_program.execute({"self": node})
                if isinstance(value, str) and value.strip():
                    message = value
            except Exception:
                pass
        return f"{rule.reason}: {message}" if rule.reason else message


def _unique_map_keys(items: list[Any], keys: list[str], path: Path, out: list[Violation]) -> None:
    """``x-kubernetes-list-type: map``: no two items may share their key fields (after defaulting)."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        key = repr([item.get(k) for k in keys])
        if key in seen:
            shown = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            out.append(Violation((*path, i), f"Duplicate value: another item has the same {shown}",
                                 "x-kubernetes-list-map-keys"))
        seen.add(key)


_FIELD_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _field_path(base: tuple[str | int, ...], field_path: str | None) -> tuple[str | int, ...]:
    """Append a rule's ``fieldPath`` (``.spec.foo['a.b'][0]``) to the node's path."""
    if not field_path:
        return base
    steps: list[str | int] = []
    pos = 0
    for match in _FIELD_STEP.finditer(field_path):
        if match.start() != pos:
            return base  # not a path we understand: stay at the rule's node
        pos = match.end()
        name, quoted, index = match.groups()
        steps.append(name if name is not None else quoted if quoted is not None else int(index))
    return (*base, *steps) if pos == len(field_path) else base
