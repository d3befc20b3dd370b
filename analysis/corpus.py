"""Load a news corpus into a tidy table and clean scraped boilerplate from it.

One row per document: id, outlet, date, title, the cleaned body (``text``), the
raw text, what cleaning removed (``removed``: rule and text), flags for repaired
input (HTML stripped, bad UTF-8 replaced, no metadata row), sizes, and every
metadata column. Inputs: a folder of ``.txt`` files with a metadata table, or a
``.jsonl``/``.jsonl.gz``/``.csv``/``.parquet`` file with at least ``id`` and
``text``. Everything is read in chunks (:func:`iter_documents`), so a corpus of
millions of documents streams; :func:`load_corpus` collects the chunks.

Cleaning follows the usual approach of boilerplate removal for news pages
(e.g. Kohlschütter et al. 2010, "Boilerplate detection using shallow text
features"; the CleanEval task, Baroni et al. 2008) at its simplest and most
auditable: named rules kept as data (``resources/cleaning_rules.yaml``) match
whole paragraphs (navigation, stamps, captions, bylines, comment forms), spans
at the start of the body (datelines), and trailers (related links, comment
forms) to the end. Rules never branch on the outlet. Every removal is logged,
so cleaned text, title and the log together account for the raw text. Spaces a
scrape lost around tagged names ("PresidentKim Il Sungand") are put back, and
each such repair is logged too (``glued_space``, with the glued and repaired span).

Nothing is dropped silently: a document is either in the table or in
``df.attrs["rejected"]`` (id, source, reason).
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import yaml

from analysis import segment
from analysis.config import METADATA, RAW, RESOURCES
from analysis.errors import InputError

RULES_FILE = RESOURCES / "cleaning_rules.yaml"

#: Metadata captured by cleaning rules: always present as columns (None when absent).
CAPTURED = ("dateline", "dateline_place", "dateline_agency", "section", "stamp")
#: Leading columns of the corpus table, in order.
COLUMNS = (
    "id", "outlet", "date", "title", "text", "raw_text", "removed", "flags",
    "n_paragraphs", "n_sentences", "n_words", *CAPTURED, "source",
)
UNKNOWN_OUTLET = "unknown"

# ---------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class _Rule:
    name: str
    where: str
    regex: re.Pattern[str]
    extent: str = "end"
    # every match contains one of these strings (() = none known): see _required_text
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """Compiled cleaning rules (see ``resources/cleaning_rules.yaml`` for their meaning)."""

    cut: tuple[_Rule, ...]
    line: tuple[_Rule, ...]
    inline: tuple[_Rule, ...]
    title: tuple[_Rule, ...]
    repeated_name: str
    teaser_name: str
    max_words: int
    # All line rules (head) and the where-any ones, each as one alternation, so a
    # paragraph costs one regex call; group "_rN" says which rule matched.
    line_head: re.Pattern[str]
    line_any: re.Pattern[str]
    line_any_rules: tuple[_Rule, ...]
    cut_all: re.Pattern[str]
    glued: _Glued | None = None
    # the inline rules each place applies, in file order: before the first body paragraph
    # (where any or head), after it (any), and on the first body paragraph (lead)
    inline_head: tuple[_Rule, ...] = ()
    inline_body: tuple[_Rule, ...] = ()
    inline_lead: tuple[_Rule, ...] = ()


def _union(rules: tuple[_Rule, ...]) -> re.Pattern[str]:
    if not rules:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?P<_r{i}>{r.regex.pattern})" for i, r in enumerate(rules)), re.S)


def _required_text(regex: re.Pattern[str]) -> tuple[str, ...]:
    """Strings of which every match of ``regex`` contains one; () when none is known.

    A rule whose strings are all absent from a paragraph cannot match there, so a
    substring test (C speed) replaces the search: the search of a pattern that starts
    with a class ("[Gg]o to") steps through every character. Read from re's own parse
    tree (``re._parser``, private but stable since Python 3.11; anything unexpected gives
    (), i.e. no test): per top-level alternative, the longest run of literal characters
    outside optional parts, lookarounds, alternations and case-insensitive parts.
    """
    try:
        from re import _constants as c
        from re import _parser

        tree = _parser.parse(regex.pattern, regex.flags)
    except Exception:  # a parser of another Python version: no test, same results
        return ()
    ignorecase = c.SRE_FLAG_IGNORECASE

    def longest(items: Any, icase: bool) -> str:
        best, run = "", ""
        for op, av in items:
            if op is c.LITERAL and not icase:
                run += chr(av)
                continue
            best, run = max(best, run, key=len), ""
            if op is c.SUBPATTERN:
                inner = (icase or bool(av[1] & ignorecase)) and not av[2] & ignorecase
                best = max(best, longest(av[3], inner), key=len)
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
                best = max(best, longest(av[2], icase), key=len)
            elif op is c.ATOMIC_GROUP:
                best = max(best, longest(av, icase), key=len)
        return max(best, run, key=len)

    icase = bool(tree.state.flags & ignorecase)
    items = list(tree)
    alternatives = items[0][1][1] if len(items) == 1 and items[0][0] is c.BRANCH else [items]
    needs = tuple(longest(a, icase) for a in alternatives)
    return () if not all(needs) else needs


def _compile(spec: dict[str, Any], defines: dict[str, str], uid: int) -> _Rule:
    pats = []
    for p in spec["patterns"]:
        for k, v in defines.items():
            p = p.replace(f"<<{k}>>", v)
        pats.append(p)
    # One alternation per rule (one regex call per paragraph); flags like (?i) are
    # scoped per pattern, and group names get a "__k" suffix since re forbids repeats.
    scoped = [
        re.sub(r"\(\?P<(\w+)>", rf"(?P<\1__{uid}_{k}>", re.sub(r"^\(\?([aiLmsux]+)\)(.*)$", r"(?\1:\2)", p, flags=re.S))
        for k, p in enumerate(pats)
    ]
    body = "|".join(f"(?:{p})" for p in scoped)
    try:
        regex = re.compile(body, re.S)
    except re.error as exc:
        raise InputError(f"rule {spec['name']!r} has a bad pattern: {exc}", source=str(RULES_FILE)) from None
    return _Rule(spec["name"], spec.get("where", "any"), regex, spec.get("extent", "end"), _required_text(regex))


@dataclass(frozen=True)
class _Glued:
    """Compiled repairs of spaces lost at markup boundaries (``glued`` in the rules YAML)."""

    name: str
    titles: frozenset[str]
    names: frozenset[str]
    common_words: frozenset[str]


# the character before a lowercase/punctuation-to-capital junction ("tKim", ",Kim", ".The"; not
# "U.S.": a capital then a lower-case letter); which junctions are lost spaces is decided in code
# (a title before it, a letter or digit before a comma, a word of 2+ letters not after a period
# before a full stop), so re scans one class.
_JUNCTION = re.compile(r"[a-z,;:.!?](?=[A-Z][a-z])")
# Tests for whether a text needs a repair at all, led by the capital: re's search jumps to where
# a leading class matches, and capitals are rare where lowercase letters are everywhere (3x
# faster). _JUNCTION_AT matches one position after each _JUNCTION match: the cheap test that
# lets a clean document skip every repair step. _GLUED_CAPITAL (a lowercase letter or
# punctuation, then a capital) holds wherever _JUNCTION or _WORD_THEN_NAME matches: a
# paragraph without it needs neither repair.
_JUNCTION_AT = re.compile(r"[A-Z](?<=[a-z,;:.!?][A-Z])(?=[a-z])")
_GLUED_CAPITAL = re.compile(r"[A-Z](?<=[a-z,;:.!?][A-Z])")
_WORD_BEFORE = re.compile(r"[A-Za-z]+$")
_URLISH = re.compile(r"/|@|#|www\.|\.(?:com|org|net|gov|edu|io|html?)\b", re.I)
# capitalised words (2-4) followed by no letter: a name as the document spells it (also right
# after a glued lowercase letter: "ChairmanLeo Park" teaches "Leo Park")
# (the capital first and the lookbehind after it, so re skips ahead to capitals: 3x faster)
_SPACED_NAME = re.compile(r"[A-Z](?<![A-Z\d_'’-][A-Z])[a-z]+(?: [A-Z][a-z]+){1,3}(?![\w'’-])")
# signs of a scrape that glued names: a lowercase-uppercase join inside a multi-word capitalised run
# ("PresidentKim Il", "ofKim Jong") or punctuation glued to a capital; only then are names repaired
_NAME_SIGNAL = re.compile(r"[A-Z](?<=[a-z,;:.][A-Z])[a-z]* [A-Z][a-z]")  # capital-led, as _JUNCTION_AT
_NAME_RUN = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+){1,3}")
# a lowercase word glued to a capitalised word that starts a multi-word name: "ofKim Jong"
_WORD_THEN_NAME = re.compile(r"(?<![\w'’-])([a-z]{2,})(?=[A-Z][a-z]* [A-Z])")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")


# a capitalised token after a space, running on in lowercase letters (capital-led, as above): what
# the known-name repair looks at when it starts with the last word of a known name (_starts_name);
# no token starts inside another, so the tokens kept are those one regex with the names would find
_NAME_TOKEN = re.compile(r"[A-Z](?<= [A-Z])[a-z]*[a-z](?![a-z\d_'’-])")


def _name_prefixes(last_words: set[str]) -> dict[str, tuple[str, ...]]:
    """The last words of a document's known names by their first two characters, for :func:`_starts_name`.

    A dict and a loop, not a regex alternation of the names: a regex built for one document
    costs about 0.5 ms to compile (re's parser is Python), a quarter of cleaning the document.
    Words shorter than two characters are under every key and under "" (any other start).
    """
    short = tuple(sorted(w for w in last_words if len(w) < 2))
    out: dict[str, tuple[str, ...]] = {"": short}
    for w in sorted(last_words):
        if len(w) >= 2:
            out[w[:2]] = out.get(w[:2], short) + (w,)
    return out


def _starts_name(text: str, i: int, prefixes: dict[str, tuple[str, ...]]) -> bool:
    """Whether the last word of a known name starts at ``i`` and runs on into a letter: "Unsaid", "SungUniversity"."""
    for w in prefixes.get(text[i:i + 2], prefixes[""]):
        if text.startswith(w, i):
            k = i + len(w)
            c = text[k:k + 1]
            if "a" <= c <= "z" or ("A" <= c <= "Z" and "a" <= text[k + 1:k + 2] <= "z"):
                return True
    return False


def _compile_glued(spec: dict[str, Any]) -> _Glued:
    titles: set[str] = set()
    src = spec.get("titles_from")
    if src:
        fname, _, key = src.partition("#")
        titles |= {str(t).rstrip(".") for t in yaml.safe_load((RESOURCES / fname).read_text(encoding="utf-8"))[key]}
    titles |= {str(t) for t in spec.get("extra_titles") or []}
    skip = {str(t) for t in spec.get("not_titles") or []}
    keep = {t.capitalize() for t in titles if t.isalpha() and len(t) >= int(spec.get("min_title", 4)) and t not in skip}
    return _Glued(spec.get("name", "glued_space"), frozenset(keep), frozenset(spec.get("known_names") or []),
                  frozenset(str(w) for w in spec.get("common_words") or []))


@lru_cache(maxsize=8)
def load_rules(path: str | None = None) -> Rules:
    """Read and compile the cleaning rules once (cached).

    Args:
        path: A rules YAML file; None = the shipped ``cleaning_rules.yaml``.
    """
    src = Path(path) if path else RULES_FILE
    spec = yaml.safe_load(src.read_text(encoding="utf-8"))
    d = spec.get("defines", {})
    rep = spec.get("repeated", {})
    uid = iter(range(10**6))
    compiled = {kind: tuple(_compile(r, d, next(uid)) for r in spec.get(kind) or []) for kind in ("cut", "line", "inline", "title")}
    line = compiled["line"]
    line_any = tuple(r for r in line if r.where != "head")
    return Rules(
        **compiled,
        repeated_name=rep.get("name", "repeated_line"),
        teaser_name=rep.get("teaser_name", "repeated_teaser"),
        max_words=int(rep.get("max_words", 20)),
        line_head=_union(line),
        line_any=_union(line_any),
        line_any_rules=line_any,
        cut_all=_union(compiled["cut"]),
        glued=_compile_glued(spec["glued"]) if spec.get("glued") else None,
        inline_head=tuple(r for r in compiled["inline"] if r.where in ("any", "head")),
        inline_body=tuple(r for r in compiled["inline"] if r.where == "any"),
        inline_lead=tuple(r for r in compiled["inline"] if r.where == "lead"),
    )


# ---------------------------------------------------------------------------
# HTML


# Known element names only, so prose in angle brackets ("<Obama at summit:>") is not taken for markup.
_TAG = re.compile(
    r"</?(?:a|abbr|b|blockquote|body|br|button|caption|cite|code|dd|div|dl|dt|em|figcaption|figure|font|footer|form|"
    r"h[1-6]|head|header|hr|html|i|iframe|img|input|label|li|link|meta|nav|noscript|ol|p|pre|q|s|script|section|"
    r"small|source|span|strong|style|sub|sup|table|tbody|td|th|thead|time|title|tr|u|ul|video)\b[^<>]*>|<!--.*?-->",
    re.S | re.I,
)
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 tr table blockquote section article header footer "
    "figure figcaption nav aside pre hr dd dt dl main form".split()
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})


class _HTMLText(HTMLParser):
    """Text of an HTML fragment with block elements as paragraph breaks (stdlib parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.markup: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.markup.append(self.get_starttag_text() or f"<{tag}>")
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.markup.append(self.get_starttag_text() or f"<{tag}/>")
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        self.markup.append(f"</{tag}>")
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        (self.markup if self._skip else self.parts).append(data)

    def handle_comment(self, data: str) -> None:
        self.markup.append(f"<!--{data}-->")


def strip_html(text: str) -> tuple[str, str]:
    """Return (text without markup, the markup removed); entities are decoded."""
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts), "".join(parser.markup)


# ---------------------------------------------------------------------------
# Cleaning


@dataclass
class Cleaned:
    """Result of :func:`clean_text`.

    Attributes:
        title: The title (given, or the first line of the text), or None.
        text: The cleaned body, one paragraph per line, paragraphs separated by a blank line.
        removed: What cleaning removed, in document order: ``{"rule", "text"}``; repairs
            that only insert a space (``glued_space``) add ``"to"``, the repaired span.
        flags: Repairs made: ``html_stripped``, ``no_title``.
        meta: Metadata captured by rules (dateline, dateline_place, dateline_agency, section, stamp).
        n_paragraphs: Paragraphs in ``text``.
    """

    title: str | None
    text: str
    removed: list[dict[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    n_paragraphs: int = 0


_WS = re.compile(r"\s+")
_ALNUM = re.compile(r"\w")
_TRUNCATED = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\])$")
_END_PUNCT = re.compile(r"[.!?…][\"'”’)\]]*$")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _norm(s: str) -> str:
    return _WS.sub(" ", s.translate(_QUOTES)).strip().casefold()


def _headline_like(p: str, max_words: int) -> bool:
    return len(p.split()) <= max_words and not _END_PUNCT.search(p)


def _capture(m: re.Match[str], meta: dict[str, str]) -> None:
    """Keep the named groups of a rule match as metadata (first value wins)."""
    for key, val in m.groupdict().items():
        if key.startswith("_r"):
            continue
        name = key.split("__", 1)[0]
        if val and val.strip() and name not in meta:
            meta[name] = val.strip()


def _clean_title(title: str, rules: Rules, removed: list, meta: dict) -> str:
    for r in rules.title:
        m = r.regex.search(title)
        if m and m.start() > 0:
            removed.append({"rule": r.name, "text": m.group(0).strip()})
            _capture(m, meta)
            title = title[: m.start()] + title[m.end():]
    return title.strip()


def _line_rule(p: str, rules: Rules, head: bool) -> tuple[_Rule, re.Match[str]] | None:
    m = (rules.line_head if head else rules.line_any).fullmatch(p)
    if m is None:
        return None
    return (rules.line if head else rules.line_any_rules)[int(m.lastgroup[2:])], m


def _inline(p: str, rules: tuple[_Rule, ...], log: list, meta: dict) -> str:
    """Remove the spans the given inline rules match; log (rule, text)."""
    for r in rules:
        needs = r.needs
        if needs and (needs[0] not in p if len(needs) == 1 else not any(n in p for n in needs)):
            continue
        pos = 0
        while (m := r.regex.search(p, pos)) is not None:
            if m.end() == m.start():
                break
            log.append((r.name, m.group(0).strip()))
            _capture(m, meta)
            left, right = p[: m.start()].rstrip(" \t"), p[m.end():].lstrip(" \t")
            p = left + (" " if left and right else "") + right
            pos = len(left)
            if r.where == "lead":
                break
    return p


_SUFFIXES = ("ing", "ed", "es", "ly", "s", "d")


def _stem(w: str) -> str:
    """Crude stem (strip one inflection), enough to see "visited" and "visits" as one word."""
    for x in _SUFFIXES:
        if w.endswith(x) and len(w) - len(x) >= 3:
            return w[: -len(x)]
    return w


def _is_word(w: str, words: set[str]) -> bool:
    """A word of the document (or a common word), or an inflection of one ("visited" <- "visits")."""
    if len(w) < 2:
        return False
    if w in words:
        return True
    st = _stem(w)
    return any(st + x in words for x in ("", *_SUFFIXES))


def _split_at(before: str, tok: str, names: set[str], last_words: set[str], words: set[str]) -> int:
    """Where to split "Unsaid" after "... Kim Jong ": the longest known name ending in tok[:k] whose tail is a word; 0 = none."""
    # a lowercase word may still be glued before the name ("toKim Jong Unand"): look past it
    parts = [w.lstrip("abcdefghijklmnopqrstuvwxyz") for w in before.split(" ")[-4:-1]]
    for k in range(len(tok) - 2, 0, -1):
        if tok[:k] in last_words and _is_word(tok[k:], words):
            for j in range(len(parts)):
                if " ".join(parts[j:]) + " " + tok[:k] in names:
                    return k
    return 0


def _repair_glued(p: str, g: _Glued, names: set[str] | None, last_words: set[str], words: set[str], log: list,
                  prefixes: dict[str, tuple[str, ...]]) -> str:
    """Insert spaces lost at tag boundaries in one paragraph; log (rule, glued, repaired).

    ``prefixes``: ``_name_prefixes(last_words)``, built once per document.
    """
    def sub(regex: re.Pattern[str], fix: Any, text: str) -> str:
        out, pos = [], 0
        for m in regex.finditer(text):
            new = fix(m, text)
            if new is None:
                continue
            out.append(text[pos:m.start()])
            out.append(new)
            # log the whole whitespace-delimited span, so "Then,Kim" reads as such
            a = text.rfind(" ", 0, m.start()) + 1
            b = len(text) if (b := text.find(" ", m.end())) < 0 else b
            log.append((g.name, text[a:b], text[a:m.start()] + new + text[m.end():b]))
            pos = m.end()
        return "".join(out) + text[pos:] if out else text

    def token(text: str, i: int) -> str:
        a, b = text.rfind(" ", 0, i) + 1, text.find(" ", i)
        return text[a:] if b < 0 else text[a:b]

    def name_glued(m: re.Match[str], text: str) -> str | None:
        if not _starts_name(text, m.start(), prefixes):
            return None
        tok = m.group(0)
        before = text[max(0, m.start() - 80):m.start()]
        if text[m.end():m.end() + 1].isupper():  # "SungUniversity": a known name glued to a capitalised word
            parts = [w.lstrip("abcdefghijklmnopqrstuvwxyz") for w in before.split(" ")[-4:-1]]
            if tok in last_words and any(" ".join(parts[j:]) + " " + tok in names for j in range(len(parts))):
                return tok + " "
        k = _split_at(before, tok, names, last_words, words)
        return tok[:k] + " " + tok[k:] if k else None

    def word_name(m: re.Match[str], text: str) -> str | None:
        if m.group(1) not in words:
            return None
        run = _NAME_RUN.match(text, m.end())
        if run is None:
            return None
        parts = run.group(0).split(" ")
        for j in range(len(parts), 1, -1):
            n = " ".join(parts[:j])
            if n in names and not text[m.end() + len(n):m.end() + len(n) + 1].islower():
                return m.group(1) + " "
        return None

    def junction(m: re.Match[str], text: str) -> str | None:
        c, i = m.group(0), m.start()
        w = _WORD_BEFORE.search(text, max(0, i - 30), i + (c.isalpha()))
        prev = text[w.start() - 1:w.start()] if w else ""
        if c.isalpha():  # a title glued to a name: "PresidentKim" (not "McDonald", "iPhone")
            ok = w is not None and w.group(0) in g.titles and not prev.isalnum()
        elif c in ",;:":  # after a letter, digit or closing mark ("1,000" has no capital after)
            ok = i > 0 and (text[i - 1].isalnum() or text[i - 1] in ")]\"”’")
        else:  # a sentence end after a word of 2+ letters not after a period ("U.S.The", "e.g.The" stay)
            ok = w is not None and w.end() == i and len(w.group(0)) >= 2 and w.group(0)[-2:].islower() \
                and not (prev == "." or prev.isalnum() or prev == "_")
        if not ok or _URLISH.search(token(text, i)):  # URLs, e-mail, @handles, #hashtags stay
            return None
        return c + " "

    p = sub(_JUNCTION, junction, p)
    if names is None:
        return p
    p = sub(_NAME_TOKEN, name_glued, p)
    return sub(_WORD_THEN_NAME, word_name, p)


def clean_text(raw: str, *, title: str | None = None, rules_path: str | None = None) -> Cleaned:
    """Separate title and body and remove boilerplate by the named rules.

    Args:
        raw: The document as scraped (a title line first when ``title`` is None).
        title: The known title; then a first line repeating it is removed.
        rules_path: Another rules YAML file (default: the shipped rules).

    Returns:
        The cleaned document; ``removed`` lists every removal with its rule.
    """
    rules = load_rules(rules_path)
    flags: list[str] = []
    meta: dict[str, str] = {}
    # (paragraph index, rule, text): sorted at the end so the log reads in document order
    log: list[tuple[int, str, str]] = []
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text and _TAG.search(text):
        text, markup = strip_html(text)
        flags.append("html_stripped")
        log.append((-1, "html_markup", markup))
    paras = [_WS.sub(" ", text[s:e]) if "\n" in text[s:e] else text[s:e] for s, e in segment.paragraphs(text)]

    given_title = title.strip() if isinstance(title, str) and title.strip() else None
    out_title: str | None = None
    title_removed: list[dict[str, str]] = []
    if given_title:
        out_title = _clean_title(given_title, rules, title_removed, meta)
    title_norm = _norm(out_title) if out_title else None

    kept: list[tuple[int, str]] = []
    head = True  # before the first body paragraph (a title line does not end it)
    title_pending = given_title is None
    title_check = given_title is not None
    lead_done = False
    trailer: str | None = None  # a cut rule whose trailer runs to the end
    teaser: str | None = None  # a cut rule whose list of teaser links is running
    for i, p in enumerate(paras):
        s0 = p.strip()
        if trailer is None:
            cm = rules.cut_all.fullmatch(s0)
            if cm is not None:
                cut = rules.cut[int(cm.lastgroup[2:])]
                log.append((i, cut.name, s0))
                trailer, teaser = (cut.name, None) if cut.extent == "end" else (None, cut.name)
                continue
        if trailer is not None:
            # name each trailer paragraph by the most specific rule that fits
            hit = _line_rule(s0, rules, False)
            log.append((i, hit[0].name if hit else trailer, s0))
            continue
        if teaser is not None:
            if _headline_like(s0, rules.max_words) or _TRUNCATED.search(s0):
                log.append((i, teaser, s0))
                continue
            teaser = None
        # a paragraph that is boilerplate as a whole is logged whole; else inline spans go first
        hit = _line_rule(s0, rules, head)
        sub: list[tuple[str, str]] = []
        if hit is None:
            p = _inline(p, rules.inline_head if head else rules.inline_body, sub, meta)
            if len(sub) > 1:
                sub.sort(key=lambda t: s0.find(t[1]))
        stripped = p.strip()
        if hit is None and sub and stripped:
            hit = _line_rule(stripped, rules, head)
        if hit or not _ALNUM.search(stripped):
            if sub:
                log.extend((i, name, t) for name, t in sub)
            if hit:
                log.append((i, hit[0].name, stripped))
                _capture(hit[1], meta)
            elif stripped:
                log.append((i, sub[-1][0] if sub else "separator", stripped))
            continue
        if sub:
            log.extend((i, name, t) for name, t in sub)
        if title_pending:
            title_pending = False
            rest = any(_ALNUM.search(q) for q in paras[i + 1:])
            if rest and len(stripped.split()) <= 30 and not stripped.endswith("."):
                out_title = _clean_title(stripped, rules, title_removed, meta)
                continue
            flags.append("no_title")
        if title_check:
            title_check = False
            if title_norm is not None and len(stripped) < 2 * len(title_norm) + 40:
                if _norm(_clean_title(stripped, rules, [], meta)) == title_norm:
                    log.append((i, "title_repeated", stripped))
                    continue
        head = False
        if not lead_done:
            lead_done = True
            lead: list[tuple[str, str]] = []
            stripped = _inline(stripped, rules.inline_lead, lead, meta).strip()
            log.extend((i, name, t) for name, t in lead)
        kept.append((i, stripped))

    # Paragraphs repeated back to back: a headline-like pair is a teaser link shown twice
    # (both copies go); a repeated sentence keeps its first copy. Copies far apart are
    # kept: refrains, transcript replies ("Yeah.") and timeline headings are the article's.
    body: list[tuple[int, str]] = []
    for k, (i, p) in enumerate(kept):
        prev = kept[k - 1][1] if k else None
        nxt = kept[k + 1][1] if k + 1 < len(kept) else None
        if p == prev or p == nxt:
            if _headline_like(p, rules.max_words):
                log.append((i, rules.teaser_name, p))
                continue
            if p == prev:
                log.append((i, rules.repeated_name, p))
                continue
        body.append((i, p))

    # Spaces lost around tagged names: names and words are learned from the whole body
    repairs: list[tuple[int, str, str, str]] = []
    g = rules.glued
    if g is not None and body:
        joined = "\n".join(p for _, p in body)
        if _JUNCTION_AT.search(joined):
            names: set[str] | None = None
            words: set[str] = set()
            last_words: set[str] = set()
            prefixes: dict[str, tuple[str, ...]] = {"": ()}
            if _NAME_SIGNAL.search(joined):
                names = set(g.names) | set(_SPACED_NAME.findall(joined))
                last_words = {n.rsplit(" ", 1)[-1] for n in names}
                words = set(_LOWER_WORD.findall(joined)) | g.common_words
                prefixes = _name_prefixes(last_words)
            for k, (i, p) in enumerate(body):
                # a paragraph where no repair has a candidate is left as it is: one or two scans
                # instead of three substitutions (most paragraphs of a document that needs any repair)
                if not _GLUED_CAPITAL.search(p) and (
                        names is None or not any(_starts_name(p, m.start(), prefixes) for m in _NAME_TOKEN.finditer(p))):
                    continue
                fixes: list[tuple[str, str, str]] = []
                body[k] = (i, _repair_glued(p, g, names, last_words, words, fixes, prefixes))
                repairs.extend((i, *f) for f in fixes)

    entries = [(i, {"rule": r, "text": t}) for i, r, t in log] + [(i, {"rule": r, "text": t, "to": to}) for i, r, t, to in repairs]
    entries.sort(key=lambda e: e[0])
    removed = title_removed + [e for _, e in entries]
    text_out = "\n\n".join(p for _, p in body)
    return Cleaned(title=out_title, text=text_out, removed=removed, flags=flags, meta=meta, n_paragraphs=len(body))


# ---------------------------------------------------------------------------
# Reading


class Chunk(NamedTuple):
    """One step of :func:`iter_documents`: analysed documents and rejections.

    ``len(docs) + len(rejected)`` is the number of input documents the chunk covers,
    so a pipeline can check that documents in = analysed + rejected.
    """

    docs: list[dict[str, Any]]
    rejected: list[dict[str, str]]


_SURROGATE = re.compile(r"[\udc80-\udcff]")
_FORMATS = ".txt folder, .jsonl, .jsonl.gz, .csv or .parquet"


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _fix_surrogates(v: Any) -> tuple[Any, bool]:
    """Replace undecodable bytes (kept as surrogate escapes) by U+FFFD."""
    if isinstance(v, str) and _SURROGATE.search(v):
        return _SURROGATE.sub("\ufffd", v), True
    return v, False


_SOURCE_AT = re.compile(r"(.*):(row )?(\d+)")


class _Builder:
    """Cleans records into documents and keeps the state for duplicate checks.

    The serial part of reading is split from cleaning, so a pipeline can clean on its
    workers: :meth:`check` (ids, empty texts; before cleaning) and :meth:`dedupe`
    (duplicate texts; after cleaning, in corpus order) keep the state, while
    :func:`build_document` is a pure function of one record.
    """

    def __init__(self, rules_path: str | None = None, count_sentences: bool = True, *,
                 state: str | Path | None = None) -> None:
        self.rules_path = rules_path
        self.count_sentences = count_sentences
        # id -> where it was first seen, packed: (prefix number, "row " or not, line) in one int
        # for the usual "FILE:LINE" sources, so a million ids do not hold a million path strings
        self.ids: dict[str, int | str] | _DiskMap = {}
        self._prefixes: dict[str, int] = {}
        self._prefix_list: list[str] = []
        # digest of the cleaned body -> (first id, its outlet): 16 bytes a document, not the text
        self.texts: dict[bytes, tuple[str, str]] | _DiskMap = {}
        self._db: Any = None
        if state is not None:  # the same exact sets on disk: memory stays flat at any corpus size
            self._db = _state_db(Path(state))
            self.ids = _DiskMap(self._db, "ids", ("id",), ("first",))
            self.texts = _DiskMap(self._db, "texts", ("digest",), ("id", "outlet"))

    def close(self) -> None:
        """Close and delete the on-disk state, if any."""
        if self._db is not None:
            path = self._db.execute("PRAGMA database_list").fetchone()[2]
            self._db.close()
            self._db = None
            Path(path).unlink(missing_ok=True)

    def _pack(self, source: str) -> int | str:
        m = _SOURCE_AT.fullmatch(source)
        if m is None or int(m.group(3)) >= 1 << 40:
            return source
        k = self._prefixes.get(m.group(1))
        if k is None:
            k = self._prefixes[m.group(1)] = len(self._prefix_list)
            self._prefix_list.append(m.group(1))
        return (k << 41) | (bool(m.group(2)) << 40) | int(m.group(3))

    def _unpack(self, code: int | str) -> str:
        if isinstance(code, str):
            return code
        row = "row " if code >> 40 & 1 else ""
        return f"{self._prefix_list[code >> 41]}:{row}{code & ((1 << 40) - 1)}"

    def check(self, rec: dict[str, Any], source: str) -> dict[str, str] | None:
        """The rejection of a record that needs no cleaning to reject, else None (the id is then taken)."""
        if "_reason" in rec:
            return {"id": rec["id"], "source": source, "reason": rec["_reason"]}
        doc_id = rec.get("id")
        doc_id = None if _blank(doc_id) else str(doc_id).strip()
        if doc_id is None:
            return {"id": "", "source": source, "reason": "missing id"}
        raw = rec.get("text")
        if not isinstance(raw, str) or not raw.strip():
            return {"id": doc_id, "source": source, "reason": "empty text" if _blank(raw) else f"text is not a string ({type(raw).__name__})"}
        first = self.ids.get(doc_id)
        if first is not None:
            return {"id": doc_id, "source": source, "reason": f"duplicate id (first in {self._unpack(first)})"}
        # every later outcome (document, or rejected after cleaning) takes the id
        self.ids[doc_id] = self._pack(source)
        return None

    def dedupe(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` (flagged when its text is another outlet's), or its rejection as a same-outlet copy."""
        verdict = self.seen(doc["id"], doc["outlet"], text_digest(doc["text"]))
        if verdict is None:
            return doc
        if verdict[1]:
            return {"id": doc["id"], "source": doc["source"], "reason": f"duplicate text of {verdict[0]} (same outlet)"}
        # the same copy at two outlets is syndication: a real fact for comparisons, so kept
        doc["flags"].append(f"duplicate_text_of:{verdict[0]}")
        return doc

    def seen(self, doc_id: str, outlet: str, digest: bytes) -> tuple[str, bool] | None:
        """None for a first text (then remembered), else (first id, same outlet?)."""
        first = self.texts.get(digest)
        if first is None:
            self.texts[digest] = (doc_id, sys.intern(outlet) if isinstance(self.texts, dict) else outlet)
            return None
        return first[0], first[1] == outlet

    def build(self, rec: dict[str, Any], source: str, flags: list[str]) -> dict[str, Any] | dict[str, str]:
        """Return a document dict, or a rejection dict (id, source, reason)."""
        rejected = self.check(rec, source)
        if rejected is not None:
            return rejected
        doc = build_document(rec, source, flags, rules_path=self.rules_path, count_sentences=self.count_sentences)
        return doc if "reason" in doc else self.dedupe(doc)


def _state_db(path: Path) -> Any:
    """A fresh SQLite file for a reader's duplicate-check state (a leftover of a crashed run is replaced)."""
    import sqlite3

    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    # scratch data rebuilt by every run: no journal or fsync; a bounded page cache (8 MiB)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8192;"
                     "CREATE TABLE ids (id BLOB PRIMARY KEY, first) WITHOUT ROWID;"
                     "CREATE TABLE texts (digest BLOB PRIMARY KEY, id BLOB, outlet BLOB) WITHOUT ROWID;"
                     "BEGIN;")
    return db


class _DiskMap:
    """The ``get``/``[key] = value``/``len`` of a dict, in a SQLite table: exact, and memory-flat.

    The reader's duplicate checks must remember every id and text digest of the corpus
    (about 200 bytes a document in dicts, 200 MB at a million documents); on disk they
    cost a B-tree lookup and insert (microseconds, against milliseconds of analysis).
    Written here because the standard library's ``dbm``/``shelve`` pickle values and
    have no portable fast backend; ``sqlite3`` is in every Python.
    """

    _COMMIT_EVERY = 50_000  # rows per transaction: dirty pages beyond the cache spill to the file anyway

    def __init__(self, db: Any, table: str, key: tuple[str, ...], values: tuple[str, ...]) -> None:
        self.db, self.single = db, len(values) == 1
        self._get = f"SELECT {', '.join(values)} FROM {table} WHERE {key[0]} = ?"
        self._put = f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * (1 + len(values)))})"
        self._len = f"SELECT count(*) FROM {table}"
        self._pending = 0

    @staticmethod
    def _enc(v: Any) -> Any:  # ids may hold lone surrogates (JSON "\\udc80"), which SQLite text rejects
        return v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v

    @staticmethod
    def _dec(v: Any) -> Any:  # every stored str comes back as a str; no value is bytes
        return v.decode("utf-8", "surrogatepass") if isinstance(v, bytes) else v

    def get(self, key: Any, default: Any = None) -> Any:
        row = self.db.execute(self._get, (self._enc(key),)).fetchone()
        if row is None:
            return default
        return self._dec(row[0]) if self.single else tuple(map(self._dec, row))

    def __setitem__(self, key: Any, value: Any) -> None:
        values = (value,) if self.single else value
        self.db.execute(self._put, (self._enc(key), *map(self._enc, values)))
        self._pending += 1
        if self._pending >= self._COMMIT_EVERY:
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")
            self._pending = 0

    def __len__(self) -> int:
        return self.db.execute(self._len).fetchone()[0]


def text_digest(text: str) -> bytes:
    """16-byte digest of a cleaned body: what duplicate-text detection compares."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def build_document(rec: dict[str, Any], source: str, flags: list[str] | tuple[str, ...] = (), *,
                   rules_path: str | None = None, count_sentences: bool = True) -> dict[str, Any]:
    """Clean one record (``id`` and a non-empty ``text`` already checked) into a document.

    A pure function of the record, so it can run anywhere (e.g. on a Dask worker);
    duplicate checks need the whole corpus and are :func:`iter_documents`' job.

    Args:
        rec: The record (``id``, ``text``, optional ``title``, ``outlet``, ``date``, metadata).
        source: Where it comes from (file and line).
        flags: Repairs made while reading (e.g. ``invalid_utf8_replaced``).
        rules_path: Another cleaning rules file.
        count_sentences: Fill ``n_sentences`` (a sentence split); False leaves it None.

    Returns:
        A document dict (the :data:`COLUMNS` plus metadata), or a rejection
        ``{"id", "source", "reason"}`` when cleaning leaves no body text.
    """
    doc_id, raw = str(rec["id"]).strip(), rec["text"]
    title = rec.get("title")
    c = clean_text(raw, title=None if _blank(title) else str(title), rules_path=rules_path)
    if not c.text.strip():
        rules = ", ".join(sorted({r["rule"] for r in c.removed})) or "none"
        return {"id": doc_id, "source": source, "reason": f"no body text left after cleaning (rules: {rules})"}
    # Punkt is most of the cost of a document: a pipeline that splits sentences anyway can skip it here
    sents = segment.sentences(c.text) if count_sentences else None
    doc = {
        "id": doc_id,
        "outlet": UNKNOWN_OUTLET if _blank(rec.get("outlet")) else str(rec["outlet"]).strip(),
        "date": None if _blank(rec.get("date")) else str(rec["date"]).strip(),
        "title": c.title,
        "text": c.text,
        "raw_text": raw,
        "removed": c.removed,
        "flags": list(flags) + c.flags,
        "n_paragraphs": c.n_paragraphs,
        "n_sentences": None if sents is None else len(sents),
        "n_words": len(c.text.split()),
        **{k: c.meta.get(k) for k in CAPTURED},
        "source": source,
    }
    for k, v in rec.items():
        if k not in doc and k not in ("text",):
            doc[k] = None if _blank(v) else v
    return doc


def _metadata_table(path: Path) -> dict[str, dict[str, Any]]:
    """Read a metadata CSV into {id: row}; every column is kept as text."""
    if not path.exists():
        raise InputError("metadata table not found", source=str(path))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read metadata table ({exc.__class__.__name__}: {exc}); expected a UTF-8 CSV with an 'id' column", source=str(path)) from None
    if "id" not in df.columns:
        raise InputError(f"metadata table has no 'id' column (columns: {', '.join(df.columns)})", source=str(path))
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise InputError(f"duplicate id {dup.iloc[0]!r} in metadata table; ids must be unique", source=str(path))
    return {row["id"]: {k: (None if v == "" else v) for k, v in row.items()} for row in df.to_dict("records")}


def _find_metadata(folder: Path, metadata: str | Path | None) -> Path | None:
    if metadata is not None:
        return Path(metadata)
    for cand in (folder / "metadata.csv", folder.parent / "metadata.csv"):
        if cand.exists():
            return cand
    return None


def _decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 text (BOM dropped); undecodable bytes become U+FFFD and the flag is set.

    Replacing rather than rejecting keeps a document whose scrape garbled one
    character; the ``invalid_utf8_replaced`` flag lets a user find and fix it.
    """
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="replace"), True


def _folder_records(folder: Path, meta_path: Path | None,
                    table: dict[str, dict[str, Any]] | None) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
    by_file: dict[str, dict[str, Any]] = {}
    if table is not None:
        for row in table.values():
            name = row.get("file") or f"{row['id']}.txt"
            by_file[name] = row
        present = {p.name for p in files}
        for name, row in by_file.items():
            if name not in present:
                yield {"id": row["id"], "text": None, "_reason": f"metadata row without a file: {folder / name} not found"}, str(meta_path), []
    for path in files:
        data = path.read_bytes()
        row = by_file.get(path.name)
        flags: list[str] = []
        if row is None:
            row = {"id": path.stem}
            flags.append("no_metadata" if table is None else "no_metadata_row")
        elif row.get("sha256") and hashlib.sha256(data).hexdigest() != row["sha256"].strip().lower():
            raise InputError(
                f"sha256 of {path.name} does not match the metadata table ({row['sha256'][:12]}…); raw files must not be edited: restore the file or fix the table",
                source=str(meta_path), where=row["id"],
            )
        text, bad = _decode(data)
        if bad:
            flags.append("invalid_utf8_replaced")
        rec = {k: v for k, v in row.items() if k != "text"}
        rec["text"] = text
        yield rec, str(path), flags


def _check_columns(cols: list[str], source: str) -> None:
    missing = [c for c in ("id", "text") if c not in cols]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; a corpus file needs at least 'id' and 'text' (found: {', '.join(map(str, cols)) or 'none'})", source=source)


def _with_metadata(records: Iterator[tuple[dict[str, Any], str, list[str]]],
                   table: dict[str, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    for rec, source, flags in records:
        row = table.get(str(rec.get("id")))
        if row is None:
            flags = flags + ["no_metadata_row"]
        else:
            # the record's own values win; the table fills what it lacks
            rec = {**{k: v for k, v in row.items() if k not in ("text", "file")}, **{k: v for k, v in rec.items() if not _blank(v) or k == "text"}}
        yield rec, source, flags


def _chunks_of(records: Iterator[tuple[dict[str, Any], str, list[str]]], chunk_size: int, b: _Builder) -> Iterator[Chunk]:
    docs: list[dict[str, Any]] = []
    rejected: list[dict[str, str]] = []
    for rec, source, flags in records:
        out = b.build(rec, source, flags)
        (docs if "reason" not in out else rejected).append(out)
        if len(docs) + len(rejected) >= chunk_size:
            yield Chunk(docs, rejected)
            docs, rejected = [], []
    if docs or rejected:
        yield Chunk(docs, rejected)


def _jsonl_records(path: str) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    name = "<stdin>" if path == "-" else path
    if path == "-":
        fh = sys.stdin.buffer
    else:
        fh = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
    try:
        first = True
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            text, bad = _decode(line)
            where = f"{name}:{lineno}"
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as exc:
                if first:
                    raise InputError(f"not JSON lines (invalid JSON: {exc.msg} at column {exc.colno}); expected one object per line with 'id' and 'text'", source=name, where=lineno) from None
                yield {"id": f"line {lineno}", "text": None, "_reason": f"invalid JSON ({exc.msg} at column {exc.colno})"}, where, []
                continue
            if not isinstance(rec, dict):
                if first:
                    raise InputError("not JSON lines: each line must be a JSON object with 'id' and 'text'", source=name, where=lineno)
                yield {"id": f"line {lineno}", "text": None, "_reason": "line is not a JSON object"}, where, []
                continue
            if first:
                _check_columns(list(rec), f"{name}:{lineno}")
                first = False
            yield rec, where, (["invalid_utf8_replaced"] if bad else [])
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read ({exc})", source=name) from None
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def _csv_records(path: str, chunk_size: int) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_size,
                             encoding="utf-8", encoding_errors="surrogateescape")
        row_no = 1
        for i, df in enumerate(reader):
            if i == 0:
                _check_columns(list(df.columns), path)
            for rec in df.to_dict("records"):
                row_no += 1
                flags = []
                for k, v in rec.items():
                    v, bad = _fix_surrogates(v)
                    if bad:
                        rec[k] = v
                        if "invalid_utf8_replaced" not in flags:
                            flags.append("invalid_utf8_replaced")
                yield rec, f"{path}:{row_no}", flags
    except pd.errors.EmptyDataError:
        raise InputError("empty CSV file; expected a header with at least 'id' and 'text'", source=path) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"cannot parse CSV ({exc})", source=path) from None


def _parquet_records(path: str, chunk_size: int) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError variants for non-Parquet files
        raise InputError(f"not a readable Parquet file ({exc})", source=path) from None
    _check_columns(pf.schema_arrow.names, path)
    row_no = 0
    for batch in pf.iter_batches(batch_size=chunk_size):
        for rec in batch.to_pylist():
            row_no += 1
            yield rec, f"{path}:row {row_no}", []


def iter_records(path: str | Path | None = None, *, metadata: str | Path | None = None,
                 chunk_size: int = 1000) -> Iterator[tuple[dict[str, Any], str, list[str]]]:
    """The raw records of a corpus, one at a time, read but neither checked nor cleaned.

    What :func:`iter_documents` is built on; a pipeline that cleans elsewhere (on Dask
    workers) reads with this, checks with ``_Builder.check`` and cleans with
    :func:`build_document`.

    Args:
        path, metadata: As :func:`iter_documents`.
        chunk_size: Rows read at a time from CSV and Parquet files.

    Yields:
        ``(record, source, flags)``: the record with metadata filled in, where it comes
        from (file and line), repairs made while reading. A record that cannot be read
        (invalid JSON, a metadata row without a file) has a ``_reason`` key.

    Raises:
        InputError: as :func:`iter_documents`.
    """
    if path is None:
        path, metadata = RAW, (metadata or METADATA)
    p = str(path)
    if p != "-" and not Path(p).exists():
        raise InputError(f"not found; give a {_FORMATS}", source=p)
    if metadata is not None and not Path(metadata).exists():
        raise InputError("metadata table not found", source=str(metadata))
    if p != "-" and Path(p).is_dir():
        meta_path = _find_metadata(Path(p), metadata)
        # read here, not in the generator: a bad table fails at the call
        return _folder_records(Path(p), meta_path, _metadata_table(meta_path) if meta_path else None)
    table = _metadata_table(Path(metadata)) if metadata is not None else None
    low = p.lower()
    if p == "-" or low.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json.gz", ".ndjson.gz")):
        records = _jsonl_records(p)
    elif low.endswith((".csv", ".csv.gz")):
        records = _csv_records(p, chunk_size)
    elif low.endswith(".parquet"):
        records = _parquet_records(p, chunk_size)
    else:
        raise InputError(f"unknown format; give a {_FORMATS}", source=p)
    return records if table is None else _with_metadata(records, table)


def iter_documents(path: str | Path | None = None, *, chunk_size: int = 1000, metadata: str | Path | None = None,
                   rules_path: str | None = None, count_sentences: bool = True) -> Iterator[Chunk]:
    """Read, clean and check a corpus in chunks, without holding it in memory.

    Args:
        path: A folder of ``.txt`` files, a ``.jsonl``/``.jsonl.gz``/``.csv``/``.parquet``
            file, ``-`` for JSON lines on stdin, or None for the seed corpus.
        chunk_size: Input documents per chunk.
        metadata: A metadata CSV (``id`` column; ``file`` for folders). Default for a
            folder: ``FOLDER/metadata.csv`` or ``FOLDER/../metadata.csv``; none is
            accepted (ids from file names, outlet "unknown", flag ``no_metadata``).
            For a file input the table fills fields its records lack.
        rules_path: Another cleaning rules file.
        count_sentences: Fill ``n_sentences`` (Punkt, most of the time per document);
            False leaves it None.

    Yields:
        :class:`Chunk` ``(docs, rejected)``; documents are dicts with the columns of
        :data:`COLUMNS` plus metadata; rejections are ``{"id", "source", "reason"}``.

    Raises:
        InputError: unreadable or unknown format, missing ``id``/``text`` columns,
            a raw file whose sha256 differs from the metadata table.
    """
    # Not a generator itself: bad arguments fail at the call, before any output is opened.
    if chunk_size < 1:
        raise InputError(f"chunk_size must be positive, got {chunk_size}")
    records = iter_records(path, metadata=metadata, chunk_size=chunk_size)
    return _chunks_of(records, chunk_size, _Builder(rules_path, count_sentences))


# ---------------------------------------------------------------------------
# Tables


REJECTED_COLUMNS = ("id", "source", "reason")


def load_corpus(path: str | Path | None = None, *, metadata: str | Path | None = None,
                chunk_size: int = 1000) -> pd.DataFrame:
    """Load and clean a corpus into one row per document.

    Args:
        path: Any input :func:`iter_documents` accepts; None = the seed corpus
            (``data/raw`` with ``data/metadata.csv``, sha256 verified).
        metadata: A metadata CSV (see :func:`iter_documents`).
        chunk_size: Documents read per step.

    Returns:
        Columns :data:`COLUMNS` then the metadata columns, sorted by id.
        ``df.attrs["rejected"]`` holds the rejected documents (id, source, reason).
    """
    docs: list[dict[str, Any]] = []
    rejected: list[dict[str, str]] = []
    for chunk in iter_documents(path, chunk_size=chunk_size, metadata=metadata):
        docs.extend(chunk.docs)
        rejected.extend(chunk.rejected)
    df = pd.DataFrame(docs)
    if df.empty:
        df = pd.DataFrame(columns=list(COLUMNS))
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra].sort_values("id", kind="stable").reset_index(drop=True)
    df.attrs["rejected"] = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    return df


def sentence_table(corpus: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence of the cleaned texts, with offsets into ``text``.

    Args:
        corpus: A table from :func:`load_corpus` (needs ``id``, ``outlet``, ``text``).

    Returns:
        Columns id, outlet, paragraph, sentence (index in the document, from 0),
        start, end, text (``corpus.text[start:end]``).
    """
    rows = []
    for doc_id, outlet, text in zip(corpus["id"], corpus["outlet"], corpus["text"]):
        for k, s in enumerate(segment.sentences(text)):
            rows.append((doc_id, outlet, s.paragraph, k, s.start, s.end, text[s.start:s.end]))
    return pd.DataFrame(rows, columns=["id", "outlet", "paragraph", "sentence", "start", "end", "text"])


def removal_table(corpus: pd.DataFrame) -> pd.DataFrame:
    """One row per removal that cleaning made: id, outlet, rule, text (document order)."""
    rows = [
        (doc_id, outlet, r["rule"], r["text"])
        for doc_id, outlet, removed in zip(corpus["id"], corpus["outlet"], corpus["removed"])
        for r in removed
    ]
    return pd.DataFrame(rows, columns=["id", "outlet", "rule", "text"])


#: Provenance columns of the metadata table (missing ones come out empty).
PROVENANCE = ("id", "outlet", "outlet_type", "date", "date_method", "date_evidence", "sha256")


def provenance_table(corpus: pd.DataFrame) -> pd.DataFrame:
    """Where each document comes from: :data:`PROVENANCE` columns, sha256 cut to 12 hex digits."""
    out = corpus.reindex(columns=list(PROVENANCE))
    out["sha256"] = out["sha256"].astype("string").str[:12]
    return out.sort_values("id", kind="stable").reset_index(drop=True)


def size_table(corpus: pd.DataFrame, *, group_by: str = "outlet") -> pd.DataFrame:
    """Sizes per document: words, paragraphs, sentences, raw and cleaned characters, share removed (%).

    The raw length comes from ``raw_chars`` when the table has it (the pipeline's text
    sample keeps the length, not the raw text), else from ``raw_text``.
    """
    raw = corpus["raw_chars"] if "raw_chars" in corpus.columns else corpus["raw_text"].str.len()
    kept = corpus["text"].str.len()
    return pd.DataFrame({
        "id": corpus["id"], group_by: corpus[group_by], "n_words": corpus["n_words"],
        "n_paragraphs": corpus["n_paragraphs"], "n_sentences": corpus["n_sentences"],
        "raw_chars": raw, "clean_chars": kept, "removed_pct": (100 * (1 - kept / raw)).round(1),
    }).sort_values("id", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Command line


#: Keys of one output line of ``python -m analysis corpus`` (the external contract).
OUTPUT_KEYS = ("id", "outlet", "date", "title", "text", "removed")


def cli_corpus(args: Any) -> int:
    """``python -m analysis corpus --input PATH --output OUT.jsonl [--metadata M] [--rejects R]``.

    Writes one JSON line per analysed document with :data:`OUTPUT_KEYS`: outlet is
    "unknown" when not known (it is a group label), date and title are null.
    Each rejected document is reported on stderr (and in ``--rejects`` as JSON lines).
    """
    from analysis.io import open_output

    n_docs = n_rej = 0
    chunks = iter_documents(args.input, metadata=getattr(args, "metadata", None))
    # read the first chunk before opening any output, so a bad input leaves no empty file
    first = next(chunks, None)
    rej_fh = open(args.rejects, "w", encoding="utf-8") if getattr(args, "rejects", None) else None
    try:
        with open_output(args.output) as out:
            for chunk in itertools.chain([first] if first else [], chunks):
                for d in chunk.docs:
                    out.write(json.dumps({k: d[k] for k in OUTPUT_KEYS}, ensure_ascii=False) + "\n")
                n_docs += len(chunk.docs)
                for r in chunk.rejected:
                    print(f"rejected {r['id']} ({r['source']}): {r['reason']}", file=sys.stderr)
                    if rej_fh:
                        rej_fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                n_rej += len(chunk.rejected)
    finally:
        if rej_fh:
            rej_fh.close()
    print(f"corpus: {n_docs} documents written, {n_rej} rejected", file=sys.stderr)
    return 0
