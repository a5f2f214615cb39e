"""RE2 patterns (CEL ``matches``) as equivalent Python patterns, or Unsupported where they could differ."""

from __future__ import annotations

import re
from typing import Any

from infergate.validate.celfast.syntax import Unsupported

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
