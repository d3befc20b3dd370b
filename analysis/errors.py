"""Errors raised on bad input: each names the file, the line or document, and what to do."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input that the user can fix: the message names where and what.

    Args:
        message: What is wrong and what to do about it.
        source: File path (or ``"<stdin>"``) the problem was found in.
        where: Line number or document id, when known.
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | int | None = None):
        self.source = source
        self.where = where
        self.reason = message
        prefix = ""
        if source is not None:
            prefix = f"{source}"
            if where is not None:
                prefix += f":{where}" if isinstance(where, int) else f" [{where}]"
            prefix += ": "
        super().__init__(prefix + message)
