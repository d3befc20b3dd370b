"""Sentiment by voice and toward targets, with bootstrap uncertainty.

What it does.

* :func:`score_sentences` scores every sentence with VADER (Hutto & Gilbert 2014,
  "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media
  Text", ICWSM; the ``vaderSentiment`` package, lexicon in the wheel), split by
  *voice*: a sentence that quotes someone is cut into the words inside quotation
  marks (``quoted``: direct quotes and the quoted fragments of partial quotes, from
  :func:`analysis.quotes.extract_quotes`), the rest of the attributed clause
  (``reported``: indirect speech, "X said the ties would grow"), and the outlet's own
  words (``own``). Each voice of a sentence is scored on its own text, so a
  ministry's praise quoted by a wire service counts for the ministry, not the wire.
  Indirect speech is its own voice, not ``quoted``: its words are the outlet's
  paraphrase (chosen by the outlet, so not the speaker's), yet the stance is the
  speaker's (so not the outlet's own either); keeping it apart lets a reader merge
  it either way. Own-voice leftovers of quoting sentences shorter than
  ``min_own_words`` ("he said.") are dropped: they carry no sentiment of the outlet
  and would only pull its mean towards zero.
* :func:`summarize` / :func:`voice_summary` / :func:`speaker_summary`: mean
  compound and shares of positive (>= 0.05) and negative (<= -0.05) segments per
  group, with percentile bootstrap 95% intervals over segments (Efron & Tibshirani
  1993), seeded and vectorised across all groups at once.
  :func:`compare_groups`: differences of mean compound between groups with a
  cluster (article-level) bootstrap (Field & Welsh 2007), because sentences of one
  article are not independent; with fewer than two articles in a group there is no
  between-article variation to resample and the interval is left empty (NaN).
* :func:`voice_summary_by_document` / :func:`compare_groups_by_document`: the same
  over documents from per-document sums (the pipeline's ``doc_sentiment``), or from
  :class:`DocumentSums`: per-group moment sums, enough for the linearised interval of a
  large group (Woodruff 1971), plus the rows of the groups small enough to bootstrap,
  so the cost grows with the groups, not the documents.
* Targets: :func:`find_targets` finds the mentions of named targets (aliases as data,
  ``data/lexicon/targets.yaml``) and :func:`target_sentiment` scores each mention
  with :class:`TargetModel`, a target-dependent logistic regression trained on
  NewsMTSC (Hamborg & Donnay 2021, "NewsMTSC: A Dataset for (Multi-)Target-dependent
  Sentiment Classification in Political News Articles", EACL). Sentence-level
  lexicon scores ignore whom the sentence is about (macro-F1 about 0.51 on NewsMTSC
  dev); the model sees the target's position: hashed n-grams of the sentence with
  the mention masked, of the left and right context windows, and VADER scores of
  the sentence, the windows and the masked window. Training:
  ``python -m analysis.train_target_model --newsmtsc PATH`` (any JSONL in the
  NewsMTSC format). The model ships as a skops file with a provenance JSON; hashed
  features mean no vocabulary from the research-only training text ships with it.
"""

from __future__ import annotations

import json
import math
import re
import string
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml

from analysis.config import LEXICON, RESOURCES
from analysis.errors import InputError
from analysis.segment import sentences as split_sentences

#: VADER's convention for calling a compound score positive / negative.
THRESHOLD = 0.05
VOICES = ("own", "reported", "quoted")
MODEL_DIR = RESOURCES / "sentiment"
MODEL_PATH = MODEL_DIR / "target_model.skops"
PROVENANCE_PATH = MODEL_DIR / "target_model.json"
TARGETS_PATH = LEXICON / "targets.yaml"
#: Types the shipped model is allowed to contain (checked by ``skops.io.load``).
TRUSTED_TYPES = [
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
]

SENTENCE_COLUMNS = ["id", "outlet", "sentence", "paragraph", "start", "end", "voice", "speaker", "text",
                    "compound", "pos", "neu", "neg"]


# ----------------------------------------------------------------------------- VADER


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    return _fast_vader()()


@lru_cache(maxsize=1)
def _fast_vader() -> type:
    """VADER's analyzer, rewritten for speed; scores equal the library's exactly.

    vaderSentiment 3.3.2 is about a third of the pipeline's time if used as is, and most of
    its work on news text has a result known in advance: it rebuilds the text character
    by character to replace emoji (news sentences have none), runs the valence rules
    for every word although a word outside the lexicon always gets 0, lower-cases each
    word again in every rule, and lower-cases the *whole* sentence in its negation and
    idiom checks once per lexicon word (quadratic in sentence length) to read at most
    six words. ``scores`` does the same steps, in the library's order and arithmetic, on
    words lower-cased once and only for lexicon words; texts with emoji, and the "but"
    rule, use the library's own code. No library does this faster (the alternatives are
    other lexicons, with other scores). ``tests/test_sentiment.py`` checks equality with
    the library on real and generated sentences, and ``benchmarks/scale.py`` on every
    sentence it scores, so an upgrade that changes VADER fails there.
    """
    from vaderSentiment import vaderSentiment as V

    negate = frozenset(V.NEGATE)
    punct, boosters, n_scalar, c_incr = string.punctuation, V.BOOSTER_DICT, V.N_SCALAR, V.C_INCR
    # one word of each idiom or multi-word booster ("kiss of death", "sort of") the idiom
    # check looks up, its longest: an n-gram can only match where all its words are,
    # and "of" or "the" alone would send half the lexicon words through the check
    idiom_words = frozenset(max(key.split(), key=len) for key in [*V.SPECIAL_CASES, *(k for k in boosters if " " in k)])

    class FastVader(V.SentimentIntensityAnalyzer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # the emoji loop replaces single characters only; any other key can never match
            self._emoji_chars = frozenset(self.emojis)
            self._ascii_has_no_emoji = not any(e.isascii() for e in self._emoji_chars)

        def polarity_scores(self, text: str) -> dict[str, float]:
            if not isinstance(text, str) or not self._emoji_chars.isdisjoint(text):
                return super().polarity_scores(text)
            compound, pos, neu, neg = self._plain_scores(text)
            return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}

        def scores(self, text: str) -> tuple[float, float, float, float]:
            """(compound, pos, neu, neg): ``polarity_scores`` as a tuple (no dict per sentence)."""
            # emoji are non-ASCII: an ASCII text (most news) skips the per-character test
            if not isinstance(text, str) or not (text.isascii() and self._ascii_has_no_emoji
                                                 or self._emoji_chars.isdisjoint(text)):
                d = super().polarity_scores(text)
                return d["compound"], d["pos"], d["neu"], d["neg"]
            return self._plain_scores(text)

        def _plain_scores(self, text: str) -> tuple[float, float, float, float]:
            """(compound, pos, neu, neg) of an emoji-free text.

            The library's steps in one pass: words are split and lower-cased once, only
            lexicon words run the valence rules, and an all-zero sentence (no lexicon
            word: about a third of news sentences) is scored without the summing.
            """
            text = text.strip()  # what the emoji loop returns for a text without emoji
            # SentiText._words_and_emoticons, lower-cased: stripping ASCII punctuation and
            # lower-casing commute when lower-casing keeps lengths (ASCII text), and
            # isupper() of a word is that of its token (punctuation has no case)
            tokens = text.split()
            n = len(tokens)
            if not n:
                return 0.0, 0.0, 0.0, 0.0
            if text.isascii():
                lows = [t if len(s := t.strip(punct)) <= 2 else s for t in text.lower().split()]
            else:
                lows = [(t if len(s := t.strip(punct)) <= 2 else s).lower() for t in tokens]
            lexicon = self.lexicon
            hits = [i for i, low in enumerate(lows) if low in lexicon and low not in boosters]
            if not hits:
                return 0.0, 0.0, 1.0, 0.0  # every word scores 0: neu = n / n
            sentiments: list[float] = [0] * n
            cap_diff = None  # allcap_differential, computed only when a word in capitals needs it
            last = n - 1
            for i in hits:
                low = lows[i]
                if i < last and low == "kind" and lows[i + 1] == "of":
                    continue
                # sentiment_valence, on the lower-cased words
                valence = lexicon[low]
                if low == "no" and i != last and lows[i + 1] in lexicon:
                    valence = 0.0
                if (i > 0 and lows[i - 1] == "no") or (i > 1 and lows[i - 2] == "no") \
                        or (i > 2 and lows[i - 3] == "no" and lows[i - 1] in ("or", "nor")):
                    valence = lexicon[low] * n_scalar
                if tokens[i].isupper():
                    if cap_diff is None:
                        cap_diff = V.allcap_differential(tokens)
                    if cap_diff:
                        valence = valence + c_incr if valence > 0 else valence - c_incr
                for start_i in range(3):
                    if i > start_i and lows[i - (start_i + 1)] not in lexicon:
                        prev = lows[i - (start_i + 1)]
                        s = 0.0
                        if prev in boosters:  # scalar_inc_dec
                            s = boosters[prev]
                            if valence < 0:
                                s *= -1
                            if tokens[i - (start_i + 1)].isupper():
                                if cap_diff is None:
                                    cap_diff = V.allcap_differential(tokens)
                                if cap_diff:
                                    s = s + c_incr if valence > 0 else s - c_incr
                        if start_i == 1 and s != 0:
                            s = s * 0.95
                        if start_i == 2 and s != 0:
                            s = s * 0.9
                        valence = valence + s
                        # _negation_check, on words already lower-cased
                        if start_i == 0:
                            if prev in negate or "n't" in prev:
                                valence = valence * n_scalar
                        elif start_i == 1:
                            w2, w1 = lows[i - 2], lows[i - 1]
                            if w2 == "never" and (w1 == "so" or w1 == "this"):
                                valence = valence * 1.25
                            elif w2 == "without" and w1 == "doubt":
                                pass
                            elif w2 in negate or "n't" in w2:
                                valence = valence * n_scalar
                        else:
                            w3, w2, w1 = lows[i - 3], lows[i - 2], lows[i - 1]
                            if w3 == "never" and (w2 == "so" or w2 == "this") or (w1 == "so" or w1 == "this"):
                                valence = valence * 1.25
                            elif w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
                                pass
                            elif w3 in negate or "n't" in w3:
                                valence = valence * n_scalar
                            if not idiom_words.isdisjoint(lows[i - 3:i + 3]):  # else no idiom can match
                                valence = self._special_idioms_check(valence, lows, i)
                # _least_check
                if i > 1 and lows[i - 1] not in lexicon and lows[i - 1] == "least":
                    if lows[i - 2] != "at" and lows[i - 2] != "very":
                        valence = valence * n_scalar
                elif i > 0 and lows[i - 1] not in lexicon and lows[i - 1] == "least":
                    valence = valence * n_scalar
                sentiments[i] = valence
            if "but" in lows:
                sentiments = self._but_check(lows, sentiments)
            # score_valence, summing in the library's order
            sum_s = float(sum(sentiments))
            ep = text.count("!")
            qm = text.count("?")
            punct_amp = min(ep, 4) * 0.292 + ((qm * 0.18 if qm <= 3 else 0.96) if qm > 1 else 0)
            if sum_s > 0:
                sum_s += punct_amp
            elif sum_s < 0:
                sum_s -= punct_amp
            compound = V.normalize(sum_s)
            pos_sum, neg_sum, neu_count = 0.0, 0.0, 0
            for v in sentiments:
                if v > 0:
                    pos_sum += (float(v) + 1)
                if v < 0:
                    neg_sum += (float(v) - 1)
                if v == 0:
                    neu_count += 1
            if pos_sum > math.fabs(neg_sum):
                pos_sum += punct_amp
            elif pos_sum < math.fabs(neg_sum):
                neg_sum -= punct_amp
            total = pos_sum + math.fabs(neg_sum) + neu_count
            return (round(compound, 4), round(math.fabs(pos_sum / total), 3),
                    round(math.fabs(neu_count / total), 3), round(math.fabs(neg_sum / total), 3))

        @staticmethod
        def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
            if i < 3:  # the library then reads words from the end (negative indices): keep its code
                return V.SentimentIntensityAnalyzer._special_idioms_check(valence, words, i)
            w3, w2, w1, w0, *after = [str(w).lower() for w in words[i - 3:i + 3]]
            special = V.SPECIAL_CASES
            twoone, threetwo, threetwoone = f"{w2} {w1}", f"{w3} {w2}", f"{w3} {w2} {w1}"
            for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", twoone, threetwoone, threetwo):
                if seq in special:
                    valence = special[seq]
                    break
            if after and f"{w0} {after[0]}" in special:
                valence = special[f"{w0} {after[0]}"]
            if len(after) > 1 and f"{w0} {after[0]} {after[1]}" in special:
                valence = special[f"{w0} {after[0]} {after[1]}"]
            for n_gram in (threetwoone, threetwo, twoone):  # booster bigrams such as "sort of"
                if n_gram in V.BOOSTER_DICT:
                    valence = valence + V.BOOSTER_DICT[n_gram]
            return valence

    return FastVader


