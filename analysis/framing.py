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
from collections.abc import Iterable, Sequence
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


def relays(corpus: pd.DataFrame | str | Path | None = None, *, group_by: str = "outlet", shingle: int = 3,
           threshold: float = 0.3, num_perm: int = 128, min_words: int = 8, min_score: float = 85.0,
           seed: int = 1) -> pd.DataFrame:
    """Passages that two documents share verbatim or nearly (aligned passage pairs).

    Sentences of at least ``min_words`` words are hashed (MinHash over word
    ``shingle``-grams) into an LSH index; only sentence pairs from different
    documents that collide are aligned, with ``rapidfuzz.fuzz.partial_ratio_alignment``.
    Pairs scoring at least ``min_score`` (0-100) over at least ``min_words`` words are
    kept; aligned neighbouring sentences merge into one passage.

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
    shingle_sets: list[set[bytes]] = []
    for d, text in enumerate(texts):
        for k, s in enumerate(segment.sentences(text)):
            toks = [t.lower() for t in _WORD.findall(text[s.start:s.end])]
            if len(toks) >= min_words:
                units.append((d, k, s.start, s.end))
                shingle_sets.append(_shingles(toks, shingle))
    if not units:
        return pd.DataFrame(columns=RELAY_COLUMNS)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = MinHash.bulk(shingle_sets, num_perm=num_perm, seed=seed)
    candidates: set[tuple[int, int]] = set()
    for u, mh in enumerate(hashes):
        for v in lsh.query(mh):
            if units[v][0] != units[u][0]:
                candidates.add((v, u) if ids[units[v][0]] <= ids[units[u][0]] else (u, v))
        lsh.insert(u, mh, check_duplication=False)
    hits = []
    for u, v in sorted(candidates):
        (da, ka, sa, ea), (db, kb, sb, eb) = units[u], units[v]
        if ids[da] > ids[db]:
            (da, ka, sa, ea), (db, kb, sb, eb) = (db, kb, sb, eb), (da, ka, sa, ea)
        a, b = texts[da][sa:ea], texts[db][sb:eb]
        al = fuzz.partial_ratio_alignment(a.lower(), b.lower())
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


