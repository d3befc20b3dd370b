"""Quotations and reported speech in news text, with who said them.

What it finds: direct quotes (a whole sentence or more in quotation marks), partial
quotes (quoted words inside the author's sentence) and indirect speech ("X said
that ..."), each with its cue (the reporting verb or phrase), the source mention and
the source resolved to the fullest name the article gives it.

Method. A rule-based attributor in the tradition of Pouliquen, Steinberger & Best
(2007, "Automatic detection of quotations in multilingual news"), Krestel, Bergler &
Witte (2008, "Minding the source") and the Gender Gap Tracker's quote extractor
(Asr et al. 2021, PLOS ONE), rebuilt without a dependency parser:

1. quotation marks are paired by a small state machine over straight and curly marks
   (opening/closing decided from the neighbouring characters), with the newswire
   convention that a paragraph ending inside a quote continues at the next
   paragraph's opening mark; doubled or stray marks are absorbed, and an unclosed
   quote never runs past its paragraph. Single curly quotes (headline style) are
   paired only where they cannot be apostrophes;
2. sentences come from :mod:`analysis.segment`, split only in paragraphs that hold a
   quotation mark or a cue; reporting cues (``resources/quotes/cues.yaml``: speech
   verbs, verbs of attitude, "according to", nominal and adjectival cues such as "his
   view that" and "X is confident that") are found with compiled regexes, and the
   speaker is the noun phrase next to the cue, read off word shapes and the speaker
   lexicon (``resources/quotes/speakers.yaml``): "X said", "said X", "X, the Y of Z,
   said" and "X, who ..., said" (the first comma-separated segment that is a noun
   phrase), adverbs, auxiliaries, time words and parentheses skipped ("Priebus later
   Thursday told", "Harry Reid (D-Nev.) said"), "according to X", "X was quoted as
   saying", "what X described as", participles ("X stepped up his attacks, saying
   “...”" -> X), colon frames without a verb ("X delivered a message: “...”"),
   unlisted verbs right after a quotation ('“...,” Hannity pressed', '“...,” the email
   read'), the dash signature ('“...” — Bernie Sanders', also the quotation dash U+2015)
   and a paragraph ending in a colon before the quotation ("The union responded:");
3. indirect speech: the reported clause after "X said (that)", "X told Y (that)",
   "According to X,", or before ", X said." / ", according to X."; a parenthetical
   frame ("The goal, the statement emphasized, is ...") gives the sentence; verbs of
   attitude give their complement ("X criticized the plan", "X dismissed it as too vague",
   "X decided to close ..."; it ends before "at a ...", a weekday or "as" + a clause),
   also after ", referring to" / ", citing"; poll shares speak ("About 9 percent
   said ..."); a title-case headline's cues count ("Mayor Says ..."); "strict" verbs report only
   after "that" ("X maintains that ..." but not "X maintains a lead"), verbs that only
   frame quotations ("continued", "began") report no clause. Clauses end at clause
   breaks (", but", ";", a dash, a second verb of the subject) and where the next
   frame's speaker starts; nested frames keep the say/that frame, else the outer
   clause. A partial quote inside such a clause makes the clause one ``partial``
   attribution (the quoted words are kept in ``Quote.fragments``);
4. a coreference step in document order: "he"/"she" go to the latest earlier source
   of compatible gender (titles, role nouns and a first-name list,
   ``resources/quotes/first_names.csv``) that can stand for a person (a name, or a role
   or agent noun: not a misread subject such as "the fireworks"), unless a person is
   named as the subject of a later sentence (places, US states and photo credits are
   not), "they" to a plural source or a conjoined name pair, "it" to the
   latest non-person source, a definite description ("the Russian leader") to the
   latest name carrying its modifiers ("Russian President Vladimir Putin"), and
   person names to their fullest form in the article ("Kim" -> "Kim Jong-un"). A
   quotation without a frame takes the person named as subject since the previous
   quotation, else the previous quotation's speaker (same or previous paragraph).
   A pronoun left unresolved is reported as the pronoun in lower case ("It" = "it");
   sentence-opening participles ("Noting that ...", "Referring to ...") and an
   impersonal "it" ("It is clear that ...") are no speakers; speaker names spell a
   leading article "the" and a sentence-initial common noun ("Police") in lower case,
   so one source has one spelling; countries and state abbreviations ("ROK") are states.

Measured on PolNeAR dev (``benchmarks/quotes_eval.py``, ``benchmarks/README.md``):
direct quotations F1 0.93 (over the quotation predictions), speaker accuracy 0.86, all
attributions F1 0.70; speaker accuracy on train 0.88.

Why rules and no model: no spaCy or other pretrained pipeline can be installed here,
and the only annotated quotation data at hand (PolNeAR, Newell et al. 2018) may not be
redistributed, so no model trained on it can ship. PolNeAR is used only to measure
(``benchmarks/quotes_eval.py``) and to study errors. Everything a user may want to
change (cues, titles, role nouns, organisation heads) is data.

speaker_type labels: ``person``, ``government_body`` (ministry, agency, party,
campaign...), ``state`` (a country or its capital standing for it), ``media`` (news
agency, newspaper, "state media"), ``document`` (statement, letter, release),
``anonymous`` (unnamed sources: "officials", "a source").
"""

from __future__ import annotations

import bisect
import csv
import re
from itertools import islice
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from analysis.config import RESOURCES
from analysis.segment import Sentence, paragraphs, split_sentences

QUOTES_DIR = RESOURCES / "quotes"
SPEAKER_TYPES = ("person", "government_body", "state", "media", "document", "anonymous")


@dataclass(frozen=True, slots=True)
class Quote:
    """One attribution: quoted or reported content and its source.

    ``text == source_text[start:end]``; quotation marks around the content are not
    part of it. ``speaker_start``/``speaker_end`` locate the mention that names the
    source (the named antecedent when the frame has a pronoun), or are None.
    ``fragments`` are the spans inside quotation marks (for ``partial`` quotes the
    quoted words inside the reported clause; for ``direct`` the quote itself).
    """

    start: int
    end: int
    text: str
    kind: str
    speaker: str | None
    speaker_start: int | None
    speaker_end: int | None
    speaker_type: str | None
    cue: str | None
    paragraph: int
    fragments: tuple[tuple[int, int], ...] = field(default=())


# ---------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Lexicon:
    cue_re: re.Pattern
    cue_clause: dict[str, str]
    according_re: re.Pattern
    according_guards: tuple
    quoted_as_re: tuple
    passive_re: re.Pattern
    described_re: tuple
    between: frozenset
    titles: dict[str, str | None]
    roles: dict[str, str | None]
    kin_roles: frozenset
    anonymous: frozenset
    gov: frozenset
    media: frozenset
    documents: frozenset
    states: frozenset
    places: frozenset
    pronouns: dict[str, dict]
    definite: frozenset
    indefinite: frozenset
    first_names: dict[str, str]
    not_heads: frozenset
    place_heads: frozenset
    place_prefixes: frozenset
    demonym_suffixes: tuple
    phrase_guards: dict[str, list[str]]
    nominal_re: re.Pattern
    adjective_re: re.Pattern
    anchor_suffixes: tuple  # (nouns, adjectives) the two regexes end with, or (None, None)
    post_frame_re: re.Pattern
    common_bodies: frozenset