def vader(text: str) -> dict[str, float]:
    """VADER scores of a text: ``compound`` in [-1, 1] and ``pos``/``neu``/``neg`` shares."""
    if not text or not text.strip():
        return dict(_NEUTRAL)
    return _analyzer().polarity_scores(text)


_NEUTRAL = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}


def label_of(compound: float | np.ndarray, *, threshold: float = THRESHOLD) -> Any:
    """-1, 0 or 1 from a compound score with VADER's +-0.05 convention."""
    c = np.asarray(compound, dtype=float)
    lab = np.where(c >= threshold, 1, np.where(c <= -threshold, -1, 0))
    return int(lab) if lab.ndim == 0 else lab


# ----------------------------------------------------------------------------- voice split


def _quote_spans(q: Any) -> tuple[tuple[int, int], ...]:
    """Spans inside quotation marks of a quote-like object (direct: the whole quote)."""
    frags = tuple(getattr(q, "fragments", ()) or ())
    if frags:
        return frags
    return ((q.start, q.end),) if q.kind in ("direct", "partial") else ()


_MARKS = "\"'“”‘’«»„"


def _voice_mask(text: str, quotes: Iterable[Any]) -> tuple[np.ndarray, list[str | None], np.ndarray, set[str]]:
    """Per character: voice (0 own, 1 reported, 2 quoted) and speaker index (-1 none), stacked.

    Also returns which characters belong to a speaker mention and the cue words, so
    an own-voice leftover that is only attribution ("State media said") can be told
    from real own text. Quotation marks around a quoted span count as quoted.
    """
    n = len(text)
    voice = np.zeros(n, dtype=np.int64)
    who = np.full(n, -1, dtype=np.int64)
    attribution = np.zeros(n, dtype=bool)
    speakers: list[str | None] = []
    cue_words: set[str] = set()
    for q in quotes:
        speakers.append(q.speaker)
        k = len(speakers) - 1
        voice[q.start:q.end] = np.maximum(voice[q.start:q.end], 1)
        who[q.start:q.end] = k
        for s, e in _quote_spans(q):
            while s > 0 and (text[s - 1] in _MARKS or text[s - 1] == " " and s > 1 and text[s - 2] in _MARKS):
                s -= 1
            while e < n and (text[e] in _MARKS or text[e] in ",." and e + 1 < n and text[e + 1] in _MARKS):
                e += 1
            voice[s:e] = 2
            who[s:e] = k
        ss, se = getattr(q, "speaker_start", None), getattr(q, "speaker_end", None)
        if isinstance(ss, (int, np.integer)) and isinstance(se, (int, np.integer)):
            attribution[ss:se] = True
        cue_words |= {w.lower() for w in _WORD.findall(getattr(q, "cue", None) or "")}
    return np.stack([voice, who]), speakers, attribution, cue_words


_WORD = re.compile(r"\w+")


def _segments(text: str, start: int, end: int, runs: "_Runs", speakers: list[str | None],
              min_own_words: int, attribution: np.ndarray | bytes | None = None,
              cue_words: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str | None, int, int, str]]:
    """Voice segments of one sentence: (voice, speaker, first char, last char + 1, text).

    Runs of the same (voice, speaker) inside the sentence are joined into one segment
    (a quote interrupted by "he said" stays one quoted segment); quotation marks are
    left out of the segment text. ``runs`` are the document's (voice, speaker) runs
    (:func:`_runs`), found once per document rather than per sentence.
    """
    pieces: dict[tuple[int, int], list[tuple[int, int]]] = {}
    k = max(0, bisect_right(runs.starts, start) - 1)
    while k < len(runs.starts) and runs.starts[k] < end:
        a, b = max(runs.starts[k], start), min(runs.ends[k], end)
        if a < b:
            pieces.setdefault((runs.voice[k], runs.who[k]), []).append((a, b))
        k += 1
    if not pieces or all(vi == 0 for vi, _ in pieces):
        return [("own", None, start, end, text[start:end])]
    out = []
    for (vi, wi), spans in pieces.items():
        parts = [text[s:e].strip().strip(_MARKS).strip() for s, e in spans]
        seg = " ".join(p for p in parts if p)
        if not seg.strip(" \t\n.,;:!?()-—" + _MARKS):
            continue
        if vi == 0:
            # Own leftovers of a quoting sentence count only with words beyond speaker and cue.
            words = (m for s, e in spans for m in _WORD.finditer(text, s, e)
                     if (attribution is None or not attribution[m.start()]) and m.group().lower() not in cue_words)
            if sum(1 for _ in islice(words, min_own_words)) < min_own_words:  # counting stops at enough
                continue
        out.append((VOICES[vi], speakers[wi] if vi and wi >= 0 else None, spans[0][0], spans[-1][1], seg))
    out.sort(key=lambda r: (r[2], VOICES.index(r[0])))
    return out


