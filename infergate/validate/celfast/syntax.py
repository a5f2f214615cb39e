"""CEL source to a tuple AST: a lexer and a precedence-climbing parser for CEL's grammar."""

from __future__ import annotations

import re
from typing import Any

from infergate.validate.cel_library import RESERVED
from infergate.validate.celfast.runtime import INT_MAX, INT_MIN


class Unsupported(Exception):
    """Raised while compiling: the rule leaves the subset (compile_fast then returns None)."""


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
            elif text in RESERVED:
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

MACROS = {"all", "exists", "exists_one", "filter", "map"}


class Parser:
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
                if kind == "int" and not INT_MIN <= value <= INT_MAX:
                    raise Unsupported("int literal out of range")
                return self.member(("lit", value))
            raise Unsupported("unary minus on an expression")  # not used by any rule
        return self.member(self.primary())

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "int":
            if value > INT_MAX:
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
