"""Paragraphs and sentences with character offsets into the text.

Paragraphs are lines (scraped news puts one paragraph per line); hard-wrapped text,
where blank lines separate blocks of lines, is split on the blank lines instead.

Sentences come from a rule-based splitter written here rather than taken from a
library, because of measured cost: NLTK's Punkt (Kiss & Strunk 2006) in NLTK 3.10
routes every regex through a timed ReDoS guard and took as long per article as VADER
scoring itself (11 ms vs 12 ms on PolNeAR articles), which would halve the
pipeline's speed; blingfire splits "Sen. Kim"; pysbd and syntok are slower still.
The rules follow Punkt's decision heuristics with its parameters given as data
(``resources/abbreviations.yaml``): a boundary is sentence-final punctuation, any
closing quotation marks or brackets (kept with the sentence), whitespace, then an
upper-case letter, digit or opening mark; a period after a title abbreviation is
never final; after other abbreviations, initials and dotted acronyms it is final
only before a common sentence opener. ``benchmarks/segment_bench.py`` measures
agreement with Punkt and the speed ratio.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import yaml

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


class _Rules(NamedTuple):
    never_final: frozenset[str]
    maybe_final: frozenset[str]
    openers: frozenset[str]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    path = RESOURCES / "abbreviations.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sets = []
    for key in ("never_final", "maybe_final", "openers"):
        bad = [w for w in data[key] if not isinstance(w, str)]
        if bad:  # YAML 1.1 reads unquoted no/on/yes as booleans
            raise ValueError(f"{path}: {key} has non-string entries {bad}; quote them")
        sets.append(frozenset(data[key]))
    return _Rules(*sets)


_CLOSERS = "\"'\u201d\u2019)\\]\u00bb"
_OPENERS = "\"'\u201c\u2018(\\[\u00ab"
# Candidate boundary: final punctuation, closing marks, whitespace, then what may start a sentence.
# ([.!?…][.!?…]* rather than [.!?…]+: re skips ahead only to a leading character class,
# which halves the scan)
_BOUNDARY = re.compile(
    rf"([.!?\u2026][.!?\u2026]*)([{_CLOSERS}]*)(\s+)(?=[{_OPENERS}]*[A-Z0-9\u00c0-\u00d6\u00d8-\u00de])"
)
_ACRONYM = re.compile(r"(?:[a-z]\.)+[a-z]")
_WORD_AFTER = re.compile(rf"[{_OPENERS}]*([\w'\u2019-]+)")
# A paragraph line without its surrounding whitespace: from its first to its last non-space
# character (the stripped span, so no per-character strip loop after the match).
_LINE = re.compile(r"\S(?:[^\n]*\S)?")
_BLOCK = re.compile(r"\S(?:.*?\S)?(?=\s*\n[ \t]*\n|\s*$)", re.S)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _hard_wrapped(text: str, lines: list[Span]) -> bool:
    """Whether most non-blank lines run on into the next one (``lines``: the stripped non-blank lines)."""
    if text.count("\n") < 3 or not _BLANK_LINE.search(text):
        return False
    # two non-blank lines are adjacent when one newline separates them
    joined = sum(1 for a, b in zip(lines, lines[1:]) if text.count("\n", a.end, b.start) == 1)
    return joined >= len(lines) / 2


def paragraphs(text: str) -> list[Span]:
    """Spans of the paragraphs of ``text``, without surrounding whitespace."""
    lines = [Span(*m.span()) for m in _LINE.finditer(text)]
    if not _hard_wrapped(text, lines):
        return lines
    # a block starts and ends with a non-space character: the span is already stripped
    return [Span(*m.span()) for m in _BLOCK.finditer(text)]


def _is_boundary(text: str, m: re.Match[str], rules: _Rules) -> bool:
    punct = m.group(1)
    if punct in ("?", "!") or set(punct) <= {"?", "!"}:
        return True
    # the word before the mark within 40 characters, read backwards: same result as the
    # regex search (\S+)$ it replaces, which tried every start in the window (`$` also
    # matches before a final newline, hence the first test)
    lo = max(0, m.start() - 40)
    end = m.start()
    if end > lo and text[end - 1] == "\n":
        end -= 1
    k = end
    while k > lo and not text[k - 1].isspace():
        k -= 1
    word = text[k:end].lstrip(_OPENERS).lower()
    if punct == ".":
        if word in rules.never_final:
            return False
        guarded = word in rules.maybe_final or (len(word) == 1 and word.isalpha()) or _ACRONYM.fullmatch(word)
    else:  # ellipsis or "?." forms: an omission mark as often as an ending
        guarded = True
    if not guarded:
        return True
    after = _WORD_AFTER.match(text, m.end())
    return bool(after) and after.group(1).lower() in rules.openers


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` (one paragraph), offsets into ``text``."""
    end = len(text) if end is None else end
    rules = _rules()
    out: list[Span] = []
    s = start
    for m in _BOUNDARY.finditer(text, start, end):
        if _is_boundary(text, m, rules):
            out.append(Span(s, m.start(3)))
            s = m.end()
    if s < end:
        e = end
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Span(s, e))
    return out


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` in order, never crossing a paragraph boundary.

    ``text[s.start:s.end]`` is the sentence, closing quotation marks included.
    """
    out: list[Sentence] = []
    for i, (ps, pe) in enumerate(paragraphs(text)):
        out.extend(Sentence(a, b, i) for a, b in split_sentences(text, ps, pe))
    return out
