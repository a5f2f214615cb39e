"""A CEL-to-Python compiler for the subset of CEL the pinned CRDs' ``x-kubernetes-validations`` use.

``compile_fast(rule)`` returns a plain Python function of ``self`` (generated source, compiled once), or
None when the rule uses anything outside the subset: the caller then keeps using cel-rust. Semantics are
cel-go's, as the Kubernetes API server runs it, and never guessed: an unsupported construct rejects the
whole rule at compile time.

Runtime errors are Python exceptions: ``KeyError(name)`` for a select on a missing map key (what cel-rust
raises too: the caller reports "no such key"), ``CelEvalError`` for every other CEL error. Inside
``&&``/``||``/``all``/``exists`` errors are values, absorbed as CEL specifies (commutative logic).

Known divergences from cel-rust (cel-go is followed; tests/test_celfast.py asserts each explicitly):
  * ``size(string)`` counts code points (cel-go), cel-rust counts UTF-8 bytes;
  * ``all``/``exists`` absorb an element's error when another element decides the result (cel-go);
    cel-rust stops at the first error;
  * ``duration()`` follows Go's ``time.ParseDuration`` exactly (``µs``, overflow is an error, ``1s2`` is
    an error); cel-rust's parser differs on such strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from infergate.validate.cel import _RESERVED, KUBERNETES_FUNCTIONS

__all__ = ["CelEvalError", "Duration", "compile_fast", "parse_duration"]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
# a size() can never exceed this (no Python object holds 2**48 items), so sums of sizes need no check
_SIZE_MAX = 2**48


class CelEvalError(ValueError):
    """A CEL runtime error other than "no such key" (no matching overload, overflow, bad argument...)."""


class Unsupported(Exception):
    """Raised while compiling: the rule leaves the subset (compile_fast then returns None)."""


class Duration:
    """A CEL duration: an int number of nanoseconds, comparable only with durations."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __eq__(self, other: object) -> bool:
        return self.ns == other.ns if type(other) is Duration else NotImplemented

    def __hash__(self) -> int:
        return hash(("duration", self.ns))

    def __lt__(self, other: Duration) -> bool:
        return self.ns < other.ns

    def __le__(self, other: Duration) -> bool:
        return self.ns <= other.ns

    def __gt__(self, other: Duration) -> bool:
        return self.ns > other.ns

    def __ge__(self, other: Duration) -> bool:
        return self.ns >= other.ns

    def __repr__(self) -> str:
        return f"Duration({self.ns})"


# --- Go's time.ParseDuration, transcribed (cel-go's duration(string) is exactly that) --------------------

_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9,
          "m": 60 * 10**9, "h": 3600 * 10**9}
_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() accepts other scripts' digits


def parse_duration(text: str) -> Duration:
    """Go ``time.ParseDuration``; CelEvalError on an invalid or out-of-range string."""
    s, neg, total = text, False, 0
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return Duration(0)
    if not s:
        raise CelEvalError(f"invalid duration {text!r}")
    while s:
        if not (s[0] == "." or s[0] in _DIGITS):
            raise CelEvalError(f"invalid duration {text!r}")
        i = 0
        value = 0
        while i < len(s) and s[i] in _DIGITS:
            value = value * 10 + ord(s[i]) - 48
            if value > 2**63:  # Go's leadingInt overflow
                raise CelEvalError(f"invalid duration {text!r}")
            i += 1
        pre, s = i > 0, s[i:]
        frac, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s, i, overflow = s[1:], 0, False
            while i < len(s) and s[i] in _DIGITS:
                if not overflow:  # Go's leadingFraction: stops accumulating precision, no error
                    if frac > (2**63 - 1) // 10:
                        overflow = True
                    else:
                        nxt = frac * 10 + ord(s[i]) - 48
                        if nxt > 2**63:
                            overflow = True
                        else:
                            frac, scale = nxt, scale * 10
                i += 1
            post, s = i > 0, s[i:]
        if not pre and not post:
            raise CelEvalError(f"invalid duration {text!r}")
        i = 0
        while i < len(s) and not (s[i] == "." or s[i] in _DIGITS):
            i += 1
        if i == 0:
            raise CelEvalError(f"missing unit in duration {text!r}")
        unit = _UNITS.get(s[:i])
        if unit is None:
            raise CelEvalError(f"unknown unit {s[:i]!r} in duration {text!r}")
        s = s[i:]
        if value > 2**63 // unit:
            raise CelEvalError(f"invalid duration {text!r}")
        value *= unit
        if frac > 0:
            value += int(float(frac) * (float(unit) / scale))  # float64, as Go does
            if value > 2**63:
                raise CelEvalError(f"invalid duration {text!r}")
        total += value
        if total > 2**63:
            raise CelEvalError(f"invalid duration {text!r}")
    if neg:
        return Duration(-total)
    if total > 2**63 - 1:
        raise CelEvalError(f"invalid duration {text!r}")
    return Duration(total)


