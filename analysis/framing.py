"""Framing signals and the per-outlet comparison.

Four signals, each a function returning a tidy DataFrame, each driven by a lexicon
kept as data in ``data/lexicon/``:

* **Reporting cues** (``cues.yaml``): how a text reports speech. Cue words and
  phrases are classed neutral / endorsing / distancing after the literature on
  the evaluative load of reporting verbs (Caldas-Coulthard 1994; Thompson & Ye
  1991; Bergler 1992) and AP style advice; one word alone in quotation marks
  ("scare quotes") counts as distancing. Cues inside quotations are the source's
  words, not the outlet's, and are skipped.
* **Sourcing profile** (``sources.yaml``): whom a text lets speak, by speaker type
  (from :mod:`analysis.quotes`) and affiliation (ordered regular-expression rules),
  as counts and shares of quoted words.
* **Background frames** (``frames.yaml``): a frame dictionary over sentences in the
  sense of Entman (1993): the share of an outlet's sentences that bring up each
  context (the war in Ukraine, sanctions, ...).
* **Relays**: passages one document shares with another, verbatim or nearly.
  Candidate sentence pairs come from MinHash locality-sensitive hashing over word
  shingles (Broder 1997; ``datasketch``), so documents are never compared all
  against all; each candidate pair is then aligned with ``rapidfuzz``'s
  ``partial_ratio_alignment`` (C++ implementation of Indel-distance matching,
  fast on millions of pairs, and it returns the aligned character spans, which
  give each side's passage and its share of the text).

:func:`compare` joins these with quotes, sentiment and naming into one row per
group; :func:`reading` writes a short neutral reading of that table from its
numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis import segment
from analysis.config import LEXICON

CUE_LABELS = ("neutral", "endorsing", "distancing")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def count_words(text: str) -> int:
    """Number of words (runs of letters/digits, inner hyphens and apostrophes kept)."""
    return sum(1 for _ in _WORD.finditer(text))


def _load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def as_corpus(corpus: pd.DataFrame | str | Path | None) -> pd.DataFrame:
    """A corpus table: passed through, or loaded with :func:`analysis.corpus.load_corpus`."""
    if isinstance(corpus, pd.DataFrame):
        return corpus
    from analysis.corpus import load_corpus

    return load_corpus(corpus)


def _groups(corpus: pd.DataFrame, group_by: str) -> pd.Series:
    from analysis.errors import InputError

    if group_by not in corpus.columns:
        raise InputError(f"no column {group_by!r} to group by; columns are {', '.join(map(str, corpus.columns))}")
    return corpus[group_by].fillna("unknown").astype(str)


# ------------------------------------------------------------------ reporting cues


@dataclass(frozen=True)
class CueLexicon:
    """Compiled reporting cues: one regex with a named group per cue."""

    regex: re.Pattern[str]
    cues: dict[str, tuple[str, str]]  # group name -> (label, cue)
    scare_quotes: bool


def _phrase_regex(phrase: str, max_gap: int) -> str:
    parts = []
    for i, piece in enumerate(phrase.split("...")):
        words = piece.split()
        if not words:
            continue
        if i > 0:
            parts.append(rf"(?:\W+[\w'’-]+){{1,{max_gap}}}?")
        body = r"\W+".join(re.escape(w) for w in words)
        parts.append(body if not parts else r"\W+" + body)
    return r"(?<![\w-])" + "".join(parts) + r"(?![\w-])"


@lru_cache(maxsize=8)
def load_cues(path: str | None = None) -> CueLexicon:
    """Compile ``data/lexicon/cues.yaml`` (or ``path``); longer phrases win over their parts."""
    spec = _load_yaml(Path(path) if path else LEXICON / "cues.yaml")
    max_gap = int(spec.get("max_gap", 8))
    entries = [(label, str(cue)) for label in CUE_LABELS for cue in spec.get(label) or []]
    entries.sort(key=lambda e: (-len(e[1].replace("...", " ... ").split()), -len(e[1]), e[1]))
    cues, alts = {}, []
    for i, (label, cue) in enumerate(entries):
        name = f"c{i}"
        cues[name] = (label, cue)
        alts.append(f"(?P<{name}>{_phrase_regex(cue, max_gap)})")
    return CueLexicon(re.compile("|".join(alts), re.I), cues, bool(spec.get("scare_quotes", True)))


# One word (hyphens allowed) alone between quotation marks, e.g. the "majority".
_SCARE = re.compile(r"(?:“([^\W\d_][\w'’-]*)”|\"([^\W\d_][\w'’-]*)\"|‘([^\W\d_][\w-]*)’)")


# Text between quotation marks: the source's words. Pairing marks is all this needs
# (no speakers), so a small regex rather than the full quote extractor.
_QUOTED = re.compile(r"“[^”\n]*”|\"[^\"\n]*\"|‘[^’\n]*’")


def _quote_spans(text: str) -> list[tuple[int, int]]:
    """Spans of text between paired quotation marks, marks included."""
    return [m.span() for m in _QUOTED.finditer(text)]


def _inside(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    i = np.searchsorted([s for s, _ in spans], start, side="right") - 1
    return i >= 0 and spans[i][0] <= start and end <= spans[i][1]


def find_cues(text: str, *, lexicon: CueLexicon | None = None,
              quote_spans: Sequence[tuple[int, int]] | None = None) -> list[tuple[str, str, int, int]]:
    """Reporting cues in one text: ``(label, cue, start, end)`` in text order.

    Args:
        text: Cleaned article text.
        lexicon: Compiled cues (default: ``data/lexicon/cues.yaml``).
        quote_spans: Spans whose verb cues are skipped (default: text between paired
            quotation marks). Scare quotes are always counted.
    """
    lex = lexicon or load_cues()
    spans = _quote_spans(text) if quote_spans is None else sorted(quote_spans)
    out = []
    for m in lex.regex.finditer(text):
        if spans and _inside(spans, m.start(), m.end()):
            continue
        label, cue = lex.cues[m.lastgroup]
        out.append((label, cue, m.start(), m.end()))
    if lex.scare_quotes:
        for m in _SCARE.finditer(text):
            out.append(("distancing", "scare quotes", m.start(), m.end()))
    return sorted(out, key=lambda c: (c[2], c[3]))


def reporting_cues(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
                   lexicon: CueLexicon | None = None) -> pd.DataFrame:
    """One row per reporting cue found in the corpus.

    Returns:
        Columns id, group, label (neutral/endorsing/distancing), cue (the lexicon
        entry), match (the text matched), start, end, sentence (the sentence it is in).
    """
    corpus = as_corpus(corpus)
    groups = _groups(corpus, group_by)
    rows = []
    for doc_id, group, text in zip(corpus["id"], groups, corpus["text"]):
        sents = segment.sentences(text)
        starts = [s.start for s in sents]
        for label, cue, s, e in find_cues(text, lexicon=lexicon):
            k = max(0, int(np.searchsorted(starts, s, side="right")) - 1)
            sent = text[sents[k].start:sents[k].end] if sents else ""
            rows.append((doc_id, group, label, cue, text[s:e], s, e, sent))
    return pd.DataFrame(rows, columns=["id", "group", "label", "cue", "match", "start", "end", "sentence"])


def words_per_group(corpus: pd.DataFrame, *, group_by: str = "outlet") -> pd.DataFrame:
    """Documents and words per group: columns group, documents, words (sorted by group)."""
    df = pd.DataFrame({"group": _groups(corpus, group_by), "words": corpus["text"].map(count_words)})
    out = df.groupby("group", sort=True).agg(documents=("words", "size"), words=("words", "sum")).reset_index()
    return out.astype({"documents": "int64", "words": "int64"})


def cue_rates(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
              cues: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reporting cues per 1,000 words, by group and class (every combination, zeros included).

    Returns:
        Columns group, label, cues, words, per_1k_words.
    """
    corpus = as_corpus(corpus)
    cues = reporting_cues(corpus, group_by=group_by) if cues is None else cues
    words = words_per_group(corpus, group_by=group_by)
    grid = pd.MultiIndex.from_product([words["group"], CUE_LABELS], names=["group", "label"])
    counts = cues.groupby(["group", "label"]).size().reindex(grid, fill_value=0).rename("cues").reset_index()
    out = counts.merge(words[["group", "words"]], on="group")
    out["per_1k_words"] = np.where(out["words"] > 0, 1000 * out["cues"] / out["words"].clip(lower=1), 0.0)
    return out