def _load_yaml(name: str) -> dict:
    with open(QUOTES_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _alt(phrases: Iterable[str]) -> str:
    return "|".join(sorted(phrases, key=len, reverse=True))


def _cap_variants(patterns: Iterable[str]) -> list[str]:
    """Each pattern as written and with a capital first letter (sentence start)."""
    return [v for p in patterns for v in (p, p[:1].upper() + p[1:])]


def _trie_regex(words: Iterable[str]) -> str:
    """One regex alternation factored as a trie: Python's re tries alternatives one
    by one, so a flat list of ~250 verb forms is several times slower."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts, opt = [], False
        for ch in sorted(node):
            if ch == "":
                opt = True
                continue
            sub = build(node[ch])
            alts.append((r"\s+" if ch == " " else re.escape(ch)) + sub)
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if opt:
            body = "(?:" + body + ")?"
        return body

    return build(trie)


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    cues = _load_yaml("cues.yaml")
    spk = _load_yaml("speakers.yaml")
    clause = {}
    for info in cues["verbs"].values():
        for form in info["forms"]:
            clause[form.lower()] = info["clause"]
    ph = cues["phrases"]
    low = lambda xs: frozenset(str(x).lower() for x in xs)  # noqa: E731
    with open(QUOTES_DIR / "first_names.csv", encoding="utf-8") as fh:
        rows = csv.reader(ln for ln in fh if not ln.startswith("#"))
        next(rows)  # header
        first = {name.lower(): g for name, g in rows}
    return _Lexicon(
        # verbs are matched in lower case only ("States", "Post" are names, not cues);
        # a leading \b is checked before the trie is tried (40% faster than letting re
        # try the trie at every letter); apostrophes and hyphens before a match, which
        # \b lets through, are rejected in code
        cue_re=re.compile(r"\b(?:" + _trie_regex(clause) + r")(?![\w'’-])"),
        cue_clause=clause,
        according_re=re.compile(r"(?:" + _alt(_cap_variants(ph["according"])) + r")(?!\w)"),
        # plain phrases only (the data may hold regex syntax): "" is in every text
        according_guards=tuple(str(p)[1:] for p in ph["according"])
        if all(re.fullmatch(r"[a-z ]+", str(p)) for p in ph["according"]) else ("",),
        quoted_as_re=tuple(re.compile(p + r"(?!\w)") for p in _cap_variants(ph["quoted_as"])),
        passive_re=re.compile(r"(?:" + _alt(ph["passive"]) + r")(?!\w)"),
        described_re=tuple(re.compile(p + r"(?!\w)") for p in _cap_variants(ph["described"])),
        between=low(cues["between"]),
        titles={str(k).lower().rstrip("."): v for k, v in spk["titles"].items()},
        roles={str(k).lower(): v for k, v in spk["roles"].items()},
        kin_roles=low(spk["kin_roles"]),
        anonymous=low(spk["anonymous"]),
        gov=low(spk["government_heads"]),
        media=low(spk["media"]),
        documents=low(spk["documents"]),
        states=low(spk["states"]),
        places=low(spk["places"]),
        pronouns={str(k).lower(): v for k, v in spk["pronouns"].items()},
        definite=low(spk["determiners"]["definite"]),
        indefinite=low(spk["determiners"]["indefinite"]),
        first_names=first,
        not_heads=low(spk["not_heads"]),
        place_heads=low(spk["place_heads"]),
        place_prefixes=low(spk["place_prefixes"]),
        demonym_suffixes=tuple(sorted((str(x) for x in spk["demonym_suffixes"]), key=len, reverse=True)),
        phrase_guards={k: list(v) for k, v in cues["phrase_guards"].items()},
        # "his view that", "Trump’s claim that", "the belief that" (anchored at the end)
        nominal_re=re.compile(r"(?P<det>his|her|their|its|the|a|an|[A-Z][\w'’-]*['’]s?)\s+(?:[a-z-]+\s+)?(?P<noun>"
                              + _alt(cues["nominal"]["nouns"]) + r")s?\s*$"),
        # "X is confident that", "X was critical of", "X remains skeptical about"
        adjective_re=re.compile(r"\s(?:is|was|are|were|remains?|remained|seemed|seems|appeared|appears|became|grew|be|been)"
                                r"\s+(?:(?:not|very|so|deeply|highly|increasingly|\w+ly)\s+){0,2}(?P<adj>"
                                + _alt(cues["nominal"]["adjectives"]) + r")\s*$"),
        anchor_suffixes=_anchor_suffixes(cues["nominal"]),
        post_frame_re=_post_frame_re([str(v) for v in cues["after_quote"]]),
        common_bodies=low(spk["common_bodies"]),
    )


# ------------------------------------------------------------------ quotation marks

_MARKS = re.compile(r"[\"“”„«»‘’']")
_OPEN_D, _CLOSE_D = "“„«", "”»"
_OPEN_PREV = set(" \t\n([{—–-/:;,") | {"", "\u00a0"}
_END_PUNCT = ".,;:?!…—–)]}-"


@dataclass(slots=True)
class _Span:
    cs: int  # content start
    ce: int  # content end
    open_at: int
    close_at: int | None  # None: unclosed, ended at the paragraph end
    para: int


def _role(text: str, i: int, j: int) -> str:
    """'open', 'close' or 'either' for the double mark text[i:j], from its neighbours."""
    c = text[i:j]
    prev = text[i - 1] if i > 0 else ""
    nxt = text[j] if j < len(text) else ""
    prev_open = prev in _OPEN_PREV or prev in _OPEN_D or prev == '"'
    next_space = nxt == "" or nxt.isspace()
    if c in _OPEN_D or c == "``":
        return "open"
    if c in _CLOSE_D:
        # a closing mark glued to the next word after a space/opener is malformed
        # ("a “”reaffirmed"): read it as an opener.
        if prev_open and nxt.isalnum():
            return "open"
        return "close"
    if prev_open and not next_space:
        return "open"
    if not prev_open and (next_space or nxt in _END_PUNCT or nxt in "\"”’'"):
        return "close"
    return "either"


# double marks: straight, curly, guillemets, and the doubled apostrophes ('' and ``)
# that some newspaper archives (NYT) use for quotation marks
# (one leading character class, a look-behind then tells which: re skips to candidates
# only when a pattern starts with a literal or a class; twice as fast, same matches)
_DOUBLE = re.compile(r"[\"“”„«»'`](?:(?<=')'|(?<=`)`|(?<=[\"“”„«»]))")


def _double_spans(text: str, paras: list[tuple[int, int]], para_starts: list[int]) -> list[_Span]:
    out: list[_Span] = []
    open_at: int | None = None
    open_end = 0
    start_para = 0
    last_para = 0

    bisect_right = bisect.bisect_right

    def flush_unclosed() -> None:
        # unbalanced: end at the last paragraph the quote reached, never beyond
        nonlocal open_at
        if open_at is not None:
            pe = paras[last_para][1] if paras else len(text)
            if pe > open_end:
                out.append(_Span(open_end, pe, open_at, None, start_para))
        open_at = None

    for m in _DOUBLE.finditer(text):
        i, j = m.span()
        p = bisect_right(para_starts, i) - 1
        if p < 0:
            p = 0
        if open_at is not None and p != last_para:
            # the quote ran to the end of a paragraph without closing: it continues
            # only if this paragraph opens with a quotation mark (news convention)
            if p == last_para + 1 and i == paras[p][0] and _role(text, i, j) != "close":
                last_para = p
                continue
            flush_unclosed()
        role = _role(text, i, j)
        if role == "either":
            role = "open" if open_at is None else "close"
        if role == "open":
            if open_at is None:
                open_at, open_end, start_para, last_para = i, j, p, p
            elif not text[open_end:i].strip():
                open_at, open_end = i, j  # doubled opening mark
            else:
                # an opener inside an open quote: the first one was stray; restart
                open_at, open_end, start_para, last_para = i, j, p, p
        else:
            if open_at is not None:
                if text[open_end:i].strip():
                    out.append(_Span(open_end, i, open_at, j - 1, start_para))
                open_at = None
    if open_at is not None:
        flush_unclosed()
    return out


# the literal mark comes first so re can skip to it; the look-behind then checks the
# character before the mark (a two-character window: not a word character)
_SINGLE = re.compile(r"‘(?<![\w’']‘)(?=\w)([^‘’\n\"“”]{1,150}?[\w.,!?])’(?![\w’‘])")
_SINGLE_STRAIGHT = re.compile(r"'(?<![\w']')(?=[A-Za-z])([^'\n\"“”]{2,120}?[\w.,!?])'(?![\w'])")


def _single_spans(text: str, paras_starts: list[int], taken: list[_Span]) -> list[_Span]:
    """Single-quoted phrases (headline style) outside double quotes."""
    out = []
    # the double quotes follow one another (starts and ends ascending), and the phrases
    # kept are apart from each other: bisect finds the one that could hold or touch a
    # match (a scan of all of them per match was quadratic in long texts); should the
    # double quotes ever not be in order, the scan is used
    t_open = [t.open_at for t in taken]
    t_end = [(t.close_at or t.ce) + 1 for t in taken]
    ordered = all(t_open[k] <= t_open[k + 1] and t_end[k] <= t_end[k + 1] for k in range(len(taken) - 1))
    o_cs: list[int] = []
    o_ce: list[int] = []
    for rx in (_SINGLE, _SINGLE_STRAIGHT):
        for m in rx.finditer(text):
            s, e = m.start(1), m.end(1)
            inner = m.group(1)
            if rx is _SINGLE_STRAIGHT and (inner.count(" ") > 12 or _INNER_APOS.search(inner)):
                continue
            if ordered:
                k = bisect.bisect_right(t_open, s)
                if k and e <= t_end[k - 1]:
                    continue  # inside a double quote
            elif any(t.open_at <= s and e <= (t.close_at or t.ce) + 1 for t in taken):
                continue
            k = bisect.bisect_right(o_cs, e + 1)
            if k and o_ce[k - 1] >= s - 1:
                continue  # overlaps or touches a phrase kept
            p = max(0, bisect.bisect_right(paras_starts, s) - 1)
            out.append(_Span(s, e, s - 1, e, p))
            k = bisect.bisect_left(o_cs, s)
            o_cs.insert(k, s)
            o_ce.insert(k, e)
    return out


# ------------------------------------------------------------------ tokens and NPs

_WS = re.compile(r"\s+")
_LOWER_WORDS = re.compile(r"[a-z]+")
_INNER_APOS = re.compile(r"\w'\w")
_VERB_AFTER = re.compile(r"\s+(?:on \w+ |also |has |had |have |\w+ly )?[a-z]+(?:ed|s)\b")
_TOK = re.compile(r"(?:[A-Z]\.){2,}|\w+(?:[-'’.]\w+)*|[^\w\s]")
# title abbreviations keep their period ("Sen. Lindsey Graham" is one mention)
_TITLE_ABBR = "Mr|Mrs|Ms|Messrs|Dr|Prof|Sen|Sens|Rep|Reps|Gov|Gen|Lt|Col|Maj|Capt|Cmdr|Adm|Sgt|Cpl|Pvt|Amb|Pres|Rev|Hon|Atty|Supt|Jr|Sr|St"
# the titles as a trie: same matches (titles hold no period, so at most one is followed by one)
# the three alternatives that need a capital sit behind one (?=[A-Z]) test: re tries
# alternatives one by one, and most tokens are lower case (20% faster, same tokens)
_TOK_NP = re.compile(r"(?=[A-Z])(?:(?:" + _trie_regex(_TITLE_ABBR.split("|")) + r")\.|(?:[A-Z]\.){2,}|[A-Z]\.(?=[ \u00a0][A-Z]))"
                     r"|\w+(?:[-'’.]\w+)*|[^\w\s]")
_POSS = re.compile(r"['’]s?$")
_LEADING_JUNK = frozenset(
    "but and so yet meanwhile however today also then now still in on at last when while after "
    "before as if because thus instead later earlier separately since though although where "
    "what which who that this speaking asked for with like unlike even only just here there whether until "
    "unless once why how".split()
)
_TIME_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tonight week month year "
    "night morning afternoon evening weekend".split()
)
_NUMBERS = frozenset("two three four five six seven eight nine ten".split())
_TIME_LEAD = frozenset("on last this late early earlier later next that".split())
_PREPS = frozenset("to in on at of for with by about from during after before over under into via than as".split())
_CONNECT = frozenset(["of", "for", "de", "al", "bin", "von", "van", "der", "la", "and", "the", "on", "in"])


def _head_word(tok: str) -> str:
    # _POSS.sub by string tests (43k calls per 300 articles); the regex stays for a
    # final newline, before which `$` also matches
    w = tok.lower()
    if w.endswith(("'s", "’s")):
        return w[:-2]
    if w.endswith(("'", "’")):
        return w[:-1]
    return _POSS.sub("", w) if w.endswith("\n") else w


def _strip_poss(tok: str) -> str:
    """``_POSS.sub("", tok)`` by string tests (the regex stays for a final newline,
    before which `$` also matches)."""
    if tok.endswith(("'s", "’s")):
        return tok[:-2]
    if tok.endswith(("'", "’")):
        return tok[:-1]
    return _POSS.sub("", tok) if tok.endswith("\n") else tok


def _gov_word(word: str, lex: _Lexicon) -> bool:
    """Whether a word (as written) heads an official body's name; a two-letter head is
    an acronym only in capitals ("UN", not the Korean name syllable in "Kim Jong Un")."""
    w = _head_word(word)
    return w in lex.gov and (len(w) > 2 or word.isupper())


def _lex_noun(word: str, lex: _Lexicon) -> bool:
    w = word.lower()
    sg = w[:-1] if w.endswith("s") else w
    return (
        w in lex.roles or sg in lex.roles or w in lex.anonymous or w in lex.gov or sg in lex.gov
        or w in lex.media or w in lex.documents or sg in lex.documents or w in lex.titles
    )


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    text: str


def _tokens(text: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
    # findall + str.find is ~20% cheaper than reading three fields off each match; exact,
    # as only whitespace lies between tokens (any other character starts one) and no
    # token holds whitespace
    out = []
    p = lo
    find = text.find
    for t in _TOK_NP.findall(text, lo, hi):
        p = find(t, p)
        q = p + len(t)
        out.append((t, p, q))
        p = q
    return out


_SPACE = re.compile(r"\s")


def _tokens_wider(text: str, a: int, b: int, hi: int, toks_b: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """``_tokens(text, a, hi)`` reusing ``toks_b = _tokens(text, b, hi)`` (a < b).

    No token holds whitespace, so both scans try a match at the first whitespace
    character w at or after b and agree from there on: only [a, w) is scanned again.
    """
    m = _SPACE.search(text, b, hi)
    if m is None:
        return _tokens(text, a, hi)
    w = m.start()
    out = []
    for t in _TOK_NP.finditer(text, a, hi):  # endpos hi, as _tokens (look-aheads see to hi)
        if t.start() >= w:
            break
        out.append((t.group(), t.start(), t.end()))
    k = 0
    while k < len(toks_b) and toks_b[k][1] < w:
        k += 1
    out.extend(toks_b[k:])
    return out


def _skippable(toks: list[tuple[str, int, int]], i: int, lex: _Lexicon) -> int:
    """Index of the last token before ``i`` (inclusive) that is not an adverb, auxiliary,
    time expression ("on Monday", "last week") or parenthesis ("(D-Nev.)") standing
    between a speaker and its cue."""
    time_seen = False
    while i >= 0:
        t = toks[i][0]
        tl = t.lower()
        if t == ")":
            k = i - 1
            while k >= 0 and toks[k][0] != "(" and i - k < 8:
                k -= 1
            if k < 0 or toks[k][0] != "(":
                return i
            i = k - 1
            continue
        if tl in lex.between or (t.islower() and tl.endswith("ly") and len(tl) > 4):
            i -= 1
            continue
        if tl in _TIME_WORDS:
            time_seen = True
            i -= 1
            continue
        if time_seen and tl in _TIME_LEAD:
            i -= 1
            continue
        return i
    return i


def _subject_segment(text: str, toks: list[tuple[str, int, int]], i: int, lex: _Lexicon) -> _Mention | None:
    """The subject of "X, <apposition or relative clause>, CUE": the first comma-
    separated segment of the clause (ending at token ``i``, a comma) that is one
    noun phrase ("Joe Madison, a talk radio host ..., recalled"; "O'Malley, who ...,
    interjected"; "In 2008, Rev. Kyev Tatum, a pastor, said")."""
    k = i - 1
    while k >= 0 and toks[k][0] not in ';:"“”()' and i - k < 60:
        k -= 1
    segs: list[tuple[int, int]] = []
    a = k + 1
    for n in range(k + 1, i + 1):
        if toks[n][0] == ",":
            if n > a:
                segs.append((a, n))
            a = n + 1
    if len(segs) < 2:
        return None
    fallback = None
    for a, b in segs:
        while a < b and toks[a][0].lower() in _LEADING_JUNK and toks[a][0].lower() not in _PREPS:
            a += 1
        if a >= b or toks[a][0].lower() in _PREPS or b - a > 12:
            continue
        m, _ = _np_back(text, toks[a][1], toks[b - 1][2], lex)
        if m is not None and m.end == toks[b - 1][2] and m.start <= toks[min(a + 1, b - 1)][1]:
            return m
        p = next((p for p in range(a + 1, b) if toks[p][0] in ("of", "for", "at")), None)
        if p is not None and fallback is None:
            # "A spokesperson for the State Department, who ..., said": the head noun
            # phrase with its "for"/"of"/"at" complement, when no segment is a plain noun
            # phrase ("The minister of the economy, Ildefonso Guajardo, argues")
            m, _ = _np_back(text, toks[a][1], toks[p - 1][2], lex)
            if m is not None and m.end == toks[p - 1][2] and m.start <= toks[min(a + 1, p - 1)][1]:
                fallback = _Mention(m.start, toks[b - 1][2], text[m.start : toks[b - 1][2]])
    return fallback


def _np_back(text: str, lo: int, hi: int, lex: _Lexicon) -> tuple[_Mention | None, bool]:
    """The noun phrase ending right before ``hi`` (a cue), scanning no further than lo.

    Returns (mention, blocked): blocked is True when a comma or quote sits right
    before the cue (so the speaker must come after it: "..., said X").
    """
    narrow = None
    if hi - _NARROW > lo and ")" not in text[hi - _NARROW : hi]:
        # most speakers are short: try a narrow window first and keep its answer when
        # no rule looked at a token that the wider window could cut differently (those
        # before the window's first space; see _tokens_wider)
        toks = narrow = _tokens(text, hi - _NARROW, hi)
        i = _skippable(toks, len(toks) - 1, lex)
        w = _SPACE.search(text, hi - _NARROW, hi)
        if i >= 0 and w is not None and toks[i][0] != ",":
            safe = 0
            while safe < len(toks) and toks[safe][1] <= w.start():
                safe += 1
            if i > safe:
                m, blocked, low_seen = _np_at(text, toks, i, lex)
                if low_seen >= safe:
                    return m, blocked
    # a bounded look-back: a subject with its apposition fits in 400 characters, and
    # tokenising whole sentence prefixes per cue would make long sentences quadratic;
    # the narrow window's tokens are reused (max(lo, hi - 100) < hi - _NARROW there)
    toks = _tokens(text, max(lo, hi - 100), hi) if narrow is None else \
        _tokens_wider(text, max(lo, hi - 100), hi - _NARROW, hi, narrow)
    i = _skippable(toks, len(toks) - 1, lex)
    wide = False
    if i < 0 and hi - 100 > lo:
        toks = _tokens_wider(text, max(lo, hi - 400), hi - 100, hi, toks)
        wide = True
        i = _skippable(toks, len(toks) - 1, lex)
    if i < 0:
        return None, True
    tok = toks[i][0]
    if tok == "," and hi - 100 > lo and not wide:
        toks = _tokens_wider(text, max(lo, hi - 400), hi - 100, hi, toks)
        i = _skippable(toks, len(toks) - 1, lex)
        tok = toks[i][0]
    if tok == ",":
        m = _subject_segment(text, toks, i, lex)
        return (m, False) if m is not None else (None, True)
    m, blocked, _ = _np_at(text, toks, i, lex)
    return m, blocked


_NARROW = 48  # characters of the first look-back window of _np_back


def _np_at(text: str, toks: list[tuple[str, int, int]], i: int, lex: _Lexicon) -> tuple[_Mention | None, bool, int]:
    """The noun phrase whose head is token ``i`` (the last one before a cue that is no
    adverb, comma or quotation mark), as (mention, blocked, the lowest token index the
    rules looked at)."""
    tok = toks[i][0]
    if tok in "\"“”'’":
        return None, True, i
    if len(tok) > 2 and _POSS.search(tok) and tok[-1] in "s'’" and tok[-2] in "'’s":
        return None, False, i  # "Cruz’s preferred candidates": a possessive is no subject
    low = tok.lower()
    if low in lex.pronouns:
        return _Mention(toks[i][1], toks[i][2], tok), False, i
    low_seen = i - 1  # -1: the rules looked before the first token
    acronym = tok.isupper() and len(tok) > 1 and not (i > 0 and toks[i - 1][0].isupper() and len(toks[i - 1][0]) > 1)
    if low in lex.not_heads and not acronym and not (
            i > 0 and toks[i - 1][0][:1].isupper() and toks[i - 1][0].lower() not in lex.not_heads
            and toks[i - 1][0].lower() not in _LEADING_JUNK) and not (
            # a capitalised word after "the" is a name ("the Times said")
            tok[:1].isupper() and i > 0 and toks[i - 1][0] in ("the", "The")):
        # "..., is believed to", "An estimated", "the main": no head noun ("IS" is an
        # acronym, "READ MORE" a heading)
        return None, False, low_seen
    head_is_lex = _lex_noun(_head_word(tok), lex)
    if not (tok[:1].isupper() or head_is_lex):
        # any other noun heads a speaker only right after a determiner or at the
        # start of the clause ("Fact-checkers noted", "the company said")
        if not (tok.isalpha() or "-" in tok) or low in _PREPS or low in _LEADING_JUNK:
            return None, False, low_seen
        before = toks[i - 1][0].lower() if i > 0 else ""
        if i == 0 or toks[i - 1][0] in ",;:":
            return _Mention(toks[i][1], toks[i][2], tok), False, low_seen
        if (before in lex.definite or before in lex.indefinite) and not low.endswith("ed"):
            # a participle after a determiner is an adjective ("a repeated claim")
            return _Mention(toks[i - 1][1], toks[i][2], text[toks[i - 1][1] : toks[i][2]]), False, low_seen
        return None, False, low_seen
    j = i
    mods = 0
    while j - 1 >= 0:
        t = toks[j - 1][0]
        tl = t.lower()
        low_seen = min(low_seen, j - 2)  # a rule may look two tokens back
        if tl in lex.definite or tl in lex.indefinite or t.isdigit():
            j -= 1
            if (t.isdigit() or tl in _NUMBERS) and j - 1 >= 0 and toks[j - 1][0].lower() in lex.definite:
                j -= 1  # "the two foreign ministers": definite, not an unnamed source
            break
        if t[:1].isupper() or t in "-" or (len(t) > 1 and _POSS.search(t) and t[:1].isupper()):
            j -= 1
            continue
        if tl in lex.titles or tl in lex.roles or _lex_noun(tl, lex):
            j -= 1
            continue
        if tl in _CONNECT and j - 2 >= 0 and toks[j - 2][0][:1].isupper() and toks[j][0][:1].isupper():
            j -= 1
            continue
        if tl == "to" and j - 2 >= 0 and toks[j - 2][0].lower() in lex.titles and toks[j][0][:1].isupper():
            j -= 1  # "Ambassador to South Korea Alexander Timonin": the title goes on
            continue
        if head_is_lex and t.isalpha() and t.islower() and mods < 3 and tl not in _PREPS and tl not in lex.between:
            mods += 1
            j -= 1
            continue
        break
    else:
        low_seen = -1  # ran past the first token
    while j <= i and (toks[j][0].lower() in _LEADING_JUNK or toks[j][0] in "-" or toks[j][0].lower() in _CONNECT - {"the"}
                      or _glued(text, toks[j][1])):
        j += 1
    if j > i or low in lex.place_heads:
        return None, False, low_seen  # "of Uiju County, he said": a place is no speaker
    s, e = toks[j][1], toks[i][2]
    return _Mention(s, e, text[s:e]), False, low_seen




_GLUE = "/=?&#%@_"


def _comma_before(text: str, pos: int) -> bool:
    """``text[:pos].rstrip().endswith(",")`` without copying the text before pos (that
    copy per cue made long articles quadratic)."""
    k = pos - 1
    while k >= 0 and text[k].isspace():
        k -= 1
    return k >= 0 and text[k] == ","


def _word_at(text: str, pos: int, word: str) -> bool:
    """``text[pos:].lstrip().startswith(word)`` without copying the rest of the text."""
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    return text.startswith(word, pos)


def _glued(text: str, pos: int) -> bool:
    """Whether the word at pos is glued to a URL or path ("t.co/Qx9 Smith" -> "Smith")."""
    return pos > 0 and text[pos - 1] in _GLUE


def _place(chain: str, lex: _Lexicon) -> bool:
    """Whether a capitalised chain names a place or date ("Uiju County", "Trump Tower")."""
    return _place_cached(chain)


@lru_cache(maxsize=65536)  # chains recur within and across articles
def _place_cached(chain: str) -> bool:
    lex = _lexicon()
    words = chain.split()
    return bool(words) and (_head_word(words[-1]) in lex.place_heads
                            or len(words) > 1 and words[0].lower() in lex.place_prefixes)


def _np_fwd(text: str, lo: int, hi: int, lex: _Lexicon, *, toks: list[tuple[str, int, int]] | None = None) -> _Mention | None:
    """The noun phrase starting at ``lo`` ("said the ministry", "said Smith, ...");
    ``toks``: the tokens below, when the caller has them."""
    # the first 16 tokens: the rules look no further than the 14th
    if toks is None:
        toks = [(m[0], m.start(), m.end()) for m in islice(_TOK_NP.finditer(text, lo, min(hi, lo + 160)), 16)]
    if not toks:
        return None
    i = 0
    if toks[0][0].lower() in lex.pronouns:
        return _Mention(toks[0][1], toks[0][2], toks[0][0])
    j = 0
    if toks[0][0].lower() in lex.definite or toks[0][0].lower() in lex.indefinite:
        j = 1
    last = -1
    k = j
    while k < len(toks) and k - j < 10:
        t = toks[k][0]
        tl = t.lower()
        if t[:1].isupper() or _lex_noun(_head_word(t), lex):
            last = k
        elif t == "-" or (tl in _CONNECT and last == k - 1 and k + 1 < len(toks) and toks[k + 1][0][:1].isupper()):
            pass
        elif t.isalpha() and t.islower() and tl not in _PREPS and tl not in lex.between and k + 1 < len(toks) and (
                last < 0 or _lex_noun(_head_word(toks[k + 1][0]), lex)):
            pass  # a modifier before the head ("a senior official", "North Korean news agency KCNA")
        else:
            break
        k += 1
    if last >= 0 and j == 1:
        k = last + 1
        while k < len(toks) and k <= last + 2 and toks[k][0].isalpha() and toks[k][0].islower() \
                and toks[k][0] not in _PREPS and toks[k][0] not in ("who", "which", "that", "and", "said", "says"):
            k += 1
        if k > last + 1 and (k >= len(toks) or not toks[k][0][:1].isalnum()):
            last = k - 1  # "said one former campaign staffer, ..."
    if last < 0 and j == 1:
        # "said the 46-year-old": any short description after a determiner
        k = 1
        while k < len(toks) and k < 6 and toks[k][0][:1].isalnum() and toks[k][0].lower() not in _PREPS \
                and toks[k][0].lower() not in ("who", "which", "that", "in", "on"):
            last = k
            k += 1
    if last < 0:
        return None
    head = toks[last][0]
    if (last <= 1 and head.lower() in lex.not_heads and not (head.isupper() and len(head) > 1)) or (
            last + 1 < len(toks) and toks[last + 1][0] == ":" and head.isupper()):
        return None  # "A day before ...", "The" alone, a "READ MORE:" heading
    s, e = toks[i][1], toks[last][2]
    return _Mention(s, e, text[s:e])


# -------------------------------------------------------------- attribution frames


@dataclass(slots=True)
class _Frame:
    cue: str
    cue_start: int
    cue_end: int
    mention: _Mention | None
    clause: str  # bare | that | none | according | passive


def _frames(text: str, lex: _Lexicon, sent_of, blocked: list[tuple[int, int]], cue_matches: list[re.Match],
            according_matches: list[re.Match], nominal_anchors: list[tuple[int, str]]) -> dict[int, list[_Frame]]:
    """Cues outside quoted spans, each with its speaker mention, keyed by sentence.

    ``sent_of(pos)`` gives (key, start, end) of the sentence holding pos, or None.
    """
    out: dict[int, list[_Frame]] = {}
    taken = bytearray(len(text) + 1)  # cue characters already claimed
    bstarts = [b[0] for b in blocked]

    def inside(pos: int) -> bool:
        k = bisect.bisect_right(bstarts, pos) - 1
        return k >= 0 and blocked[k][0] <= pos < blocked[k][1]

    def overlaps(s: int) -> bool:
        return bool(taken[s])

    def add(key: int, f: _Frame) -> None:
        out.setdefault(key, []).append(f)
        taken[f.cue_start : f.cue_end] = b"\x01" * (f.cue_end - f.cue_start)

    bends = sorted(b[1] for b in blocked)

    def clause_lo(lo: int, pos: int) -> int:
        """Sentence start, or the end of the last quotation before pos."""
        k = bisect.bisect_right(bends, pos) - 1
        return max(lo, bends[k]) if k >= 0 else lo

    def locate(m: re.Match):
        s = m.start()
        if s > 0 and (text[s - 1].isalnum() or text[s - 1] in "'’-_"):
            return None
        if inside(s) or overlaps(s):
            return None
        return sent_of(s)

    # the multi-word phrases are rare: a substring test (C speed) skips their regexes
    guards = lex.phrase_guards
    phrase_res = (lex.quoted_as_re if any(g in text for g in guards["quoted_as"]) else ()) + (
        lex.described_re if any(g in text for g in guards["described"]) else ())
    for rx in phrase_res:
        for m in rx.finditer(text):
            where = locate(m)
            if where is None:
                continue
            raw = m.group("obj")
            o0 = m.start("obj") + (len(raw) - len(raw.lstrip()))
            obj = raw.strip()
            add(where[0], _Frame(m.group(), m.start(), m.end(), _Mention(o0, o0 + len(obj), obj), "none"))
    for m in (lex.passive_re.finditer(text) if any(g in text for g in guards["passive"]) else ()):
        where = locate(m)
        if where is not None:
            men, _ = _np_back(text, where[1], m.start(), lex)
            add(where[0], _Frame(m.group(), m.start(), m.end(), men, "none"))
    for m in according_matches:
        where = locate(m)
        if where is not None:
            men = _np_fwd(text, m.end(), where[2], lex)
            if men is None and (am := _ACCORDING_NP.match(text, m.end(), where[2])) is not None:
                # "according to data from the census", "according to exit polls": a
                # lowercase source the name reader skips; the phrase up to punctuation
                men = _Mention(am.start(1), am.end(1), am.group(1))
            add(where[0], _Frame(m.group(), m.start(), m.end(), men, "according"))
    for m in cue_matches:
        where = locate(m)
        if where is None:
            continue
        s, e = m.start(), m.end()
        cue = m.group()
        clause = lex.cue_clause.get(cue if " " not in cue and "\n" not in cue else _WS.sub(" ", cue), "none")
        men, blocked_before = _np_back(text, where[1], s, lex)
        if men is None and not blocked_before and clause in ("bare", "that", "strict", "listener"):
            # a subject the NP reader cannot take apart ("Organizers of the push to
            # boycott the speech said ..."): the noun phrase opening the clause
            men = _sentence_subject(text, clause_lo(where[1], s), s, lex)
            if men is not None and men.end > s:
                men = None
        if men is None and clause in ("bare", "that", "strict", "listener") \
                and (qm := _QUANTITY_SUBJECT.search(text, clause_lo(where[1], s), s)) is not None:
            # a poll share as the subject: "About 9 percent said ...", "One in five say ...",
            # "Others say ..." (the name reader takes no numbers or quantifiers)
            men = _Mention(qm.start(1), qm.end(1), qm.group(1))
        if men is None and (blocked_before or clause == "object") and cue.split(None, 1)[0].endswith("ing") \
                and _comma_before(text, s):
            # "X stepped up his attacks, saying ...": the participle's subject is X
            men = _sentence_subject(text, clause_lo(where[1], s), s, lex)
            if men is not None:
                add(where[0], _Frame(cue, s, e, men, clause))
                continue
        if men is None and blocked_before and clause not in ("object", "listener"):
            # "..., said X"; never "told X" / "criticized X" (X is the object)
            men = _np_fwd(text, e, where[2], lex)
        add(where[0], _Frame(cue, s, e, men, clause))
    # nominal and adjectival cues ("his view that ...", "X is confident that ..."):
    # anchored on the complementiser found by a substring scan, read backwards
    for pos, word in nominal_anchors:
        hit = _nominal_frame(text, pos, word, lex, locate_pos=lambda p: None if inside(p) or overlaps(p) else sent_of(p))
        if hit is not None:
            add(hit[0], hit[1])
    for fs in out.values():
        fs.sort(key=lambda f: f.cue_start)
    return out


_NUM = r"(?:\d[\d,.]*|(?i:one|two|three|four|five|six|seven|eight|nine|ten|half|a third|two-thirds|a quarter|a majority|a plurality)|one|two|three|four|five|six|seven|eight|nine|ten|half|a third|two-thirds|a quarter|a majority|a plurality)"
_QUANTITY_SUBJECT = re.compile(
    r"(?:^|(?<=[.!?;:]\s)|(?<=\n)|(?<=, and )|(?<=, but )|(?<=^And )|(?<=^But ))[ \u00a0]*("
    r"(?:(?:[Aa]bout|[Nn]early|[Aa]lmost|[Oo]nly|[Jj]ust|[Rr]oughly|[Ss]ome|[Mm]ore than|[Ff]ewer than|[Ll]ess than|[Oo]ver|[Uu]nder)[ \u00a0]+)?"
    r"(?:" + _NUM + r"(?:[ \u00a0]+(?:percent|per cent|%|in[ \u00a0]+(?:\d+|" + _NUM + r")))?|%)"
    r"(?:[ \u00a0]+(?:of|among)[ \u00a0]+[\w'’-]+(?:[ \u00a0]+[\w'’-]+){0,3})?"
    r"|(?:Others|Many|Most|Few|Some|Those[ \u00a0]+(?:over|under|who|with)[ \u00a0]+[\w'’-]+(?:[ \u00a0]+[\w'’-]+){0,2})"
    r"(?:[ \u00a0]+(?:of|among)[ \u00a0]+[\w'’-]+(?:[ \u00a0]+[\w'’-]+){0,3})?"
    r")[ \u00a0]+(?:also[ \u00a0]+|still[ \u00a0]+)?$", re.MULTILINE)
_ACCORDING_NP = re.compile(r"[ \u00a0]+((?:[\w'’.-]+[ \u00a0]+){0,7}?[\w'’-]+)(?=[ \u00a0]*[,.;:)]|[ \u00a0]*$)")


_POSSESSIVE_PRONOUN = {"his": "he", "her": "she", "their": "they", "its": "it"}


def _nominal_anchors(text: str, lex: _Lexicon) -> list[tuple[int, str]]:
    """Positions of " that " / " of " / " about " preceded by a nominal or adjectival cue."""
    out = []
    nouns, adjs = lex.anchor_suffixes
    endswith = text.endswith
    for word in (" that ", " of ", " about "):
        that = word == " that "
        pos = text.find(word)
        while pos >= 0:
            lo = max(0, pos - 60)
            # both regexes end in "WORD\s*$": a suffix test rules out most positions
            # (on the text itself, no copy, when no whitespace precedes the word)
            if nouns is None:
                n_ok = a_ok = True
            elif pos and not text[pos - 1].isspace():
                n_ok = that and endswith(nouns, lo, pos)
                a_ok = endswith(adjs, lo, pos)
            else:
                tail = text[lo:pos].rstrip()
                n_ok = that and tail.endswith(nouns)
                a_ok = tail.endswith(adjs)
            if (that and n_ok and lex.nominal_re.search(text, lo, pos)) or (a_ok and lex.adjective_re.search(text, lo, pos)):
                out.append((pos, word))
            pos = text.find(word, pos + 1)
    return out


def _anchor_suffixes(nominal: dict) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """Words a nominal/adjectival cue window must end with (nouns also with plural
    "s"), or (None, None) when the data holds regex syntax and no such test is safe."""
    words = [str(w) for w in nominal["nouns"]] + [str(w) for w in nominal["adjectives"]]
    if not all(re.fullmatch(r"[a-z]+", w) for w in words):
        return None, None
    nouns = tuple(str(w) for w in nominal["nouns"])
    return nouns + tuple(n + "s" for n in nouns), tuple(str(w) for w in nominal["adjectives"])


def _nominal_frame(text: str, pos: int, word: str, lex: _Lexicon, *, locate_pos) -> tuple[int, _Frame] | None:
    """A frame for "DET NOUN that ..." or "X is ADJ that/of/about ..." ending at pos."""
    lo = max(0, pos - 60)
    m = lex.nominal_re.search(text, lo, pos) if word == " that " else None
    if m is not None:
        where = locate_pos(m.start("noun"))
        if where is None:
            return None
        det = m.group("det")
        men = None
        if det.lower() in _POSSESSIVE_PRONOUN:
            men = _Mention(m.start("det"), m.end("det"), _POSSESSIVE_PRONOUN[det.lower()])
        elif det[:1].isupper() and det.lower() not in lex.definite and det.lower() not in lex.indefinite:
            name = _POSS.sub("", det)
            men = _Mention(m.start("det"), m.start("det") + len(name), name)
        return where[0], _Frame(m.group("noun"), m.start("noun"), pos + len(word) - 1, men, "nominal")
    m = lex.adjective_re.search(text, lo, pos)
    if m is None:
        return None
    where = locate_pos(m.start("adj"))
    if where is None:
        return None
    men, _ = _np_back(text, where[1], m.start(), lex)
    if men is None or men.text.lower() in ("it", "this", "that"):
        return None  # "It is clear that ...": an impersonal "it" holds no view
    return where[0], _Frame(m.group("adj"), m.start("adj"), pos + len(word) - 1, men, "nominal")


# ---------------------------------------------------------------------- resolution


@dataclass(slots=True)
class _Entity:
    name: str
    start: int
    end: int
    type: str
    gender: str  # m, f, x (unknown person), n (not a person)
    plural: bool


# capitalised words; a period only after short abbreviations ("Mr.", "J."), so a chain
# never runs across a sentence end
_CAPWORD = r"(?:(?:" + _TITLE_ABBR + r"|[A-Z])\.|[A-Z][\w'’-]*)"
_NAME_CHAIN = re.compile(_CAPWORD + r"(?:[ \u00a0](?:(?:of|de|bin|al|von|van|der|the)[ \u00a0])?" + _CAPWORD + ")*")
# the same chains, scanned faster (a leading [A-Z] lets re skip ahead); a period is
# allowed after any short word here and checked in code (_name_chains)
_CAPWORD_FAST = r"[A-Z](?:[a-z]{0,3}\.(?=[ \u00a0][A-Z])|[\w'’-]*)"
_NAME_CHAIN_FAST = re.compile(_CAPWORD_FAST + r"(?:[ \u00a0](?:(?:of|de|bin|al|von|van|der|the)[ \u00a0])?" + _CAPWORD_FAST + ")*")
_ABBR_OK = frozenset(a + "." for a in _TITLE_ABBR.split("|"))


_CONJOINED = re.compile(r"(" + _CAPWORD + r"(?:[ \u00a0]" + _CAPWORD + r")*) and (" + _CAPWORD + r"(?:[ \u00a0]" + _CAPWORD + r")*)")


def _strip_det(s: str, lex: _Lexicon) -> str:
    parts = s.split()
    k, dets = 0, lex.definite | lex.indefinite
    while k < len(parts) and parts[k].lower() in dets:
        k += 1
    return " ".join(parts[k:])


_WORDISH = re.compile(r"[\w'’.-]+")


def _classify(mention: str, lex: _Lexicon) -> tuple[str, str, bool]:
    """(speaker_type, gender, plural) of a speaker mention."""
    return _classify_cached(mention)


@lru_cache(maxsize=65536)  # mentions recur within and across articles
def _classify_cached(mention: str) -> tuple[str, str, bool]:
    lex = _lexicon()
    low = _strip_poss(mention.lower().strip())
    words = [_head_word(w) for w in _WORDISH.findall(low)]
    if not words:
        return "person", "x", False
    head = words[-1]
    parts = mention.split()
    first = parts[0].lower() if parts else ""
    last = parts[-1] if parts else ""
    plural = " and " in low or (head.endswith("s") and not head.endswith("ss") and last[:1].islower() and head[:-1] in lex.roles)
    if low in lex.pronouns:
        info = lex.pronouns[low]
        g = info["gender"]
        return ("person" if g != "n" else "government_body"), g, info["number"] == "pl"
    stripped = _strip_det(low, lex)
    if stripped in lex.media or low in lex.media or head in ("agency", "media") and "news" in words or head == "media":
        return "media", "n", False
    if stripped in lex.states or low in lex.states:
        return "state", "n", False
    if head in lex.documents or stripped in lex.documents:
        return "document", "n", False
    if _gov_word(_strip_poss(last), lex) or stripped in lex.gov or (len(words) > 1 and " ".join(words[-2:]) in lex.gov):
        return "government_body", "n", plural
    if head in lex.media:
        return "media", "n", False
    if head in lex.anonymous and (first in lex.indefinite or first == head or not mention[:1].isupper() or first in ("some", "many")):
        return "anonymous", "x", head.endswith("s")
    if first in lex.indefinite and (head in lex.roles or head[:-1] in lex.roles):
        return "anonymous", lex.roles.get(head) or "x", head.endswith("s")
    gender = "x"
    for w in words:
        g = lex.titles.get(w.rstrip(".")) or lex.roles.get(w)
        if g:
            gender = g
    core = _person_core_cached(mention) if mention[:1].isupper() else ()
    for w in (core[:1] if core else parts) if gender != "x" else parts:
        # a first name outweighs a gendered role noun ("spokesman Hope Hicks")
        g = lex.first_names.get(w.lower().strip(".,"))
        if g:
            gender = g
            break
    return "person", gender, plural


_CHAIN_STOP = _LEADING_JUNK | _PREPS | {"i", "i’m", "i'm", "i’ve", "i've", "i’d", "i'll", "i’ll", "we", "you", "he", "she", "they", "it",
                                        "his", "her", "their", "my", "our", "a", "an", "the", "does", "did", "is", "was", "are",
                                        "were", "will", "would", "can", "could", "should", "mr", "look", "yes", "no", "well"}


_CHAIN_PRONOUN = re.compile(" (?:He|She|It|They|We|I) ")


@lru_cache(maxsize=65536)  # a pure function of the chain; chains recur
def _chain_trim(chain: str) -> tuple[int, str]:
    """(end offset, chain) after cutting a chain before a pronoun ("D.C. He said") and
    dropping sentence-initial function words ("But Ryan" -> "Ryan"); the end offset is
    relative to the chain's start, the returned chain ends there."""
    if " " in chain:
        # the earliest such pronoun ends the chain
        m = _CHAIN_PRONOUN.search(chain + " ")
        if m is not None:
            chain = chain[: m.start()]
    cut = len(chain)
    while True:
        sp = chain.find(" ")
        w = chain if sp < 0 else chain[:sp]
        if w.lower() not in _CHAIN_STOP:
            break
        if sp < 0:
            chain = ""
            break
        chain = chain[sp + 1 :].lstrip()
    return cut, chain


def _name_chains(text: str, blocked: list[tuple[int, int]] | None = None) -> list[tuple[int, int, str]]:
    """Capitalised-word chains outside quotations, without sentence-initial function
    words ("But Ryan" -> "Ryan", "And I" -> nothing)."""
    out: list[tuple[int, int, str]] = []
    bstarts = [b[0] for b in blocked or ()]

    def keep(s: int, e: int, chain: str) -> None:
        while chain and s > 0 and (text[s - 1].isalnum() or text[s - 1] in _GLUE):
            # a capital inside a word or URL ("t.co/xAbC Smith"): the chain starts after it
            sp = chain.find(" ")
            chain = "" if sp < 0 else chain[sp + 1 :]
            s = e - len(chain)
        if not chain:
            return
        cut, chain = _chain_trim(chain)
        if not chain:
            return
        e = s + cut
        s = e - len(chain)
        if bstarts:
            k = bisect.bisect_right(bstarts, s) - 1
            if k >= 0 and blocked[k][0] <= s < blocked[k][1]:
                return
        out.append((s, e, chain))

    trim, bisect_right, glue, find = _chain_trim, bisect.bisect_right, _GLUE, text.find
    end = 0
    # findall + str.find: every capital starts or continues a match, so none lies
    # between two matches and find lands on the match itself
    for chain in _NAME_CHAIN_FAST.findall(text):
        s = find(chain, end)
        end = s + len(chain)
        if "." not in chain and (s == 0 or not (text[s - 1].isalnum() or text[s - 1] in glue)):
            # keep() inlined for the common chain (no period, not glued): ~120 chains an article
            cut, chain = trim(chain)
            if chain:
                e = s + cut
                s = e - len(chain)
                if bstarts:
                    k = bisect_right(bstarts, s) - 1
                    if k >= 0 and blocked[k][0] <= s < blocked[k][1]:
                        continue
                out.append((s, e, chain))
            continue
        if "." in chain:
            # a period after a word that is no title or initial ends a chain there
            pos = 0
            for w in chain.split(" "):
                if w.endswith(".") and w not in _ABBR_OK and len(w) > 2:
                    keep(s, s + pos + len(w) - 1, chain[: pos + len(w) - 1])
                    s, chain, pos = s + pos + len(w) + 1, chain[pos + len(w) + 1 :], 0
                    continue
                pos += len(w) + 1
        keep(s, s + len(chain), chain)
    return out


def _person_core(name: str, lex: _Lexicon) -> list[str]:
    """Name tokens without titles, roles, determiners or possessive."""
    return list(_person_core_cached(name))


@lru_cache(maxsize=65536)  # names recur within and across articles
def _person_core_cached(name: str) -> tuple[str, ...]:
    lex = _lexicon()
    titles, roles, kin, first_names = lex.titles, lex.roles, lex.kin_roles, lex.first_names
    toks = [_strip_poss(t) for t in name.replace("\u00a0", " ").split()]
    lows = [t.lower() for t in toks]  # each token's lower case, read many times below
    # "Russian President Vladimir Putin": the name follows the last title word
    k = 0
    while k < len(toks) and (lows[k] in _LEADING_JUNK or lows[k] in _PREPS):
        k += 1  # "Now Jeff Sessions", "In Xiang": sentence adverbs and prepositions
    toks, lows = toks[k:], lows[k:]
    # a capitalised family role inside a name is a name part ("Choe Son Hui")
    for k in range(len(toks) - 1, -1, -1):
        low = lows[k]
        if low.rstrip(".") in titles or low in roles and not (k > 0 and toks[k][:1].isupper() and low in kin):
            if k + 1 < len(toks):
                toks, lows = toks[k + 1 :], lows[k + 1 :]
            break
    if len(toks) >= 3 and lows[0] in _PREPS:
        # the title goes on ("Secretary of State Rex Tillerson", "Ambassador to South
        # Korea Alexander Timonin"): the name is the last two words, or starts at a known
        # first name
        rest, rlows = toks[1:], lows[1:]
        k = next((k for k, t in enumerate(rlows[:-1]) if t in first_names), max(0, len(rest) - 2))
        toks, lows = rest[k:], rlows[k:]
    if len(toks) >= 3 and toks[0][:1].isupper() and lows[0] not in first_names and (
            lows[1] in first_names or lows[0].endswith(lex.demonym_suffixes)):
        toks, lows = toks[1:], lows[1:]  # "Canadian Bruce Rockowitz": a nationality before the name
    definite, indefinite = lex.definite, lex.indefinite
    out = []
    for k, t in enumerate(toks):
        low = lows[k]
        if t and low.rstrip(".") not in titles and (low not in roles or k > 0 and t[:1].isupper() and low in kin) \
                and low not in definite and low not in indefinite:
            out.append(t)
    return tuple(out)


@lru_cache(maxsize=65536)
def _core_and_low(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A name's core and the core in lower case."""
    core = _person_core_cached(name)
    return core, tuple(c.lower() for c in core)


@lru_cache(maxsize=65536)
def _index_entry(chain: str) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """(lower-case core, core joined, distinct core tokens) of a person-like chain, or
    None when it is no person name (a pure function of the chain, so cached)."""
    lex = _lexicon()
    cc = _person_core_cached(chain)
    if len(cc) < 2 or len(cc) > 4:
        return None
    cl = tuple(c.lower() for c in cc)
    if any(_gov_word(o, lex) or c in lex.states or c in lex.media for c, o in zip(cl, cc)):
        return None
    # set order as the index was filled before (one dict key per distinct token)
    return cl, " ".join(cc), tuple(set(cl))


@lru_cache(maxsize=65536)  # a pure function of the chain; chains recur
def _chain_person_info(chain: str) -> tuple[int, str, int, str, bool, str] | None:
    """What _Resolver._chain_person needs of a chain: (characters dropped before it,
    chain without leading adverbs/prepositions, core length, first core token in lower
    case, whether it can be a person, gender), or None when nothing is left."""
    lex = _lexicon()
    words = chain.split()
    drop = 0
    while words and (words[0].lower() in _LEADING_JUNK or words[0].lower() in _PREPS):
        drop += len(words[0]) + 1
        words = words[1:]
    if not words:
        return None
    chain = " ".join(words)
    core = _person_core_cached(chain)
    core0 = core[0].lower() if len(core) == 1 else ""
    ok, g = False, "x"
    if _POSS.search(chain) and chain[-2:-1] in "'’":
        pass  # "Trump’s campaign": the possessor is not the subject
    elif _place_cached(chain) or chain.isupper() or _named_place(chain, lex):
        pass  # a place, an all-capitals dateline or heading ("MIDWAY ATOLL")
    elif words[0].isupper() and len(words[0]) > 2 or words[-1].lower() in _TIME_WORDS or words[-1].lower() in _MONTHS:
        pass  # a photo credit ("POOL New"), a place and a date ("West Palm Beach Tuesday")
    else:
        typ, g, _ = _classify_cached(chain)
        low = chain.lower()
        ok = typ == "person" and not any(w in lex.states or _gov_word(o, lex) or w in lex.media
                                         for w, o in zip(low.split(), chain.split()))
    return drop, chain, len(core), core0, ok, g


_FIRST_PERSON = frozenset(["i", "i’d", "i'd", "i’m", "i'm", "i’ve", "i've", "i’ll", "i'll"])
_AGE = re.compile(r"\d+-year-old$")
# agent-noun endings of person nouns missing from the role list ("questioner", "reader")
_AGENT_SUFFIXES = ("er", "or", "ist", "ian", "ess", "ee", "ant")


@lru_cache(maxsize=65536)  # a pure function of the name; names recur
def _person_like(name: str) -> bool:
    """Whether a person-typed mention can stand for a person: a capitalised name, or a
    description headed by a role noun or title ("the senator", "the 46-year-old")."""
    lex = _lexicon()
    words = name.split()
    while words and words[0].lower() in lex.definite | lex.indefinite:
        words = words[1:]
    if not words:
        return False
    if any(w[:1].isupper() and _POSS.sub("", w).lower() not in _FIRST_PERSON for w in words):
        return True  # a capital, "I" and its contractions aside ("was something I’d")
    head = _head_word(words[-1])
    sg = head[:-1] if head.endswith("s") else head
    return head in lex.roles or sg in lex.roles or head in lex.titles or head in lex.anonymous \
        or head in lex.pronouns or bool(_AGE.search(head)) or sg.endswith(_AGENT_SUFFIXES)


_MONTHS = frozenset("january february march april may june july august september october november december".split())


def _named_place(chain: str, lex: _Lexicon) -> bool:
    """Whether a chain is a listed place or ends with one ("Louisville, Kentucky" no;
    "Ted Cruz South Carolina", a run-on chain, yes)."""
    words = chain.lower().split()
    return any(" ".join(words[k:]) in lex.places for k in range(max(0, len(words) - 3), len(words)))


@lru_cache(maxsize=65536)  # a pure function of the chain; chains recur
def _lower_words(chain: str) -> frozenset[str]:
    return frozenset(_LOWER_WORDS.findall(chain.lower()))


def text_prev_is_word(text: str, pos: int) -> bool:
    """Whether a capitalised word at pos is mid-sentence (not capitalised as a sentence start)."""
    k = pos - 1
    while k >= 0 and text[k] == " ":
        k -= 1
    return k >= 0 and text[k] not in ".!?\n\"“”"


_AZ = re.compile(r"[a-z]+")


def _has_word(low: str, word: str) -> bool:
    """Whether ``word`` (letters a-z) is one of ``_LOWER_WORDS.findall(low)``: an
    occurrence with no letter a-z on either side (no set of the words built)."""
    n, k = len(word), low.find(word)
    while k >= 0:
        e = k + n
        if (k == 0 or not "a" <= low[k - 1] <= "z") and (e == len(low) or not "a" <= low[e] <= "z"):
            return True
        k = low.find(word, k + 1)
    return False


_TITLE_PREP = re.compile(r"\b([A-Za-z]+) (?:to|of|for) $")
_PREP_TAILS = tuple(p + " " + end for p in ("to", "of", "for") for end in ("", "\n"))


class _Resolver:
    """Document-order coreference over the sources met so far."""

    def __init__(self, text: str, lex: _Lexicon, blocked: list[tuple[int, int]] | None = None):
        self.text = text
        self.lex = lex
        self.blocked = blocked
        self.entities: list[_Entity] = []
        self._chains: list[tuple[int, int, str]] | None = None
        self._index: dict[str, list[tuple[int, tuple[str, ...], str]]] | None = None
        self._ctx: dict[tuple[int, int], str] = {}  # the text around an entity, in lower case
        self._last_person: dict[str, _Entity] = {}  # the latest person entity by name (names and types never change)
        # per lower-case core: starts and full names of the longest index chains holding it
        self._fullest: dict[tuple[str, ...], tuple[list[int], list[str]]] = {}

    @property
    def chains(self) -> list[tuple[int, int, str]]:
        if self._chains is None:
            self._chains = _name_chains(self.text, self.blocked)
        return self._chains

    @property
    def person_chains(self) -> dict[str, list[tuple[int, tuple[str, ...], str]]]:
        """Person-like name chains of the document, indexed by their lower-case tokens."""
        if self._index is None:
            lex = self.lex
            self._index = {}
            text = self.text
            endswith = text.endswith
            for s, _, chain in self.chains:
                # the regex needs "to "/"of "/"for " (then the window's end, or a newline
                # and the end: `$`) right before s: a suffix test skips it for almost
                # every chain; without it a one-word chain stays one word
                titled = endswith(_PREP_TAILS, 0, s)
                if " " not in chain and not titled:
                    continue  # one word is no full name (_index_entry needs two)
                if _place_cached(chain):
                    continue
                if titled:
                    m = _TITLE_PREP.search(text, max(0, s - 30), s)
                    if m is not None and m.group(1).lower() in lex.titles:
                        chain = m.group() + chain  # "Ambassador to | North Macedonia Gregor Lind"
                entry = _index_entry(chain)
                if entry is None:
                    continue
                cl, full, toks = entry
                for tok in toks:
                    self._index.setdefault(tok, []).append((s, cl, full))
        return self._index

    def fullest(self, name: str, pos: int) -> str:
        """The longest person-name chain of the document holding ``name``'s core (its
        name tokens in a row), the nearest before pos, else the first after it."""
        core, low = _core_and_low(name)
        if not core or len(core) > 4:
            return " ".join(core) if core else name
        cand = self._fullest.get(low)
        if cand is None:
            # the candidates depend on the core only (names recur: ~12 calls, a few
            # names an article); the index lists chains in text order, so starts are sorted
            n, top = len(low), 0
            starts: list[int] = []
            fulls: list[str] = []
            for s, cl, full in self.person_chains.get(low[0], ()):
                k = len(cl)
                if k <= n or k < top or not any(cl[j : j + n] == low for j in range(k - n + 1)):
                    continue
                if k > top:
                    top, starts, fulls = k, [], []
                starts.append(s)
                fulls.append(full)
            cand = self._fullest[low] = (starts, fulls)
        starts, fulls = cand
        if not starts:
            return " ".join(core)
        k = bisect.bisect_left(starts, pos)
        return fulls[k - 1] if k else fulls[0]

    def add(self, name: str, start: int, end: int, typ: str, gender: str, plural: bool) -> _Entity:
        ent = _Entity(name, start, end, typ, gender, plural)
        self.register(ent)
        return ent

    def register(self, ent: _Entity) -> None:
        """Append a source; every entity goes through here, so the latest person of
        each name is known without a scan of all entities (quadratic in long texts)."""
        self.entities.append(ent)
        if ent.type == "person":
            self._last_person[ent.name] = ent

    def _chain_person(self, pos: int, gender: str, *, after: int = -1, subject: bool = False) -> _Entity | None:
        """The nearest person-like name before pos (titles or two capitalised words, or
        a surname known from a full name), after ``after``; with ``subject``, only names
        opening a sentence or clause ("Schlafly put her finger on ... “...,” she wrote")."""
        lex = self.lex
        idx = bisect.bisect_left(self.chains, (pos,))
        for s, e, chain in reversed(self.chains[max(0, idx - 40) : idx]):
            if s <= after:
                break
            info = _chain_person_info(chain)
            if info is None:
                continue
            drop, chain, ncore, core0, ok, g = info
            if not ok:
                continue  # the cheapest test first (all are pure)
            if subject and drop == 0 and text_prev_is_word(self.text, s) and self.text[s - 2 : s] != ", ":
                continue
            if ncore == 1 and core0 in self.person_chains:
                pass  # "Clinton" alone, known from "Hillary Clinton"
            elif ncore < 2 or ncore > 4:
                continue
            if _glued(self.text, s):
                continue
            full = self.fullest(chain, s)
            if g == "x":
                g = _classify_cached(full)[1]
            if gender in ("m", "f") and g in ("m", "f") and g != gender:
                continue
            return _Entity(full, s + drop, e, "person", g, False)
        return None

    def resolve(self, men: _Mention) -> tuple[str, int, int, str]:
        """(speaker, start, end, speaker_type) for a frame's mention; registers it."""
        lex = self.lex
        raw = men.text.strip().strip(",")
        low = raw.lower()
        if _participle_opener(raw, self.text, men.end, lex):
            return None, None, None, None  # "Noting that ..., he said": an adverbial, no speaker
        if low in ("it's", "it’s"):
            return None, None, None, None  # "It's hard to know whether ...": "it is", impersonal
        if low in lex.pronouns:
            info = lex.pronouns[low]
            g, pl = info["gender"], info["number"] == "pl"
            found = None
            for ent in reversed(self.entities):
                if ent.start >= men.start:
                    continue
                if g == "n" and ent.type in ("person", "anonymous"):
                    continue  # "it" is no person, nor "a committee aide"/"officials"
                if g in ("m", "f") and (ent.type != "person" or ent.plural or ent.gender in ("m", "f") and ent.gender != g):
                    continue
                if g != "n" and not pl and ent.type == "person" and not _person_like(ent.name):
                    continue  # "the fireworks", "a new influx": a misread subject is no antecedent
                if pl and not (ent.plural or ent.type in ("government_body", "state", "anonymous", "media")):
                    continue
                if not pl and ent.plural:
                    continue
                found = ent
                break
            if g in ("m", "f", "x") and not pl:
                # a person named as the subject of a later sentence than the last
                # source is the likelier antecedent
                ent = self._chain_person(men.start, g, after=found.start if found else -1, subject=True)
                if ent is None and found is None:
                    # no source yet: a name in any position ("... selling the gun. “...,” he said")
                    ent = self._chain_person(men.start, g)
                if ent is not None:
                    self.register(ent)
                    return ent.name, ent.start, ent.end, ent.type
            if found is not None:
                if g in ("m", "f") and found.gender == "x":
                    found.gender = g
                return found.name, found.start, found.end, found.type
            if pl:
                # "North Korea and Russia ... what they described as": a conjoined
                # name pair shortly before
                for m in reversed(list(_CONJOINED.finditer(self.text, max(0, men.start - 300), men.start))):
                    name = m.group()
                    typ = _classify_cached(m.group(1))[0]
                    return name, m.start(), m.end(), typ
            # unresolved: the pronoun itself, in lower case ("It" at a sentence start is
            # the same pronoun, never a name)
            return low, men.start, men.end, ("anonymous" if g != "n" else "government_body")
        typ, gender, plural = _classify_cached(raw)
        if typ == "person" and _place_cached(raw):
            typ = "state"  # "Downing Street said": a place stands for its government
        words = raw.split()
        first = words[0].lower() if words else ""
        nominal = first in lex.definite and (words[-1].islower() or not raw[len(words[0]) :].strip()[:1].isupper())
        if nominal or first in lex.definite and typ != "person":
            # "the ministry", "the Russian leader": the latest source sharing its words
            content = {_head_word(w) for w in words[1:]} - lex.definite - {"of", "the", "and"}
            head = _head_word(words[-1]) if words else ""
            if typ == "person" and not plural:
                # "the Russian leader": the latest person whose mention carries its
                # modifiers ("Russian President Vladimir Putin")
                adj = {w for w in content if w not in lex.roles and w not in lex.titles}
                if adj:
                    idx = bisect.bisect_left(self.chains, (men.start,))
                    for s, e, chain in reversed(self.chains[max(0, idx - 40) : idx]):
                        if adj <= _lower_words(chain) and len(_person_core_cached(chain)) >= 2:
                            typ2, g2, _ = _classify_cached(chain)
                            if typ2 == "person":
                                name = self.fullest(chain, s)
                                self.add(name, men.start, men.end, "person", g2, False)
                                return name, men.start, men.end, "person"
            proper = not nominal  # "the Times", "the Kremlin": a name, found only in a name
            head_az = _AZ.fullmatch(head) is not None  # else no context word equals it
            for ent in reversed(self.entities):
                if ent.start >= men.start:
                    continue
                if proper and head not in _lower_words(ent.name):
                    continue
                # the type tests first: the context words are read only for a candidate
                if not (ent.type == typ if typ != "person" else ent.type == "person" and not plural and not ent.plural):
                    continue
                key = (ent.start, ent.end)
                ctx = self._ctx.get(key)
                if ctx is None:
                    ctx = self._ctx[key] = self.text[max(0, ent.start - 40) : ent.end + 60].lower()
                if head_az and _has_word(ctx, head):
                    return ent.name, ent.start, ent.end, ent.type
            if typ == "person" and not plural and (head in lex.roles or head in lex.titles) \
                    and any(w.endswith(lex.demonym_suffixes) for w in content - {head}):
                # "Putin thanked Kim. “...,” the Russian leader said.": no earlier mention
                # carries its words, so the latest single person named as a source
                for ent in reversed(self.entities):
                    if ent.start >= men.start or ent.type != "person" or ent.plural or not ent.name[:1].isupper():
                        continue
                    if men.start - ent.start > 300:
                        break
                    if gender in ("m", "f") and ent.gender in ("m", "f") and ent.gender != gender:
                        continue
                    return ent.name, ent.start, ent.end, ent.type
            self.add(raw, men.start, men.end, typ, gender, plural)
            return raw, men.start, men.end, typ
        name = raw
        if typ == "person" and any(w[:1].isupper() for w in words):
            # "press secretary Sean Spicer" -> "Sean Spicer"
            name = self.fullest(raw, men.start)
            if name.lower() in lex.states:
                name = raw  # "Malaysia's prosecutor" is a person, not "Malaysia"
            # a later mention of a known person: reuse its entity (keeps gender)
            ent = self._last_person.get(name)
            if ent is not None:
                ent2 = self.add(name, men.start, men.end, typ, gender if gender != "x" else ent.gender, plural)
                return name, men.start, men.end, ent2.type
        elif typ != "anonymous":
            name = _POSS.sub("", raw) if raw[:1].isupper() else raw
        self.add(name, men.start, men.end, typ, gender, plural)
        return name, men.start, men.end, typ


_NEXT_WORD = re.compile(r"[ \u00a0]+([a-z][\w'’-]*)")


def _participle_opener(raw: str, text: str, end: int, lex: _Lexicon) -> bool:
    """Whether a mention is a sentence-opening participle ("Noting that ...", "Referring
    to ...", "Asked about ..."), not a name: one capitalised -ing/-ed word that no
    lexicon knows, followed by a lower-case word that is not its cue ("Harding said")."""
    if " " in raw or not raw[:1].isupper() or raw.isupper() or len(raw) < 5:
        return False
    low = raw.lower()
    if low.endswith(("ing", "ed")) and low in lex.cue_clause:
        return True  # a reporting verb's own participle ("Expressing hope that ...")
    if not low.endswith(("ing", "ed")) or low in lex.first_names or low in lex.states or low in lex.places \
            or low in lex.gov or low in lex.media or low in lex.roles or low in lex.titles:
        return False
    m = _NEXT_WORD.match(text, end)
    return m is not None and lex.cue_re.match(m.group(1)) is None


def _tidy_name(name: str | None, lex: _Lexicon) -> str | None:
    """One spelling per source: a leading "The" as "the" ("The U.S." = "the U.S."), and a
    sentence-initial common noun in lower case ("Speakers" = "speakers")."""
    if not name:
        return name
    if name.startswith("The "):
        return "the " + name[4:]
    if name[:1].isupper() and name[1:].islower() and name.isalpha():
        low = name.lower()
        sg = low[:-1] if low.endswith("s") else low
        if low in lex.anonymous or low in lex.roles or sg in lex.roles or low in lex.documents or sg in lex.documents \
                or low in lex.common_bodies:
            return low
    return name


# ------------------------------------------------------------------------ extraction

_TRAIL = " \t\n.,;:!?\"“”'’—–-"


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in " \t\n,;:\"“”—–":
        s += 1
    while e > s and text[e - 1] in _TRAIL:
        e -= 1
    return s, e


def _sent_index(starts: list[int], pos: int) -> int:
    return max(0, bisect.bisect_right(starts, pos) - 1)


_TITLE_CASE_WORD = re.compile(r"\b[A-Z][\w'’-]*")
_ANY_WORD = re.compile(r"\b[A-Za-z][\w'’-]*")


def _title_line(text: str) -> str | None:
    """The article's first line in lower case (same length) when it is a title-case
    headline of a few words, else None."""
    nl = text.find("\n")
    line = text[: nl if nl >= 0 else min(len(text), 200)]
    if not 3 <= len(line) <= 200:
        return None
    words = len(_ANY_WORD.findall(line))
    if words < 3 or len(_TITLE_CASE_WORD.findall(line)) < 0.7 * words:
        return None
    low = line.lower()
    return low if len(low) == len(line) else None


def extract_quotes(text: str, *, sentences: Sequence[Sentence] | None = None) -> list[Quote]:
    """Find the quotations and reported speech in ``text``, with their speakers.

    Args:
        text: One article (plain text; one paragraph per line or blank-line blocks).
        sentences: ``analysis.segment.sentences(text)``, when the caller has already
            split the text (the pipeline splits once for quotes and sentiment); the
            result is the same as without it.

    Returns:
        Quotes in text order, non-overlapping; offsets index into ``text``.
    """
    if not text or not text.strip():
        return []
    lex = _lexicon()
    if sentences is not None:
        # every paragraph has a sentence, its first starting and its last ending where it does
        by_para: dict[int, list[Sentence]] = {}
        for st in sentences:
            by_para.setdefault(st.paragraph, []).append(st)
        paras = [(v[0].start, v[-1].end) for _, v in sorted(by_para.items())]
    else:
        paras = [(p.start, p.end) for p in paragraphs(text)]
    para_starts = [p[0] for p in paras]
    spans = _double_spans(text, paras, para_starts)
    spans += _single_spans(text, para_starts, spans)
    spans.sort(key=lambda sp: sp.cs)
    blocked = [(sp.open_at, (sp.close_at if sp.close_at is not None else sp.ce) + 1) for sp in spans]
    bends = sorted(b[1] for b in blocked)
    bstarts_sorted = sorted(b[0] for b in blocked)
    resolver = _Resolver(text, lex, blocked)

    # sentences only where needed: Punkt is the costliest step, and a paragraph with
    # no quotation mark and no cue holds no attribution
    wanted = {max(0, bisect.bisect_right(para_starts, sp.open_at) - 1) for sp in spans}
    cue_matches = list(lex.cue_re.finditer(text))
    if (head := _title_line(text)) is not None:
        # a title-case headline ("Mayor Says Harbour Will Close"): its cues are capitalised
        cue_matches = [m for m in lex.cue_re.finditer(head) if not text[m.start()].islower()] + cue_matches
        cue_matches.sort(key=lambda m: m.start())
    # a substring test (C speed) first: every match holds one of the phrases past its first letter
    according_matches = list(lex.according_re.finditer(text)) if any(g in text for g in lex.according_guards) else []
    for m in cue_matches + according_matches:
        wanted.add(max(0, bisect.bisect_right(para_starts, m.start()) - 1))
    nominal_anchors = _nominal_anchors(text, lex)
    for pos, _ in nominal_anchors:
        wanted.add(max(0, bisect.bisect_right(para_starts, pos) - 1))
    sents = []
    for pi in sorted(wanted):
        if pi >= len(paras):
            continue
        if sentences is not None:
            sents.extend(by_para[pi])
            continue
        ps, pe = paras[pi]
        sents.extend(Sentence(a, b, pi) for a, b in split_sentences(text, ps, pe))
    if not sents:
        return []
    sent_starts = [s.start for s in sents]

    bisect_right = bisect.bisect_right

    def sent_of(pos: int):
        k = bisect_right(sent_starts, pos) - 1
        if k < 0:
            k = 0
        st = sents[k]
        return (k, st.start, st.end) if st.start <= pos < st.end else None

    fmap = _frames(text, lex, sent_of, blocked, cue_matches, according_matches, nominal_anchors)
    frames_by_sent: list[list[_Frame]] = [fmap.get(k, []) for k in range(len(sents))]

    items: list[dict[str, Any]] = []  # candidate quotes before resolution, text order

    # 1. quoted spans: direct or partial, with the adjacent frame
    for sp in spans:
        cs, ce = _trim(text, sp.cs, sp.ce)
        if ce <= cs:
            continue
        si = _sent_index(sent_starts, sp.open_at)
        sj = _sent_index(sent_starts, max(sp.ce - 1, sp.open_at))
        s_lo = sents[si].start if sents else 0
        s_hi = sents[sj].end if sents else len(text)
        after = sp.close_at + 1 if sp.close_at is not None else sp.ce
        # text around the quote in its sentence(s), cut at neighbouring quotes
        k = bisect.bisect_right(bends, sp.open_at)
        pre_lo = max(bends[k - 1], s_lo) if k else s_lo
        k = bisect.bisect_left(bstarts_sorted, after)
        post_hi = min(bstarts_sorted[k], max(s_hi, after)) if k < len(bstarts_sorted) else max(s_hi, after)
        if after >= s_hi and sj + 1 < len(sents) and sents[sj + 1].paragraph == sents[sj].paragraph:
            # closing mark after the sentence end: "“A.” He said." keeps "He said" out
            pass
        pre = text[pre_lo : sp.open_at]
        post = text[after:post_hi]
        frame = None
        cand = [f for k in range(si, sj + 1) for f in frames_by_sent[k]]
        post_frames = [f for f in cand if after <= f.cue_start < post_hi and f.mention is not None]
        pre_frames = [f for f in cand if pre_lo <= f.cue_start < sp.open_at and f.mention is not None]
        # speech verbs frame quotations; verbs of attitude only when nothing else does
        post_frames = [f for f in post_frames if f.clause != "object"] or post_frames
        pre_frames = [f for f in pre_frames if f.clause != "object"] or pre_frames
        if post_frames and len(_TOK.findall(text[after : post_frames[0].cue_start])) <= 8:
            frame = post_frames[0]
        elif pre_frames:
            frame = pre_frames[-1]
        elif post_frames:
            frame = post_frames[0]
        if frame is None and pre.rstrip().endswith(":"):
            # "... - Carl Bialik: “...”" names the speaker right before the colon;
            # "X delivered a blunt message to Trump: “...”": the clause's subject speaks
            colon = pre_lo + len(pre.rstrip()) - 1
            men, _ = _np_back(text, pre_lo, colon, lex)
            head = text[pre_lo : men.start].rstrip() if men is not None else "x"
            if men is None or not (not head or head.endswith(("-", "–", "—", "from", "From"))):
                men = _sentence_subject(text, pre_lo, sp.open_at, lex)
            if men is not None:
                frame = _Frame("", men.start, men.start, men, "subject")
        if frame is None and sp.para > 0 and sp.open_at == paras[sp.para][0]:
            frame = _colon_paragraph_frame(text, sp.para, paras, sents, si, frames_by_sent, lex)
        if frame is None and sp.close_at is not None:
            # an unlisted verb after the quote: '“...,” Hannity started.'
            m = lex.post_frame_re.match(text, after)
            if m is not None:
                np_, verb = ("np", "verb") if m.group("np") else ("np3", "verb3") if m.group("np3") else ("np2", "verb2")
                men = _Mention(m.start(np_), m.end(np_), m.group(np_))
                frame = _Frame(m.group(verb), m.start(verb), m.end(verb), men, "none")
                post_frames = [frame]
        if (frame is None or frame in pre_frames) and (dm := _DASH_ATTRIBUTION.match(text, ce)) is not None:
            # the convention '“...” — Bernie Sanders' (a dash, or the quotation dash
            # U+2015, names the speaker after the quote)
            men = _Mention(dm.start("np"), dm.end("np"), dm.group("np"))
            frame = _Frame("", men.start, men.start, men, "subject")
            post_frames = [frame]
        content = text[cs:ce]
        starts_sentence = (not pre.strip() or pre.rstrip()[-1:] in ":," or (frame in pre_frames and pre.strip() and pre.rstrip()[-1:] not in "a")) and (content[:1].isupper() or content[:1].isdigit() or content[:1] in "…." )
        ends_sentence = (not post.strip() or post.lstrip()[:1] in ",.?!" or frame in post_frames) and (
            content[-1:] in ".?!," or text[ce: after].strip(" \"“”'’")[:1] in (".", "?", "!", ",") or not post.strip(" .,!?") or frame in post_frames
        )
        if frame is not None and frame in post_frames and frame.mention is not None \
                and len(_TOK.findall(text[after : min(frame.mention.start, frame.cue_start)])) > 3:
            # '“We are horrified” by the shooting, Nefzi said.': the author's words
            # continue the sentence after the quote
            ends_sentence = False
        kind = "direct" if starts_sentence and ends_sentence else "partial"
        if kind == "partial" and frame is not None and pre_lo < sp.open_at:
            # the frame must govern the quote: for a partial quote the cue comes first
            pass
        items.append({"start": cs, "end": ce, "kind": kind, "frame": frame, "para": sp.para,
                      "fragments": ((cs, ce),), "sent": si, "sent_end": sj})

    # 2. indirect speech: the reported clause of each clause-taking frame
    # what is covered (direct quotes, then accepted clauses) and the partial quotes a
    # clause may take in, as sorted lists searched by bisect: the plain scans over all
    # of them per clause were quadratic in long texts. Both are disjoint (quoted spans
    # do not overlap, and a clause is accepted only off the covered spans, over the
    # partial quotes it meets); should that ever fail, the plain scans are used.
    covered = sorted((it["start"], it["end"]) for it in items if it["kind"] == "direct")
    cov_starts, cov_ends = [c[0] for c in covered], [c[1] for c in covered]
    partials = [it for it in items if it["kind"] == "partial"]  # text order
    part_starts, part_ends = [it["start"] for it in partials], [it["end"] for it in partials]
    part_dead = [False] * len(partials)
    removed: set[int] = set()  # ids of items taken into a clause (dropped from items after this pass)
    disjoint = all(cov_ends[j] <= cov_starts[j + 1] for j in range(len(covered) - 1)) \
        and all(part_ends[j] <= part_starts[j + 1] for j in range(len(partials) - 1))
    # a frame that introduces a direct quotation reports nothing else ('“...,” Kasich
    # told a crowd in Berea, Ohio'): what follows its cue is an adjunct
    quote_frames = {id(it["frame"]) for it in items if it["kind"] == "direct" and it["frame"] is not None}
    for k, st in enumerate(sents):
        if not frames_by_sent[k]:
            continue
        fs = [f for f in frames_by_sent[k] if f.mention is not None or f.clause == "nominal"]
        cand_spans: list[tuple[tuple[int, int], _Frame]] = []
        for n, f in enumerate(fs):
            if id(f) in quote_frames:
                continue
            if f.clause == "none" and not (
                    f.mention is not None and f.mention.end <= f.cue_start
                    and text[st.start : f.mention.start].rstrip().endswith(",")
                    and len(text[f.cue_end : st.end].split()) <= 4):
                # "none" verbs frame quotations, and a clause only when they close its
                # sentence ("..., the release continued."); "he began drinking", "Trump
                # went on to promote" report nothing
                continue
            # the clause ends where the next frame's speaker starts ("A said B, but C said D")
            span = _reported_clause(text, st.start, st.end, f, lex)
            if span is not None:
                for g in fs[n + 1 :]:
                    if g.mention is not None and span[0] + 10 < g.mention.start < span[1] and g.mention.end <= g.cue_start \
                            and g.clause not in ("object", "nominal") \
                            and _CLAUSE_GAP.search(text, max(span[0], g.mention.start - 14), g.mention.start):
                        # "A said B, but C said D": B ends where C's clause starts
                        span = _trim(text, span[0], g.mention.start)
                        m = _DANGLING.search(text, span[0], span[1])
                        if m is not None:
                            span = _trim(text, span[0], m.start())
                        break
            if span is None:
                continue
            if span[1] - span[0] < (4 if f.clause in ("object", "nominal", "that", "strict") else 12):
                continue
            cand_spans.append((span, f))
        # nested attributions (output attributions do not overlap): a say/tell frame
        # first ("Putin vows to expand ties, state media says"; "The Russian leader
        # said X, according to KCNA"), else the outer, longer clause
        cand_spans.sort(key=lambda sf: (not (sf[1].clause in ("bare", "listener") or text[max(0, sf[0][0] - 6) : sf[0][0]].rstrip().endswith("that")),
                                        sf[0][0] - sf[0][1]))
        for (cs, ce), f in cand_spans:
            if disjoint:
                # the last covered span starting before ce ends furthest
                j = bisect.bisect_left(cov_starts, ce)
                overlap = j > 0 and cov_ends[j - 1] > cs
            else:
                overlap = any(not (ce <= ca or cs >= cb) for ca, cb in zip(cov_starts, cov_ends))
            if overlap:
                # a direct quote already covers that content
                continue
            # the partial quotes inside the clause, and those straddling its edge, in
            # text order ("not inner" is what `it not in inner` tested: equal items share
            # their offsets); a clause's own item never qualifies (it is covered)
            inner, cross = [], []
            if disjoint:
                near = (partials[j] for j in range(bisect.bisect_right(part_ends, cs), bisect.bisect_left(part_starts, ce + 2))
                        if not part_dead[j])
            else:
                near = (it for it in items if it["kind"] == "partial" and id(it) not in removed)
            for it in near:
                a, b = it["start"], it["end"]
                if cs <= a and b <= ce + 2:
                    inner.append(it)
                elif not (ce <= a or cs >= b):
                    cross.append(it)
            if cross:
                # a quoted span straddles the clause edge: extend the clause over it
                cs = min([cs] + [it["start"] for it in cross])
                ce = max([ce] + [it["end"] for it in cross])
                inner += cross
            for it in inner:
                removed.add(id(it))
            if disjoint:
                for it in inner:
                    part_dead[bisect.bisect_left(part_starts, it["start"])] = True
            kind = "partial" if inner else "indirect"
            frags = tuple(fr for it in inner for fr in it["fragments"])
            items.append({"start": cs, "end": ce, "kind": kind, "frame": f, "para": st.paragraph,
                          "fragments": frags, "sent": k, "sent_end": k})
            j = bisect.bisect_left(cov_starts, cs)
            if j > 0 and cov_ends[j - 1] > cs or j < len(cov_starts) and cov_starts[j] < ce:
                disjoint = False  # not expected (see above); the plain scans from here on
            cov_starts.insert(j, cs)
            cov_ends.insert(j, ce)
    if removed:
        items = [it for it in items if id(it) not in removed]

    items.sort(key=lambda it: it["start"])
    # 3. drop overlaps (keep the earlier, longer)
    kept: list[dict[str, Any]] = []
    for it in items:
        if kept and it["start"] < kept[-1]["end"]:
            if it["end"] - it["start"] > kept[-1]["end"] - kept[-1]["start"] and kept[-1]["kind"] != "direct":
                kept[-1] = it
            continue
        kept.append(it)

    # 4. speakers in document order; a frameless direct quote inherits the speaker of
    # the quote just before it (same or previous paragraph), or takes the frame of
    # the sentence that follows it ("“A.” \n He said.").
    # every frame's speaker is resolved in document order first, so a pronoun finds
    # the latest earlier source even when that source's words were not kept
    # keyed by id(); the value holds the frame so its id is never reused: a frame made
    # on the fly (_subject_frame) and freed could otherwise hand its id, and so its
    # speaker, to the next one
    resolved: dict[int, tuple[_Frame, tuple]] = {}
    for f in sorted((f for fs in frames_by_sent for f in fs if f.mention is not None), key=lambda f: f.mention.start):
        resolved[id(f)] = (f, resolver.resolve(f.mention))

    def speaker_of(f: _Frame) -> tuple:
        if id(f) not in resolved:
            resolved[id(f)] = (f, resolver.resolve(f.mention))
        return resolved[id(f)][1]

    out: list[Quote] = []
    prev: Quote | None = None
    for n, it in enumerate(kept):
        f = it["frame"]
        spk = (None, None, None, None)
        cue = None
        if f is None and it["kind"] == "partial":
            f = _sentence_frame(frames_by_sent[it["sent"]], it["start"])
            if f is None:
                f = _subject_frame(text, sents[it["sent"]].start, it["start"], lex)
        if f is not None and f.mention is not None:
            spk = speaker_of(f)
            cue = f.cue if f.clause != "subject" else None
        elif f is not None and f.clause == "nominal":
            cue = f.cue  # "the belief that ...": nobody named
        elif it["kind"] == "direct" and (g := _next_sentence_frame(text, it, sents, frames_by_sent)) is not None:
            # '“...!” Cruz said.' split into two sentences at the mark: the frame follows
            spk = speaker_of(g)
            cue = g.cue
        elif it["kind"] == "direct" and not (prev is not None and prev.speaker and prev.paragraph == it["para"]) \
                and (ent := resolver._chain_person(
                it["start"], "x", subject=True,
                after=max(prev.end if prev is not None else -1, paras[max(0, it["para"] - 1)][0] - 1))) is not None:
            # a person named as a subject since the last quote ("Trump almost seemed to
            # agree. “...”") speaks a quotation that has no frame of its own
            resolver.register(ent)
            spk = (ent.name, ent.start, ent.end, ent.type)
        elif prev is not None and prev.speaker and it["para"] - prev.paragraph <= (1 if it["kind"] == "direct" else 0):
            spk = (prev.speaker, prev.speaker_start, prev.speaker_end, prev.speaker_type)
            cue = prev.cue
        elif it["kind"] == "direct":
            nxt = it["sent_end"] + 1
            if nxt < len(sents):
                for g in frames_by_sent[nxt]:
                    if g.mention is not None and g.clause != "according" and len(_TOK.findall(text[sents[nxt].start : g.cue_start])) <= 4:
                        spk = speaker_of(g)
                        cue = g.cue
                        break
        q = Quote(it["start"], it["end"], text[it["start"] : it["end"]], it["kind"], _tidy_name(spk[0], lex), spk[1], spk[2],
                  spk[3], cue, it["para"], it["fragments"])
        if q.kind != "indirect" and not _is_speech(q):
            continue
        out.append(q)
        if q.kind == "direct" or q.speaker:
            prev = q
    return out


_TITLE_WORD = re.compile(r"[A-Z0-9][\w'’.:-]*|of|the|a|an|and|in|on|for|to|with|at|by|is|from")


def _is_speech(q: Quote) -> bool:
    """Whether a quoted span is someone's words rather than a scare quote, a title or
    a name: unattributed fragments, title-case or all-caps phrases and numbers are
    not speech (in PolNeAR they are not attributions either)."""
    words = q.text.split()
    if not words or not any(ch.isalpha() for ch in q.text):
        return False
    # the title-case test last, only where its answer counts
    if q.kind == "partial":
        if q.speaker is None and (len(words) < 4 or len(q.fragments) != 1):
            return False
        if len(q.fragments) <= 1 and q.end - q.start == sum(e - s for s, e in q.fragments) and _title_case(words):
            return False
        return True
    # direct: a short title-case phrase with no reporting frame is a title or a name
    if len(words) <= 8 and q.cue is None and _title_case(words):
        return False
    return True


def _title_case(words: list[str]) -> bool:
    return all(_TITLE_WORD.fullmatch(w.strip(",.!?;:\"'’”“()")) for w in words)


def _colon_paragraph_frame(text: str, para: int, paras: list[tuple[int, int]], sents: list[Sentence], si: int,
                           frames_by_sent: list[list[_Frame]], lex: _Lexicon) -> _Frame | None:
    """The frame of a quotation that opens a paragraph after one ending in a colon
    ("The group responded:" / "He told the crowd:" then the quotation): the last cue of
    that sentence with a speaker, else its subject."""
    ps, pe = paras[para - 1]
    body = text[ps:pe].rstrip()
    if not body.endswith(":"):
        return None
    colon = ps + len(body) - 1
    k = si - 1
    while k >= 0 and sents[k].paragraph == para - 1 and sents[k].start > colon:
        k -= 1
    if k >= 0 and sents[k].paragraph == para - 1:
        fs = [f for f in frames_by_sent[k] if f.mention is not None and f.cue_start < colon]
        best = [f for f in fs if f.clause != "object"] or fs
        if best:
            return best[-1]
        lo = sents[k].start
    else:
        lo = ps  # a paragraph with no cue was not split into sentences
        for a, _ in split_sentences(text, ps, pe):
            if a < colon:
                lo = a
    men = _sentence_subject(text, lo, colon, lex)
    return _Frame("", men.start, men.start, men, "subject") if men is not None else None


def _next_sentence_frame(text: str, it: dict[str, Any], sents: list[Sentence],
                         frames_by_sent: list[list[_Frame]]) -> _Frame | None:
    """The frame of the sentence that starts right after a quotation, when it opens
    with a short speaker and its cue ('“...?” Freddy Ortega said.')."""
    nxt = it["sent_end"] + 1
    if nxt >= len(sents) or sents[nxt].paragraph != it["para"]:
        return None
    if text[it["end"] : sents[nxt].start].strip(" \t\"”'’.,!?…") != "":
        return None
    for g in frames_by_sent[nxt]:
        if g.mention is not None and g.clause != "according" and g.mention.end <= g.cue_start \
                and len(_TOK.findall(text[sents[nxt].start : g.cue_start])) <= 6 \
                and not text[g.cue_end : sents[nxt].end].strip(" .,;:!?")[:1].isupper():
            return g
    return None


def _sentence_frame(frames: list[_Frame], pos: int) -> _Frame | None:
    """The frame governing a partial quote: the nearest cue before it, else after."""
    before = [f for f in frames if f.cue_start < pos and f.mention is not None]
    if before:
        return before[-1]
    after = [f for f in frames if f.cue_start >= pos and f.mention is not None]
    return after[0] if after else None


def _sentence_subject(text: str, lo: int, hi: int, lex: _Lexicon) -> _Mention | None:
    """The noun phrase opening the clause [lo, hi), after opening adverbials ("Here in
    Columbia, Sanders stepped up ..., saying, “...”" -> Sanders)."""
    # tokens read lazily: the rules look at most 16 tokens past k, and the clause up to
    # the cue (all of it was tokenised before) is mostly never looked at
    it = _TOK_NP.finditer(text, lo, hi)
    toks: list[tuple[str, int, int]] = []
    done = False
    k = 0
    while True:
        if not done and len(toks) < k + 16:
            toks += [(m[0], m.start(), m.end()) for m in islice(it, k + 16 - len(toks))]
            done = len(toks) < k + 16
        if k >= len(toks):
            break
        t = toks[k][0]
        tl = t.lower()
        seg_end = k
        while seg_end < len(toks) and toks[seg_end][0] != "," and seg_end - k < 6:
            seg_end += 1
        opener = seg_end < len(toks) and toks[seg_end][0] == "," and any(
            toks[x][0].lower() in _TIME_WORDS or toks[x][0].lower() in ("later", "earlier", "ago", "hours", "minutes", "days")
            for x in range(k, seg_end))
        if opener or (t.isupper() and len(t) > 2 and k == 0):
            # "Hours later, X ...", "The next day, X ...", a "WASHINGTON" dateline
            k = seg_end + 1 if opener else k + 1
            continue
        if tl in _PREPS or tl in ("here", "there", "still", "meanwhile", "later", "earlier", "then"):
            # an opening adverbial: resume after its comma
            c = k
            while c < len(toks) and toks[c][0] != "," and c - k < 15:
                c += 1
            if c >= len(toks) or toks[c][0] != ",":
                return None
            k = c + 1
            continue
        if t in "\"“”'‘’([" or (tl in _LEADING_JUNK and tl not in lex.pronouns):
            k += 1
            continue
        break
    if k >= len(toks):
        return None
    # _np_fwd reads the first 16 tokens from toks[k] up to min(hi, start + 160): this
    # scan's tokens when they are the same (all read, and none reaching within 4
    # characters of a cut that this scan did not have), else it tokenises again
    seg = toks[k : k + 16]
    cut = min(hi, toks[k][1] + 160)
    same = (len(seg) == 16 or done) and (cut == hi or seg[-1][2] + 4 <= cut)
    m = _np_fwd(text, toks[k][1], hi, lex, toks=seg if same else None)
    if m is None or m.text.lower() in lex.definite:
        return None
    return m


def _subject_frame(text: str, lo: int, hi: int, lex: _Lexicon) -> _Frame | None:
    """The named subject opening a sentence, as the source of a frameless partial quote
    ("North Korea marked ..., casting ties as “new strategic height”")."""
    m = _NAME_CHAIN.match(text, lo, hi)
    if m is None:
        return None
    name = m.group()
    if name.split()[0].lower() in _LEADING_JUNK or name.lower() in lex.definite or name.lower() in lex.pronouns:
        return None  # a pronoun is no named subject ("It is clear that ...", as "it is" mid-sentence)
    typ, _, _ = _classify_cached(name)
    nxt = text[m.end() : m.end() + 40]
    if typ == "person" and len(name.split()) < 2:
        return None
    if not _VERB_AFTER.match(nxt):
        return None
    return _Frame("", m.start(), m.start(), _Mention(m.start(), m.end(), name), "subject")


_DASH_ATTRIBUTION = re.compile(
    r"[.,!?]?[\"”'’]?[ \t]*(?:\n\s*)?(?:[—–-]{1,2}|―)[ \u00a0]*(?P<np>" + _CAPWORD + r"(?:[ \u00a0]" + _CAPWORD + r"){0,3})"
    r"(?=[ \t]*(?:[.,(]|\n|$))"
)
def _post_frame_re(irregular: list[str]) -> re.Pattern:
    """'“...,” Hannity pressed.' / '“...?” reacted Trump.' / '“...,” the statement read.':
    a short speaker and any verb in -ed/-s (or a listed irregular one) right after a
    quotation, closing the sentence."""
    verbs = _alt(re.escape(v).replace(r"\ ", r"[ \u00a0]+") for v in irregular)
    det_np = r"(?:the|a|an|his|her|its|their)[ \u00a0]+[a-z][\w-]*(?:[ \u00a0]+[a-z][\w-]*)?"
    names = _CAPWORD + r"(?:[ \u00a0]" + _CAPWORD + r"){0,3}"
    end = r"(?=[ \u00a0]*[.,;:!?])"
    return re.compile(
        r"[ \u00a0]*(?:,[ \u00a0]*)?(?:(?P<np>he|she|they|we|I|it|" + names + r")"
        r"[ \u00a0]+(?P<verb>[a-z]{3,}(?:ed|s)|" + verbs + r")(?=[ \u00a0]*[.,;:!?]|[ \u00a0]+(?:as|and|while|to|in|on|at)\b)"
        # a description only when the sentence ends at the verb ('“...,” the email read.')
        r"|(?P<np3>" + det_np + r")[ \u00a0]+(?P<verb3>[a-z]{3,}(?:ed|s)|" + verbs + r")" + end +
        r"|(?P<verb2>[a-z]{3,}ed|" + verbs + r")[ \u00a0]+(?P<np2>" + names + "|" + det_np + r")" + end + ")"
    )
# \b(?:that|whether|how|why)\b with the first letter first (re skips to candidates
# only when a pattern starts with a literal or a class) and the word boundary before
# it as a look-behind: same matches, twice as fast
_THAT = re.compile(r"(?:t(?<!\wt)hat|w(?<!\ww)h(?:ether|y)|h(?<!\wh)ow)\b")


# words that open a reported clause themselves: "said they are worried that ..." reports
# "they are worried that ...", not what follows "that"
_CLAUSE_OPENERS = frozenset("he she they it we i you there this these those his her their its our".split())
_LISTENER = re.compile(
    r"\s+(?:reporters|him|her|them|me|us|you|audiences?|supporters|voters|(?:the|a|an|his|her|their) [\w-]+(?: [\w-]+)?"
    # any short lowercase noun phrase when "that" follows at once ("told party officials that")
    r"|(?!that\b)[a-z][\w-]*(?: (?!that\b)[a-z][\w-]*){0,2}(?=\s+that\b)"
    # "told delegates at the party convention that ...": a listener and a short place
    r"|(?!that\b)[a-z][\w-]*(?: (?!that\b)[a-z][\w-]*)? (?:at|in|on|during) (?!that\b)[\w.'’-]+(?: (?!that\b)[\w.'’-]+){0,4}(?=\s+that\b)"
    r"|[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})(?:\s+(?:on|in|at|during|last|this) [\w-]+(?: [\w-]+)?)?(?=[\s,])"
)
_CLAUSE_BREAK = re.compile(
    # ", but", ";", a dash, or a second verb of the same subject ("said X and suggested
    # that ...", "said X, recalled that"); only the start of a match is used, so the rest
    # is look-ahead, grouped by the first character (re tries alternatives one by one);
    # one leading class, the character then told apart by a look-behind, so re skips
    # to candidates (a leading \s alternative stopped that): same matches, 25% faster
    r"[,;\s](?:(?<=,)(?=\s+(?:but|adding|saying|noting|calling|according|referring|citing)\s|\s+and\s+(?=[a-z]{3,}ed\s)"
    r"|\s+(?=[a-z]{3,}ed\s+(?:that|to)\s))"
    r"|(?<=;)|(?<=\s)(?=[—–]\s|--\s|\s*and\s+(?=[a-z]{3,}ed\s)))"
)
_PARTICIPLE_AFTER = re.compile(r"\s*,\s*[a-z]+ing\b")
# one leading character class so re skips to candidates (only match starts are used)
# "as" ends an object unless it opens a description ("dismissed the plan as too vague",
# "described the dinner as a party"): then what follows is part of the content
_OBJECT_END = re.compile(r"[,\s](?:(?<=,)(?!\s+(?:including|such as|especially|particularly|notably|[a-z]{3,}ed by)\s)|(?<=\s)(?:by|after|before|when|while|because|since|and said|and then)\s"
                         r"|(?<=\s)as\s(?!(?:a|an|too|being|one|the|[a-z]+(?:ly|ed|ive|al|ous|ic|ing|less|ful|able|ible|ent|ant|ist))\b|[“\"']))")
# "to" + a verb ("vowed to fight", "agreed to end"), not "to" + a noun phrase ("pointed to
# the polls", "wrote to Smith"): a lowercase word that is no determiner or pronoun
_TO_INFINITIVE = re.compile(r"[ \u00a0]+to[ \u00a0]+(?!(?:the|a|an|his|her|their|its|our|my|your|this|that|these|those|him|them|me|us|it|some|any|all|each|every|no)\b)[a-z]{2,}\b")
_OBJECT_ADJUNCT = re.compile(
    r" (?:at (?:a|an|the|his|her|their) |(?:on |last |this |early |late )?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|(?:last|this|earlier|later) (?:week|month|year)\b)")
_BARE_START = re.compile(r"\s+(?:he|she|they|it|we|I|there|the|his|her|their|its|[A-Z][a-z]+\s+(?:[A-Z][a-z]+\s+)?(?:is|was|were|are|had|has|would|will|could|should|did|does)\b)\b")
# a subordinate frame ("While X said A, B ..."): the reported clause ends at the comma
_SUBORDINATE = frozenset("while although though whereas if because as when since after before".split())


_CLAUSE_GAP = re.compile(r"[,;:]\s*(?:(?:but|and|while|as|in which|which|where|who)\s+)?$")
_DANGLING = re.compile(r"(?:,\s*|\s+)(?:but|and|while|as|in which|which|where|who)$")


def _cut_clause(text: str, s: int, e: int) -> tuple[int, int]:
    """The reported clause from s, cut at the first clause break (", but", ";", a dash)."""
    m = _CLAUSE_BREAK.search(text, s, e)
    if m is not None and m.start() > s + 10:
        e = m.start()
    return _trim(text, s, e)


def _reported_clause(text: str, lo: int, hi: int, f: _Frame, lex: _Lexicon) -> tuple[int, int] | None:
    """Span of the clause a frame reports, inside the sentence [lo, hi)."""
    if f.clause == "nominal":
        # the complement after "that" / "of" / "about"
        s, e = _cut_clause(text, f.cue_end, hi)
        if text[f.cue_end - 4 : f.cue_end] != "that":
            m = _OBJECT_END.search(text, s, e)
            if m is not None and m.start() > s:
                s, e = _trim(text, s, m.start())
        return (s, e) if len(text[s:e].split()) >= 2 else None
    men = f.mention
    assert men is not None
    if f.clause == "according":
        if f.cue_start - lo < 3 or text[lo : f.cue_start].strip() in ("But", "And"):
            # "According to X, CLAUSE"
            comma = text.find(",", men.end, hi)
            if comma < 0 or comma - men.end > 150:
                return None
            s, e = _trim(text, comma + 1, hi)
            return (s, e) if e > s else None
        after = text.find(",", men.end, hi)
        if after >= 0 and after - men.end < 60 and len(text[after:hi].split()) >= 4 \
                and text[lo : f.cue_start].rstrip().endswith(","):
            # "At the heart of it, according to X, was a decision ...": the sentence
            s, e = _trim(text, lo, hi)
            return (s, e) if e > s else None
        # "CLAUSE, according to X"
        s, e = _trim(text, lo, f.cue_start)
        return (s, e) if e > s else None
    speaker_before = men.end <= f.cue_start
    if speaker_before:
        pre = text[lo : men.start].rstrip()
        first = pre.split(None, 1)[0].lower() if pre else ""
        if first in _SUBORDINATE and "," not in pre:
            comma = text.find(",", f.cue_end, hi)
            if comma > 0:
                hi = comma
        rest_lo = f.cue_end
        if f.clause == "object":
            # the complement: "X criticized the plan", "X wants to win"; an object
            # noun phrase ends at a comma or an adjunct ("... by reminding voters",
            # "... at a news conference", "... on Sunday")
            if text[rest_lo : rest_lo + 4] == " by ":
                return None  # a passive ("were attacked by X"): X is the agent, not content
            s, e = _cut_clause(text, rest_lo, hi)
            m = _OBJECT_END.search(text, s, e)
            if m is not None and m.start() > s:
                s, e = _trim(text, s, m.start())
            m = _OBJECT_ADJUNCT.search(text, s, e)
            if m is not None and m.start() > s:
                s, e = _trim(text, s, m.start())
            words = text[s:e].split()
            # one word only when it is a name ("X endorsed Clinton")
            return (s, e) if len(words) >= 2 or (words and words[0][:1].isupper() and words[0].isalpha()) else None
        if f.clause == "listener":
            # "X told reporters (that) ...": skip the listener
            lm = _LISTENER.match(text, rest_lo, hi)
            if lm is not None:
                rest_lo = lm.end()
            elif not (pre.endswith(",") and len(text[f.cue_end : hi].split()) <= 2 and not _MARKS.search(pre)):
                return None  # else "CLAUSE, the mayor told her.": the clause is before
        window = text[rest_lo : min(hi, rest_lo + 90)]
        m = _THAT.search(window) if f.clause != "none" else None
        gap = window[: m.start()].split() if m else []
        if m and "“" not in window[: m.start()] and '"' not in window[: m.start()] and len(gap) <= 8 \
                and not any(w.lower() in _CLAUSE_OPENERS for w in gap):
            s, e = _cut_clause(text, rest_lo + m.end(), hi)
            return (s, e) if e > s else None
        if pre.endswith(",") and f.clause != "listener" and text[f.cue_end : hi].lstrip()[:1] == ",":
            # "The goal, the statement emphasized, is to ...": a parenthetical frame;
            # the content is the sentence around it
            if len(text[f.cue_end : hi].split()) >= 4 and len(pre.split()) <= 6:
                s, e = _trim(text, lo, hi)
                return (s, e) if e > s else None
        if pre.endswith(",") and (f.clause != "listener" or len(text[f.cue_end : hi].split()) <= 2 and not _MARKS.search(pre)):
            # "CLAUSE, X said (on Monday)." / "CLAUSE, X told her." — the frame closes the sentence; an
            # opening adverbial ("At one point, X said ...") is not a clause
            tail = text[f.cue_end : hi].strip(" .,”\"'’")
            words = pre.split()
            clause_follows = _BARE_START.match(text, rest_lo) is not None or _word_at(text, rest_lo, "that ")
            first_tail = tail.split(None, 1)[0].lower() if tail else ""
            adjunct = first_tail in _TIME_WORDS or first_tail in _PREPS or first_tail in _TIME_LEAD
            if len(tail.split()) <= 4 or (not clause_follows and adjunct):
                # what follows the cue is an adjunct ("..., Hollande said Tuesday in Paris, noting ...")
                if len(words) >= 4 and not (words[0].lower() in _PREPS and len(words) <= 10):
                    s, e = _trim(text, lo, lo + len(pre) - 1)
                    return (s, e) if e > s else None
            # "Moments earlier, in his remarks, Trump said he ...": the clause follows
        if f.clause == "strict":
            return None  # "X maintains a wide lead": no "that", no report
        if _PARTICIPLE_AFTER.match(text, rest_lo):
            return None  # "X said, holding back tears": an adjunct, not a clause
        if f.clause == "that" and not _BARE_START.match(text, rest_lo) and not pre.endswith(",") \
                and ((text[rest_lo:hi].split(None, 1) or [""])[0].lower() not in _PREPS or _TO_INFINITIVE.match(text, rest_lo)):
            # "X hopes to work ...", "X reiterated those feelings": the complement
            s, e = _cut_clause(text, rest_lo, hi)
            m = _OBJECT_END.search(text, s, e)
            if m is not None and m.start() > s:
                s, e = _trim(text, s, m.start())
            return (s, e) if len(text[s:e].split()) >= 2 else None
        if f.clause in ("bare", "listener") or f.clause == "that" and _BARE_START.match(text, rest_lo):
            # "that" verbs take a clause without "that" when a subject follows at once
            # ("X argued the probe could not ...", "X admitted it withheld ...")
            s, e = _cut_clause(text, rest_lo, hi)
            words = text[s:e].split()
            if len(words) >= (3 if f.clause != "that" else 4) and words[0].lower() not in _PREPS and words[0].lower() not in ("so", "this"):
                return s, e
        return None
    # inverted "..., said X." : the clause is before the cue
    pre = text[lo : f.cue_start].rstrip()
    if pre.endswith(",") and f.clause != "none":
        s, e = _trim(text, lo, lo + len(pre) - 1)
        return (s, e) if e > s else None
    return None


# -------------------------------------------------------------------- tables and CLI

_COLUMNS = ["id", "outlet", "quote", "kind", "speaker", "speaker_type", "cue", "paragraph",
            "start", "end", "speaker_start", "speaker_end"]


def quotes_table(corpus: "Any") -> "Any":
    """One row per quote in a corpus.

    Args:
        corpus: DataFrame with columns ``id``, ``text`` and optionally ``outlet``
            (as returned by :func:`analysis.corpus.load_corpus`).

    Returns:
        DataFrame with columns id, outlet, quote, kind, speaker, speaker_type, cue,
        paragraph, start, end, speaker_start, speaker_end (offsets into ``text``).
    """
    import pandas as pd

    rows = []
    outlets = corpus["outlet"] if "outlet" in corpus.columns else ["unknown"] * len(corpus)
    for doc_id, outlet, text in zip(corpus["id"], outlets, corpus["text"]):
        for q in extract_quotes(text if isinstance(text, str) else ""):
            rows.append({"id": doc_id, "outlet": outlet, "quote": q.text, "kind": q.kind, "speaker": q.speaker,
                         "speaker_type": q.speaker_type, "cue": q.cue, "paragraph": q.paragraph, "start": q.start,
                         "end": q.end, "speaker_start": q.speaker_start, "speaker_end": q.speaker_end})
    df = pd.DataFrame(rows, columns=_COLUMNS)
    for col in ("speaker_start", "speaker_end"):
        df[col] = df[col].astype("Int64")
    return df


_CLI_KEYS = ("start", "end", "text", "kind", "speaker", "speaker_start", "speaker_end", "speaker_type", "cue")


def quote_record(q: Quote) -> dict[str, Any]:
    """The CLI's JSON form of a quote."""
    d = asdict(q)
    return {k: d[k] for k in _CLI_KEYS}


def cli_quotes(args: Any) -> int:
    """``python -m analysis quotes --input IN.jsonl --output OUT.jsonl``: one line per input."""
    from analysis.io import read_jsonl, write_jsonl

    records = ({"id": rec["id"], "quotes": [quote_record(q) for q in extract_quotes(rec["text"])]}
               for rec in read_jsonl(args.input))
    write_jsonl(records, args.output)
    return 0


@lru_cache(maxsize=1)
def _is_space() -> Any:
    """A lookup table: True at code points where ``str.isspace`` is; its last entry (False) stands for all above."""
    import sys

    import numpy as np

    spaces = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    table = np.zeros(max(spaces) + 2, dtype=bool)  # U+3000 is the last: a 12 kB table
    table[spaces] = True
    return table


def voice_counts(text: str, quotes: Iterable[Quote]) -> tuple[int, int, int]:
    """Non-space characters of ``text`` in the outlet's own voice, in reported speech and inside quotation marks.

    Characters inside quotation marks (direct quotes and the quoted fragments of
    partial ones) are quoted; the rest of each quotation's span is reported; the rest
    is own. Vectorised with numpy (a per-character Python loop cost ~1 ms per article).

    Returns:
        ``(own, reported, quoted)``.
    """
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mask = np.zeros(len(codes), dtype=np.int8)  # 0 own, 1 reported, 2 quoted
    for q in quotes:
        mask[q.start:q.end] = np.maximum(mask[q.start:q.end], 1)
    for q in quotes:
        for s, e in q.fragments:
            mask[s:e] = 2
    own, reported, quoted = np.bincount(mask[~(table := _is_space())[np.minimum(codes, len(table) - 1)]], minlength=3).tolist()
    return own, reported, quoted


def voice_shares(corpus: "Any") -> "Any":
    """How much of each article is quoted, reported, or in the outlet's own voice (:func:`voice_counts`).

    Args:
        corpus: DataFrame with ``id``, ``text`` and optionally ``outlet``.

    Returns:
        DataFrame id, outlet, chars, quoted, reported, own, quoted_share,
        reported_share, own_share (shares of non-space characters).
    """
    import pandas as pd

    rows = []
    outlets = corpus["outlet"] if "outlet" in corpus.columns else ["unknown"] * len(corpus)
    for doc_id, outlet, text in zip(corpus["id"], outlets, corpus["text"]):
        text = text if isinstance(text, str) else ""
        own, reported, quoted = voice_counts(text, extract_quotes(text))
        rows.append({"id": doc_id, "outlet": outlet, "chars": own + reported + quoted, "quoted": quoted,
                     "reported": reported, "own": own})
    return shares_of_voice(pd.DataFrame(rows, columns=["id", "outlet", "chars", "quoted", "reported", "own"]))


def shares_of_voice(counts: "Any") -> "Any":
    """Add ``quoted_share, reported_share, own_share`` to a table of ``chars, quoted, reported, own`` counts.

    Works on one row per document (:func:`voice_shares`) or per group (the pipeline's
    ``group_voice`` sums), so both give the same shares for the same characters.
    """
    total = counts["chars"].where(counts["chars"] > 0, 1)
    return counts.assign(**{f"{v}_share": counts[v] / total for v in ("quoted", "reported", "own")})


def speaker_counts(group_speakers: "Any", *, top: int | None = 10) -> "Any":
    """Attributions per group and named speaker, most quoted first, from the pipeline's ``group_speakers``.

    Args:
        group_speakers: Rows ``group, speaker, speaker_type, quotes`` (one per speaker type).
        top: Speakers kept per group (None = all); unresolved speakers (None) count as one.

    Returns:
        group, speaker, attributions; sorted by group, attributions (desc), speaker.
    """
    counts = (group_speakers.groupby(["group", "speaker"], dropna=False)["quotes"].sum().rename("attributions")
              .reset_index().sort_values(["group", "attributions", "speaker"], ascending=[True, False, True],
                                         ignore_index=True, na_position="last"))
    return counts if top is None else counts.groupby("group", sort=False).head(top).reset_index(drop=True)


def carried_quotes(corpus: "Any", *, source_id: str, threshold: float = 90.0, missing_ok: bool = False) -> "Any":
    """Which quoted words in the other documents are found in a source document.

    Each quoted fragment (the words inside quotation marks) of every other document
    is looked up in the source text with rapidfuzz's ``partial_ratio`` (best
    matching substring, 0-100), which tolerates small edits and translation-style
    variants; a fragment is ``found`` at ``score >= threshold``.

    Args:
        corpus: DataFrame with ``id``, ``text`` and optionally ``outlet``.
        source_id: ``id`` of the source document (e.g. ``"dprk_mfa_2020"``).
        threshold: Minimum partial-ratio score to count as found.
        missing_ok: Return an empty table instead of raising when the corpus does
            not contain ``source_id``.

    Returns:
        DataFrame id, outlet, fragment, words, score, found (one row per fragment).
    """
    import pandas as pd
    from rapidfuzz import fuzz

    if source_id not in set(corpus["id"]):
        if missing_ok:
            return pd.DataFrame(columns=["id", "outlet", "fragment", "words", "score", "found"])
        raise ValueError(f"source_id {source_id!r} is not a document id of the corpus")
    source = str(corpus.loc[corpus["id"] == source_id, "text"].iloc[0]).lower()
    rows = []
    outlets = corpus["outlet"] if "outlet" in corpus.columns else ["unknown"] * len(corpus)
    for doc_id, outlet, text in zip(corpus["id"], outlets, corpus["text"]):
        if doc_id == source_id or not isinstance(text, str):
            continue
        for q in extract_quotes(text):
            for s, e in q.fragments:
                frag = text[s:e]
                score = fuzz.partial_ratio(frag.lower(), source)
                rows.append({"id": doc_id, "outlet": outlet, "fragment": frag, "words": len(frag.split()),
                             "score": round(score, 1), "found": score >= threshold})
    return pd.DataFrame(rows, columns=["id", "outlet", "fragment", "words", "score", "found"])