# --- runtime helpers (the generated code calls these; each raises CelEvalError on a CEL error) ----------

def _fail(what: str) -> CelEvalError:
    return CelEvalError(f"no such overload: {what}")


def _as_error(value: Any) -> BaseException:
    """An error value of the logic operators: an exception, or a non-bool operand (no such overload)."""
    return value if isinstance(value, BaseException) else _fail(f"logic operator on {type(value).__name__}")


def _merge(acc: Any, cur: Any) -> BaseException:
    """The error of an undecided ``&&``/``||`` chain so far: the rightmost error, else "no such overload"
    for a non-bool operand. cel-rust picks the rightmost, cel-go the leftmost; the verdict is an error
    either way, and following cel-rust keeps KeyError ("no such key") where the caller saw it."""
    if isinstance(cur, BaseException):
        return cur
    return acc if isinstance(acc, BaseException) else _as_error(cur if type(acc) is bool else acc)


def _raise(value: Any) -> Any:
    raise _as_error(value)


def _not(value: Any) -> bool:
    if value is True:
        return False
    if value is False:
        return True
    raise _fail(f"!{type(value).__name__}")


def _bad_index(value: Any, index: int) -> Any:
    if type(value) is list:
        raise CelEvalError(f"index out of range: {index}")
    raise _fail(f"{type(value).__name__}[int]")


def _no_has(value: Any) -> bool:
    raise _fail(f"has() on {type(value).__name__}")