# ------------------------------------------------------------------ sourcing


@lru_cache(maxsize=8)
def load_affiliations(path: str | None = None) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Ordered (affiliation, regex) rules from ``data/lexicon/sources.yaml`` (or ``path``)."""
    spec = _load_yaml(Path(path) if path else LEXICON / "sources.yaml")
    return tuple((r["affiliation"], re.compile(r["pattern"], re.I)) for r in spec["rules"])


def affiliation(speaker: str | None, *, rules: Iterable[tuple[str, re.Pattern[str]]] | None = None) -> str:
    """The affiliation of a speaker string by the first matching rule; ``unresolved`` if none."""
    if not speaker or not str(speaker).strip():
        return "unresolved"
    for name, rx in rules if rules is not None else load_affiliations():
        if rx.search(str(speaker)):
            return name
    return "unresolved"


def quotes_with_groups(corpus: pd.DataFrame, *, group_by: str = "outlet") -> pd.DataFrame:
    """:func:`analysis.quotes.quotes_table` plus columns group, words and affiliation."""
    from analysis.quotes import quotes_table

    q = quotes_table(corpus).copy()
    groups = dict(zip(corpus["id"], _groups(corpus, group_by)))
    q["group"] = q["id"].map(groups)
    q["words"] = q["quote"].map(count_words).astype("int64")
    q["affiliation"] = q["speaker"].map(affiliation)
    return q


def sourcing_profile(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
                     quotes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Whom each group quotes: counts and shares by affiliation and speaker type.

    Args:
        corpus: The corpus.
        group_by: Group column.
        quotes: A table from :func:`quotes_with_groups` (computed when omitted).

    Returns:
        Columns group, affiliation, speaker_type, quotes, quoted_words,
        share_of_quotes, share_of_quoted_words (shares within the group).
    """
    corpus = as_corpus(corpus)
    q = quotes_with_groups(corpus, group_by=group_by) if quotes is None else quotes
    cols = ["group", "affiliation", "speaker_type", "quotes", "quoted_words", "share_of_quotes", "share_of_quoted_words"]
    if q.empty:
        return pd.DataFrame(columns=cols)
    q = q.assign(speaker_type=q["speaker_type"].fillna("unknown").astype(str))
    out = (q.groupby(["group", "affiliation", "speaker_type"], sort=True)
           .agg(quotes=("words", "size"), quoted_words=("words", "sum")).reset_index())
    tot = out.groupby("group")[["quotes", "quoted_words"]].transform("sum")
    out["share_of_quotes"] = out["quotes"] / tot["quotes"]
    out["share_of_quoted_words"] = np.where(tot["quoted_words"] > 0, out["quoted_words"] / tot["quoted_words"].clip(lower=1), 0.0)
    return out[cols]


