"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``) as the API server parses them.

Ported from k8s.io/apimachinery/pkg/api/resource/quantity.go: ``UnmarshalJSON`` (a JSON string is
unquoted and ``strings.TrimSpace``d, a JSON number is parsed from its literal, ``null`` is zero),
``ParseQuantity`` and ``parseQuantityString`` (sign, digits, an optional fraction - ``1.`` and even ``.``
are accepted - then a suffix), and suffix.go ``suffixHandler.interpret`` (decimal SI ``n u m "" k M G
T P E``, binary SI ``Ki Mi Gi Ti Pi Ei``, or ``e``/``E`` and a signed exponent). The value is exact
(a Fraction): comparisons (requests against limits) and the integer check of extended resources need it.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX_CHARS = "eEinumkKMGTP"
_EXPONENT = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 64), range checked below
FORMAT_ERROR = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
SUFFIX_ERROR = "unable to parse quantity's suffix"


def parse(text: str) -> Fraction | str:
    """resource.ParseQuantity: the exact value, or the error message."""
    if not text:
        return FORMAT_ERROR
    pos, end = 0, len(text)
    negative = text[0] == "-"
    if text[0] in "+-":
        pos += 1
    start = pos
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    whole = text[start:pos]
    fraction = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos].isdigit() and text[pos].isascii():
            pos += 1
        fraction = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos < end:
        return FORMAT_ERROR  # a character that is neither number nor suffix
    suffix = text[suffix_start:]
    value = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
    if suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    elif suffix in _BINARY:
        value *= 2 ** _BINARY[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and _EXPONENT.fullmatch(suffix[1:]):
        exponent = int(suffix[1:])
        if not -(2 ** 63) <= exponent < 2 ** 63:
            return SUFFIX_ERROR
        if abs(exponent) > 10_000:  # beyond any resource; Go's inf.Dec holds it, so does not fail
            return Fraction(0) if exponent < 0 or value == 0 else Fraction(10) ** 10_000
        value *= Fraction(10) ** exponent
    else:
        return SUFFIX_ERROR
    return -value if negative else value


def from_json(value: Any) -> Fraction | str | None:
    """Quantity.UnmarshalJSON on the value a manifest holds: None when it is no string or number (the
    schema reports that), else the value or the parse error."""
    if value is None:
        return Fraction(0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = value.strip() if isinstance(value, str) else json.dumps(value)
    return parse(text)


def render(value: Fraction) -> str:
    """A short human form for messages (not Go's canonical form)."""
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
