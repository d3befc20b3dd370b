"""Vocabulary: term frequencies, distinctive terms and naming choices per outlet.

A small set of composable verbs over the corpus DataFrame (``id, outlet, text`` +
metadata), modelled on quanteda (``dfm``, ``textstat_frequency``,
``textstat_keyness``, ``kwic``):

- :func:`dfm` counts terms into a :class:`DocumentTermMatrix` (sparse counts, the
  result of scikit-learn's ``CountVectorizer`` with our preprocessor and token
  pattern, counted with ``collections.Counter`` for speed: see :func:`_count_terms`).
- :func:`frequencies` gives tidy counts and rates per 1,000 words per group.
- :func:`keyness` scores distinctive terms of a group against the rest (or
  another group, or pairwise) with the weighted log-odds ratio with an
  informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words",
  Political Analysis 16(4), eqs. 16-22), log-likelihood G² (Rayson & Garside
  2000, the two-cell form of Dunning 1993) and the Log Ratio effect size
  (Hardie 2014).
- :func:`kwic` shows keywords in context; :func:`naming_table` counts which
  variant of a name or label each outlet uses (``data/lexicon/naming.yaml``).

Tokenisation (:func:`tokenize`): curly apostrophes, quotation marks and Unicode
hyphens are mapped to ASCII one character for one (so character offsets into
the original text stay valid); text is lower-cased; a token is two or more word
characters, with inner hyphens and apostrophes kept ("kim jong-un",
"dprk-russia", "don't") and the possessive "'s" dropped ("russia's" ->
"russia"); dotted abbreviations stay whole ("u.s."). Stop words are
scikit-learn's English list (318 words, Nothman et al. 2018 list its oddities,
e.g. "fire", "interest", "system") plus English contractions of its words
("don't", "they're"); ``stopwords=False`` keeps everything.

Stop words and n-grams: n-grams are formed on the full token sequence, within
a clause (never across . , ; : ! ? ( ) " or dashes), and an n-gram is kept
only if it neither starts nor ends with a stop word (textacy's ``filter_stops``
rule). So "war in Ukraine" is counted as "war in ukraine" and "of the war" is
not counted. scikit-learn's own ``stop_words`` would instead delete stop words
first and count "war ukraine", a phrase nobody wrote.

Rates and statistics use the number of *words* (all tokens, stop words
included) as the size of a document or group, the same for unigrams and
n-grams, so rates do not depend on the stop list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import chdtrc  # chi-squared survival function; scipy.stats takes seconds to import
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from analysis.errors import InputError

__all__ = [
    "ALPHA0",
    "STOP_WORDS",
    "DocumentTermMatrix",
    "cli_terms",
    "dfm",
    "frequencies",
    "g2",
    "keyness",
    "kwic",
    "load_naming",
    "log_odds",
    "log_ratio",
    "naming_matches",
    "naming_table",
    "normalize",
    "tokenize",
]

# ---------------------------------------------------------------- tokenisation

#: One-for-one character replacements: length-preserving, so offsets found in
#: normalised text are offsets in the original.
_CHAR_MAP: tuple[tuple[str, str], ...] = (
    ("\u2019", "'"),  # right single quotation mark, the usual curly apostrophe
    ("\u2018", "'"),
    ("\u201b", "'"),
    ("\u02bc", "'"),  # modifier letter apostrophe
    ("\u2032", "'"),  # prime
    ("\u00b4", "'"),  # acute accent typed as apostrophe
    ("`", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u201e", '"'),
    ("\u201f", '"'),
    ("\u00ab", '"'),
    ("\u00bb", '"'),
    ("\u2033", '"'),
    ("\u2010", "-"),  # hyphen
    ("\u2011", "-"),  # non-breaking hyphen
    ("\u00a0", " "),  # no-break space
)

_WORD = (  # WORD_PATTERN after its leading \b
    r"\w(?:\w+(?:(?:-|'(?!s\b))\w+)*"  # word, maybe with -/' parts
    r"|(?:(?:-|'(?!s\b))\w+)+"  # one letter + -/' parts ("x-ray")
    r"|(?<=[^\W\d_])(?:\.[^\W\d_])+\.)"  # u.s., e.g.
)
#: A word token (after lower-casing): two or more word characters with inner
#: hyphens/apostrophes but never a possessive 's ("jong-un", "don't", "russia"
#: from "russia's"), or a dotted abbreviation ("u.s."). One branch point after
#: the first character: faster than scikit-learn's default ``\b\w\w+\b``.
WORD_PATTERN = r"\b" + _WORD
#: Clause boundaries that n-grams never cross.
_BREAK_PATTERN = r"[.,;:!?()\[\]\"\u2013\u2014]|--"
# For findall over a whole text the leading \b always holds, so these omit it: a scan never
# tries a position inside a word (a match ends before a non-word character, and a failed try
# at a word character is followed by a non-word one). Led by \w, re skips ahead to the next
# word character instead of testing \b at every position: 20% faster, same tokens.
_WORD_RE = re.compile(_WORD)
_TOKEN_OR_BREAK_RE = re.compile(f"{_WORD}|{_BREAK_PATTERN}")
_BREAK = "|"  # every clause boundary becomes this one marker
_BREAK_START = frozenset(".,;:!?()[]\"\u2013\u2014-")  # word tokens never start with these


def _contractions(words: Iterable[str]) -> set[str]:
    """English contractions of stop words, which the stop list spells without apostrophes."""
    neg = {w + "n't" for w in ("do", "does", "did", "is", "are", "was", "were", "has", "have", "had",
                               "could", "would", "should", "must", "need", "might")}
    neg |= {"can't", "won't", "shan't", "ain't"}
    pron = ("i", "you", "we", "they", "he", "she", "it", "that", "there", "who", "what", "here", "where")
    clitics = {f"{p}'{c}" for p in pron for c in ("re", "ve", "ll", "d", "m")}
    return neg | (clitics & {f"{w}'{c}" for w in words for c in ("re", "ve", "ll", "d", "m")})


#: scikit-learn's English stop list plus contractions of its words.
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | frozenset(_contractions(ENGLISH_STOP_WORDS))


def normalize(text: str) -> str:
    """Map curly apostrophes/quotes and Unicode hyphens to ASCII, one character for one."""
    # Chained str.replace runs at C speed; str.translate with a dict is ~10x slower.
    for a, b in _CHAR_MAP:
        if a in text:
            text = text.replace(a, b)
    return text


def _preprocess(text: str) -> str:
    return normalize(text).lower()


def _ngram_analyzer(ngram_max: int, stopwords: bool):
    """Analyzer emitting every unigram (stop words too) and the kept n-grams.

    Stop-word unigrams are emitted so a document's word count is the row sum of
    its unigram columns; :func:`dfm` drops those columns afterwards.
    """
    stops = STOP_WORDS if stopwords else frozenset()
    findall = _TOKEN_OR_BREAK_RE.findall
    brk = _BREAK
    breaks = _BREAK_START

    def analyze(doc: str) -> list[str]:
        # Per-token list comprehensions: scikit-learn's own n-gram builder is the
        # same kind of Python loop; this one filters before joining.
        toks = [brk if t[0] in breaks else t for t in findall(_preprocess(doc))]
        out = [t for t in toks if t != brk]
        edge = [t != brk and t not in stops for t in toks]
        n = len(toks)
        if ngram_max >= 2:
            out += [f"{toks[i]} {toks[i + 1]}" for i in range(n - 1) if edge[i] and edge[i + 1]]
        if ngram_max >= 3:
            inner = [t != brk for t in toks]
            out += [
                f"{toks[i]} {toks[i + 1]} {toks[i + 2]}"
                for i in range(n - 2)
                if edge[i] and edge[i + 2] and inner[i + 1]
            ]
        return out

    return analyze


def tokenize(text: str, *, ngram_max: int = 1, stopwords: bool = True) -> list[str]:
    """Terms of one text, in order: unigrams first, then bigrams, then trigrams.

    Args:
        text: Any text.
        ngram_max: Longest n-gram (1-3).
        stopwords: Remove English stop words (see the module docstring for n-grams).

    Returns:
        Lower-cased terms; n-grams joined by one space.
    """
    _check_ngram(ngram_max)
    terms = _ngram_analyzer(ngram_max, stopwords)(text)
    if not stopwords:
        return terms
    return [t for t in terms if " " in t or t not in STOP_WORDS]


def _check_ngram(ngram_max: int) -> None:
    if ngram_max not in (1, 2, 3):
        raise ValueError(f"ngram_max must be 1, 2 or 3, not {ngram_max!r}")


# ------------------------------------------------------- document-term matrix


@dataclass(frozen=True)
class DocumentTermMatrix:
    """Sparse term counts of a corpus with the documents' metadata.

    Attributes:
        matrix: ``n_docs x n_terms`` CSR matrix of counts.
        doc_ids: Document ids, in row order.
        terms: Vocabulary (sorted), in column order.
        docvars: Document metadata (the corpus without its text columns), row order.
        n_words: Words (all tokens, stop words included) per document.
        ngram_max: Longest n-gram counted.
        stopwords: Whether stop words were removed.
    """

    matrix: sp.csr_matrix
    doc_ids: np.ndarray
    terms: np.ndarray
    docvars: pd.DataFrame
    n_words: np.ndarray
    ngram_max: int = 1
    stopwords: bool = True

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def groups(self, by: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Group labels (sorted) and each document's group code; ``None`` = one group per document."""
        if by is None:
            values = pd.Series(self.doc_ids, dtype=object)
        elif by in self.docvars.columns:
            values = self.docvars[by]
        else:
            raise InputError(f"no column {by!r} to group by; columns: {', '.join(map(str, self.docvars.columns))}")
        labels = values.astype(object).where(values.notna(), "unknown").astype(str)
        cat = pd.Categorical(labels)
        return np.asarray(cat.categories, dtype=object), cat.codes.astype(np.int64)

    def group_sums(
        self, by: str | None, *, docfreq: bool = True
    ) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, sp.csr_matrix | None]:
        """Per group: labels, term counts (groups x terms), words, and document frequencies (or ``None``)."""
        labels, codes = self.groups(by)
        n_docs = len(codes)
        indicator = sp.csr_matrix(
            (np.ones(n_docs, dtype=np.int64), (codes, np.arange(n_docs))), shape=(len(labels), n_docs)
        )
        counts = (indicator @ self.matrix).tocsr()
        # Canonical order, so counts and docfreq share one sparsity pattern entry for entry.
        counts.sort_indices()
        words = np.bincount(codes, weights=self.n_words, minlength=len(labels)).astype(np.int64)
        if not docfreq:
            return labels, counts, words, None
        binary = self.matrix.copy()
        binary.data = np.ones_like(binary.data)
        df = (indicator @ binary).tocsr()
        df.sort_indices()
        return labels, counts, words, df