# ------------------------------------------------------------------ background frames


@dataclass(frozen=True)
class FrameLexicon:
    """Compiled frame dictionary: one regex per frame (a sentence may carry several)."""

    regexes: dict[str, re.Pattern[str]]
    labels: dict[str, str]  # frame -> label


def _term_regex(term: str) -> str:
    star = term.endswith("*")
    words = term.rstrip("*").split()
    body = r"\s+".join(re.escape(w) for w in words)
    return body + (r"[\w'-]*" if star else r"(?![\w])")


@lru_cache(maxsize=8)
def load_frames(path: str | None = None) -> FrameLexicon:
    """Compile ``data/lexicon/frames.yaml`` (or ``path``); longer terms are tried first."""
    spec = _load_yaml(Path(path) if path else LEXICON / "frames.yaml")["frames"]
    regexes, labels = {}, {}
    for frame, entry in spec.items():
        labels[frame] = str(entry.get("label", frame))
        terms = sorted(map(str, entry["terms"]), key=lambda t: (-len(t), t))
        regexes[frame] = re.compile(r"(?<![\w-])(?:" + "|".join(_term_regex(t) for t in terms) + ")", re.I)
    return FrameLexicon(regexes, labels)


def _sentence_frames(sentence: str, lex: FrameLexicon) -> dict[str, str]:
    """Frames a sentence carries -> the first matching text."""
    found = {}
    for frame, rx in lex.regexes.items():
        m = rx.search(sentence)
        if m:
            found[frame] = m.group(0)
    return found


def frame_sentences(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
                    lexicon: FrameLexicon | None = None) -> pd.DataFrame:
    """One row per (sentence, frame) the sentence carries.

    Returns:
        Columns id, group, sentence (index in the document), start, end, frame, label,
        term (the first text that matched), text (the sentence).
    """
    corpus = as_corpus(corpus)
    lex = lexicon or load_frames()
    rows = []
    for doc_id, group, text in zip(corpus["id"], _groups(corpus, group_by), corpus["text"]):
        for k, s in enumerate(segment.sentences(text)):
            sent = text[s.start:s.end]
            for frame, term in sorted(_sentence_frames(sent, lex).items()):
                rows.append((doc_id, group, k, s.start, s.end, frame, lex.labels[frame], term, sent))
    return pd.DataFrame(rows, columns=["id", "group", "sentence", "start", "end", "frame", "label", "term", "text"])


def frame_shares(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
                 lexicon: FrameLexicon | None = None) -> pd.DataFrame:
    """Share of each group's sentences that carry each frame (every combination, zeros included).

    Returns:
        Columns group, frame, label, sentences (carrying the frame), total_sentences, share.
    """
    corpus = as_corpus(corpus)
    lex = lexicon or load_frames()
    hits = frame_sentences(corpus, group_by=group_by, lexicon=lex)
    totals = (pd.DataFrame({"group": _groups(corpus, group_by),
                            "total_sentences": corpus["text"].map(lambda t: len(segment.sentences(t)))})
              .groupby("group", sort=True)["total_sentences"].sum())
    grid = pd.MultiIndex.from_product([totals.index, list(lex.labels)], names=["group", "frame"])
    counts = hits.groupby(["group", "frame"]).size().reindex(grid, fill_value=0).rename("sentences").reset_index()
    counts["label"] = counts["frame"].map(lex.labels)
    counts["total_sentences"] = counts["group"].map(totals).astype("int64")
    counts["share"] = np.where(counts["total_sentences"] > 0,
                               counts["sentences"] / counts["total_sentences"].clip(lower=1), 0.0)
    return counts[["group", "frame", "label", "sentences", "total_sentences", "share"]]


# ------------------------------------------------------------------ relays

RELAY_COLUMNS = ["id_a", "group_a", "start_a", "end_a", "passage_a", "id_b", "group_b", "start_b", "end_b",
                 "passage_b", "score", "words", "share_a", "share_b"]


