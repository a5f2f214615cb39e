"""What generated rule functions call at run time: CEL values (durations), errors and operators.

Every helper raises CelEvalError on a CEL error; ``RUNTIME`` is the namespace generated code runs in.
"""

from __future__ import annotations

import math
import re
from typing import Any

from infergate.validate.cel_library import KUBERNETES_FUNCTIONS

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# a size() can never exceed this (no Python object holds 2**48 items), so sums of sizes need no check
SIZE_MAX = 2**48


class CelEvalError(ValueError):
    """A CEL runtime error other than "no such key" (no matching overload, overflow, bad argument...)."""

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
    if INT_MIN <= value <= INT_MAX:
        return value
    raise CelEvalError("int64 overflow")


def _ints(a: Any, b: Any) -> bool:
    """Both int64 operands (an out-of-range int from data is not a CEL int: Kubernetes makes it a double)."""
    return type(a) is int and type(b) is int and INT_MIN <= a <= INT_MAX and INT_MIN <= b <= INT_MAX


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
        if a == INT_MIN and b == -1:
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

RUNTIME: dict[str, Any] = {name: value for name, value in globals().items()
                            if name.startswith("_") and not name.startswith("__")}