def dfm(
    corpus: pd.DataFrame,
    *,
    ngram_max: int = 1,
    stopwords: bool = True,
    min_count: int = 1,
    text_column: str = "text",
) -> DocumentTermMatrix:
    """Count the terms of every document.

    Args:
        corpus: One row per document with ``id`` and the text column, plus metadata.
        ngram_max: Longest n-gram counted (1-3).
        stopwords: Remove English stop words (n-grams: none at either end).
        min_count: Drop terms seen fewer times in the whole corpus.
        text_column: Column holding the (cleaned) text.

    Returns:
        A :class:`DocumentTermMatrix` with sorted vocabulary.
    """
    _check_ngram(ngram_max)
    for col in ("id", text_column):
        if col not in corpus.columns:
            raise InputError(f"corpus has no column {col!r}")
    texts = corpus[text_column].fillna("").astype(str)
    if ngram_max == 1:
        findall = _WORD_RE.findall  # CountVectorizer(preprocessor=_preprocess, token_pattern=WORD_PATTERN)

        def analyze(doc: str) -> list[str]:
            return findall(_preprocess(doc))
    else:
        analyze = _ngram_analyzer(ngram_max, stopwords)
    x, terms = _count_terms(texts.tolist(), analyze)
    vocab = pd.Series(terms, dtype=object)
    if ngram_max == 1:
        unigram = np.ones(len(terms), dtype=bool)
        n_words = np.asarray(x.sum(axis=1)).ravel().astype(np.int64)
    else:
        unigram = ~vocab.str.contains(" ", regex=False).to_numpy(dtype=bool)
        n_words = np.asarray(x @ unigram.astype(np.int64)).ravel()
    keep = np.ones(len(terms), dtype=bool)
    if stopwords:
        keep &= ~(unigram & vocab.isin(STOP_WORDS).to_numpy(dtype=bool))
    if min_count > 1:
        keep &= np.asarray(x.sum(axis=0)).ravel() >= min_count
    if not keep.all():
        cols = np.flatnonzero(keep)
        x = x[:, cols].tocsr()
        terms = terms[cols]
    x.sort_indices()
    docvars = corpus.drop(columns=[c for c in (text_column, "raw_text", "removed") if c in corpus.columns])
    return DocumentTermMatrix(
        matrix=x,
        doc_ids=corpus["id"].astype(str).to_numpy(dtype=object),
        terms=terms,
        docvars=docvars.reset_index(drop=True),
        n_words=n_words,
        ngram_max=ngram_max,
        stopwords=stopwords,
    )