def _shingles(tokens: Sequence[str], k: int) -> set[bytes]:
    return {" ".join(tokens[i:i + k]).encode("utf-8") for i in range(max(1, len(tokens) - k + 1))}


#: Sentences longer than this (unsegmented lists, tables) are cut into pieces of
#: ``_CHUNK_WORDS`` words: alignment cost grows with the product of the lengths.
_LONG_WORDS, _CHUNK_WORDS = 80, 50


def _relay_units(text: str) -> Iterator[tuple[int, int]]:
    """Sentence spans, with overlong sentences cut at word boundaries."""
    for sent in segment.sentences(text):
        words = list(_WORD.finditer(text, sent.start, sent.end))
        if len(words) <= _LONG_WORDS:
            yield sent.start, sent.end
            continue
        for i in range(0, len(words), _CHUNK_WORDS):
            piece = words[i:i + _CHUNK_WORDS]
            yield piece[0].start(), (words[i + _CHUNK_WORDS].start() if i + _CHUNK_WORDS < len(words) else sent.end)


def relays(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet", shingle: int = 3,
           threshold: float = 0.3, num_perm: int = 64, min_words: int = 8, min_score: float = 85.0,
           max_docs: int = 10, seed: int = 1) -> pd.DataFrame:
    """Passages that two documents share verbatim or nearly (aligned passage pairs).

    Sentences of at least ``min_words`` words are hashed (MinHash over word
    ``shingle``-grams) into an LSH index; only sentence pairs from different
    documents that collide are aligned, with ``rapidfuzz.fuzz.partial_ratio_alignment``.
    Pairs scoring at least ``min_score`` (0-100) over at least ``min_words`` words are
    kept; aligned neighbouring sentences merge into one passage. A sentence that
    recurs in more than ``max_docs`` other documents is treated as boilerplate.

    Returns:
        Columns id_a, group_a, start_a, end_a, passage_a, id_b, group_b, start_b,
        end_b, passage_b, score, words (of passage a), share_a and share_b (the
        passage's share of each document's characters). ``id_a < id_b``.
    """
    from datasketch import MinHash, MinHashLSH
    from rapidfuzz import fuzz

    corpus = as_corpus(corpus)
    groups = list(_groups(corpus, group_by))
    ids, texts = list(corpus["id"].astype(str)), list(corpus["text"])
    units: list[tuple[int, int, int, int]] = []  # (doc, sentence index, start, end)
    members: dict[tuple[str, ...], list[int]] = {}  # identical word sequences share one LSH entry
    for d, text in enumerate(texts):
        k = 0
        for s, e in _relay_units(text):
            toks = tuple(t.lower() for t in _WORD.findall(text[s:e]))
            if len(toks) >= min_words:
                members.setdefault(toks, []).append(len(units))
                units.append((d, k, s, e))
            k += 1
    if not units:
        return pd.DataFrame(columns=RELAY_COLUMNS)
    keys = list(members)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = MinHash.bulk([_shingles(k, shingle) for k in keys], num_perm=num_perm, seed=seed)
    for r, mh in enumerate(hashes):
        lsh.insert(r, mh, check_duplication=False)
    docs_of = [{units[u][0] for u in members[k]} for k in keys]
    neighbours = [lsh.query(mh) for mh in hashes]
    # A sentence found in more than `max_docs` other documents is boilerplate or a
    # stock phrase ("Share on Facebook ...", page stamps), not a relay; it would
    # also make the pairs grow with the square of its frequency.
    common = [len(set().union(*(docs_of[x] for x in nb))) - 1 > max_docs for nb in neighbours]
    candidates: set[tuple[int, int]] = set()
    for r, nb in enumerate(neighbours):
        if common[r]:
            continue
        for x in nb:
            if x < r or common[x]:
                continue
            for u in members[keys[r]]:
                for v in members[keys[x]]:
                    if units[u][0] != units[v][0]:
                        candidates.add((min(u, v), max(u, v)))
    hits = []
    aligned: dict[tuple[str, str], Any] = {}  # repeated sentence pairs are aligned once
    for u, v in sorted(candidates):
        (da, ka, sa, ea), (db, kb, sb, eb) = units[u], units[v]
        if ids[da] > ids[db]:
            (da, ka, sa, ea), (db, kb, sb, eb) = (db, kb, sb, eb), (da, ka, sa, ea)
        pair = (texts[da][sa:ea].lower(), texts[db][sb:eb].lower())
        if pair not in aligned:
            aligned[pair] = fuzz.partial_ratio_alignment(*pair)
        al = aligned[pair]
        if al is None or al.score < min_score:
            continue
        pa = (sa + al.src_start, sa + al.src_end)
        pb = (sb + al.dest_start, sb + al.dest_end)
        if count_words(texts[da][pa[0]:pa[1]]) < min_words:
            continue
        hits.append((da, db, ka, kb, pa, pb, al.score))
    # merge alignments of consecutive sentences in both documents into one passage
    hits.sort(key=lambda h: (h[0], h[1], h[2], h[3]))
    merged: list[list[Any]] = []
    for da, db, ka, kb, pa, pb, score in hits:
        last = merged[-1] if merged else None
        if last and last[0] == da and last[1] == db and last[2] + 1 == ka and last[3] + 1 == kb:
            last[2], last[3] = ka, kb
            last[4] = (last[4][0], pa[1])
            last[5] = (last[5][0], pb[1])
            last[6] = min(last[6], score)
        else:
            merged.append([da, db, ka, kb, pa, pb, score])
    rows = []
    for da, db, _, _, pa, pb, score in merged:
        ta, tb = texts[da], texts[db]
        rows.append((ids[da], groups[da], pa[0], pa[1], ta[pa[0]:pa[1]], ids[db], groups[db], pb[0], pb[1],
                     tb[pb[0]:pb[1]], round(float(score), 1), count_words(ta[pa[0]:pa[1]]),
                     (pa[1] - pa[0]) / max(1, len(ta)), (pb[1] - pb[0]) / max(1, len(tb))))
    return pd.DataFrame(rows, columns=RELAY_COLUMNS).sort_values(["id_a", "id_b", "start_a"]).reset_index(drop=True)


