"""The AST to one Python function per rule, compiled once; ``compile_fast`` is the entry point."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import CodeType
from typing import Any

from infergate.validate.cel_library import RESERVED
from infergate.validate.celfast import store
from infergate.validate.celfast.re2 import translate_re2
from infergate.validate.celfast.runtime import (
    INT_MAX,
    INT_MIN,
    RUNTIME,
    SIZE_MAX,
    CelEvalError,
    parse_duration,
)
from infergate.validate.celfast.syntax import MACROS, Parser, Unsupported

# --- code generation ------------------------------------------------------------------------------------

class _V:
    """A compiled sub-expression: Python source and its static type ("bool", "str", "int", "dyn"...)."""

    __slots__ = ("code", "hi", "kind", "lo")

    def __init__(self, code: str, kind: str = "dyn", lo: int = 0, hi: int = 0) -> None:
        self.code, self.kind, self.lo, self.hi = code, kind, lo, hi


_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+|'[^'\\]*'|\"[^\"\\]*\"")
_COMPARE = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_URL_GETTERS = {"getScheme", "getHost", "getHostname", "getPort", "getEscapedPath", "getQuery"}


def _field(name: str) -> str:
    """The property a CEL field name stands for (Kubernetes escapes keywords as ``__namespace__``)."""
    if "__" not in name:
        return name
    if len(name) > 4 and name.startswith("__") and name.endswith("__") and name[2:-2] in RESERVED:
        return name[2:-2]
    raise Unsupported(f"escaped name {name}")  # __dash__ etc.: not used by any rule, not guessed


class _Gen:
    def __init__(self, rust_compat: bool) -> None:
        self.lines: list[str] = []
        self.ind = 2
        self.n = 0
        self.consts: dict[str, Any] = {}
        self.scope: dict[str, str] = {"self": "S"}
        # tests only: cel-rust's behaviour where it departs from cel-go (macros stop at the first error,
        # size() of a string counts UTF-8 bytes), to show those are the only differences
        self.rust_compat = rust_compat
        # duration() calls allowed here: direct operands of comparisons (no duration arithmetic, no
        # duration flowing into lists, macros or int(), whose semantics are not implemented)
        self.dur_ok: set[int] = set()

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.ind + line)

    def tmp(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def const(self, value: Any) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.consts[name] = value
        return name

    def bind(self, v: _V) -> _V:
        """``v`` in a variable, so that it is evaluated once, here."""
        if _SIMPLE.fullmatch(v.code):
            return v
        t = self.tmp()
        self.emit(f"{t} = {v.code}")
        return _V(t, v.kind, v.lo, v.hi)

    def named(self, v: _V) -> _V:
        """``v`` in a variable: ``is`` tests on a literal are a SyntaxWarning."""
        if v.code.isidentifier():
            return v
        t = self.tmp()
        self.emit(f"{t} = {v.code}")
        return _V(t, v.kind, v.lo, v.hi)

    def pair(self, a: tuple, b: tuple) -> tuple[_V, _V]:
        """Both operands, evaluated left first (the first error is the one reported)."""
        left = self.ex(a)
        mark, ind = len(self.lines), self.ind
        right = self.ex(b)
        if len(self.lines) > mark and not _SIMPLE.fullmatch(left.code):
            t = self.tmp()
            self.lines.insert(mark, "  " * ind + f"{t} = {left.code}")
            left = _V(t, left.kind, left.lo, left.hi)
        return left, right

    def guarded(self, node: tuple, var: str) -> None:
        """``var = node``'s value, or the exception it raised (an error value)."""
        self.emit("try:")
        self.ind += 1
        v = self.ex(node)
        self.emit(f"{var} = {v.code}")
        self.ind -= 1
        self.emit("except _ERRS as e:")
        self.emit(f"  {var} = e")

    # -- nodes --

    def ex(self, node: tuple) -> _V:
        kind = node[0]
        if kind == "lit":
            value = node[1]
            if type(value) is bool or value is None:
                return _V(repr(value), "bool" if type(value) is bool else "null")
            if type(value) is int:
                return _V(str(value) if value >= 0 else f"({value})", "int", value, value)
            if type(value) is str:
                return _V(repr(value), "str")
            return _V(self.const(value), "double")
        if kind == "id":
            if node[1] not in self.scope:
                raise Unsupported(f"variable {node[1]}")  # oldSelf, or anything else
            return _V(self.scope[node[1]])
        if kind == "sel":
            # a str-keyed subscript is exactly CEL's select: KeyError on a missing key, TypeError (-> an
            # error) on a list, string, number, null or duration
            target = self.ex(node[1])
            return _V(f"{target.code}[{_field(node[2])!r}]")
        if kind == "idx":
            return self.index(node)
        if kind == "list":
            items = [self.bind(self.ex(x)) for x in node[1]]
            return _V("[" + ", ".join(x.code for x in items) + "]", "list")
        if kind == "map":
            keys = [k[1] for k, _ in node[1] if k[0] == "lit" and type(k[1]) is str]
            if len(keys) != len(node[1]) or len(set(keys)) != len(keys):
                raise Unsupported("map literal keys")  # non-string or repeated keys
            values = [self.bind(self.ex(v)) for _, v in node[1]]
            return _V("{" + ", ".join(f"{k!r}: {v.code}" for k, v in zip(keys, values, strict=True)) + "}",
                      "map")
        if kind == "not":
            v = self.ex(node[1])
            return _V(f"(not {v.code})" if v.kind == "bool" else f"_not({v.code})", "bool")
        if kind in ("and", "or"):
            return self.logic(node)
        if kind == "cond":
            return self.cond(node)
        if kind == "op":
            return self.op(node)
        if kind == "call":
            return self.call(node)
        raise Unsupported(kind)

    def index(self, node: tuple) -> _V:
        key = node[2]
        if key[0] != "lit" or type(key[1]) not in (int, str):
            raise Unsupported("computed index")
        target = self.bind(self.ex(node[1]))
        if type(key[1]) is str:
            return _V(f"{target.code}[{key[1]!r}]")
        t = target.code
        # list: in range only (Python would wrap negatives); map: that key; string, number...: an error
        return _V(f"({t}[{key[1]}] if type({t}) is list and 0 <= {key[1]} < len({t}) else "
                  f"{t}[{key[1]}] if type({t}) is dict else _bad_index({t}, {key[1]}))")

    def logic(self, node: tuple) -> _V:
        """n-ary ``&&``/``||`` with CEL's commutative error absorption."""
        stop = "False" if node[0] == "and" else "True"
        acc = self.tmp()
        self.guarded(node[1][0], acc)
        opened = 0
        for item in node[1][1:]:
            self.emit(f"if {acc} is not {stop}:")
            self.ind += 1
            opened += 1
            cur = self.tmp()
            self.guarded(item, cur)
            self.emit(f"if {cur} is {stop}:")
            self.emit(f"  {acc} = {stop}")
            self.emit("else:")
            other = "True" if stop == "False" else "False"
            self.emit(f"  {acc} = {other} if {acc} is {other} and {cur} is {other} else _merge({acc}, {cur})")
        self.ind -= opened
        self.emit(f"if type({acc}) is not bool:")
        self.emit(f"  raise _as_error({acc})")
        return _V(acc, "bool")

    def cond(self, node: tuple) -> _V:
        c = self.named(self.ex(node[1]))
        out = self.tmp()
        self.emit(f"if {c.code}:" if c.kind == "bool" else f"if {c.code} is True:")
        branches = []
        for i, branch in enumerate(node[2:]):
            if i:
                self.emit("else:" if c.kind == "bool" else f"elif {c.code} is False:")
            self.ind += 1
            v = self.ex(branch)
            self.emit(f"{out} = {v.code}")
            self.ind -= 1
            branches.append(v)
        if c.kind != "bool":
            self.emit("else:")
            self.emit(f"  {out} = _raise({c.code})")
        a, b = branches
        if a.kind == b.kind == "int":
            return _V(out, "int", min(a.lo, b.lo), max(a.hi, b.hi))
        return _V(out, a.kind if a.kind == b.kind and a.kind != "dur" else "dyn")

    def op(self, node: tuple) -> _V:
        op, a, b = node[1], node[2], node[3]
        if op == "in":
            if b[0] != "list":
                raise Unsupported("in on a non-literal list")  # map membership: not used by any rule
            x = self.ex(a)
            if all(e[0] == "lit" and type(e[1]) is str for e in b[1]):
                # only a str equals a str (Duration.__eq__ says NotImplemented), so tuple membership is exact
                return _V(f"({x.code} in {tuple(e[1] for e in b[1])!r})", "bool")
            x = self.bind(x)
            items = self.ex(b)
            return _V(f"any(_eq({x.code}, e) for e in {items.code})", "bool")
        if op in ("==", "!=", *_COMPARE):
            self.dur_ok.update(id(x) for x in (a, b) if x[0] == "call" and x[1] == "duration")
        left, right = self.pair(a, b)
        if op in ("==", "!="):
            neg = "not " if op == "!=" else ""
            # Python's == is CEL's == when one side is a str (symmetric: others say NotImplemented)
            if "str" in (left.kind, right.kind):
                return _V(f"({left.code} {op} {right.code})", "bool")
            if "null" in (left.kind, right.kind) or "bool" in (left.kind, right.kind):
                left, right = self.named(left), self.named(right)  # in order: the first error wins
                x, y = (left, right) if right.kind in ("null", "bool") else (right, left)
                if y.kind == "null":
                    return _V(f"({x.code} is {'not ' if neg else ''}None)", "bool")
                return _V(f"({x.code} is {'not ' if neg else ''}{y.code})", "bool")
            if left.kind == right.kind == "int":
                return _V(f"({left.code} {op} {right.code})", "bool")
            return _V(f"({neg}_eq({left.code}, {right.code}))", "bool")
        if op in _COMPARE:
            if left.kind == right.kind == "int":
                return _V(f"({left.code} {op} {right.code})", "bool")
            return _V(f"{_COMPARE[op]}({left.code}, {right.code})", "bool")
        if op == "+" and left.kind == right.kind == "int" and left.lo + right.lo >= INT_MIN \
                and left.hi + right.hi <= INT_MAX:
            return _V(f"({left.code} + {right.code})", "int", left.lo + right.lo, left.hi + right.hi)
        return _V(f"{_ARITH[op]}({left.code}, {right.code})")

    def call(self, node: tuple) -> _V:
        name, target, args = node[1], node[2], node[3]
        if target is not None and name in MACROS:
            return self.macro(name, target, args)
        if target is None and name == "has":
            if len(args) != 1 or args[0][0] != "sel":
                raise Unsupported("has() of a non-select")
            obj = self.bind(self.ex(args[0][1]))
            key = _field(args[0][2])
            return _V(f"({key!r} in {obj.code} if type({obj.code}) is dict else _no_has({obj.code}))", "bool")
        if target is not None and target[0] == "call" and target[1] == "url" and target[2] is None:
            if name not in _URL_GETTERS or args or len(target[3]) != 1:
                raise Unsupported(f"url().{name}")
            return _V(f"_url_get({name!r}, {self.ex(target[3][0]).code})", "str")
        if target is not None:
            args = [target, *args]
        key = (name, target is not None, len(args))
        if key in (("size", False, 1), ("size", True, 1)):
            fn = "_size_utf8" if self.rust_compat else "_size"
            return _V(f"{fn}({self.ex(args[0]).code})", "int", 0, SIZE_MAX)
        if key == ("matches", True, 2):
            if args[1][0] != "lit" or type(args[1][1]) is not str:
                raise Unsupported("matches() with a computed pattern")
            try:
                regex = re.compile(translate_re2(args[1][1]))
            except re.error as exc:
                raise Unsupported(f"regex: {exc}") from None
            return _V(f"_matches({self.ex(args[0]).code}, {self.const(regex)})", "bool")
        if key in (("contains", True, 2), ("startsWith", True, 2), ("endsWith", True, 2)):
            fn = {"contains": "_contains", "startsWith": "_starts", "endsWith": "_ends"}[name]
            a, b = self.pair(args[0], args[1])
            return _V(f"{fn}({a.code}, {b.code})", "bool")
        if key in (("split", True, 2), ("substring", True, 2), ("substring", True, 3)):
            parts = [self.bind(self.ex(x)) for x in args]
            return _V(f"_{name}({', '.join(p.code for p in parts)})", "list" if name == "split" else "str")
        if key == ("int", False, 1):
            return _V(f"_to_int({self.ex(args[0]).code})", "int", INT_MIN, INT_MAX)
        if key == ("duration", False, 1):
            if id(node) not in self.dur_ok:
                raise Unsupported("duration() outside a comparison")
            arg = args[0]
            if arg[0] == "lit" and type(arg[1]) is str:
                try:
                    return _V(self.const(parse_duration(arg[1])), "dur")
                except CelEvalError:
                    pass  # an invalid literal: the error happens at run time, as in CEL
            return _V(f"_duration({self.ex(arg).code})", "dur")
        if key == ("isURL", False, 1):
            return _V(f"_is_url({self.ex(args[0]).code})", "bool")
        raise Unsupported(f"function {name}/{len(args)}")

    def macro(self, name: str, target: tuple, args: list[tuple]) -> _V:
        arity = (2, 3) if name == "map" else (2,)
        if len(args) not in arity or args[0][0] != "id":
            raise Unsupported(f"{name} macro form")
        rng = self.bind(self.ex(target))
        var = args[0][1]
        py = f"v{self.n + 1}_{var}"
        self.n += 1
        outer = self.scope.get(var)
        self.scope[var] = py
        out = self.tmp()
        try:
            if name in ("all", "exists"):
                self.quantifier(name, rng, py, args[1], out)
            else:
                self.fold(name, rng, py, args[1:], out)
        finally:
            if outer is None:
                del self.scope[var]
            else:
                self.scope[var] = outer
        return _V(out, "bool" if name in ("all", "exists", "exists_one") else "list")

    def quantifier(self, name: str, rng: _V, py: str, pred: tuple, out: str) -> None:
        """all: False if any False, else the first error, else True; exists: the dual (cel-go)."""
        stop, keep = ("False", "True") if name == "all" else ("True", "False")
        err, p = self.tmp(), self.tmp()
        self.emit(f"{out} = {keep}")
        self.emit(f"{err} = None")
        self.emit(f"for {py} in _range({rng.code}):")
        self.ind += 1
        if self.rust_compat:  # cel-rust: the first error ends the loop
            v = self.ex(pred)
            self.emit(f"{p} = {v.code}")
        else:
            self.guarded(pred, p)
        self.emit(f"if {p} is {stop}:")
        self.emit(f"  {out} = {stop}")
        self.emit("  break")
        self.emit(f"if {p} is not {keep} and {err} is None:")
        self.emit(f"  {err} = _as_error({p})")
        if self.rust_compat:
            self.emit(f"  raise {err}")
        self.ind -= 1
        self.emit(f"if {out} is {keep} and {err} is not None:")
        self.emit(f"  raise {err}")

    def fold(self, name: str, rng: _V, py: str, body: list[tuple], out: str) -> None:
        """exists_one / filter / map: every error propagates (no absorption in cel-go either)."""
        p = self.tmp()
        self.emit(f"{out} = {'0' if name == 'exists_one' else '[]'}")
        self.emit(f"for {py} in _range({rng.code}):")
        self.ind += 1
        if name == "map" and len(body) == 1:
            self.emit(f"{out}.append({self.ex(body[0]).code})")
        else:
            v = self.ex(body[0])
            self.emit(f"{p} = {v.code}")
            self.emit(f"if {p} is True:")
            self.ind += 1
            if name == "exists_one":
                self.emit(f"{out} += 1")
            else:
                item = self.ex(body[1]).code if name == "map" else py
                self.emit(f"{out}.append({item})")
            self.ind -= 1
            self.emit(f"elif {p} is not False:")
            self.emit(f"  raise _as_error({p})")
        self.ind -= 1
        if name == "exists_one":
            self.emit(f"{out} = {out} == 1")


