"""Errors that end a command with exit code 2 and one clear line (never a traceback)."""

from __future__ import annotations


class InfergateError(Exception):
    """Bad input, bad config or a broken installation: exit 2 with a one-line message."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 obj: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.obj = obj

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        what = f" ({self.obj})" if self.obj else ""
        return f"{where}{self.message}{what}".replace("\n", " ")


class ConfigError(InfergateError):
    """An environment file or tool configuration is invalid."""


class IntegrityError(InfergateError):
    """A pinned upstream file is missing or does not match its sha256."""