def relay_summary(relayed: pd.DataFrame, groups: Iterable[str]) -> pd.DataFrame:
    """Per group: relayed passages (shared with another document) and words in them.

    Returns:
        Columns group, relayed_passages, relayed_words (both sides of each pair count
        toward their own group).
    """
    sides = pd.concat([
        relayed[["group_a", "words"]].rename(columns={"group_a": "group"}),
        relayed[["group_b", "passage_b"]].assign(words=relayed["passage_b"].map(count_words))
        .rename(columns={"group_b": "group"})[["group", "words"]],
    ]) if len(relayed) else pd.DataFrame(columns=["group", "words"])
    out = (sides.groupby("group").agg(relayed_passages=("words", "size"), relayed_words=("words", "sum"))
           .reindex(sorted(set(groups)), fill_value=0).rename_axis("group").reset_index())
    return out.astype({"relayed_passages": "int64", "relayed_words": "int64"})




# ------------------------------------------------------------------ the comparison

#: Columns of :func:`compare`, in order (the CLI's CSV contract is a prefix-free subset).
SUMMARY_COLUMNS = [
    "group", "documents", "words", "quotes", "quoted_words", "quoted_word_share", "top_speakers",
    "top_affiliation", "own_voice_sentiment", "own_voice_sentiment_low", "own_voice_sentiment_high",
    "quoted_voice_sentiment", "quoted_voice_sentiment_low", "quoted_voice_sentiment_high",
    "neutral_cues_per_1k_words", "endorsing_cues_per_1k_words", "distancing_cues_per_1k_words",
    "naming", "leading_frames", "relayed_passages", "relayed_word_share",
]