def generate(rule: str, rust_compat: bool = False) -> tuple[str, dict[str, Any]]:
    """The Python source of ``rule(S)`` and the constants it names; Unsupported outside the subset."""
    ast = Parser(rule).parse()
    gen = _Gen(rust_compat)
    result = gen.ex(ast)
    body = "\n".join(gen.lines)
    source = (f"def rule(S):\n  try:\n{body}\n" if body else "def rule(S):\n  try:\n") + \
        f"    return {result.code}\n  except TypeError as e:\n    raise _type_error(e) from None\n"
    return source, gen.consts


def to_code(rule: str, source: str) -> CodeType:
    try:
        return compile(source, f"<cel {rule[:60]!r}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. too many statically nested blocks
        raise Unsupported(f"generated code: {exc}") from None


def instantiate(rule: str, code: CodeType, consts: dict[str, Any]) -> Callable[[Any], Any]:
    """The rule function from its compiled module code (which only defines ``rule``)."""
    namespace = {**RUNTIME, **consts}
    exec(code, namespace)
    fn = namespace["rule"]
    fn.__doc__ = rule
    return fn


def _compile(rule: str, rust_compat: bool = False) -> tuple[Callable[[Any], Any], str]:
    """The function and its source (tests); Unsupported when the rule leaves the subset."""
    source, consts = generate(rule, rust_compat)
    return instantiate(rule, to_code(rule, source), consts), source


def compile_fast(rule: str) -> Callable[[Any], Any] | None:
    """A Python function ``f(self) -> CEL value`` equivalent to ``rule``, or None (use cel-rust).

    ``f`` raises KeyError(name) on a select of a missing map key and CelEvalError on any other CEL error.
    Compiled code is kept on disk (``store``): generating and compiling costs ~0.5 ms a rule, loading it
    back ~20 us, which matters for a pre-commit run over a handful of objects."""
    cached = store.lookup(rule)
    if cached is not store.MISSING:
        if cached is None:
            return None
        try:
            return instantiate(rule, *cached)
        except Exception:  # a stale or damaged entry: compile afresh below
            pass
    try:
        source, consts = generate(rule)
        code = to_code(rule, source)
        fn = instantiate(rule, code, consts)
    except Exception:  # Unsupported, or any surprise while parsing: never guess, cel-rust decides
        store.remember(rule, None)
        return None
    store.remember(rule, (code, consts))
    return fn


def why_not(rule: str) -> str | None:
    """Why ``compile_fast`` rejects ``rule`` (None when it accepts it)."""
    try:
        _compile(rule)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None