#: Documents counted per batch by :func:`_count_terms`.
_COUNT_BATCH = 1000


def _count_terms(texts: Sequence[str], analyze: Any) -> tuple[sp.csr_matrix, np.ndarray]:
    """Documents x terms counts (CSR, int64) and the sorted vocabulary: ``CountVectorizer.fit_transform``'s result.

    Written here because scikit-learn's counting loop (a Python dict update per token,
    then a sort of the vocabulary dict's items) was the larger part of :func:`dfm`'s
    time in the pipeline; ``collections.Counter`` counts a document's tokens in C, and
    the distinct terms get their columns in C too (a ``defaultdict`` numbering new keys
    with ``itertools.count``, read through ``map``): no Python step per term.
    ``tests/test_terms.py`` checks the result equals ``CountVectorizer``'s on the same analyzer.
    """
    from collections import Counter, defaultdict
    from itertools import chain, count, islice

    vocab: defaultdict[str, int] = defaultdict(count().__next__)  # a new term gets the next number
    sizes, firsts, counted = [np.zeros(1, dtype=np.int64)], [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    docs = iter(texts)
    # in batches: a Counter per document of a whole corpus would hold far more than the arrays
    while batch := [Counter(analyze(text)) for text in islice(docs, _COUNT_BATCH)]:
        nnz = sum(map(len, batch))
        sizes.append(np.fromiter(map(len, batch), dtype=np.int64, count=len(batch)))
        firsts.append(np.fromiter(map(vocab.__getitem__, chain.from_iterable(batch)), dtype=np.int64, count=nnz))
        counted.append(np.fromiter(chain.from_iterable(c.values() for c in batch), dtype=np.int64, count=nnz))
    indptr = np.cumsum(np.concatenate(sizes))
    first, counts = np.concatenate(firsts), np.concatenate(counted)
    terms = np.array(sorted(vocab), dtype=object)  # code point order, as CountVectorizer sorts
    column = np.empty(len(vocab), dtype=np.int64)
    column[np.fromiter(map(vocab.__getitem__, terms), dtype=np.int64, count=len(terms))] = np.arange(len(terms))
    x = sp.csr_matrix((counts, column[first], indptr), shape=(len(texts), len(terms)))
    return x, terms


def _as_dfm(data: pd.DataFrame | DocumentTermMatrix, **options: Any) -> DocumentTermMatrix:
    if isinstance(data, DocumentTermMatrix):
        return data
    return dfm(data, **options)


def _rate(count: np.ndarray, words: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(words > 0, 1000.0 * count / np.maximum(words, 1), 0.0)


def frequencies(
    data: pd.DataFrame | DocumentTermMatrix,
    *,
    group_by: str | None = "outlet",
    ngram_max: int = 1,
    stopwords: bool = True,
    min_count: int = 1,
) -> pd.DataFrame:
    """Term counts per group (quanteda's ``textstat_frequency(groups=)``).

    Args:
        data: A corpus DataFrame or a :class:`DocumentTermMatrix`.
        group_by: Metadata column to group by; ``None`` = per document (group = id).
        ngram_max, stopwords, min_count: Passed to :func:`dfm` when ``data`` is a corpus.

    Returns:
        Tidy rows ``group, term, n, count, rate_per_1k, words`` for every term a
        group uses: ``n`` documents of the group using the term, ``count`` its
        occurrences, ``rate_per_1k`` occurrences per 1,000 words of the group,
        ``words`` the group's word count. Sorted by group, count desc, term.
    """
    d = _as_dfm(data, ngram_max=ngram_max, stopwords=stopwords, min_count=min_count)
    labels, counts, words, docfreq = d.group_sums(group_by)
    c = counts.tocoo()
    df = docfreq.tocoo()  # same sparsity pattern as counts, same canonical order
    out = pd.DataFrame(
        {
            "group": pd.Categorical.from_codes(c.row, categories=labels),
            "term": pd.Categorical.from_codes(c.col, categories=d.terms),
            "n": df.data.astype(np.int64),
            "count": c.data.astype(np.int64),
            "rate_per_1k": _rate(c.data, words[c.row]),
            "words": words[c.row],
        }
    )
    order = np.lexsort((c.col, -c.data, c.row))
    return out.iloc[order].reset_index(drop=True)


# -------------------------------------------------------------------- keyness

#: Default prior size of the log-odds (pseudo-words). See :func:`log_odds`.
ALPHA0 = 1000.0


def log_odds(
    y_i: np.ndarray,
    n_i: np.ndarray,
    y_j: np.ndarray,
    n_j: np.ndarray,
    *,
    alpha_w: np.ndarray,
    alpha0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted log-odds ratio with an informative Dirichlet prior, and its z-score.

    Monroe, Colaresi & Quinn (2008), eqs. 16-22::

        delta_w = log((y_i + a_w) / (n_i + a0 - y_i - a_w)) - log((y_j + a_w) / (n_j + a0 - y_j - a_w))
        var_w   ~ 1 / (y_i + a_w) + 1 / (y_j + a_w)
        z_w     = delta_w / sqrt(var_w)

    :func:`keyness` sets ``a_w = a0 * y_w / N`` from the counts of the whole
    corpus (``N`` its words) and ``a0`` = :data:`ALPHA0` = 1,000 pseudo-words
    by default: about one or two articles' worth, so the prior dominates only
    terms seen a few times, while z-scores of frequent terms in large groups are
    practically the unshrunk ones. ``alpha0=N`` gives the strong "background
    corpus" prior (a_w = y_w) used e.g. by Jurafsky et al. (2014).

    Args:
        y_i, y_j: Counts of each term in groups i and j.
        n_i, n_j: Sizes (words) of groups i and j.
        alpha_w: Prior pseudo-counts per term (> 0).
        alpha0: Sum of the prior over all words.

    Returns:
        ``(delta, z)`` arrays; positive = more typical of group i.
    """
    a_i = np.asarray(y_i, dtype=float) + alpha_w
    a_j = np.asarray(y_j, dtype=float) + alpha_w
    delta = np.log(a_i / (n_i + alpha0 - a_i)) - np.log(a_j / (n_j + alpha0 - a_j))
    z = delta / np.sqrt(1.0 / a_i + 1.0 / a_j)
    return delta, z


def g2(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Signed log-likelihood G² of a term's frequency in two corpora.

    Rayson & Garside (2000): ``E1 = c(a+b)/(c+d)``, ``E2 = d(a+b)/(c+d)``,
    ``G2 = 2(a ln(a/E1) + b ln(b/E2))`` with ``0 ln 0 = 0``. The sign is that of
    ``a/c - b/d`` (negative = under-used in the first corpus), as in quanteda.

    Args:
        a, b: Frequencies of the term in corpus 1 and 2.
        c, d: Sizes (words) of corpus 1 and 2.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    d = np.asarray(d, dtype=float)
    total = c + d
    e1 = c * (a + b) / total
    e2 = d * (a + b) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(a > 0, a * np.log(a / e1), 0.0)
        t2 = np.where(b > 0, b * np.log(b / e2), 0.0)
    g = 2.0 * (t1 + t2)
    return np.sign(a * d - b * c) * np.maximum(g, 0.0)


def log_ratio(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, *, zero: float = 0.5) -> np.ndarray:
    """Hardie's (2014) Log Ratio: ``log2((a/c) / (b/d))``, a zero frequency replaced by ``zero``.

    Each unit is a doubling of the relative frequency. Hardie's CQPweb uses 0.5
    for a zero count so terms absent from one side get a finite, conservative value.
    """
    a = np.where(np.asarray(a) > 0, a, zero).astype(float)
    b = np.where(np.asarray(b) > 0, b, zero).astype(float)
    return np.log2((a / np.asarray(c, dtype=float)) / (b / np.asarray(d, dtype=float)))


_KEYNESS_COLUMNS = [
    "group", "reference", "term", "count", "count_reference", "rate_per_1k", "rate_per_1k_reference",
    "log_odds", "log_odds_z", "g2", "g2_p", "log_ratio",
]


def _score_frame(
    g: np.ndarray,
    r: np.ndarray,
    col: np.ndarray,
    y_t: np.ndarray,
    y_r: np.ndarray,
    n_t: np.ndarray,
    n_r: np.ndarray,
    alpha_w: np.ndarray,
    alpha0: float,
    labels: np.ndarray,
    ref_labels: np.ndarray,
    terms: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": pd.Categorical.from_codes(g, categories=labels),
            "reference": pd.Categorical.from_codes(r, categories=ref_labels),
            "term": pd.Categorical.from_codes(col, categories=terms),
            **_scores(y_t, y_r, n_t, n_r, alpha_w[col], alpha0),
        }
    )


def _scores(
    y_t: np.ndarray, y_r: np.ndarray, n_t: np.ndarray, n_r: np.ndarray, alpha_w: np.ndarray, alpha0: float
) -> dict[str, np.ndarray]:
    """The score columns of :func:`keyness` (from ``count`` on), one entry per term and comparison."""
    delta, z = log_odds(y_t, n_t, y_r, n_r, alpha_w=alpha_w, alpha0=alpha0)
    gg = g2(y_t, y_r, n_t, n_r)
    return {
        "count": y_t.astype(np.int64),
        "count_reference": y_r.astype(np.int64),
        "rate_per_1k": _rate(y_t, n_t),
        "rate_per_1k_reference": _rate(y_r, n_r),
        "log_odds": delta,
        "log_odds_z": z,
        "g2": gg,
        "g2_p": chdtrc(1, np.abs(gg)),
        "log_ratio": log_ratio(y_t, y_r, n_t, n_r),
    }


def keyness_vs_rest(
    group: np.ndarray,
    term: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    words: np.ndarray,
    n_all: float,
    *,
    alpha0: float = ALPHA0,
) -> pd.DataFrame:
    """:func:`keyness` of groups against the rest from summed counts alone, for any subset of (group, term) rows.

    A group against the rest needs only its own counts, the corpus total of each term
    and the word counts, so a caller holding one batch of groups at a time (the
    pipeline's aggregation) gets exactly the rows :func:`keyness` gives on the whole
    corpus, with the same arithmetic.

    Args:
        group, term: Labels of each row (one row per group and term the group uses).
        count: The term's count in the group (> 0).
        total: The term's count in the whole corpus.
        words: The group's words (all tokens, as :attr:`DocumentTermMatrix.n_words` sums).
        n_all: Words of the whole corpus.
        alpha0: Prior size of the log-odds (see :func:`log_odds`).

    Returns:
        Rows with the columns of :func:`keyness` (``reference`` = ``"rest"``; ``group``
        and ``term`` as given: labels, or any codes the caller maps back), in input order.
    """
    y_t = np.asarray(count, dtype=float)
    total = np.asarray(total, dtype=float)
    n_t = np.asarray(words).astype(float)
    alpha_w = alpha0 * total / max(float(n_all), 1.0)
    return pd.DataFrame(
        {
            "group": np.asarray(group),
            "reference": np.full(len(y_t), "rest", dtype=object),
            "term": np.asarray(term),
            **_scores(y_t, total - y_t, n_t, float(n_all) - n_t, alpha_w, alpha0),
        }
    )


def keyness(
    data: pd.DataFrame | DocumentTermMatrix,
    *,
    group_by: str | None = "outlet",
    target: str | None = None,
    reference: str = "rest",
    method: Literal["log_odds", "g2"] = "log_odds",
    min_count: int = 1,
    alpha0: float = ALPHA0,
    ngram_max: int = 1,
    stopwords: bool = True,
) -> pd.DataFrame:
    """Distinctive terms of groups (quanteda's ``textstat_keyness``), vectorised over sparse group sums.

    Args:
        data: A corpus DataFrame or a :class:`DocumentTermMatrix`.
        group_by: Metadata column defining the groups.
        target: One group, or ``None`` for every group.
        reference: ``"rest"`` (all other documents), a group name, or
            ``"pairwise"`` (each other group in turn; O(groups²) comparisons).
        method: Score that orders the rows: ``"log_odds"`` (z-score) or ``"g2"`` (signed).
        min_count: Keep terms with at least this many occurrences in target + reference.
        alpha0: Prior size of the log-odds (see :func:`log_odds`).
        ngram_max, stopwords: Passed to :func:`dfm` when ``data`` is a corpus.

    Returns:
        Tidy rows ``group, reference, term, count, count_reference, rate_per_1k,
        rate_per_1k_reference, log_odds, log_odds_z, g2, g2_p, log_ratio``: against
        the rest, for the terms the group uses; against a group, for terms either
        uses. Sorted by group, reference, score desc, term.
    """
    if method not in ("log_odds", "g2"):
        raise ValueError(f"method must be 'log_odds' or 'g2', not {method!r}")
    d = _as_dfm(data, ngram_max=ngram_max, stopwords=stopwords)
    labels, counts, words, _ = d.group_sums(group_by, docfreq=False)
    index = {str(lab): i for i, lab in enumerate(labels)}
    for name, value in (("target", target), ("reference", reference)):
        if value is not None and value not in ("rest", "pairwise") and value not in index:
            raise InputError(f"{name} {value!r} is not a group of {group_by!r}; groups: {', '.join(labels[:20])}")
    total = np.asarray(counts.sum(axis=0)).ravel().astype(float)
    n_all = float(words.sum())
    alpha_w = alpha0 * total / max(n_all, 1.0)
    frames = []
    if reference == "rest":
        rest_labels = np.array(["rest"], dtype=object)
        c = counts.tocoo()
        sel = np.ones(c.nnz, dtype=bool) if target is None else c.row == index[target]
        row, col, y_t = c.row[sel], c.col[sel], c.data[sel].astype(float)
        y_r = total[col] - y_t
        keep = (y_t + y_r) >= min_count
        row, col, y_t, y_r = row[keep], col[keep], y_t[keep], y_r[keep]
        n_t = words[row].astype(float)
        frames.append(
            _score_frame(row, np.zeros_like(row), col, y_t, y_r, n_t, n_all - n_t, alpha_w, alpha0, labels, rest_labels, d.terms)
        )
    else:
        targets = range(len(labels)) if target is None else [index[target]]
        refs = range(len(labels)) if reference == "pairwise" else [index[reference]]
        dense_rows = {}

        def row_of(i: int) -> np.ndarray:
            if i not in dense_rows:
                dense_rows[i] = counts[i].toarray().ravel().astype(float)
            return dense_rows[i]

        for ti in targets:
            for ri in refs:
                if ti == ri:
                    continue
                yt, yr = row_of(ti), row_of(ri)
                col = np.flatnonzero(((yt + yr) > 0) & ((yt + yr) >= min_count))
                n = len(col)
                frames.append(
                    _score_frame(
                        np.full(n, ti), np.full(n, ri), col, yt[col], yr[col],
                        np.full(n, float(words[ti])), np.full(n, float(words[ri])),
                        alpha_w, alpha0, labels, labels, d.terms,
                    )
                )
    if not frames:
        return pd.DataFrame(columns=_KEYNESS_COLUMNS)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    score = out["log_odds_z" if method == "log_odds" else "g2"].to_numpy()
    order = np.lexsort(
        (out["term"].cat.codes.to_numpy(), -score, out["reference"].cat.codes.to_numpy(), out["group"].cat.codes.to_numpy())
    )
    return out.iloc[order].reset_index(drop=True)


# ---------------------------------------------------------------------- KWIC


def _phrase_regex(phrase: str, *, in_compounds: bool = False, start_check: bool = True) -> str:
    """Regex for a word or phrase on token boundaries; ``*`` is a within-word wildcard.

    Tokens keep inner hyphens, so by default "Ukraine" does not match inside
    "pro-Ukraine" (as in :func:`tokenize`); ``in_compounds=True`` lets it (naming:
    "DPRK-Russia relations" is a use of "DPRK"). ``start_check=False`` leaves the
    start boundary to the caller, so the regex starts with a literal.
    """
    words = normalize(phrase).split()
    if not words:
        raise ValueError("empty pattern")
    parts = [r"\w*".join(re.escape(p) for p in w.split("*")) for w in words]
    if in_compounds:
        return (r"(?<!\w)" if start_check else "") + r"\s+".join(parts) + r"(?!\w)"
    return r"(?<![\w-])" + r"\s+".join(parts) + r"(?!\w|-\w)"


@lru_cache(maxsize=256)
def _compile(pattern: str, regex: bool, case_sensitive: bool) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        return re.compile(pattern if regex else _phrase_regex(pattern), flags)
    except re.error as exc:
        raise InputError(f"invalid regular expression {pattern!r}: {exc}") from None


def _context(text: str, start: int, end: int, window: int) -> tuple[str, str]:
    """``window`` whitespace-separated words left and right of a span."""
    reach = 80 * (window + 1)  # bounds the slice; 80 chars per word is generous
    left = text[max(0, start - reach) : start].split()[-window:] if window else []
    right = text[end : end + reach].split()[:window] if window else []
    return " ".join(left), " ".join(right)


def _group_values(corpus: pd.DataFrame, group_by: str | None) -> pd.Series:
    if group_by is None:
        return corpus["id"].astype(str)
    if group_by not in corpus.columns:
        raise InputError(f"corpus has no column {group_by!r} to group by")
    values = corpus[group_by]
    return values.astype(object).where(values.notna(), "unknown").astype(str)


def kwic(
    corpus: pd.DataFrame,
    pattern: str,
    *,
    window: int = 5,
    regex: bool = False,
    case_sensitive: bool = False,
    group_by: str | None = "outlet",
    text_column: str = "text",
) -> pd.DataFrame:
    """Keyword in context: every match of a word, phrase or regex, with its surroundings.

    Words and phrases match whole tokens (a hyphenated word is one token), with
    any whitespace between words and curly quotes/apostrophes equal to straight
    ones; ``*`` matches within a word ("sanction*"). Regexes run on the
    normalised text as given.

    Args:
        corpus: One row per document with ``id`` and the text column.
        pattern: Word, phrase, or regular expression (``regex=True``).
        window: Words of context on each side.
        regex: Treat ``pattern`` as a regular expression.
        case_sensitive: Match case exactly (default: ignore case).
        group_by: Metadata column reported as the group (``outlet``).
        text_column: Column holding the text.

    Returns:
        Rows ``id, group, start, end, left, match, right, pattern`` in corpus
        order, then by offset; ``text[start:end] == match``.
    """
    rx = _compile(pattern, regex, case_sensitive)
    groups = _group_values(corpus, group_by)
    rows: list[tuple] = []
    for doc_id, group, text in zip(corpus["id"].astype(str), groups, corpus[text_column].fillna("").astype(str)):
        for m in rx.finditer(normalize(text)):
            if m.end() == m.start():
                continue
            left, right = _context(text, m.start(), m.end(), window)
            rows.append((doc_id, group, m.start(), m.end(), left, text[m.start() : m.end()], right, pattern))
    return pd.DataFrame(rows, columns=["id", "group", "start", "end", "left", "match", "right", "pattern"]).astype(
        {"start": np.int64, "end": np.int64}
    )


# -------------------------------------------------------------------- naming


@dataclass(frozen=True)
class Variant:
    """One way of naming a concept: a label and the compiled patterns that find it.

    ``patterns`` run on the lower-cased text unless ``case_sensitive``; each is a
    separate regex starting with a literal, which Python's engine searches for
    fast (one case-insensitive alternation was ~20x slower).
    """

    concept: str
    variant: str
    patterns: tuple[re.Pattern[str], ...]
    case_sensitive: bool
    order: int


def _lexicon_path(path: str | Path | None) -> Path:
    from analysis.config import LEXICON

    return Path(path) if path is not None else LEXICON / "naming.yaml"


@lru_cache(maxsize=8)
def _load_naming_cached(path: str, mtime: float) -> tuple[Variant, ...]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", source=path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("concepts"), list):
        raise InputError("expected a top-level 'concepts:' list", source=path)
    variants: list[Variant] = []
    for entry in doc["concepts"]:
        concept = entry.get("concept") if isinstance(entry, dict) else None
        if not concept or not isinstance(entry.get("variants"), list):
            raise InputError("each concept needs 'concept' and a 'variants' list", source=path, where=str(concept or entry))
        for v in entry["variants"]:
            name = v.get("variant") if isinstance(v, dict) else None
            phrases = v.get("match", []) if isinstance(v, dict) else []
            rx = v.get("regex") if isinstance(v, dict) else None
            if not name or (not phrases and not rx):
                raise InputError("each variant needs 'variant' and 'match' or 'regex'", source=path, where=f"{concept}: {v}")
            exact = bool(v.get("case_sensitive", False))
            phrases = [phrases] if isinstance(phrases, str) else list(phrases)
            sources = [_phrase_regex(p if exact else p.lower(), in_compounds=True, start_check=False) for p in phrases]
            if rx:
                sources.append(rx)
            try:
                patterns = tuple(re.compile(src) for src in sources)
            except re.error as exc:
                raise InputError(f"invalid regex for variant {name!r}: {exc}", source=path, where=concept) from None
            variants.append(Variant(str(concept), str(name), patterns, exact, len(variants)))
    return tuple(variants)


def load_naming(path: str | Path | None = None) -> tuple[Variant, ...]:
    """Read a naming lexicon (default ``data/lexicon/naming.yaml``), cached until the file changes."""
    p = _lexicon_path(path)
    if not p.exists():
        raise InputError("naming lexicon not found", source=str(p))
    return _load_naming_cached(str(p), p.stat().st_mtime)


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    # Rare characters lower-case to two (e.g. U+0130); keep those as they are so offsets hold.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _resolve(text: str, variants: Sequence[Variant]) -> list[tuple[int, int, Variant]]:
    """All variant matches, longest first, each stretch of text counted once."""
    low = _lower_same_length(text)
    cands = []
    for v in variants:
        hay = text if v.case_sensitive else low
        for rx in v.patterns:
            for m in rx.finditer(hay):
                s, e = m.span()
                # Start boundary checked here, not as a leading lookbehind (which defeats the literal search).
                if e > s and not (s and (hay[s - 1].isalnum() or hay[s - 1] == "_")):
                    cands.append((s, e, v))
    cands.sort(key=lambda c: (c[0] - c[1], c[0], c[2].order))
    taken: list[tuple[int, int]] = []
    kept = []
    for s, e, v in cands:
        if all(e <= ts or s >= te for ts, te in taken):
            taken.append((s, e))
            kept.append((s, e, v))
    kept.sort(key=lambda c: c[0])
    return kept


def naming_matches(
    corpus: pd.DataFrame,
    *,
    group_by: str | None = "outlet",
    lexicon: str | Path | Sequence[Variant] | None = None,
    window: int = 5,
    text_column: str = "text",
) -> pd.DataFrame:
    """Every naming-variant occurrence, with context (the KWIC behind :func:`naming_table`).

    Overlapping matches are resolved longest first, so "Democratic People's
    Republic of Korea" counts once for the DPRK and not also as "Republic of
    Korea" or "Korea".

    Returns:
        Rows ``id, group, concept, variant, start, end, left, match, right`` in
        corpus order, then by offset.
    """
    variants = lexicon if isinstance(lexicon, (tuple, list)) else load_naming(lexicon)
    groups = _group_values(corpus, group_by)
    rows = []
    for doc_id, group, text in zip(corpus["id"].astype(str), groups, corpus[text_column].fillna("").astype(str)):
        for s, e, v in _resolve(normalize(text), variants):
            left, right = _context(text, s, e, window)
            rows.append((doc_id, group, v.concept, v.variant, s, e, left, text[s:e], right))
    return pd.DataFrame(rows, columns=["id", "group", "concept", "variant", "start", "end", "left", "match", "right"])


def naming_table(
    corpus: pd.DataFrame,
    *,
    group_by: str | None = "outlet",
    lexicon: str | Path | Sequence[Variant] | None = None,
    text_column: str = "text",
) -> pd.DataFrame:
    """Which variant of each concept every group uses.

    Args:
        corpus: One row per document with ``id``, text and the group column.
        group_by: Metadata column defining the groups.
        lexicon: Path of a naming YAML, or variants from :func:`load_naming`.

    Returns:
        One row per group x variant (zeros included), in lexicon order then
        group: ``group, concept, variant, count, n_docs, rate_per_1k, share``
        (of the concept's matches in the group), ``doc_ids`` (sorted, "; "),
        ``example`` (first KWIC line, ``left [match] right``).
    """
    variants = lexicon if isinstance(lexicon, (tuple, list)) else load_naming(lexicon)
    matches = naming_matches(corpus, group_by=group_by, lexicon=variants, text_column=text_column)
    groups = _group_values(corpus, group_by)
    n_words = corpus[text_column].fillna("").astype(str).map(lambda t: len(_WORD_RE.findall(t))).to_numpy()
    words = pd.Series(n_words, index=groups.to_numpy()).groupby(level=0).sum()
    grid = pd.MultiIndex.from_product(
        [sorted(words.index), [v.order for v in variants]], names=["group", "order"]
    ).to_frame(index=False)
    by_order = {v.order: v for v in variants}
    grid["concept"] = [by_order[o].concept for o in grid["order"]]
    grid["variant"] = [by_order[o].variant for o in grid["order"]]
    if len(matches):
        ex = matches.assign(example=matches["left"] + " [" + matches["match"] + "] " + matches["right"])
        agg = ex.groupby(["group", "concept", "variant"], sort=False).agg(
            count=("id", "size"),
            n_docs=("id", "nunique"),
            doc_ids=("id", lambda s: "; ".join(sorted(set(s)))),
            example=("example", "first"),
        ).reset_index()
        grid = grid.merge(agg, on=["group", "concept", "variant"], how="left")
    else:
        grid = grid.assign(count=0, n_docs=0, doc_ids="", example="")
    grid["count"] = grid["count"].fillna(0).astype(np.int64)
    grid["n_docs"] = grid["n_docs"].fillna(0).astype(np.int64)
    grid["doc_ids"] = grid["doc_ids"].fillna("")
    grid["example"] = grid["example"].fillna("")
    grid["rate_per_1k"] = _rate(grid["count"].to_numpy(), words.reindex(grid["group"]).to_numpy())
    concept_total = grid.groupby(["group", "concept"])["count"].transform("sum").to_numpy()
    grid["share"] = np.where(concept_total > 0, grid["count"] / np.maximum(concept_total, 1), 0.0)
    grid = grid.sort_values(["order", "group"], kind="stable").reset_index(drop=True)
    return grid[["group", "concept", "variant", "count", "n_docs", "rate_per_1k", "share", "doc_ids", "example"]]


# ----------------------------------------------------------------------- CLI


def _cleaner():
    """The corpus module's boilerplate cleaner, or ``None`` (text counted as given) if absent."""
    try:
        from analysis.corpus import clean_text
    except ImportError:
        return None
    return clean_text


def cli_terms(args: Any) -> int:
    """``python -m analysis terms``: CSV of term counts and keyness per group.

    Each input line ``{"id", "text", <group column>}`` is raw article text: it is
    cleaned with :func:`analysis.corpus.clean_text` (boilerplate such as
    "Leave a Reply" or share counters would otherwise top the distinctive-term
    lists) unless ``--no-clean`` is given. Each group is compared with the rest.
    Output columns: ``group, term, count, rate_per_1k, log_odds_z, log_odds, g2,
    g2_p, log_ratio, n`` (documents of the group using the term), one row per
    term a group uses, sorted by group, ``log_odds_z`` desc, term.
    """
    import sys

    from analysis.io import open_output, read_jsonl

    group_by = args.group_by
    source = "<stdin>" if str(args.input) == "-" else str(args.input)
    records = list(read_jsonl(args.input, required=("id", "text", group_by)))
    clean = None if getattr(args, "no_clean", False) else _cleaner()
    if clean is None and not getattr(args, "no_clean", False):
        print("warning: analysis.corpus.clean_text unavailable; counting text as given", file=sys.stderr)
    groups = []
    for rec in records:
        g = rec[group_by]
        if isinstance(g, (dict, list)):
            raise InputError(f"field {group_by!r} must be a string or number", source=source, where=str(rec["id"]))
        groups.append("unknown" if g is None else str(g))
    texts = [r["text"] for r in records]
    if clean is not None:
        texts = [clean(t, title=r.get("title")).text for t, r in zip(texts, records)]
    corpus = pd.DataFrame({"id": [r["id"] for r in records], "group": groups, "text": texts})
    columns = ["group", "term", "count", "rate_per_1k", "log_odds_z", "log_odds", "g2", "g2_p", "log_ratio", "n"]
    d = dfm(
        corpus, ngram_max=args.ngram_max, stopwords=not args.keep_stopwords, min_count=args.min_count or 1
    )
    if d.shape[1] == 0:
        table = pd.DataFrame(columns=columns)
    else:
        key = keyness(d, group_by="group", min_count=1)
        freq = frequencies(d, group_by="group")[["group", "term", "n"]]
        table = key.merge(freq, on=["group", "term"], how="left", sort=False)[columns]
    with open_output(args.output, newline="") as fh:
        table.to_csv(fh, index=False, float_format="%.6g")
    return 0


# ------------------------------------------------------------------- figures


def plot_keyness(key: pd.DataFrame, *, colors: dict[str, str], top_n: int = 8, score: str = "log_odds_z",
                 max_groups: int = 8):
    """Dot plot of each group's most distinctive terms (one panel per group).

    Args:
        key: Output of :func:`keyness` against the rest.
        colors: ``{group: colour}`` from :func:`analysis.plotting.outlet_colors`.
        top_n: Terms per group.
        score: Column plotted on the x axis.
        max_groups: Panels drawn (the groups with the most rows first, then by name).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    sizes = key.groupby("group", observed=True).size()
    groups = sorted(sizes.index, key=lambda g: (-sizes[g], str(g)))[:max_groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(7, 1.2 + 0.28 * top_n * len(groups)), squeeze=False)
    for ax, g in zip(axes[:, 0], groups):
        top = key[key["group"] == g].head(top_n).iloc[::-1]
        ax.scatter(top[score], top["term"].astype(str), color=colors.get(str(g), "#999999"), zorder=3)
        ax.axvline(0, color="#666666", lw=0.8)
        ax.set_title(str(g), loc="left", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("z-score of the weighted log-odds vs the rest (Monroe et al. 2008)")
    fig.suptitle("Most distinctive terms per group")
    fig.tight_layout()
    return fig


def plot_naming(table: pd.DataFrame, *, value: str = "share"):
    """Heatmap of naming variants (rows, used anywhere) by group (columns), cells labelled with counts.

    Args:
        table: Output of :func:`naming_table`.
        value: Colour scale: ``"share"`` of the concept's mentions, or ``"rate_per_1k"``.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    used = table[table.groupby(["concept", "variant"], sort=False)["count"].transform("sum") > 0]
    rows = list(dict.fromkeys(zip(used["concept"], used["variant"])))
    groups = sorted(used["group"].unique())
    grid = used.pivot_table(index=["concept", "variant"], columns="group", values=[value, "count"], sort=False)
    vals = grid[value].reindex(index=rows, columns=groups).to_numpy()
    counts = grid["count"].reindex(index=rows, columns=groups).to_numpy()
    fig, ax = plt.subplots(figsize=(2 + 1.1 * len(groups), 1 + 0.3 * len(rows)))
    im = ax.imshow(vals, cmap="Blues", aspect="auto", vmin=0)
    for (i, j), c in np.ndenumerate(counts):
        if c:
            ax.text(j, i, int(c), ha="center", va="center", fontsize=7, color="white" if vals[i, j] > 0.6 * np.nanmax(vals) else "black")
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [f"{c}: {v}" for c, v in rows], fontsize=8)
    fig.colorbar(im, ax=ax, label="share of the concept's mentions" if value == "share" else "per 1,000 words")
    ax.set_title("Which name does each outlet use? (cell label = count)")
    fig.tight_layout()
    return fig