def _union_words(text: str, spans: Iterable[tuple[int, int]]) -> int:
    """Words inside the union of character spans (overlapping quotations count once)."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return sum(count_words(text[s:e]) for s, e in merged)


def quote_summary(corpus: pd.DataFrame, quotes: pd.DataFrame, *, group_by: str = "outlet",
                  top: int = 3) -> pd.DataFrame:
    """Per group: quotes, quoted words (direct, partial and indirect speech; overlaps once),
    top speakers ("name (n)" by number of quotations) and the leading affiliation by quoted words.
    """
    groups = _groups(corpus, group_by)
    spans = quotes.groupby("id")[["start", "end"]].apply(lambda d: list(zip(d["start"], d["end"]))).to_dict() if len(quotes) else {}
    per_doc = pd.DataFrame({
        "group": groups,
        "quoted_words": [_union_words(t, spans.get(i, [])) for i, t in zip(corpus["id"], corpus["text"])],
    })
    out = per_doc.groupby("group", sort=True)["quoted_words"].sum().to_frame()
    out["quotes"] = quotes.groupby("group").size().reindex(out.index, fill_value=0) if len(quotes) else 0
    tops, affs = {}, {}
    for g, q in quotes.groupby("group") if len(quotes) else []:
        sp = q.assign(speaker=q["speaker"].fillna("(unattributed)").astype(str))
        counts = sp.groupby("speaker").agg(n=("words", "size"), w=("words", "sum")).reset_index()
        counts = counts.sort_values(["n", "w", "speaker"], ascending=[False, False, True]).head(top)
        tops[g] = "; ".join(f"{s} ({n})" for s, n in zip(counts["speaker"], counts["n"]))
        aw = q.groupby("affiliation")["words"].sum().sort_index().sort_values(ascending=False, kind="stable")
        affs[g] = aw.index[0]
    out["top_speakers"] = pd.Series(tops).reindex(out.index).fillna("")
    out["top_affiliation"] = pd.Series(affs).reindex(out.index).fillna("")
    return out.reset_index().astype({"quotes": "int64", "quoted_words": "int64"})


def leading_frames(frames: pd.DataFrame, *, top: int = 2) -> pd.Series:
    """Per group: the ``top`` frames by share of sentences, "Label (share%)"; frames at 0 left out."""
    out = {}
    for g, f in frames.groupby("group", sort=True):
        f = f[f["sentences"] > 0].sort_values(["share", "label"], ascending=[False, True]).head(top)
        out[g] = "; ".join(f"{lab} ({sh:.0%})" for lab, sh in zip(f["label"], f["share"]))
    return pd.Series(out, dtype="object")


def _sentiment_by_voice(corpus: pd.DataFrame, group_by: str, quotes: pd.DataFrame) -> pd.DataFrame:
    """Sentiment per group and voice with bootstrap intervals (:func:`analysis.sentiment.voice_summary`).

    Returns columns group, voice ("own", "reported", "quoted"), mean, low, high, ...
    """
    from analysis import sentiment

    # sentiment extracts the quotes itself: its table input does not take NaN cues
    del quotes
    return sentiment.voice_summary(corpus, group_by=group_by)


def _naming(corpus: pd.DataFrame, group_by: str) -> pd.Series:
    """Per group: the top naming variant per concept, "concept: variant; ...", from :mod:`analysis.terms`."""
    from analysis.terms import naming_table

    nt = naming_table(corpus, group_by=group_by)
    out = {}
    for g, t in nt.groupby("group", sort=True):
        t = t[t["count"] > 0].sort_values(["concept", "count", "variant"], ascending=[True, False, True])
        out[g] = "; ".join(f"{c}: {v}" for c, v in t.groupby("concept", sort=True)["variant"].first().items())
    return pd.Series(out, dtype="object")


def compare(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet",
            quotes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The summary table: one row per group, columns :data:`SUMMARY_COLUMNS`.

    Args:
        corpus: A cleaned corpus table (or a path / None for the seeds).
        group_by: The column to compare by.
        quotes: Quotes with groups (:func:`quotes_with_groups`), computed when omitted.

    Returns:
        group, documents, words; quotes, quoted_words, quoted_word_share (quoted words
        / words), top_speakers, top_affiliation; own_voice_sentiment and
        quoted_voice_sentiment with _low/_high interval bounds (:mod:`analysis.sentiment`);
        neutral/endorsing/distancing cues per 1,000 words; naming (top variant per
        concept); leading_frames (top two by share of sentences); relayed_passages and
        relayed_word_share (words in passages shared with another document / words).
        Sorted by group.
    """
    corpus = as_corpus(corpus)
    q = quotes_with_groups(corpus, group_by=group_by) if quotes is None else quotes
    base = words_per_group(corpus, group_by=group_by)
    table = base.merge(quote_summary(corpus, q, group_by=group_by), on="group", how="left")
    table["quoted_word_share"] = table["quoted_words"] / table["words"].clip(lower=1)
    sent = _sentiment_by_voice(corpus, group_by, q)
    for voice in ("own", "quoted"):
        v = sent[sent["voice"] == voice].set_index("group")
        for col, src in (("", "mean"), ("_low", "low"), ("_high", "high")):
            table[f"{voice}_voice_sentiment{col}"] = table["group"].map(v[src]).astype("float64")
    rates = cue_rates(corpus, group_by=group_by).pivot(index="group", columns="label", values="per_1k_words")
    for label in CUE_LABELS:
        table[f"{label}_cues_per_1k_words"] = table["group"].map(rates[label]).astype("float64")
    table["naming"] = table["group"].map(_naming(corpus, group_by)).fillna("")
    table["leading_frames"] = table["group"].map(leading_frames(frame_shares(corpus, group_by=group_by))).fillna("")
    rel = relay_summary(relays(corpus, group_by=group_by), table["group"]).set_index("group")
    table["relayed_passages"] = table["group"].map(rel["relayed_passages"]).astype("int64")
    table["relayed_word_share"] = table["group"].map(rel["relayed_words"]) / table["words"].clip(lower=1)
    return table[SUMMARY_COLUMNS].sort_values("group").reset_index(drop=True)


# ------------------------------------------------------------------ the written reading


#: How affiliations read in sentences.
AFFILIATION_PHRASES = {
    "dprk_state": "DPRK state sources", "russian_state": "Russian state sources", "us": "US sources",
    "south_korean": "South Korean sources", "other_government": "other governments", "media": "media",
    "experts": "experts", "anonymous": "anonymous sources", "unresolved": "sources of unresolved affiliation",
}


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _extremes(table: pd.DataFrame, col: str) -> tuple[pd.Series, pd.Series]:
    t = table.dropna(subset=[col]).sort_values([col, "group"], ascending=[False, True])
    return t.iloc[0], t.iloc[-1]