class _Runs(NamedTuple):
    """Maximal runs of characters with one (voice, speaker index) in a document, in text order."""

    starts: list[int]
    ends: list[int]
    voice: list[int]
    who: list[int]


def _runs(mask: np.ndarray) -> _Runs:
    """The (voice, speaker) runs of a :func:`_voice_mask` (one numpy pass per document)."""
    n = mask.shape[1]
    if not n:
        return _Runs([], [], [], [])
    key = mask[0] * 1_000_003 + (mask[1] + 1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    ends = np.append(starts[1:], n)
    return _Runs(starts.tolist(), ends.tolist(), mask[0, starts].tolist(), mask[1, starts].tolist())


def _quotes_for(quotes: Any, doc_id: str, text: str) -> list[Any]:
    if quotes is None:
        from analysis.quotes import extract_quotes

        return extract_quotes(text)
    if isinstance(quotes, pd.DataFrame):
        rows = quotes[quotes["id"] == doc_id]
        return list(rows.itertuples(index=False))
    return list(quotes.get(doc_id, ()))


def score_sentences(corpus: pd.DataFrame, *, quotes: Mapping[str, Sequence[Any]] | pd.DataFrame | None = None,
                    min_own_words: int = 3) -> pd.DataFrame:
    """VADER scores of every sentence of a corpus, split by voice.

    Args:
        corpus: DataFrame with ``id`` and ``text`` (``outlet`` optional, else
            ``"unknown"``), e.g. :func:`analysis.corpus.load_corpus`.
        quotes: Quotations per document: a mapping id -> quote-like objects (``start``,
            ``end``, ``kind``, ``speaker``, optional ``fragments``), or a table with
            those columns and ``id``. None extracts them with
            :func:`analysis.quotes.extract_quotes`.
        min_own_words: Own-voice leftovers of sentences with quoted or reported
            speech are kept only with this many words besides the speaker mention and
            the reporting cue ("State media previously has said" is attribution, not
            the outlet's own statement).

    Returns:
        One row per voice segment of a sentence (most sentences: one ``own`` row):
        id, outlet, sentence (index in the document), paragraph, start, end (character
        offsets of the segment in ``text``), voice (own/reported/quoted), speaker (of
        quoted/reported segments), text, compound, pos, neu, neg.
    """
    return _score(corpus, quotes=quotes, min_own_words=min_own_words)[0]


def _voiced_runs(runs: _Runs) -> tuple[list[int], list[int]]:
    """Starts and ends of the runs of characters in a voice other than own (sorted, disjoint)."""
    starts: list[int] = []
    ends: list[int] = []
    for a, b, v in zip(runs.starts, runs.ends, runs.voice):
        if not v:
            continue
        if ends and ends[-1] == a:  # adjacent voiced runs (another voice or speaker) make one
            ends[-1] = b
        else:
            starts.append(a)
            ends.append(b)
    return starts, ends


def _score(corpus: pd.DataFrame, *, quotes: Mapping[str, Sequence[Any]] | pd.DataFrame | None = None,
           min_own_words: int = 3, sentences: Mapping[Any, Sequence[Any]] | None = None,
           ) -> tuple[pd.DataFrame, dict[Any, int]]:
    """:func:`score_sentences`, and the number of sentences of each document (for the pipeline).

    ``sentences`` maps a document id to ``analysis.segment.sentences`` of its text, for
    the documents the caller has already split (the pipeline splits once for quotes
    and sentiment).
    """
    outlets = corpus["outlet"] if "outlet" in corpus.columns else pd.Series(["unknown"] * len(corpus))
    if isinstance(quotes, pd.DataFrame):  # grouped once, not filtered per document
        quotes = {k: list(g.itertuples(index=False)) for k, g in quotes.groupby("id", sort=False)}
    rows: list[tuple] = []
    n_sentences: dict[Any, int] = {}
    score = _analyzer().scores
    neutral = tuple(_NEUTRAL[k] for k in ("compound", "pos", "neu", "neg"))  # as vader("") in scores' order
    for doc_id, outlet, text in zip(corpus["id"], outlets, corpus["text"]):
        text = text if isinstance(text, str) else ""
        sents = sentences[doc_id] if sentences is not None and doc_id in sentences else split_sentences(text)
        n_sentences[doc_id] = len(sents)
        doc_quotes = _quotes_for(quotes, doc_id, text)
        if doc_quotes:
            mask, speakers, attribution, cues = _voice_mask(text, doc_quotes)
            runs = _runs(mask)
            starts, ends = _voiced_runs(runs)
            attribution = attribution.tobytes()  # one byte per character: indexing gives plain ints
        else:
            starts = ends = []
        for i, s in enumerate(sents):
            # Fast path (most sentences): no quoted or reported character, one own segment,
            # exactly what _segments returns then, without its per-sentence numpy work.
            k = bisect_right(ends, s.start)
            if k == len(starts) or starts[k] >= s.end:
                seg = text[s.start:s.end]
                rows.append((doc_id, outlet, i, s.paragraph, s.start, s.end, "own", None, seg,
                             *(score(seg) if seg.strip() else neutral)))
                continue
            for voice, speaker, a, b, seg in _segments(text, s.start, s.end, runs, speakers, min_own_words,
                                                       attribution, cues):
                rows.append((doc_id, outlet, i, s.paragraph, a, b, voice, speaker, seg,
                             *(score(seg) if seg.strip() else neutral)))
    df = pd.DataFrame(rows, columns=SENTENCE_COLUMNS)
    df = df.astype({"sentence": "int64", "paragraph": "int64", "start": "int64", "end": "int64",
                    "compound": "float64", "pos": "float64", "neu": "float64", "neg": "float64"})
    return df, n_sentences


# ----------------------------------------------------------------------------- bootstrap


def _percentiles(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    return np.quantile(reps, alpha, axis=0), np.quantile(reps, 1 - alpha, axis=0)


def _group_bootstrap(values: np.ndarray, sizes: np.ndarray, *, n_boot: int, rng: np.random.Generator,
                     max_cells: int = 20_000_000) -> np.ndarray:
    """Bootstrap sums of ``values`` (rows sorted by group; ``sizes`` rows per group), all groups at once.

    Each replicate redraws every group's rows with replacement within the group.
    Returns an array (n_boot, groups, columns) of resampled column sums. Replicates
    are drawn in chunks so memory stays below ``max_cells`` numbers.
    """
    n, k = values.shape
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    slot_start = np.repeat(starts, sizes)
    slot_size = np.repeat(sizes, sizes)
    out = np.empty((n_boot, len(sizes), k))
    chunk = max(1, max_cells // max(1, n * k))
    for lo in range(0, n_boot, chunk):
        b = min(chunk, n_boot - lo)
        idx = slot_start + (rng.random((b, n)) * slot_size).astype(np.int64)
        out[lo:lo + b] = np.add.reduceat(values[idx], starts, axis=1)
    return out


def _put_intervals(out: pd.DataFrame, point: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    """Columns mean/low/high and pos_/neg_ share/low/high from (groups x 3) points and bounds, in place.

    Bounds are widened to contain the point (a percentile interval can miss it when
    every replicate lies on one side, e.g. a group of one document).
    """
    for j, name in enumerate(("", "pos_", "neg_")):
        out[f"{name}share" if name else "mean"] = point[:, j]
        out[f"{name}low" if name else "low"] = np.minimum(low[:, j], point[:, j])
        out[f"{name}high" if name else "high"] = np.maximum(high[:, j], point[:, j])


#: Groups of at most this many documents get the exact bootstrap over documents (the
#: behaviour on small corpora); larger groups get the linearised interval of
#: :func:`_linearised`, whose cost does not grow with the documents. At 100 documents
#: the two agree within a few percent of the interval width (tests/test_sentiment.py).
BOOTSTRAP_MAX_DOCUMENTS = 100


def _ratio_moments(df: pd.DataFrame, by: list[str], ys: list[str], x: str) -> pd.DataFrame:
    """Per ``by`` group: documents ``n``, sums of ``x``, ``x**2`` and, per ``y``, of ``y``, ``y**2``, ``x*y``.

    Sufficient statistics of the ratio estimators ``sum(y) / sum(x)`` over documents and
    of their linearised variance; one vectorised pass.
    """
    xv = df[x].to_numpy(dtype=float)
    cols = {"n": np.ones(len(df)), "x": xv, "xx": xv * xv}
    for y in ys:
        yv = df[y].to_numpy(dtype=float)
        cols.update({f"{y}": yv, f"{y}_yy": yv * yv, f"{y}_xy": xv * yv})
    frame = pd.DataFrame(cols, index=pd.MultiIndex.from_frame(df[by]))
    return frame.groupby(level=list(range(len(by))), sort=True).sum()


#: The per-document sums of ``doc_sentiment`` whose ratios over documents are reported (mean compound
#: per segment, shares of positive and negative segments), all over ``segments``.
DOCUMENT_SUMS = ("compound_sum", "positive", "negative")
#: ``voice`` of the rows of :attr:`DocumentSums.moments` that hold every voice of a document together.
ALL_VOICES = "all"


def _sum_names(ys: Sequence[str]) -> dict[str, str]:
    """:func:`_ratio_moments` column -> :attr:`DocumentSums.moments` column (readable names for a stored table)."""
    return {"n": "documents", "x": "segments", "xx": "segments_sq",
            **{k: v for y in ys for k, v in ((y, y), (f"{y}_yy", f"{y}_sq"), (f"{y}_xy", f"{y}_x"))}}


@dataclass(frozen=True, eq=False)  # frames have no truth value: compare them with pandas, not ==
class DocumentSums:
    """What the intervals over documents need of ``doc_sentiment``, without its row per document.

    A group of more than ``max_documents`` documents gets the linearised interval, which
    needs only per-group moment sums; a smaller one the bootstrap over its documents,
    which needs their rows. So this holds the sums of every group and the rows of the
    small groups only: its size grows with the groups, not the documents. The pipeline
    stores both (:meth:`analysis.pipeline.Results.sentiment_sums`);
    :func:`document_sums` makes them from rows.

    Attributes:
        moments: One row per group and voice, and per group with voice :data:`ALL_VOICES`
            (a document's voices summed first, what :func:`compare_groups_by_document`
            with ``voice=None`` resamples): ``group, voice, documents, segments,
            segments_sq`` and, per column y of :data:`DOCUMENT_SUMS`, ``y, y_sq, y_x``:
            sums over documents of y, y² and segments·y (:func:`_ratio_moments`).
        rows: ``doc_sentiment`` rows of at least every group and voice with at most
            ``max_documents`` documents (every voice of a group with at most
            ``max_documents`` documents in all), in any order.
        max_documents: The largest groups whose rows ``rows`` holds.
    """

    moments: pd.DataFrame
    rows: pd.DataFrame
    max_documents: int

    def _ratio_moments(self, ys: list[str], voice: str | None = None) -> pd.DataFrame:
        """:attr:`moments` as :func:`_ratio_moments` gives them: of one ``voice`` indexed by group (``_g``), or
        (``None``) of every voice but :data:`ALL_VOICES` indexed by ``group, voice``."""
        names = _sum_names(ys)
        m = self.moments
        m = m[m["voice"] != ALL_VOICES] if voice is None else m[m["voice"] == voice]
        frame = m[list(names.values())].astype(float).set_axis(list(names), axis=1)
        group = m["group"].astype(str).to_numpy()
        frame.index = (pd.MultiIndex.from_arrays([group, m["voice"].to_numpy()], names=["group", "voice"])
                       if voice is None else pd.Index(group, name="_g"))
        return frame.sort_index()

    def _covering(self, max_documents: int) -> "DocumentSums":
        if max_documents > self.max_documents:
            raise InputError(f"these sums hold the rows of groups of at most {self.max_documents} documents, not "
                             f"{max_documents}; read them with Results.sentiment_sums(max_documents={max_documents}) "
                             "or pass the doc_sentiment rows")
        return self


def document_sums(doc_sentiment: pd.DataFrame, *, max_documents: int = BOOTSTRAP_MAX_DOCUMENTS) -> DocumentSums:
    """:class:`DocumentSums` of ``doc_sentiment`` rows (what the pipeline's ``aggregate`` stores, made in pandas).

    Args:
        doc_sentiment: Rows ``group, id, voice, segments, compound_sum, positive, negative``.
        max_documents: Keep the rows of groups (and voices) of at most this many documents.

    Returns:
        The sums of every group and voice, and the small groups' rows.
    """
    names = _sum_names(DOCUMENT_SUMS)
    cols = ["group", "voice", *names.values()]
    df = doc_sentiment.assign(group=doc_sentiment["group"].astype(str))
    if df.empty:
        return DocumentSums(pd.DataFrame(columns=cols), df, max_documents)
    # per document, its voices together: what compare_groups_by_document(voice=None) sums
    whole = (df.groupby(["group", "id"], sort=True)[["segments", *DOCUMENT_SUMS]].sum().reset_index()
             .assign(voice=ALL_VOICES))
    parts = [_ratio_moments(d, ["group", "voice"], list(DOCUMENT_SUMS), "segments").rename(columns=names)
             for d in (df, whole)]
    moments = pd.concat(parts).reset_index().sort_values(["group", "voice"], kind="stable", ignore_index=True)
    exact = [c for c in cols[2:] if not c.startswith("compound_sum")]  # counts and their products: integers
    moments = moments[cols].astype({c: "int64" for c in exact})
    small = moments.loc[moments["documents"] <= max_documents, ["group", "voice"]]
    keep = pd.MultiIndex.from_frame(df[["group", "voice"]]).isin(pd.MultiIndex.from_frame(small))
    return DocumentSums(moments, df[keep].reset_index(drop=True), max_documents)


def _linearised(m: pd.DataFrame, ys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ratios ``R = sum(y) / sum(x)`` (groups x ys) and their linearised (delta-method) variances.

    ``var(R) = n / (n - 1) * sum((y_i - R x_i)**2) / sum(x)**2`` over documents i: the
    Taylor-linearisation variance of a ratio of totals under with-replacement sampling of
    documents (Woodruff 1971), which the bootstrap over documents approximates as n
    grows. Written here because it needs only the moment sums of :func:`_ratio_moments`
    (the libraries' ratio estimators take the per-document rows).
    """
    n, x, xx = (m[c].to_numpy(dtype=float)[:, None] for c in ("n", "x", "xx"))
    y, yy, xy = (m[[f"{c}{s}" for c in ys]].to_numpy(dtype=float) for s in ("", "_yy", "_xy"))
    ratio = y / x
    resid = np.maximum(yy - 2 * ratio * xy + ratio**2 * xx, 0.0)  # rounding can push 0 just below
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, n / (n - 1) * resid / x**2, np.nan)
    return ratio, var


def _normal_bounds(point: np.ndarray, var: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    from statistics import NormalDist  # the standard library's quantile: importing scipy.stats costs ~1 s a render

    half = NormalDist().inv_cdf(0.5 + level / 2) * np.sqrt(var)
    return point - half, point + half


def _mean_and_share_bounds(point: np.ndarray, var: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_normal_bounds` of (mean compound, positive share, negative share) columns, clipped to [-1, 1], [0, 1], [0, 1]."""
    low, high = _normal_bounds(point, var, level)
    return np.clip(low, [-1, 0, 0], 1), np.clip(high, [-1, 0, 0], 1)


def summarize(sentences: pd.DataFrame, *, by: str | Sequence[str] = "outlet", n_boot: int = 2000,
              seed: int = 0, level: float = 0.95, threshold: float = THRESHOLD,
              max_rows: int = BOOTSTRAP_MAX_DOCUMENTS) -> pd.DataFrame:
    """Mean compound and positive/negative shares per group, with bootstrap intervals over segments.

    A group of more than ``max_rows`` segments gets the normal interval of its mean
    (standard error ``s / sqrt(n)``: :func:`_linearised` with one unit per segment),
    which the percentile bootstrap approaches for many segments, clipped to the range
    of the statistic; so the cost is bounded by ``n_boot`` x ``max_rows`` a group.

    Args:
        sentences: Rows with a ``compound`` column and the ``by`` columns (e.g.
            :func:`score_sentences`, optionally merged with document columns).
        by: Column(s) to group by.
        n_boot: Bootstrap replicates.
        seed: Seed of the ``numpy`` generator: same seed, same intervals.
        level: Coverage of the percentile intervals.
        threshold: Compound at or beyond which a segment counts as positive/negative.
        max_rows: Largest group (segments) bootstrapped.

    Returns:
        One row per group, sorted: the ``by`` columns, segments, documents (if ``id``
        is present), mean, low, high (mean compound and interval), pos_share,
        pos_low, pos_high, neg_share, neg_low, neg_high, method (``bootstrap`` or
        ``linearised``).
    """
    by = [by] if isinstance(by, str) else list(by)
    cols = by + ["segments", "documents", "mean", "low", "high", "pos_share", "pos_low", "pos_high",
                 "neg_share", "neg_low", "neg_high", "method"]
    if sentences.empty:
        return pd.DataFrame(columns=cols)
    df = sentences.sort_values(by, kind="stable")
    c = df["compound"].to_numpy(dtype=float)
    values = np.column_stack([c, c >= threshold, c <= -threshold]).astype(float)
    grouped = df.groupby(by, sort=True, dropna=False)
    sizes = grouped.size().to_numpy()
    keys = grouped.size().index
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    tot = np.add.reduceat(values, starts, axis=0)
    point = tot / sizes[:, None]
    # one unit per segment: sums of x = n, of x*y = of y, of y*y = of y (0/1 shares) or of c*c
    moments = pd.DataFrame({"n": sizes, "x": sizes, "xx": sizes}).assign(
        **{f"{j}": tot[:, j] for j in range(3)}, **{f"{j}_xy": tot[:, j] for j in range(3)},
        **{f"{j}_yy": np.add.reduceat(values[:, j] ** 2, starts) for j in range(3)})
    _, var = _linearised(moments, ["0", "1", "2"])
    low, high = _mean_and_share_bounds(point, var, level)
    small = sizes <= max_rows
    if small.any():
        reps = _group_bootstrap(values[np.repeat(small, sizes)], sizes[small], n_boot=n_boot,
                                rng=np.random.default_rng(seed)) / sizes[None, small, None]
        low[small], high[small] = _percentiles(reps, level)
    out = pd.DataFrame(list(keys) if len(by) > 1 else {by[0]: list(keys)}, columns=by)
    out["segments"] = sizes
    out["documents"] = grouped["id"].nunique().to_numpy() if "id" in df.columns else np.nan
    _put_intervals(out, point, low, high)
    out["method"] = np.where(small, "bootstrap", "linearised")
    return out[cols].reset_index(drop=True)


def _with_group(sentences: pd.DataFrame, corpus: pd.DataFrame | None, group_by: str) -> pd.DataFrame:
    if group_by in sentences.columns:
        return sentences
    if corpus is None or group_by not in corpus.columns:
        raise InputError(f"no column {group_by!r} to group by; pass a corpus that has it")
    return sentences.merge(corpus[["id", group_by]].drop_duplicates("id"), on="id", how="left")


def voice_summary(corpus: pd.DataFrame, *, group_by: str = "outlet", sentences: pd.DataFrame | None = None,
                  n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Sentiment per group and voice (own / reported / quoted) with bootstrap intervals.

    Args:
        corpus: Corpus table (``id``, ``text``, the group column).
        group_by: Any document column.
        sentences: Scored segments (:func:`score_sentences`), computed when omitted.
        n_boot, seed, level: As :func:`summarize`.

    Returns:
        group, voice, then the :func:`summarize` columns (mean, low, high, shares...);
        voices a group does not use have no row.
    """
    s = score_sentences(corpus) if sentences is None else sentences
    s = _with_group(s, corpus, group_by)
    out = summarize(s.assign(group=s[group_by].astype(str)), by=["group", "voice"], n_boot=n_boot, seed=seed,
                    level=level)
    return out


def document_summary(sentences: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per document and voice: mean compound and shares with intervals (:func:`summarize` by id, voice)."""
    return summarize(sentences, by=["id", "voice"], n_boot=n_boot, seed=seed)


def speaker_summary(sentences: pd.DataFrame, *, by: str = "outlet", voices: Sequence[str] = ("quoted",),
                    n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Quoted voice per group and speaker: whose words carry which sentiment."""
    s = sentences[sentences["voice"].isin(voices) & sentences["speaker"].notna()]
    return summarize(s, by=[by, "speaker"], n_boot=n_boot, seed=seed)


def compare_groups(sentences: pd.DataFrame, *, by: str = "outlet", voice: str | None = "own", n_boot: int = 2000,
                   seed: int = 0, level: float = 0.95, max_documents: int = BOOTSTRAP_MAX_DOCUMENTS) -> pd.DataFrame:
    """Differences of mean compound between groups, with an article-level (cluster) bootstrap.

    Each replicate redraws whole articles within each group and recomputes the group
    mean over the drawn articles' segments, so the interval reflects how much
    articles differ, not only sentences. A pair with a group of more than
    ``max_documents`` articles gets the normal interval of the linearised variances
    instead (see :func:`_compare_documents`), whose cost does not grow with the articles.

    Args:
        sentences: Scored segments with ``id``, ``compound`` and the ``by`` column.
        by: Group column.
        voice: Restrict to one voice (None = all segments).
        n_boot, seed, level: As :func:`summarize`.
        max_documents: Largest group bootstrapped (:data:`BOOTSTRAP_MAX_DOCUMENTS`).

    Returns:
        One row per pair of groups (a < b): group_a, group_b, mean_a, mean_b, diff
        (a - b), low, high, documents_a, documents_b, method (``bootstrap`` or
        ``linearised``). low/high are NaN when a group has fewer than two articles.
    """
    s = sentences if voice is None else sentences[sentences["voice"] == voice]
    docs = (s.assign(_g=s[by].astype(str)).groupby(["_g", "id"], sort=True)["compound"]
            .agg(["sum", "count"]).reset_index())
    return _compare_documents(docs, n_boot=n_boot, seed=seed, level=level, max_documents=max_documents)


def compare_groups_by_document(doc_sentiment: pd.DataFrame | DocumentSums, *, voice: str | None = "own",
                               groups: Sequence[str] | None = None, n_boot: int = 2000, seed: int = 0,
                               level: float = 0.95, max_documents: int = BOOTSTRAP_MAX_DOCUMENTS) -> pd.DataFrame:
    """:func:`compare_groups` from per-document sums (the pipeline's ``doc_sentiment`` table), never the sentences.

    The same article-level bootstrap, on the same per-article sums, so the result
    equals :func:`compare_groups` on the scored sentences of the same corpus.

    Args:
        doc_sentiment: Rows ``group, id, voice, segments, compound_sum``, or their
            :class:`DocumentSums` (per-group sums and the small groups' rows: same
            result to float rounding, at a cost that does not grow with the documents).
        voice: Restrict to one voice (None = all segments).
        groups: Compare only these groups (pairs grow with the square of the groups).
        n_boot, seed, level, max_documents: As :func:`compare_groups`.

    Returns:
        As :func:`compare_groups`.
    """
    moments = None
    d = doc_sentiment
    if isinstance(d, DocumentSums):
        moments = d._covering(max_documents)._ratio_moments(["compound_sum"], ALL_VOICES if voice is None else voice)
        moments = moments.rename(columns=lambda c: c.replace("compound_sum", "sum"))
        if groups is not None:
            moments = moments[moments.index.isin([str(g) for g in groups])]
        d = d.rows  # only the small groups' articles are resampled
    if voice is not None:
        d = d[d["voice"] == voice]
    if groups is not None:
        d = d[d["group"].isin(list(groups))]
    docs = (d.assign(_g=d["group"].astype(str)).groupby(["_g", "id"], sort=True)
            .agg(sum=("compound_sum", "sum"), count=("segments", "sum")).reset_index())
    return _compare_documents(docs, n_boot=n_boot, seed=seed, level=level, max_documents=max_documents,
                              moments=moments)


def _compare_documents(docs: pd.DataFrame, *, n_boot: int, seed: int, level: float,
                       max_documents: int = BOOTSTRAP_MAX_DOCUMENTS, moments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairwise differences of group means from per-article ``_g, id, sum, count`` (sorted by ``_g, id``).

    A pair of groups of at most ``max_documents`` articles each gets the article
    bootstrap; a pair with a larger group the normal interval of the difference of two
    independent ratios, ``diff +- z * sqrt(var_a + var_b)`` (:func:`_linearised`), so
    the cost does not grow with the articles. Column ``method`` says which. ``moments``
    (:func:`_ratio_moments` of ``docs`` by ``_g``, already summed) lets ``docs`` hold
    only the articles of the groups of at most ``max_documents``.
    """
    cols = ["group_a", "group_b", "mean_a", "mean_b", "diff", "low", "high", "documents_a", "documents_b", "method"]
    if moments is None:
        moments = _ratio_moments(docs, ["_g"], ["sum"], "count") if len(docs) else None
    if moments is None or moments.empty:
        return pd.DataFrame(columns=cols)
    groups, sizes = moments.index.to_list(), moments["n"].to_numpy().astype(np.int64)
    small = sizes <= max_documents
    point, var = (a[:, 0] for a in _linearised(moments, ["sum"]))
    # the bootstrap draws only the small groups' articles: on a corpus of small groups
    # (every group) the replicates are those drawn before the switch existed
    means = np.full((n_boot, len(groups)), np.nan)
    if small.any():
        in_small = docs["_g"].isin([g for g, s in zip(groups, small) if s]).to_numpy()
        reps = _group_bootstrap(docs.loc[in_small, ["sum", "count"]].to_numpy(dtype=float), sizes[small],
                                n_boot=n_boot, rng=np.random.default_rng(seed))
        means[:, small] = reps[:, :, 0] / reps[:, :, 1]
    rows = []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            d = point[i] - point[j]
            lo, hi = (np.nan, np.nan)
            method = "bootstrap" if small[i] and small[j] else "linearised"
            if sizes[i] >= 2 and sizes[j] >= 2:
                if method == "bootstrap":
                    lo, hi = _percentiles(means[:, i] - means[:, j], level)
                else:
                    lo, hi = _normal_bounds(d, var[i] + var[j], level)
                lo, hi = min(float(lo), d), max(float(hi), d)
            rows.append((groups[i], groups[j], point[i], point[j], d, lo, hi, int(sizes[i]), int(sizes[j]), method))
    return pd.DataFrame(rows, columns=cols)


def voice_summary_by_document(doc_sentiment: pd.DataFrame | DocumentSums, *, n_boot: int = 2000, seed: int = 0,
                              level: float = 0.95, max_documents: int = BOOTSTRAP_MAX_DOCUMENTS) -> pd.DataFrame:
    """Sentiment per group and voice from per-document sums, with intervals over documents.

    The point estimates (mean compound per segment, shares of positive and negative
    segments) are exactly those of :func:`voice_summary` on the same corpus, since
    they are ratios of sums. The intervals treat documents as the sampled units (a
    cluster design: segments of one article are not independent). A group and voice
    with at most ``max_documents`` documents gets the percentile bootstrap that
    resamples whole documents (so a group of one document has an interval of width
    zero); a larger one the normal interval of the linearised variance of the ratio
    (:func:`_linearised`), which that bootstrap approximates for many documents, clipped
    to the range of the statistic. Cost: ``n_boot`` x documents of the small groups,
    plus one pass over the rows (none with :class:`DocumentSums`, whose per-group sums
    are summed once by the pipeline's ``aggregate``); column ``method`` says which
    interval a row has.

    Args:
        doc_sentiment: The pipeline's ``doc_sentiment`` rows: ``group, id, voice, segments,
            compound_sum, positive, negative``; or their :class:`DocumentSums`
            (:meth:`analysis.pipeline.Results.sentiment_sums`): the same result to float
            rounding, at a cost that grows with the groups, not the documents.
        n_boot, seed, level: As :func:`summarize`.
        max_documents: Largest group (documents in the group and voice) bootstrapped.

    Returns:
        The :func:`voice_summary` columns: group, voice, segments, documents, mean, low,
        high, pos_share, pos_low, pos_high, neg_share, neg_low, neg_high, then method
        (``bootstrap`` or ``linearised``).
    """
    by = ["group", "voice"]
    cols = by + ["segments", "documents", "mean", "low", "high", "pos_share", "pos_low", "pos_high",
                 "neg_share", "neg_low", "neg_high", "method"]
    ys = list(DOCUMENT_SUMS)
    if isinstance(doc_sentiment, DocumentSums):
        sums = doc_sentiment._covering(max_documents)
        moments = sums._ratio_moments(ys)
        df = sums.rows.assign(group=sums.rows["group"].astype(str))
    else:
        df = doc_sentiment.assign(group=doc_sentiment["group"].astype(str))
        moments = _ratio_moments(df, by, ys, "segments") if len(df) else df.iloc[:0]
    if moments.empty:
        return pd.DataFrame(columns=cols)
    point, var = _linearised(moments, ys)
    low, high = _mean_and_share_bounds(point, var, level)
    sizes = moments["n"].to_numpy().astype(np.int64)
    small = sizes <= max_documents
    if small.any():
        keys = moments.index[small]
        part = df[pd.MultiIndex.from_frame(df[by]).isin(keys)].sort_values([*by, "id"], kind="stable")
        values = part[[*ys, "segments"]].to_numpy(dtype=float)
        reps = _group_bootstrap(values, sizes[small], n_boot=n_boot, rng=np.random.default_rng(seed))
        low[small], high[small] = _percentiles(reps[:, :, :3] / reps[:, :, 3:], level)
    out = moments.index.to_frame(index=False)
    out["segments"] = moments["x"].to_numpy().astype(np.int64)
    out["documents"] = sizes
    _put_intervals(out, point, low, high)
    out["method"] = np.where(small, "bootstrap", "linearised")
    return out[cols].reset_index(drop=True)


def sample_sentences(results: Any, docs: pd.DataFrame, *, group_by: str = "outlet") -> pd.DataFrame:
    """The pipeline's scored segments of some documents (e.g. ``results.sample()``), shaped like :func:`score_sentences`.

    Scores, voices and speakers are the pipeline's (read from its ``sentences`` table
    for these ids only, not recomputed). ``text`` is the segment's span of the
    document with surrounding space and quotation marks stripped: the scored text
    itself, except for a quote interrupted by an attribution ("..., he said, ..."),
    whose scored text leaves the attribution out.

    Args:
        results: A :class:`analysis.pipeline.Results`.
        docs: Documents with ``id``, ``outlet``, ``text`` and the ``group_by`` column.
        group_by: Document column added to each segment.

    Returns:
        :data:`SENTENCE_COLUMNS` and ``group_by``, sorted by id, sentence, start.
    """
    sent = results.table("sentences", filters=[("id", "in", docs["id"].tolist())])
    text = dict(zip(docs["id"], docs["text"]))
    sent["text"] = [text[i][a:b].strip().strip(_MARKS).strip() for i, a, b in zip(sent["id"], sent["start"], sent["end"])]
    sent["outlet"] = sent["id"].map(dict(zip(docs["id"], docs["outlet"])))
    out = sent[SENTENCE_COLUMNS].astype({"sentence": "int64", "paragraph": "int64"})
    if group_by not in out.columns:
        out[group_by] = out["id"].map(dict(zip(docs["id"], docs[group_by])))
    return out.sort_values(["id", "sentence", "start"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Mention:
    """A mention of a target in a text: ``text[start:end] == alias``."""

    target: str
    alias: str
    start: int
    end: int


@dataclass(frozen=True)
class _TargetMatcher:
    pattern: re.Pattern[str]
    target_of: dict[str, str]
    exclude: re.Pattern[str] | None


def _alias_regex(alias: str) -> str:
    return re.escape(alias).replace("'", "['’]").replace("\\ ", r"\s+")


@lru_cache(maxsize=8)
def _targets_file(path: str, mtime_ns: int) -> dict[str, Any]:
    """The ``targets`` mapping of a YAML file, parsed once per file version (``find_targets`` runs per document)."""
    return (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("targets", {})


def load_targets(path: str | Path | Mapping[str, Any] | None = None) -> dict[str, dict[str, list[str]]]:
    """Targets and their aliases: ``{name: {"aliases": [...], "exclude": [...]}}``.

    Args:
        path: A YAML file in the format of ``data/lexicon/targets.yaml``, an already
            loaded mapping (name -> aliases list or {"aliases", "exclude"}), or None
            for the shipped file.
    """
    if isinstance(path, Mapping):
        raw = path.get("targets", path)
    else:
        p = Path(path) if path is not None else TARGETS_PATH
        try:
            raw = _targets_file(str(p), p.stat().st_mtime_ns)
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read targets ({exc}); see data/lexicon/targets.yaml for the format",
                             source=str(p)) from None
    out = {}
    for name, spec in raw.items():
        spec = {"aliases": spec} if isinstance(spec, (list, tuple)) else dict(spec or {})
        aliases = [str(a) for a in spec.get("aliases", []) if str(a).strip()]
        if not aliases:
            raise InputError(f"target {name!r} has no aliases", source=str(path or TARGETS_PATH))
        out[str(name)] = {"aliases": aliases, "exclude": [str(x) for x in spec.get("exclude", []) or []]}
    return out


@lru_cache(maxsize=16)
def _matcher(key: str) -> _TargetMatcher:
    targets = json.loads(key)
    target_of, excludes = {}, []
    for name, spec in targets.items():
        for a in spec["aliases"]:
            target_of.setdefault(a.replace("’", "'"), name)
        excludes += spec["exclude"]
    # One alternation, longest alias first, so overlapping aliases resolve to the longest.
    alts = sorted(target_of, key=lambda a: (-len(a), a))
    pat = re.compile(r"(?<![\w.])(?:" + "|".join(_alias_regex(a) for a in alts) + r")(?!\w)")
    exc = None
    if excludes:
        exc = re.compile(r"(?<!\w)(?:" + "|".join(_alias_regex(x) for x in sorted(excludes, key=len, reverse=True))
                         + r")(?!\w)")
    return _TargetMatcher(pat, target_of, exc)


def find_targets(text: str, *, targets: Mapping[str, Any] | str | Path | None = None) -> list[Mention]:
    """Mentions of the targets in ``text``, in order.

    Args:
        text: Any text.
        targets: As :func:`load_targets` (None = ``data/lexicon/targets.yaml``).
    """
    m = _matcher(json.dumps(load_targets(targets), sort_keys=True))
    blocked = [(x.start(), x.end()) for x in m.exclude.finditer(text)] if m.exclude else []
    out = []
    for x in m.pattern.finditer(text):
        if any(s <= x.start() and x.end() <= e for s, e in blocked):
            continue
        alias = re.sub(r"\s+", " ", x.group().replace("’", "'"))
        out.append(Mention(m.target_of.get(alias, alias), x.group(), x.start(), x.end()))
    return out


# ----------------------------------------------------------------------------- target model

_TOKEN = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")
DENSE_COLUMNS = [f"{w}_{s}" for w in ("sent", "left", "right", "ctx") for s in ("compound", "pos", "neg")]


def context_window(text: str, start: int, end: int, *, window: int = 5) -> tuple[int, int]:
    """Offsets of the ``window`` tokens before ``text[start:end]`` through the ``window`` tokens after it."""
    toks = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    left = [a for a, b in toks if b <= start]
    right = [b for a, b in toks if a >= end]
    lo = left[-window] if len(left) >= window else (left[0] if left else start)
    hi = right[window - 1] if len(right) >= window else (right[-1] if right else end)
    return lo, hi


def target_features(texts: Sequence[str], starts: Sequence[int], ends: Sequence[int], *,
                    window: int = 5) -> pd.DataFrame:
    """The per-mention fields the target model reads (no learned state).

    Args:
        texts: Sentences.
        starts, ends: Character offsets of the target mention in each sentence.
        window: Tokens of context on each side.

    Returns:
        DataFrame with ``masked`` (the sentence with the mention replaced by
        ``TGT``), ``left``/``right`` (up to ``window`` tokens before/after it), ``ctx``
        (left + TGT + right) and VADER compound/pos/neg of the sentence, the windows
        and ``ctx`` (:data:`DENSE_COLUMNS`).
    """
    rows = []
    for s, a, b in zip(texts, starts, ends):
        lo, hi = context_window(s, a, b, window=window)
        ltxt, rtxt = s[lo:a], s[b:hi]
        ctx = f"{ltxt} TGT {rtxt}"
        row = {"masked": f"{s[:a]} TGT {s[b:]}", "left": ltxt, "right": rtxt, "ctx": ctx}
        for name, t in (("sent", s), ("left", ltxt), ("right", rtxt), ("ctx", ctx)):
            sc = vader(t)
            row[f"{name}_compound"], row[f"{name}_pos"], row[f"{name}_neg"] = sc["compound"], sc["pos"], sc["neg"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["masked", "left", "right", "ctx", *DENSE_COLUMNS])


#: Default training parameters (chosen on NewsMTSC dev, see the provenance JSON).
DEFAULT_PARAMS: dict[str, Any] = {
    "window": 5,
    "ngram_max": 2,
    "n_features_sentence": 2 ** 17,
    "n_features_window": 2 ** 16,
    "dense_weight": 2.0,
    "C": 1.0,
    "class_weight": "balanced",
    "max_iter": 3000,
}


def build_pipeline(params: Mapping[str, Any] | None = None) -> Any:
    """The unfitted scikit-learn pipeline: hashed n-gram blocks + VADER scores -> logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    p = {**DEFAULT_PARAMS, **(params or {})}

    def hv(n: int) -> HashingVectorizer:
        return HashingVectorizer(ngram_range=(1, p["ngram_max"]), n_features=n, alternate_sign=False, norm="l2")

    feats = ColumnTransformer(
        [("masked", hv(p["n_features_sentence"]), "masked"), ("left", hv(p["n_features_window"]), "left"),
         ("right", hv(p["n_features_window"]), "right"), ("vader", "passthrough", DENSE_COLUMNS)],
        transformer_weights={"vader": p["dense_weight"]})
    clf = LogisticRegression(C=p["C"], class_weight=p["class_weight"], max_iter=p["max_iter"])
    return Pipeline([("features", feats), ("classifier", clf)])


def _compound_from_proba(proba: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Label = argmax; compound = P(pos) - P(neg) mapped into the label's VADER band.

    Neutral predictions land in (-0.05, 0.05), polar ones in [0.05, 1] (sign of the
    label), so the +-0.05 rule applied to the compound gives back the label.
    """
    cls = list(classes)
    p_neg, p_pos = proba[:, cls.index(-1)], proba[:, cls.index(1)]
    label = np.asarray(cls)[proba.argmax(axis=1)]
    margin = p_pos - p_neg
    compound = np.where(label == 0, margin * (THRESHOLD * 0.98),
                        label * (THRESHOLD + (1 - THRESHOLD) * np.abs(margin)))
    return np.clip(compound, -1, 1), label.astype(int)


@dataclass
class TargetModel:
    """Target-dependent sentiment classifier (NewsMTSC-trained logistic regression).

    Attributes:
        pipeline: The fitted scikit-learn pipeline (:func:`build_pipeline`).
        params: Feature and training parameters (``window`` is used at prediction).
        provenance: Training data, date, library versions and dev scores.
    """

    pipeline: Any
    params: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "TargetModel":
        """Load a saved model (default: the shipped one) with skops, trusting only :data:`TRUSTED_TYPES`."""
        return _load_model(str(path) if path else str(MODEL_PATH))

    @classmethod
    def fit(cls, texts: Sequence[str], starts: Sequence[int], ends: Sequence[int], labels: Sequence[int], *,
            params: Mapping[str, Any] | None = None) -> "TargetModel":
        """Train on sentences, mention offsets and polarities (-1/0/1)."""
        p = {**DEFAULT_PARAMS, **(params or {})}
        pipe = build_pipeline(p)
        pipe.fit(target_features(texts, starts, ends, window=p["window"]), np.asarray(labels, dtype=int))
        return cls(pipe, p)

    def predict_proba(self, texts: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes`` (-1, 0, 1)."""
        X = target_features(texts, starts, ends, window=self.params["window"])
        return self.pipeline.predict_proba(X)

    @property
    def classes(self) -> list[int]:
        return [int(c) for c in self.pipeline.classes_]

    def predict(self, texts: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> pd.DataFrame:
        """Per mention: compound, label, p_neg, p_neu, p_pos (see :func:`_compound_from_proba`)."""
        if len(texts) == 0:
            return pd.DataFrame(columns=["compound", "label", "p_neg", "p_neu", "p_pos"])
        proba = self.predict_proba(texts, starts, ends)
        compound, label = _compound_from_proba(proba, self.classes)
        c = self.classes
        return pd.DataFrame({"compound": compound, "label": label, "p_neg": proba[:, c.index(-1)],
                             "p_neu": proba[:, c.index(0)], "p_pos": proba[:, c.index(1)]})

    def save(self, path: str | Path, *, provenance: Mapping[str, Any] | None = None) -> Path:
        """Write ``path`` (skops, compressed) and its provenance JSON next to it (same stem)."""
        import zipfile

        import skops.io as sio

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(self.pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        prov = {**(provenance or self.provenance), "params": self.params}
        path.with_suffix(".json").write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


@lru_cache(maxsize=4)
def _load_model(path: str) -> TargetModel:
    import skops.io as sio

    p = Path(path)
    meta = p.with_suffix(".json")
    if not p.exists() or not meta.exists():
        raise InputError("target model or its provenance JSON not found; rebuild it with "
                         "`python -m analysis.train_target_model --newsmtsc PATH`", source=path)
    untrusted = [t for t in sio.get_untrusted_types(file=p) if t not in TRUSTED_TYPES]
    if untrusted:
        raise InputError(f"model contains types outside the trusted list: {untrusted}", source=path)
    pipe = sio.load(p, trusted=TRUSTED_TYPES)
    prov = json.loads(meta.read_text(encoding="utf-8"))
    return TargetModel(pipe, {**DEFAULT_PARAMS, **prov.get("params", {})}, prov)


def target_sentiment(corpus: pd.DataFrame, *, targets: Mapping[str, Any] | str | Path | None = None,
                     model: TargetModel | None = None, quotes: Any = None) -> pd.DataFrame:
    """Sentiment toward each target mention in a corpus, scored in its sentence.

    Args:
        corpus: DataFrame with ``id``, ``text`` and optionally ``outlet``.
        targets: As :func:`load_targets`.
        model: A :class:`TargetModel` (default: the shipped one).
        quotes: As :func:`score_sentences`, to give each mention its voice.

    Returns:
        One row per mention: id, outlet, target, alias, start, end (offsets in
        ``text``), sentence, voice (of the words at the mention), compound, label,
        p_neg, p_neu, p_pos (model), sentence_compound (VADER of the whole sentence).
    """
    model = model or TargetModel.load()
    outlets = corpus["outlet"] if "outlet" in corpus.columns else pd.Series(["unknown"] * len(corpus))
    rows, sents, starts, ends = [], [], [], []
    targets = load_targets(targets)  # validated once, not per document
    for doc_id, outlet, text in zip(corpus["id"], outlets, corpus["text"]):
        text = text if isinstance(text, str) else ""
        mentions = find_targets(text, targets=targets)
        if not mentions:
            continue
        mask = _voice_mask(text, _quotes_for(quotes, doc_id, text))[0]
        for i, s in enumerate(split_sentences(text)):
            sent = text[s.start:s.end]
            for m in mentions:
                if s.start <= m.start and m.end <= s.end:
                    rows.append((doc_id, outlet, m.target, m.alias, m.start, m.end, i,
                                 VOICES[int(mask[0, m.start])], vader(sent)["compound"]))
                    sents.append(sent)
                    starts.append(m.start - s.start)
                    ends.append(m.end - s.start)
    cols = ["id", "outlet", "target", "alias", "start", "end", "sentence", "voice", "sentence_compound"]
    base = pd.DataFrame(rows, columns=cols)
    pred = model.predict(sents, starts, ends)
    out = pd.concat([base.drop(columns="sentence_compound"), pred, base[["sentence_compound"]]], axis=1)
    return out


def target_summary(mentions: pd.DataFrame, *, by: str = "outlet", n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Mean model compound per group and target with intervals (:func:`summarize` over mentions)."""
    return summarize(mentions, by=[by, "target"], n_boot=n_boot, seed=seed).rename(columns={"segments": "mentions"})


# ----------------------------------------------------------------------------- figures


def plot_voice_forest(summary: pd.DataFrame, *, colors: Mapping[str, str] | None = None,
                      voices: Sequence[str] = VOICES) -> Any:
    """Forest plot of :func:`voice_summary`: mean compound and interval per group, one row per voice."""
    import matplotlib.pyplot as plt

    from analysis.plotting import outlet_colors

    groups = sorted(summary["group"].unique())
    colors = dict(colors or outlet_colors(groups))
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.32 * len(groups) * len(voices)))
    markers = dict(zip(VOICES, ("o", "s", "D")))
    y, ticks, labels = 0, [], []
    for g in groups:
        for v in voices:
            r = summary[(summary["group"] == g) & (summary["voice"] == v)]
            if not r.empty:
                r = r.iloc[0]
                ax.errorbar(r["mean"], y, xerr=[[r["mean"] - r["low"]], [r["high"] - r["mean"]]], fmt=markers[v],
                            color=colors.get(g, "#999999"), capsize=3)
            ticks.append(y), labels.append(f"{g} · {v}" + ("" if not r.empty else " (none)"))
            y -= 1
        y -= 0.5
    ax.axvline(0, color="#777777", lw=0.8, ls="--")
    ax.set_yticks(ticks, labels)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("mean VADER compound per segment (-1 to 1), bootstrap 95% interval")
    ax.set_title("Sentiment by voice: the outlet's own words, reported and quoted speech")
    fig.tight_layout()
    return fig


def plot_target_heatmap(summary: pd.DataFrame, *, by: str = "outlet") -> Any:
    """Heatmap of :func:`target_summary`: mean model compound per group (rows) and target (columns)."""
    import matplotlib.pyplot as plt

    table = summary.pivot(index=by, columns="target", values="mean").sort_index().sort_index(axis=1)
    counts = summary.pivot(index=by, columns="target", values="mentions").reindex_like(table)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * table.shape[1], 0.8 + 0.55 * table.shape[0]))
    im = ax.imshow(table.to_numpy(dtype=float), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(table.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:+.2f}\nn={int(counts.iat[i, j])}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    ax.set_xlabel("target")
    ax.set_ylabel(by)
    ax.set_title("Sentiment toward each target, mean over mentions")
    fig.colorbar(im, ax=ax, label="model compound (-1 to 1)")
    fig.tight_layout()
    return fig


def extremes(sentences: pd.DataFrame, *, by: str = "outlet", n: int = 1) -> pd.DataFrame:
    """The ``n`` most positive and most negative segments of each group, with their voice."""
    s = sentences.sort_values([by, "compound", "id", "start"], ascending=[True, False, True, True])
    top = s.groupby(by, sort=True).head(n).assign(extreme="most positive")
    bottom = s.iloc[::-1].groupby(by, sort=True).head(n).assign(extreme="most negative")
    out = pd.concat([top, bottom]).sort_values([by, "extreme", "compound"], ascending=[True, False, False])
    return out[[by, "extreme", "id", "voice", "speaker", "compound", "text"]].reset_index(drop=True)


# ----------------------------------------------------------------------------- CLI


def _check_record(rec: dict[str, Any], n: int, source: str) -> tuple[int, int] | None:
    """Validate one CLI record found on line ``n``; return the target offsets or None."""
    rid = rec.get("id")
    text = rec["text"]
    if not text.strip():
        raise InputError(f"id {rid!r}: empty text", source=source, where=n)
    has = [k for k in ("target", "target_start", "target_end") if rec.get(k) is not None]
    if not has:
        return None
    target = rec.get("target")
    s, e = rec.get("target_start"), rec.get("target_end")
    if s is None and e is None:
        if not isinstance(target, str) or not target or target not in text:
            raise InputError(f"id {rid!r}: target {target!r} not found in text; give "
                             "target_start/target_end", source=source, where=n)
        s = text.index(target)
        return s, s + len(target)
    if not (isinstance(s, int) and isinstance(e, int)) or isinstance(s, bool) or isinstance(e, bool):
        raise InputError(f"id {rid!r}: target_start and target_end must both be integers",
                         source=source, where=n)
    if not 0 <= s < e <= len(text):
        raise InputError(f"id {rid!r}: target offsets [{s}, {e}) out of range for a text of "
                         f"{len(text)} characters", source=source, where=n)
    if target is not None and text[s:e] != target:
        raise InputError(f"id {rid!r}: text[{s}:{e}] is {text[s:e]!r}, not the target {target!r}",
                         source=source, where=n)
    return s, e


def _cli_batch(batch: list[tuple[dict[str, Any], tuple[int, int] | None]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any] | None] = [None] * len(batch)
    tgt = [i for i, (_, off) in enumerate(batch) if off is not None]
    if tgt:
        pred = TargetModel.load().predict([batch[i][0]["text"] for i in tgt], [batch[i][1][0] for i in tgt],
                                          [batch[i][1][1] for i in tgt])
        for i, c, lab in zip(tgt, pred["compound"], pred["label"]):
            out[i] = {"id": batch[i][0]["id"], "compound": round(float(c), 4), "label": int(lab)}
    for i, (rec, off) in enumerate(batch):
        if off is None:
            c = round(vader(rec["text"])["compound"], 4)
            out[i] = {"id": rec["id"], "compound": c, "label": label_of(c)}
    return out  # type: ignore[return-value]


def cli_sentiment(args: Any) -> int:
    """``python -m analysis sentiment --input IN.jsonl --output OUT.jsonl``: one line per input, in order.

    With ``target``/``target_start``/``target_end`` the line gives the model's
    sentiment toward the target, else VADER's sentiment of the text. All input is
    checked before anything is written, so a bad line never leaves a partial file.
    """
    from analysis.io import read_jsonl_numbered, write_jsonl

    source = "<stdin>" if str(args.input) == "-" else str(args.input)
    batch = [(rec, _check_record(rec, n, source)) for n, rec in read_jsonl_numbered(args.input)]
    results: list[dict[str, Any]] = []
    for lo in range(0, len(batch), 2000):
        results += _cli_batch(batch[lo:lo + 2000])
    write_jsonl(results, args.output)
    return 0