def _num(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond float range compares like an infinity
        return math.inf if value > 0 else -math.inf


_NUMBERS = (int, float)
_ORDERED = (int, str, float, bool, Duration)


def _eq(a: Any, b: Any) -> bool:
    """CEL equality: heterogeneous, never an error; numbers across int/double, bool is not a number."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
        if ta is dict:
            return len(a) == len(b) and all(k in b and _eq(v, b[k]) for k, v in a.items())
        return a == b  # float: NaN != NaN, as IEEE and CEL say
    if ta in _NUMBERS and tb in _NUMBERS:
        return _num(a) == _num(b)  # cel-go compares an int with a double as doubles
    return False


def _order(a: Any, b: Any) -> tuple[Any, Any]:
    """The operands of an ordering, made comparable by Python, or CelEvalError."""
    ta, tb = type(a), type(b)
    if ta is tb and ta in _ORDERED:
        if ta is float and (a != a or b != b):
            raise CelEvalError("NaN values cannot be ordered")
        return a, b
    if ta in _NUMBERS and tb in _NUMBERS:
        x, y = _num(a), _num(b)
        if x != x or y != y:
            raise CelEvalError("NaN values cannot be ordered")
        return x, y
    raise _fail(f"ordering {ta.__name__} and {tb.__name__}")


def _lt(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return x < y


def _le(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return x <= y


def _gt(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return x > y


def _ge(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return x >= y


def _int64(value: int) -> int:
    if _INT_MIN <= value <= _INT_MAX:
        return value
    raise CelEvalError("int64 overflow")


def _ints(a: Any, b: Any) -> bool:
    """Both int64 operands (an out-of-range int from data is not a CEL int: Kubernetes makes it a double)."""
    return type(a) is int and type(b) is int and _INT_MIN <= a <= _INT_MAX and _INT_MIN <= b <= _INT_MAX


def _add(a: Any, b: Any) -> Any:
    if _ints(a, b):
        return _int64(a + b)
    ta = type(a)
    if ta is type(b) and ta in (float, str, list):
        return a + b
    raise _fail(f"{ta.__name__} + {type(b).__name__}")


def _sub(a: Any, b: Any) -> Any:
    if _ints(a, b):
        return _int64(a - b)
    if type(a) is float and type(b) is float:
        return a - b
    raise _fail(f"{type(a).__name__} - {type(b).__name__}")


def _mul(a: Any, b: Any) -> Any:
    if _ints(a, b):
        return _int64(a * b)
    if type(a) is float and type(b) is float:
        return a * b
    raise _fail(f"{type(a).__name__} * {type(b).__name__}")


def _div(a: Any, b: Any) -> Any:
    if _ints(a, b):
        if b == 0:
            raise CelEvalError("division by zero")
        q = abs(a) // abs(b)  # truncates toward zero, as Go does (Python's // floors)
        return _int64(q if (a < 0) == (b < 0) else -q)
    if type(a) is float and type(b) is float:
        if b == 0.0:  # IEEE: cel-go returns +-Inf or NaN, Python would raise
            if a == 0.0 or a != a:
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    raise _fail(f"{type(a).__name__} / {type(b).__name__}")


def _mod(a: Any, b: Any) -> Any:
    if _ints(a, b):
        if b == 0:
            raise CelEvalError("modulus by zero")
        if a == _INT_MIN and b == -1:
            raise CelEvalError("int64 overflow")
        r = abs(a) % abs(b)  # the sign of the dividend, as Go's %
        return r if a >= 0 else -r
    raise _fail(f"{type(a).__name__} % {type(b).__name__}")


def _size(value: Any) -> int:
    if type(value) in (str, list, dict):
        return len(value)  # str: code points, as cel-go (cel-rust counts UTF-8 bytes)
    raise _fail(f"size({type(value).__name__})")


def _size_utf8(value: Any) -> int:
    """cel-rust's size() (tests only)."""
    return len(value.encode()) if type(value) is str else _size(value)


def _strings(a: Any, b: Any, what: str) -> None:
    if type(a) is not str or type(b) is not str:
        raise _fail(f"{type(a).__name__}.{what}({type(b).__name__})")


def _contains(a: Any, b: Any) -> bool:
    _strings(a, b, "contains")
    return b in a


def _starts(a: Any, b: Any) -> bool:
    _strings(a, b, "startsWith")
    return a.startswith(b)


def _ends(a: Any, b: Any) -> bool:
    _strings(a, b, "endsWith")
    return a.endswith(b)


def _matches(value: Any, regex: re.Pattern[str]) -> bool:
    if type(value) is not str:
        raise _fail(f"{type(value).__name__}.matches()")
    return regex.search(value) is not None


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _to_int(value: Any) -> int:
    """cel-go int(): int, double (truncated, range-checked), string (strconv.ParseInt base 10)."""
    t = type(value)
    if t is int:
        return _int64(value)
    if t is float:
        # cel-go rejects NaN, +-Inf and anything at or beyond the int64 bounds as doubles
        if not (value == value and -9.223372036854775808e18 < value < 9.223372036854775807e18):
            raise CelEvalError("int64 overflow")
        return int(value)
    if t is str:
        if not _INT_TEXT.fullmatch(value):
            raise CelEvalError(f"int({value!r}): invalid syntax")
        return _int64(int(value))
    raise _fail(f"int({t.__name__})")


def _duration(value: Any) -> Duration:
    if type(value) is not str:
        raise _fail(f"duration({type(value).__name__})")
    return parse_duration(value)


def _k8s(name: str, *args: Any) -> Any:
    """A Kubernetes library function (cel.py's implementation), its failures made CEL errors."""
    try:
        return KUBERNETES_FUNCTIONS[name](*args)
    except Exception as exc:  # ValueError/IndexError... from the library: a CEL runtime error
        raise CelEvalError(f"{name}: {exc}") from None


def _split(value: Any, sep: Any) -> list[str]:
    _strings(value, sep, "split")
    return _k8s("split", value, sep)


def _substring(value: Any, *bounds: Any) -> str:
    if type(value) is not str or any(type(b) is not int for b in bounds):
        raise _fail("substring")
    return _k8s("substring", value, *bounds)


def _is_url(value: Any) -> bool:
    if type(value) is not str:  # cel-go: no isURL(<non-string>) overload
        raise _fail(f"isURL({type(value).__name__})")
    return _k8s("isURL", value)


def _url_get(getter: str, value: Any) -> str:
    if type(value) is not str:
        raise _fail(f"url({type(value).__name__})")
    _k8s("url", value)
    return _k8s(getter, value)


def _range(value: Any) -> Any:
    """What a macro iterates: a list's elements or a map's keys."""
    if type(value) is list or type(value) is dict:
        return value
    raise _fail(f"macro on {type(value).__name__}")


def _type_error(exc: TypeError) -> CelEvalError:
    return CelEvalError(f"no such overload: {exc}")


_ERRS = (KeyError, CelEvalError, TypeError)  # TypeError: a select or index on a non-map (see _Gen.select)

_RUNTIME: dict[str, Any] = {name: value for name, value in globals().items()
                            if name.startswith("_") and not name.startswith("__")}


# --- lexer ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\n\r\f]+|//[^\n]*)
  | (?P<num>0[xX][0-9a-fA-F]+[uU]?|(?:[0-9]+\.[0-9]+|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+
            |[0-9]+[uU]?)
  | (?P<str>[rR]?[bB]?[rR]?(?:\"\"\"|'''|"|'))
  | (?P<id>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,\[\](){}])
""", re.VERBOSE)
_SIMPLE_ESC = {"\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`", "a": "\a", "b": "\b", "f": "\f",
               "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_KEYWORDS = {"true": True, "false": False, "null": None}


def _string(src: str, pos: int, prefix: str) -> tuple[str, int]:
    """The string literal whose quote starts at ``pos``: (value, end)."""
    if "b" in prefix.lower():
        raise Unsupported("bytes literal")
    raw = "r" in prefix.lower()
    quote = src[pos:pos + 3] if src[pos:pos + 3] in ('"""', "'''") else src[pos]
    i, out = pos + len(quote), []
    while True:
        if i >= len(src):
            raise Unsupported("unterminated string")
        if src.startswith(quote, i):
            return "".join(out), i + len(quote)
        c = src[i]
        if c in "\r\n" and len(quote) == 1:
            raise Unsupported("newline in string")
        if c != "\\" or raw:
            out.append(c)
            i += 1
            continue
        e = src[i + 1:i + 2]
        if e in _SIMPLE_ESC:
            out.append(_SIMPLE_ESC[e])
            i += 2
            continue
        m = (re.compile(r"[xX][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-3][0-7]{2}")
             .match(src, i + 1))
        if not m:
            raise Unsupported(f"escape \\{e}")
        text = m.group()
        code = int(text, 8) if text[0].isdigit() else int(text[1:], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise Unsupported("invalid code point")
        out.append(chr(code))
        i = m.end()


def _lex(src: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise Unsupported(f"unexpected {src[pos]!r}")
        kind, text = m.lastgroup, m.group()
        if kind == "ws":
            pos = m.end()
        elif kind == "str":
            prefix = text.rstrip("\"'")
            value, pos = _string(src, pos + len(prefix), prefix)
            tokens.append(("lit", value))
        elif kind == "num":
            pos = m.end()
            if text[-1] in "uU":
                raise Unsupported("uint literal")
            if text.lower().startswith("0x"):
                tokens.append(("int", int(text, 16)))
            elif any(c in text for c in ".eE"):
                tokens.append(("lit", float(text)))
            else:
                tokens.append(("int", int(text)))
        elif kind == "id":
            pos = m.end()
            if text in _KEYWORDS:
                tokens.append(("lit", _KEYWORDS[text]))
            elif text == "in":
                tokens.append(("op", "in"))
            elif text in _RESERVED:
                raise Unsupported(f"reserved word {text}")
            else:
                tokens.append(("id", text))
        else:
            pos = m.end()
            tokens.append(("op", text))
    tokens.append(("end", None))
    return tokens


# --- parser (precedence climbing over CEL's grammar) -------------------------------------------------------
# AST: tuples. ("lit", v) ("id", name) ("sel", x, name) ("idx", x, i) ("call", name, target|None, args)
# ("list", items) ("map", pairs) ("op", name, a, b) ("not", x) ("and", items) ("or", items) ("cond", c, a, b)

_MACROS = {"all", "exists", "exists_one", "filter", "map"}


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _lex(src)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, Any]:
        return self.toks[self.pos]

    def take(self, op: str | None = None) -> tuple[str, Any]:
        tok = self.toks[self.pos]
        if op is not None and tok != ("op", op):
            raise Unsupported(f"expected {op}, got {tok[1]!r}")
        self.pos += 1
        return tok

    def at(self, op: str) -> bool:
        return self.toks[self.pos] == ("op", op)

    def parse(self) -> tuple:
        node = self.expr()
        if self.peek()[0] != "end":
            raise Unsupported(f"trailing {self.peek()[1]!r}")
        return node

    def expr(self) -> tuple:
        self.depth += 1
        if self.depth > 200:  # cel-go limits nesting too; Python recursion would fail first
            raise Unsupported("too deeply nested")
        cond = self.logic("||")
        if self.at("?"):
            self.take()
            a = self.logic("||")
            self.take(":")
            cond = ("cond", cond, a, self.expr())
        self.depth -= 1
        return cond

    def logic(self, op: str) -> tuple:
        sub = (lambda: self.logic("&&")) if op == "||" else self.relation
        items = [sub()]
        while self.at(op):
            self.take()
            items.append(sub())
        return items[0] if len(items) == 1 else ("or" if op == "||" else "and", items)

    def relation(self) -> tuple:
        node = self.binary(0)
        while self.peek()[0] == "op" and self.peek()[1] in ("==", "!=", "<", "<=", ">", ">=", "in"):
            op = self.take()[1]
            node = ("op", op, node, self.binary(0))
        return node

    _LEVELS = (("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self._LEVELS[level]:
            op = self.take()[1]
            node = ("op", op, node, self.binary(level + 1))
        return node

    def unary(self) -> tuple:
        # cel-go's parser drops an even run of ! or - (``!!x`` is ``x``, even when x is not a bool)
        if self.at("!"):
            count = 0
            while self.at("!"):
                self.take()
                count += 1
            operand = self.member(self.primary())
            return ("not", operand) if count % 2 else operand
        if self.at("-"):
            minus = 0
            while self.at("-"):
                self.take()
                minus += 1
            kind, value = self.peek()
            if minus % 2 == 0 and kind not in ("int", "lit"):
                return self.member(self.primary())
            if kind == "int" or (kind == "lit" and type(value) is float):
                self.take()
                value = -value if minus % 2 else value
                if kind == "int" and not _INT_MIN <= value <= _INT_MAX:
                    raise Unsupported("int literal out of range")
                return self.member(("lit", value))
            raise Unsupported("unary minus on an expression")  # not used by any rule
        return self.member(self.primary())

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "int":
            if value > _INT_MAX:
                raise Unsupported("int literal out of range")
            return ("lit", value)
        if kind == "lit":
            return ("lit", value)
        if kind == "id":
            if self.at("("):
                return ("call", value, None, self.args(")"))
            return ("id", value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            return ("list", self.args("]", opened=True))
        if value == "{":
            pairs = []
            while not self.at("}"):
                key = self.expr()
                self.take(":")
                pairs.append((key, self.expr()))
                if not self.at("}"):
                    self.take(",")
            self.take("}")
            return ("map", pairs)
        raise Unsupported(f"unexpected {value!r}")

    def args(self, close: str, opened: bool = False) -> list[tuple]:
        if not opened:
            self.take("(")
        items: list[tuple] = []
        while not self.at(close):
            items.append(self.expr())
            if not self.at(close):
                self.take(",")
                if close == ")" and self.at(")"):
                    raise Unsupported("trailing comma in call")
        self.take(close)
        return items

    def member(self, node: tuple) -> tuple:
        while True:
            if self.at("."):
                self.take()
                kind, name = self.take()
                if kind != "id":
                    raise Unsupported("select of a non-identifier")
                node = ("call", name, node, self.args(")")) if self.at("(") else ("sel", node, name)
            elif self.at("["):
                self.take()
                index = self.expr()
                self.take("]")
                node = ("idx", node, index)
            else:
                return node


# --- RE2 -> Python regular expressions --------------------------------------------------------------------

_FOLDS = {"k": "\u212a", "s": "\u017f"}  # the only non-ASCII members of ASCII letters' RE2 fold orbits


def _fold_set(lo: str, hi: str) -> list[tuple[str, str]]:
    """Ranges matching [lo-hi] case-insensitively (RE2 simple folding), ASCII letters only."""
    if ord(hi) > 0x7F:
        raise Unsupported("case-insensitive non-ASCII class")
    out = [(lo, hi)]
    for c in map(chr, range(ord(lo), ord(hi) + 1)):
        if c.isalpha():
            out.append((c.swapcase(), c.swapcase()))
            if c.lower() in _FOLDS:
                out.append((_FOLDS[c.lower()], _FOLDS[c.lower()]))
    return out


def _class_char(p: str, j: int) -> tuple[str, int]:
    c = p[j]
    if c == "\\":
        e = p[j + 1:j + 2]
        if not e or not e.isascii() or e.isalnum() or e.isspace():
            raise Unsupported(f"regex escape \\{e}")  # \d \w \pL \x... differ or are not needed
        return e, j + 2
    if c == "[":
        raise Unsupported("regex [ in class")  # POSIX [:alpha:] classes
    return c, j + 1


def translate_re2(pattern: str) -> str:
    """An RE2 pattern as an equivalent Python pattern (for ``re.search``), or Unsupported.

    Accepted: literals, punctuation escapes, classes of literals and ranges, ``.``, ``^``, ``$`` (end of
    text: ``\\Z``; Python's ``$`` also matches before a final newline), groups ``( (?: (?i: (?i)``,
    ``| * + ? {n,m}`` and their lazy forms. Case-insensitivity is expanded by hand (ASCII letters and
    their RE2 fold orbits: K/k/Kelvin sign, S/s/long s) rather than trusting Python's folding."""
    out: list[str] = []
    frames: list[list[Any]] = [[False, 1]]  # per group: [case-insensitive, max counted-repeat product inside]
    i, n = 0, len(pattern)
    atom: int | None = None  # counted-repeat product inside the last atom; None: no atom to repeat
    last = ""  # "quant": a quantifier just ended (a lazy ? may follow), "lazy": a lazy ? just ended

    def literal(c: str) -> str:
        if frames[-1][0] and c.isalpha():
            if not c.isascii():
                raise Unsupported("case-insensitive non-ASCII literal")
            return "[" + "".join(re.escape(a) for a, _ in _fold_set(c, c)) + "]"
        return re.escape(c)

    while i < n:
        c = pattern[i]
        if c in "*+?{":
            if c == "?" and last == "quant":  # lazy form of the last quantifier
                out.append("?")
                i += 1
                last = "lazy"
                continue
            if atom is None or last:  # nothing to repeat, or a repeated repetition (an RE2 error)
                raise Unsupported("regex repetition without an argument")
            if c == "{":
                m = re.compile(r"\{([0-9]+)(,([0-9]*))?\}").match(pattern, i)
                if not m:
                    raise Unsupported("regex literal {")  # RE2 and Python disagree on {,n}
                low = int(m.group(1))
                high = low if m.group(2) is None else int(m.group(3)) if m.group(3) else low
                if low > 1000 or high > 1000 or high < low:
                    raise Unsupported("regex repeat count")
                if high * atom > 1000:
                    raise Unsupported("regex nested repeat too large")  # RE2 rejects it
                frames[-1][1] = max(frames[-1][1], high * atom)
                out.append(m.group())
                i = m.end()
            else:
                out.append(c)
                i += 1
            last = "quant"
            continue
        last = ""
        if c == "\\":
            e, i = _class_char(pattern, i)
            out.append(literal(e))
            atom = 1
        elif c == "[":
            j = i + 1
            negated = pattern[j:j + 1] == "^"
            j += negated
            ranges: list[tuple[str, str]] = []
            first = True
            while True:
                if j >= n:
                    raise Unsupported("unterminated regex class")
                if pattern[j] == "]" and not first:
                    break
                first = False
                lo, j = _class_char(pattern, j)
                hi = lo
                if pattern[j:j + 1] == "-" and pattern[j + 1:j + 2] not in ("]", ""):
                    hi, j = _class_char(pattern, j + 1)
                    if hi < lo:
                        raise Unsupported("regex bad range")
                ranges.extend(_fold_set(lo, hi) if frames[-1][0] else [(lo, hi)])
            body = "".join(re.escape(a) if a == b else f"{re.escape(a)}-{re.escape(b)}" for a, b in ranges)
            out.append(f"[{'^' if negated else ''}{body}]")
            i = j + 1
            atom = 1
        elif c == "(":
            m = re.compile(r"\(\?([a-zA-Z]*)([:)])").match(pattern, i)
            if pattern.startswith("(?", i) and not m:
                raise Unsupported("regex group kind")  # lookaround, named groups...
            if m:
                if m.group(1) not in ("", "i") or (m.group(1) == "" and m.group(2) == ")"):
                    raise Unsupported(f"regex flags {m.group()}")
                i = m.end()
                if m.group(2) == ")":  # (?i): for the rest of the current group
                    frames[-1][0] = True
                    atom = None
                    continue
                frames.append([frames[-1][0] or m.group(1) == "i", 1])
                out.append("(?:")
            else:
                frames.append([frames[-1][0], 1])
                out.append("(")
                i += 1
            atom = None
        elif c == ")":
            if len(frames) == 1:
                raise Unsupported("regex unbalanced )")
            atom = frames.pop()[1]
            out.append(")")
            i += 1
        elif c == "|":
            out.append("|")
            atom = None
            i += 1
        elif c == "^":
            out.append("^")  # without (?m): start of text, as Python's ^ without MULTILINE
            atom = None
            i += 1
        elif c == "$":
            out.append(r"\Z")
            atom = None
            i += 1
        elif c == ".":
            out.append(".")  # any character but \n in both
            atom = 1
            i += 1
        else:
            out.append(literal(c))
            atom = 1
            i += 1
    if len(frames) != 1:
        raise Unsupported("regex unbalanced (")
    return "".join(out)


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
    if len(name) > 4 and name.startswith("__") and name.endswith("__") and name[2:-2] in _RESERVED:
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
        if op == "+" and left.kind == right.kind == "int" and left.lo + right.lo >= _INT_MIN \
                and left.hi + right.hi <= _INT_MAX:
            return _V(f"({left.code} + {right.code})", "int", left.lo + right.lo, left.hi + right.hi)
        return _V(f"{_ARITH[op]}({left.code}, {right.code})")

    def call(self, node: tuple) -> _V:
        name, target, args = node[1], node[2], node[3]
        if target is not None and name in _MACROS:
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
            return _V(f"{fn}({self.ex(args[0]).code})", "int", 0, _SIZE_MAX)
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
            return _V(f"_to_int({self.ex(args[0]).code})", "int", _INT_MIN, _INT_MAX)
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


def _compile(rule: str, rust_compat: bool = False) -> tuple[Callable[[Any], Any], str]:
    """The function and its source; Unsupported when the rule leaves the subset."""
    ast = _Parser(rule).parse()
    gen = _Gen(rust_compat)
    result = gen.ex(ast)
    body = "\n".join(gen.lines)
    source = (f"def rule(S):\n  try:\n{body}\n" if body else "def rule(S):\n  try:\n") + \
        f"    return {result.code}\n  except TypeError as e:\n    raise _type_error(e) from None\n"
    namespace = {**_RUNTIME, **gen.consts}
    try:
        exec(compile(source, f"<cel {rule[:60]!r}>", "exec"), namespace)
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. too many statically nested blocks
        raise Unsupported(f"generated code: {exc}") from None
    fn = namespace["rule"]
    fn.__doc__ = rule
    return fn, source


def compile_fast(rule: str) -> Callable[[Any], Any] | None:
    """A Python function ``f(self) -> CEL value`` equivalent to ``rule``, or None (use cel-rust).

    ``f`` raises KeyError(name) on a select of a missing map key and CelEvalError on any other CEL error."""
    try:
        return _compile(rule)[0]
    except Exception:  # Unsupported, or any surprise while parsing: never guess, cel-rust decides
        return None


def why_not(rule: str) -> str | None:
    """Why ``compile_fast`` rejects ``rule`` (None when it accepts it)."""
    try:
        _compile(rule)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None