def reading(table: pd.DataFrame, *, unit: str = "outlet") -> list[str]:
    """A short neutral reading of the summary table, one sentence per signal, from its numbers.

    Args:
        table: :func:`compare` output.
        unit: What a group is called in the sentences ("outlet").

    Returns:
        Sentences in a fixed order (quotation, speakers, cues, sentiment, frames, relays);
        a signal with nothing to compare is described as such.
    """
    out: list[str] = []
    if table.empty:
        return ["The corpus has no documents to compare."]
    n = len(table)
    out.append(f"The comparison covers {n} {unit}{'s' if n != 1 else ''}, "
               f"{int(table['documents'].sum())} documents and {int(table['words'].sum()):,} words.")
    hi, lo = _extremes(table, "quoted_word_share")
    none = table.loc[table["quotes"] == 0, "group"].tolist()
    sent = (f"Reported speech takes the largest share of the text at {hi['group']} "
            f"({hi['quoted_word_share']:.0%} of words)")
    sent += f"; {_names(none)} quote{'s' if len(none) == 1 else ''} no one." if none else \
        f" and the smallest at {lo['group']} ({lo['quoted_word_share']:.0%})."
    out.append(sent)
    quoted = table[table["quotes"] > 0]
    if len(quoted):
        by_aff = quoted.groupby("top_affiliation", sort=True)["group"].apply(list)
        parts = [f"{AFFILIATION_PHRASES.get(aff, aff)} at {_names(g)}" for aff, g in by_aff.items()]
        out.append("The largest share of quoted words comes from " + _names(parts) + ".")
    d = table["distancing_cues_per_1k_words"]
    if (d > 0).any():
        top = table.sort_values(["distancing_cues_per_1k_words", "group"], ascending=[False, True]).iloc[0]
        zero = table.loc[d == 0, "group"].tolist()
        s = (f"Distancing cues (such as \"claimed\", \"touted\" or scare quotes) are most frequent at "
             f"{top['group']} ({top['distancing_cues_per_1k_words']:.1f} per 1,000 words)")
        out.append(s + (f"; {_names(zero)} use{'s' if len(zero) == 1 else ''} none." if zero else "."))
    else:
        out.append("No text uses a distancing cue.")
    if table["own_voice_sentiment"].notna().any():
        hi, lo = _extremes(table, "own_voice_sentiment")
        overlap = hi["own_voice_sentiment_low"] <= lo["own_voice_sentiment_high"]
        out.append(
            f"Sentiment in the {unit}s' own voice is highest at {hi['group']} ({hi['own_voice_sentiment']:+.2f}, "
            f"interval {hi['own_voice_sentiment_low']:+.2f} to {hi['own_voice_sentiment_high']:+.2f}) and lowest at "
            f"{lo['group']} ({lo['own_voice_sentiment']:+.2f}, {lo['own_voice_sentiment_low']:+.2f} to "
            f"{lo['own_voice_sentiment_high']:+.2f}); the intervals "
            + ("overlap, so this sample does not separate them." if overlap else "do not overlap.")
        )
    framed = table[table["leading_frames"] != ""]
    if len(framed):
        parts = [f"{g}: {f.replace('; ', ' and ')}" for g, f in zip(framed["group"], framed["leading_frames"])]
        out.append("Leading background frames (share of sentences): " + "; ".join(parts) + ".")
    bare = table.loc[table["leading_frames"] == "", "group"].tolist()
    if bare:
        out.append(f"{_names(bare)} add{'s' if len(bare) == 1 else ''} none of the listed background frames.")
    if table["relayed_passages"].sum() == 0:
        out.append("No passage is shared verbatim or near-verbatim between two documents.")
    else:
        rel = table[table["relayed_passages"] > 0]
        out.append("Passages shared with another document: " + "; ".join(
            f"{g} {p} ({s:.0%} of words)" for g, p, s in
            zip(rel["group"], rel["relayed_passages"], rel["relayed_word_share"])) + ".")
    return out


# ------------------------------------------------------------------ command line

#: The CSV contract of ``python -m analysis compare`` (the table's first columns).
CSV_REQUIRED = ["group", "documents", "words", "quotes", "quoted_word_share", "own_voice_sentiment",
                "own_voice_sentiment_low", "own_voice_sentiment_high", "quoted_voice_sentiment",
                "distancing_cues_per_1k_words", "top_speakers"]


def corpus_from_jsonl(path: str, *, group_by: str = "outlet") -> pd.DataFrame:
    """Read raw articles (JSONL ``{"id", "text", <group>, ...}``) and clean each text.

    Records without the group column get "unknown"; if no record has it, that is an error.
    """
    from analysis.corpus import clean_text
    from analysis.errors import InputError
    from analysis.io import read_jsonl

    rows, seen_group = [], False
    for rec in read_jsonl(path, required=("id", "text")):
        cleaned = clean_text(rec["text"], title=rec.get("title"))
        seen_group |= rec.get(group_by) not in (None, "")
        row = {k: v for k, v in rec.items() if k not in ("text", "title")}
        row.update(id=str(rec["id"]), title=cleaned.title, text=cleaned.text, raw_text=rec["text"])
        row[group_by] = rec.get(group_by) if rec.get(group_by) not in (None, "") else "unknown"
        rows.append(row)
    source = "<stdin>" if path == "-" else path
    if not rows:
        raise InputError("no documents in the input", source=source)
    if not seen_group:
        raise InputError(f"no record has the group column {group_by!r}; add it or pass --group-by", source=source)
    ids = pd.Series([r["id"] for r in rows])
    if ids.duplicated().any():
        raise InputError(f"duplicate id {ids[ids.duplicated()].iloc[0]!r}; ids must be unique", source=source)
    df = pd.DataFrame(rows)
    if group_by != "outlet" and "outlet" not in df.columns:
        df["outlet"] = "unknown"
    return df


