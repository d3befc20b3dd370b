"""JSON-lines input and output shared by the command-line verbs (``-`` means stdin/stdout)."""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from analysis.errors import InputError


def _open_text(path: str | Path) -> IO[str]:
    if str(path) == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict")
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=str(path))
    if p.suffix == ".gz":
        return gzip.open(p, "rt", encoding="utf-8", errors="strict")
    return open(p, encoding="utf-8", errors="strict")


def read_jsonl(path: str | Path, *, required: tuple[str, ...] = ("id", "text")) -> Iterator[dict[str, Any]]:
    """Yield one dict per non-blank line of a JSON-lines file (see :func:`read_jsonl_numbered`)."""
    return (rec for _, rec in read_jsonl_numbered(path, required=required))


def read_jsonl_numbered(path: str | Path, *, required: tuple[str, ...] = ("id", "text")) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` for each non-blank line of a JSON-lines file.

    The line number (1-based, blank lines counted) lets later checks name the line.

    Args:
        path: File path, ``.gz`` allowed, or ``-`` for stdin.
        required: Keys every record must have.

    Raises:
        InputError: naming the file and line for invalid JSON, a non-object line,
            a missing key, or bytes that are not UTF-8.
    """
    name = "<stdin>" if str(path) == "-" else str(path)
    fh = _open_text(path)
    try:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid UTF-8 ({exc.reason}); re-encode the file as UTF-8", source=name, where=lineno + 1) from None
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", source=name, where=lineno) from None
            if not isinstance(rec, dict):
                raise InputError("each line must be a JSON object", source=name, where=lineno)
            missing = [k for k in required if k not in rec]
            if missing:
                raise InputError(f"missing field(s) {', '.join(missing)}", source=name, where=lineno)
            if "id" in rec and not isinstance(rec["id"], str):
                rec["id"] = str(rec["id"])
            if "text" in required and not isinstance(rec.get("text"), str):
                raise InputError("field 'text' must be a string", source=name, where=lineno)
            yield lineno, rec
    finally:
        if fh is not sys.stdin:
            fh.close()


@contextmanager
def open_output(path: str | Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a text output file (parents created), or stdout for ``-``."""
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8", newline=newline) as fh:
        yield fh


def write_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write records as JSON lines (UTF-8, not ASCII-escaped); return how many."""
    n = 0
    with open_output(path) as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n
