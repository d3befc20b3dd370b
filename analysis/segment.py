"""Paragraphs and sentences with character offsets into the text.

Sentences come from NLTK's Punkt splitter (Kiss & Strunk 2006, "Unsupervised
multilingual sentence boundary detection"), run with an abbreviation list kept
as data (``resources/abbreviations.txt``) instead of a downloaded model, so it
works offline and handles "N. Korea", "U.S.", "Sen." and quotes that close after
the final period. Paragraphs are lines (scraped news puts one paragraph per
line); hard-wrapped text, where blank lines separate blocks of lines, is split
on the blank lines instead.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import NamedTuple

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

from analysis.config import RESOURCES


class Span(NamedTuple):
    """A half-open character span ``[start, end)`` in a text."""

    start: int
    end: int


class Sentence(NamedTuple):
    """A sentence: its span and the index of its paragraph (0-based)."""

    start: int
    end: int
    paragraph: int


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    params = PunktParameters()
    lines = (RESOURCES / "abbreviations.txt").read_text(encoding="utf-8").splitlines()
    abbrevs = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
    abbrevs |= set(string.ascii_lowercase)
    params.abbrev_types = abbrevs
    return PunktSentenceTokenizer(params)


_LINE = re.compile(r"[^\n]*\S[^\n]*")
_BLOCK = re.compile(r"\S(?:.*?\S)?(?=\s*\n[ \t]*\n|\s*$)", re.S)


def _hard_wrapped(text: str) -> bool:
    lines = text.split("\n")
    if len(lines) < 4 or not re.search(r"\n[ \t]*\n", text):
        return False
    joined = sum(1 for a, b in zip(lines, lines[1:]) if a.strip() and b.strip())
    nonblank = sum(1 for ln in lines if ln.strip())
    return joined >= nonblank / 2


def paragraphs(text: str) -> list[Span]:
    """Spans of the paragraphs of ``text``, without surrounding whitespace."""
    pattern = _BLOCK if _hard_wrapped(text) else _LINE
    out = []
    for m in pattern.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Span(s, e))
    return out


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` in order, never crossing a paragraph boundary.

    ``text[s.start:s.end]`` is the sentence, closing quotation marks included.
    """
    tok = _tokenizer()
    out: list[Sentence] = []
    for i, (ps, pe) in enumerate(paragraphs(text)):
        para = text[ps:pe]
        for s, e in tok.span_tokenize(para):
            out.append(Sentence(ps + s, ps + e, i))
    return out