def cli_compare(args: Any) -> int:
    """``python -m analysis compare --input IN.jsonl --output OUT.csv [--group-by outlet]``."""
    from analysis.io import open_output

    corpus = corpus_from_jsonl(args.input, group_by=args.group_by)
    table = compare(corpus, group_by=args.group_by)
    with open_output(args.output, newline="") as fh:
        table.to_csv(fh, index=False, float_format="%.6g")
    return 0


# ------------------------------------------------------------------ figures


def _label(text: Any) -> str:
    """A group name safe for matplotlib text ("$" would start mathtext)."""
    return str(text).replace("$", r"\$")


def _bars(ax: Any, groups: Sequence[str], values: Sequence[float], colors: dict[str, str], *,
          xerr: Any = None) -> None:
    y = np.arange(len(groups))
    ax.barh(y, values, color=[colors[g] for g in groups], xerr=xerr, capsize=3 if xerr is not None else 0)
    ax.set_yticks(y, [_label(g) for g in groups])
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)


def plot_quotation(table: pd.DataFrame, *, colors: dict[str, str] | None = None) -> Any:
    """Bar chart: share of each group's words that is reported speech."""
    import matplotlib.pyplot as plt

    from analysis.plotting import outlet_colors

    colors = colors or outlet_colors(table["group"])
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(table) + 1.2))
    _bars(ax, list(table["group"]), list(100 * table["quoted_word_share"]), colors)
    ax.set_xlabel("reported speech (% of words)")
    ax.set_title("How much of each text is reported speech")
    fig.tight_layout()
    return fig


def plot_cues(table: pd.DataFrame, *, colors: dict[str, str] | None = None) -> Any:
    """Three panels: neutral, endorsing and distancing reporting cues per 1,000 words."""
    import matplotlib.pyplot as plt

    from analysis.plotting import outlet_colors

    colors = colors or outlet_colors(table["group"])
    fig, axes = plt.subplots(1, 3, figsize=(11, 0.5 * len(table) + 1.5), sharey=True)
    for ax, label in zip(axes, CUE_LABELS):
        _bars(ax, list(table["group"]), list(table[f"{label}_cues_per_1k_words"]), colors)
        ax.set_title(label)
        ax.set_xlabel("cues per 1,000 words")
    fig.suptitle("How speech is reported")
    fig.tight_layout()
    return fig


def plot_sentiment(table: pd.DataFrame, *, colors: dict[str, str] | None = None) -> Any:
    """Two panels: own-voice and quoted-voice sentiment with their intervals."""
    import matplotlib.pyplot as plt

    from analysis.plotting import outlet_colors

    colors = colors or outlet_colors(table["group"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(table) + 1.5), sharey=True, sharex=True)
    y = np.arange(len(table))
    for ax, voice in zip(axes, ("own", "quoted")):
        mean = table[f"{voice}_voice_sentiment"].to_numpy(dtype=float)
        lo = table[f"{voice}_voice_sentiment_low"].to_numpy(dtype=float)
        hi = table[f"{voice}_voice_sentiment_high"].to_numpy(dtype=float)
        for i, g in enumerate(table["group"]):
            if np.isfinite(mean[i]):
                ax.errorbar(mean[i], y[i], xerr=[[mean[i] - lo[i]], [hi[i] - mean[i]]], fmt="o",
                            color=colors[g], capsize=3)
        ax.axvline(0, color="#666666", lw=0.8)
        ax.set_yticks(y, [_label(g) for g in table["group"]])
        ax.set_title(f"{voice} voice")
        ax.set_xlabel("mean sentence sentiment (VADER compound, -1 to 1)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    fig.suptitle("Sentiment in the outlet's own voice and in the voices it quotes (mean, interval)")
    fig.tight_layout()
    return fig


def plot_frames(frames: pd.DataFrame, *, colors: dict[str, str] | None = None) -> Any:
    """Heat map: share of each group's sentences carrying each background frame."""
    import matplotlib.pyplot as plt

    from analysis.plotting import outlet_colors

    grid = frames.pivot(index="group", columns="label", values="share").sort_index()
    grid = grid[sorted(grid.columns)]
    colors = colors or outlet_colors(grid.index)
    fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 3, 0.55 * grid.shape[0] + 2))
    vmax = max(1.0, 100 * float(grid.max().max()))
    im = ax.imshow(100 * grid.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [_label(c) for c in grid.columns], rotation=30, ha="right")
    ax.set_yticks(range(grid.shape[0]), [_label(g) for g in grid.index])
    for tick, g in zip(ax.get_yticklabels(), grid.index):
        tick.set_color(colors[g])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = 100 * grid.iat[i, j]
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="white" if v > 0.6 * vmax else "black",
                    fontsize=9)
    fig.colorbar(im, ax=ax, label="% of sentences")
    ax.set_title("Background frames: share of sentences")
    fig.tight_layout()
    return fig
