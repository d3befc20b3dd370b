"""Vocabulary: tokenisation, counts, keyness statistics worked by hand, KWIC, naming, CLI."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import power_divergence

from analysis.terms import (
    ALPHA0,
    dfm,
    frequencies,
    g2,
    keyness,
    kwic,
    load_naming,
    log_odds,
    log_ratio,
    naming_matches,
    naming_table,
    normalize,
    plot_keyness,
    plot_naming,
    tokenize,
)

DATA = Path(__file__).parent / "data" / "terms"
CORPUS_FILE = DATA / "corpus.jsonl"


def _corpus(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "outlet", "text"])


@pytest.fixture(scope="module")
def fixture_corpus() -> pd.DataFrame:
    return pd.read_json(CORPUS_FILE, lines=True, dtype={"id": str})


# ---------------------------------------------------------------- tokenisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kim Jong-un met Putin", ["kim", "jong-un", "met", "putin"]),
        ("Kim Jong\u2010un", ["kim", "jong-un"]),  # Unicode hyphen
        ("Kim Jong\u2011un", ["kim", "jong-un"]),  # non-breaking hyphen
        ("DPRK-Russia relations", ["dprk-russia", "relations"]),
        ("Russia\u2019s war", ["russia", "war"]),  # curly possessive dropped
        ("Russia's war", ["russia", "war"]),
        ("countries\u2019 relations", ["countries", "relations"]),
        ("the U.S. said", ["u.s.", "said"]),
        ("\u201cSanctions\u201d hurt", ["sanctions", "hurt"]),
        ("SEOUL, July 19 (Yonhap) -- North", ["seoul", "july", "19", "yonhap", "north"]),
        ("high-handedness", ["high-handedness"]),
        ("x-ray", ["x-ray"]),
        ("pro- and anti-war", ["pro", "anti-war"]),
        ("a b c", []),
        ("Putin\u2014who", ["putin", "who"][:1]),  # "who" is a stop word; em dash splits
        ("", []),
    ],
)
def test_tokenize_unigrams(text, expected):
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("don\u2019t stop", ["don't", "stop"]),
        ("The war", ["the", "war"]),
        ("It\u2019s over", ["it", "over"]),
    ],
)
def test_tokenize_keep_stopwords(text, expected):
    assert tokenize(text, stopwords=False) == expected


@pytest.mark.parametrize(
    ("text", "ngram_max", "expected"),
    [
        # Stop words inside an n-gram stay; at either end they drop the n-gram.
        ("war in Ukraine", 3, ["war", "ukraine", "war in ukraine"]),
        ("of the war", 3, ["war"]),
        ("strategic cooperation", 2, ["strategic", "cooperation", "strategic cooperation"]),
        # n-grams never cross clause punctuation.
        ("in Ukraine. Sanctions bite", 2, ["ukraine", "sanctions", "bite", "sanctions bite"]),
        ("Kim Jong-un, Chairman", 2, ["kim", "jong-un", "chairman", "kim jong-un"]),
        ("new strategic height", 3, ["new", "strategic", "height", "new strategic", "strategic height", "new strategic height"]),
        ("war (in) Ukraine", 3, ["war", "ukraine"]),
    ],
)
def test_tokenize_ngrams(text, ngram_max, expected):
    assert tokenize(text, ngram_max=ngram_max) == expected


def test_tokenize_ngrams_without_stop_list():
    assert tokenize("the war", ngram_max=2, stopwords=False) == ["the", "war", "the war"]


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_tokenize_properties(text):
    norm = normalize(text)
    assert len(norm) == len(text)  # offsets stay valid
    low = norm.lower()
    for term in tokenize(text, ngram_max=3):
        assert term == term.lower()
        assert not term.startswith(("-", "'")) and not term.endswith(("-", "'"))
        for word in term.split(" "):
            assert word in low


# ------------------------------------------------------------ counts and rates


def test_dfm_counts_and_words():
    corpus = _corpus([("d1", "A", "The war, the war and Kyiv."), ("d2", "B", "Kiev")])
    d = dfm(corpus)
    assert list(d.terms) == ["kiev", "kyiv", "war"]
    assert d.matrix.toarray().tolist() == [[0, 1, 2], [1, 0, 0]]
    # words include stop words: the, war, the, war, and, kyiv
    assert d.n_words.tolist() == [6, 1]
    assert list(d.doc_ids) == ["d1", "d2"]
    assert "text" not in d.docvars.columns


def test_dfm_min_count_and_empty_texts():
    corpus = _corpus([("d1", "A", "war war peace"), ("d2", "A", ""), ("d3", "B", None)])
    d = dfm(corpus, min_count=2)
    assert list(d.terms) == ["war"]
    assert d.n_words.tolist() == [3, 0, 0]


def _sklearn_counts(texts, ngram_max):
    """The reference: scikit-learn's CountVectorizer with the analyzer dfm uses."""
    from sklearn.feature_extraction.text import CountVectorizer

    from analysis.terms import WORD_PATTERN, _ngram_analyzer, _preprocess

    cv = (CountVectorizer(preprocessor=_preprocess, token_pattern=WORD_PATTERN, dtype=np.int64) if ngram_max == 1
          else CountVectorizer(analyzer=_ngram_analyzer(ngram_max, True), dtype=np.int64))
    try:
        return cv.fit_transform(texts).toarray(), list(cv.get_feature_names_out())
    except ValueError:  # empty vocabulary
        return np.zeros((len(texts), 0), dtype=np.int64), []


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
def test_counting_equals_countvectorizer_on_seed_corpus(ngram_max):
    from analysis.corpus import load_corpus
    from analysis.terms import _count_terms, _ngram_analyzer, _preprocess, _WORD_RE

    texts = load_corpus()["text"].tolist() + ["", "War, war; WAR — peace."]
    analyze = (lambda t: _WORD_RE.findall(_preprocess(t))) if ngram_max == 1 else _ngram_analyzer(ngram_max, True)
    x, terms = _count_terms(texts, analyze)
    expected, names = _sklearn_counts(texts, ngram_max)
    assert list(terms) == names
    assert x.dtype == np.int64 and (x.toarray() == expected).all()


def test_counting_in_batches_equals_counting_at_once(monkeypatch):
    import analysis.terms as T
    from analysis.corpus import load_corpus

    texts = load_corpus()["text"].tolist() + ["", "War, war; WAR — peace.", "peace"]
    analyze = T._ngram_analyzer(2, True)
    x, terms = T._count_terms(texts, analyze)
    monkeypatch.setattr(T, "_COUNT_BATCH", 2)  # batch edges inside the corpus, one batch of one
    xb, terms_b = T._count_terms(texts, analyze)
    assert list(terms_b) == list(terms) and (xb != x).nnz == 0 and xb.shape == x.shape
    assert T._count_terms([], analyze)[0].shape == (0, 0)


@given(st.lists(st.lists(st.sampled_from(list("abcAB -'’.,é\n") + ["war ", "the ", "Kyiv ", "u.s. "]), max_size=40)
                .map("".join), min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_counting_equals_countvectorizer_on_generated_text(texts):
    from analysis.terms import _count_terms, _preprocess, _WORD_RE

    x, terms = _count_terms(texts, lambda t: _WORD_RE.findall(_preprocess(t)))
    expected, names = _sklearn_counts(texts, 1)
    assert list(terms) == names
    assert x.shape == expected.shape and (x.toarray() == expected).all()


def test_frequencies_by_group(fixture_corpus):
    f = frequencies(fixture_corpus, group_by="outlet")
    row = f[(f["group"] == "Gamma") & (f["term"] == "sanctions")].iloc[0]
    # Gamma: "Leave [a] Reply / The Democratic People['s] Republic of Korea met the
    # Republic of Korea. Sanctions, sanctions." = 15 words (one-letter "a" and "'s" are not tokens)
    assert (row["count"], row["n"], row["words"]) == (2, 1, 15)
    assert row["rate_per_1k"] == pytest.approx(2000 / 15)
    alpha = f[(f["group"] == "Alpha") & (f["term"] == "war")].iloc[0]
    assert (alpha["count"], alpha["n"]) == (2, 2)
    # Sorted by group, then count descending, then term.
    for _, g in f.groupby("group", observed=True):
        keys = list(zip(-g["count"], g["term"].astype(str)))
        assert keys == sorted(keys)


def test_frequencies_per_document(fixture_corpus):
    f = frequencies(fixture_corpus, group_by=None)
    assert set(f["group"].astype(str)) == set(fixture_corpus["id"])
    assert f[(f["group"] == "c1") & (f["term"] == "sanctions")]["count"].item() == 2


# ------------------------------------------------------------------- keyness


def test_log_odds_worked_example():
    """Monroe, Colaresi & Quinn (2008) eqs. 16-22 on a two-document corpus.

    A = "war war invasion" (n_A = 3), B = "war conflict conflict conflict" (n_B = 4),
    N = 7; alpha0 = 7 so the prior a_w = alpha0 * y_w / N = y_w:
    a_war = 3, a_invasion = 1, a_conflict = 3.

    war, A vs B:
      log((2+3)/(3+7-2-3)) = log(5/5) = 0
      log((1+3)/(4+7-1-3)) = log(4/7) = -0.5596158
      delta = 0.5596158; var = 1/5 + 1/4 = 0.45; z = 0.5596158 / 0.6708204 = 0.8342260
    invasion, A vs B:
      log((1+1)/(3+7-1-1)) = log(2/8); log((0+1)/(4+7-0-1)) = log(1/10)
      delta = log(2.5) = 0.9162907; var = 1/2 + 1/1 = 1.5; z = 0.9162907 / 1.2247449 = 0.7481482
    conflict, B vs A:
      log((3+3)/(4+7-3-3)) = log(6/5); log((0+3)/(3+7-0-3)) = log(3/7)
      delta = log(2.8) = 1.0296194; var = 1/6 + 1/3 = 0.5; z = 1.0296194 / 0.7071068 = 1.4561017
    """
    corpus = _corpus([("a", "A", "war war invasion"), ("b", "B", "war conflict conflict conflict")])
    k = keyness(corpus, group_by="outlet", alpha0=7)
    got = {(r.group, r.term): (r.log_odds, r.log_odds_z) for r in k.itertuples()}
    assert got[("A", "war")] == pytest.approx((0.5596158, 0.8342260), abs=1e-7)
    assert got[("A", "invasion")] == pytest.approx((0.9162907, 0.7481482), abs=1e-7)
    assert got[("B", "conflict")] == pytest.approx((1.0296194, 1.4561017), abs=1e-7)
    assert got[("B", "war")] == pytest.approx((-0.5596158, -0.8342260), abs=1e-7)
    # Terms the group does not use are not listed against the rest.
    assert ("A", "conflict") not in got
    # Order: by group, then z descending, then term.
    assert [(r.group, r.term) for r in k.itertuples()] == [
        ("A", "war"), ("A", "invasion"), ("B", "conflict"), ("B", "war"),
    ]


def test_log_odds_function_matches_formula_and_prior_scaling():
    delta, z = log_odds(np.array([2.0]), 3.0, np.array([1.0]), 4.0, alpha_w=np.array([3.0]), alpha0=7.0)
    assert delta[0] == pytest.approx(math.log(7 / 4))
    assert z[0] == pytest.approx(math.log(7 / 4) / math.sqrt(0.45))
    # A bigger prior shrinks the log-odds toward zero.
    small = keyness(_corpus([("a", "A", "war war invasion"), ("b", "B", "war conflict")]), alpha0=1.0)
    big = keyness(_corpus([("a", "A", "war war invasion"), ("b", "B", "war conflict")]), alpha0=1e6)
    s = small.set_index(["group", "term"])["log_odds"]
    b = big.set_index(["group", "term"])["log_odds"]
    assert abs(b[("A", "invasion")]) < abs(s[("A", "invasion")])
    assert ALPHA0 == 1000.0


@pytest.mark.parametrize(
    ("a", "b", "c", "d", "expected"),
    [
        # E1 = E2 = 7.5; 2(10 ln(10/7.5) + 5 ln(5/7.5)) = 2(2.8768207 - 2.0273255) = 1.6989904
        (10, 5, 1000, 1000, 1.6989904),
        # Absent from corpus 2: E1 = E2 = 2.5; 2 * 5 ln 2 = 6.9314718 (0 ln 0 = 0)
        (5, 0, 100, 100, 6.9314718),
        # Under-use is negative: same cells swapped.
        (5, 10, 1000, 1000, -1.6989904),
        # Same relative frequency: no evidence.
        (2, 4, 100, 200, 0.0),
    ],
)
def test_g2_worked_values(a, b, c, d, expected):
    assert g2(np.array([a]), np.array([b]), c, d)[0] == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(("a", "b", "c", "d"), [(10, 5, 1000, 1000), (3, 40, 2500, 90000), (120, 7, 51234, 9876)])
def test_g2_agrees_with_scipy_log_likelihood(a, b, c, d):
    """Rayson & Garside's two-cell G² is scipy's power divergence with lambda = 0 on (a, b)."""
    e1, e2 = c * (a + b) / (c + d), d * (a + b) / (c + d)
    ref = power_divergence([a, b], [e1, e2], lambda_="log-likelihood").statistic
    assert abs(g2(np.array([a]), np.array([b]), c, d)[0]) == pytest.approx(ref)


@pytest.mark.parametrize(
    ("a", "b", "c", "d", "expected"),
    [
        (10, 5, 1000, 1000, 1.0),  # twice as frequent: one doubling
        (5, 20, 1000, 1000, -2.0),
        (0, 5, 1000, 1000, math.log2(0.5 / 5)),  # zero replaced by 0.5
        (8, 0, 1000, 2000, math.log2((8 / 1000) / (0.5 / 2000))),
    ],
)
def test_log_ratio(a, b, c, d, expected):
    assert log_ratio(np.array([a]), np.array([b]), c, d)[0] == pytest.approx(expected)


def test_keyness_pairwise_is_antisymmetric(fixture_corpus):
    ab = keyness(fixture_corpus, target="Alpha", reference="Beta").set_index("term")
    ba = keyness(fixture_corpus, target="Beta", reference="Alpha").set_index("term")
    assert set(ab.index) == set(ba.index)  # terms either group uses
    common = ab.index
    np.testing.assert_allclose(ab.loc[common, "log_odds_z"], -ba.loc[common, "log_odds_z"])
    np.testing.assert_allclose(ab.loc[common, "g2"], -ba.loc[common, "g2"])
    allpairs = keyness(fixture_corpus, reference="pairwise")
    assert len(allpairs.groupby(["group", "reference"], observed=True)) == 6


def test_keyness_g2_order_and_min_count(fixture_corpus):
    k = keyness(fixture_corpus, method="g2", min_count=2)
    for _, g in k.groupby("group", observed=True):
        keys = list(zip(-g["g2"], g["term"].astype(str)))
        assert keys == sorted(keys)
    assert ((k["count"] + k["count_reference"]) >= 2).all()


def test_keyness_unknown_group_is_an_input_error(fixture_corpus):
    from analysis.errors import InputError

    with pytest.raises(InputError, match="Delta"):
        keyness(fixture_corpus, target="Delta")
    with pytest.raises(InputError, match="no column"):
        keyness(fixture_corpus, group_by="bias")


def test_keyness_deterministic_under_row_order(fixture_corpus):
    a = keyness(fixture_corpus, ngram_max=3)
    b = keyness(fixture_corpus.sample(frac=1, random_state=3), ngram_max=3)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------- KWIC


def test_kwic_word_phrase_regex(fixture_corpus):
    k = kwic(fixture_corpus, "war in ukraine", window=2)
    assert k[["id", "group", "left", "match", "right"]].values.tolist() == [
        ["a1", "Alpha", "The", "war in Ukraine", "widened. Officials"],
        ["a2", "Alpha", "shells. The", "war in Ukraine", "continued, and"],
    ]
    texts = dict(zip(fixture_corpus["id"], fixture_corpus["text"]))
    for r in k.itertuples():
        assert texts[r.id][r.start : r.end] == r.match
    assert kwic(fixture_corpus, "sanction*")["match"].tolist() == ["sanctions", "sanctions", "Sanctions", "sanctions"]
    assert kwic(fixture_corpus, r"K(?:iev|yiv)", regex=True)["match"].tolist() == ["Kyiv", "Kiev"]
    # Curly apostrophe in the text, straight in the pattern.
    assert kwic(fixture_corpus, "People's Republic")["match"].tolist() == ["People\u2019s Republic"]


@pytest.mark.parametrize(
    ("text", "pattern", "n"),
    [
        ("pro-Ukraine rally in Ukraine", "Ukraine", 1),  # hyphenated compound is one token
        ("Ukraine's war", "Ukraine", 1),
        ("UKRAINE", "ukraine", 1),
        ("Ukrainian", "Ukraine", 0),
        ("war\nin  Ukraine", "war in Ukraine", 1),
        ("the DPRK-Russia treaty", "DPRK-Russia", 1),
    ],
)
def test_kwic_boundaries(text, pattern, n):
    assert len(kwic(_corpus([("d", "A", text)]), pattern)) == n


def test_kwic_bad_regex_is_input_error(fixture_corpus):
    from analysis.errors import InputError

    with pytest.raises(InputError, match="invalid regular expression"):
        kwic(fixture_corpus, "(", regex=True)


# -------------------------------------------------------------------- naming


def _named(text: str) -> list[tuple[str, str]]:
    m = naming_matches(_corpus([("d", "A", text)]))
    return list(zip(m["variant"], m["match"]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The Democratic People's Republic of Korea and the Republic of Korea",
            [("Democratic People's Republic of Korea", "Democratic People's Republic of Korea"), ("Republic of Korea", "Republic of Korea")],
        ),
        ("the North Korean leader Kim Jong Un", [("North Korea", "North Korean"), ("leader", "leader"), ("Kim Jong Un", "Kim Jong Un")]),
        ("DPRK-Russia relations", [("DPRK", "DPRK"), ("Russia", "Russia")]),
        ("supreme leader Kim Jong-un", [("supreme leader", "supreme leader"), ("Kim Jong-un", "Kim Jong-un")]),
        ("the North's ministry; the north of Seoul", [("the North", "the North"), ("Seoul", "Seoul")]),
        ("the Russian leader said", []),
        ("hostile military forces and vassal forces", [("hostile forces", "hostile military forces"), ("vassal forces", "vassal forces")]),
        ("Russia invaded Kiev, not Kyiv", [("Russia", "Russia"), ("invaded", "invaded"), ("Kiev", "Kiev"), ("Kyiv", "Kyiv")]),
        ("the Russian Federation", [("Russian Federation", "Russian Federation")]),
    ],
)
def test_naming_longest_match_no_double_counting(text, expected):
    assert _named(text) == expected


@given(st.lists(st.sampled_from([
    "Democratic People's Republic of Korea", "Republic of Korea", "North Korea", "the North", "DPRK",
    "supreme leader", "leader Kim", "Kim Jong-un", "war in Ukraine", "Ukraine conflict", "sanctions", " ", ", ",
]), max_size=12))
@settings(max_examples=100, deadline=None)
def test_naming_spans_never_overlap(parts):
    text = " ".join(parts)
    m = naming_matches(_corpus([("d", "A", text)]))
    spans = sorted(zip(m["start"], m["end"]))
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
    assert all(text[s:e] == t for s, e, t in zip(m["start"], m["end"], m["match"]))


def test_naming_table_grid_and_links(fixture_corpus):
    t = naming_table(fixture_corpus)
    n_variants = len(load_naming())
    assert len(t) == 3 * n_variants  # every group x variant, zeros included
    row = t[(t["group"] == "Beta") & (t["variant"] == "DPRK")].iloc[0]
    assert (row["count"], row["n_docs"], row["doc_ids"]) == (2, 1, "b2")
    assert "[DPRK]" in row["example"]
    gamma = t[(t["group"] == "Gamma") & (t["concept"] == "North Korea")].set_index("variant")["count"]
    assert gamma["Democratic People's Republic of Korea"] == 1 and gamma.drop("Democratic People's Republic of Korea").sum() == 0
    shares = t[t["count"] > 0].groupby(["group", "concept"])["share"].sum()
    np.testing.assert_allclose(shares, 1.0)


def test_naming_lexicon_errors(tmp_path):
    from analysis.errors import InputError

    bad = tmp_path / "naming.yaml"
    bad.write_text("concepts:\n  - concept: x\n    variants:\n      - variant: y\n        regex: '('\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid regex"):
        load_naming(bad)
    bad.write_text("concepts:\n  - concept: x\n    variants:\n      - variant: y\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs 'variant' and 'match'"):
        load_naming(bad)


# ----------------------------------------------------------------------- CLI


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "terms", *args], capture_output=True, text=True, timeout=120)


def _main(*args: str, capsys) -> tuple[int, str, str]:
    from analysis.__main__ import main

    rc = main(["terms", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_terms_csv(tmp_path):
    out = tmp_path / "terms.csv"
    p = _run("--input", str(CORPUS_FILE), "--output", str(out), "--group-by", "outlet", "--no-clean")
    assert p.returncode == 0, p.stderr
    t = pd.read_csv(out)
    assert list(t.columns[:5]) == ["group", "term", "count", "rate_per_1k", "log_odds_z"]
    assert {"g2", "log_ratio"} <= set(t.columns)
    row = t[(t["group"] == "Alpha") & (t["term"] == "war in ukraine")].iloc[0]
    assert row["count"] == 2
    # Alpha: 13 + 12 words ("The war in Ukraine widened. Officials in Kyiv said the invasion was brutal." + a2)
    assert row["rate_per_1k"] == pytest.approx(1000 * 2 / 25)
    assert "the" not in set(t["term"])
    assert (t["term"] == t["term"].str.lower()).all()


def test_cli_missing_group_column_names_file_and_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "1", "text": "war", "outlet": "A"}) + "\n" + json.dumps({"id": "2", "text": "peace"}) + "\n",
        encoding="utf-8",
    )
    p = _run("--input", str(src), "--output", str(tmp_path / "o.csv"), "--group-by", "outlet")
    assert p.returncode == 2
    assert f"{src}:2" in p.stderr and "outlet" in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_options_in_process(tmp_path, capsys):
    rc, out, _ = _main("--input", str(CORPUS_FILE), "--output", "-", "--keep-stopwords", "--ngram-max", "1", "--no-clean", capsys=capsys)
    terms = pd.read_csv(io.StringIO(out))["term"]
    assert rc == 0 and "the" in set(terms) and not terms.str.contains(" ").any()
    rc, out, _ = _main("--input", str(CORPUS_FILE), "--output", "-", "--min-count", "2", "--no-clean", capsys=capsys)
    t = pd.read_csv(io.StringIO(out))
    assert "kyiv" not in set(t["term"]) and "war in ukraine" in set(t["term"])


def test_cli_cleans_boilerplate_by_default(capsys):
    pytest.importorskip("analysis.corpus")
    rc, out, _ = _main("--input", str(CORPUS_FILE), "--output", "-", capsys=capsys)
    assert rc == 0 and "reply" not in set(pd.read_csv(io.StringIO(out))["term"])
    rc, out, _ = _main("--input", str(CORPUS_FILE), "--output", "-", "--no-clean", capsys=capsys)
    assert "reply" in set(pd.read_csv(io.StringIO(out))["term"])


def test_cli_deterministic_under_input_order(tmp_path, capsys):
    lines = CORPUS_FILE.read_text(encoding="utf-8").splitlines()
    rev = tmp_path / "rev.jsonl"
    rev.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    _, a, _ = _main("--input", str(CORPUS_FILE), "--output", "-", "--no-clean", capsys=capsys)
    _, b, _ = _main("--input", str(rev), "--output", "-", "--no-clean", capsys=capsys)
    assert a == b and a.count("\n") > 50


# ------------------------------------------------------------------- figures


def test_figures_show_groups_and_used_variants(fixture_corpus):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = keyness(fixture_corpus)
    fig = plot_keyness(key, colors={"Alpha": "#0072B2"}, top_n=3)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Beta", "Alpha", "Gamma"]  # most rows first
    assert len(fig.axes[1].collections[0].get_offsets()) == 3
    plt.close(fig)
    fig = plot_naming(naming_table(fixture_corpus))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "North Korea: DPRK" in labels and "Ukraine's capital: Kiev" in labels
    assert "Luhansk: Lugansk" not in labels  # no outlet uses it
    plt.close(fig)


# ------------------------------------------------ keyness against the rest from summed counts


@pytest.mark.parametrize(("ngram_max", "alpha0", "groups"), [
    (1, ALPHA0, None), (2, ALPHA0, None), (1, 10.0, None), (2, ALPHA0, "one"),
])
def test_keyness_vs_rest_from_sums_equals_keyness_row_for_row(fixture_corpus, ngram_max, alpha0, groups) -> None:
    from analysis.terms import keyness_vs_rest

    d = dfm(fixture_corpus, ngram_max=ngram_max)
    expected = keyness(d, group_by="outlet", alpha0=alpha0).astype({"group": str, "reference": str, "term": str})
    freq = frequencies(d, group_by="outlet").astype({"group": str, "term": str})
    totals = freq.groupby("term")["count"].sum()  # the corpus total of each term, over every group
    if groups:  # one batch of groups only, as the pipeline's aggregation holds it: one outlet, in shuffled order
        freq = freq[freq["group"] == freq["group"].iloc[0]].sample(frac=1.0, random_state=3)
        expected = expected[expected["group"] == freq["group"].iloc[0]]
    total = freq["term"].map(totals)
    got = keyness_vs_rest(freq["group"].to_numpy(), freq["term"].to_numpy(), freq["count"].to_numpy(),
                          total.to_numpy(), freq["words"].to_numpy(), float(d.n_words.sum()), alpha0=alpha0)
    got = got.sort_values(["group", "log_odds_z", "term"], ascending=[True, False, True], kind="stable")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list("aB1_é -'’.,;—\n") + ["'s", "’s", "u.s.", "--", "x-ray", "don't"]), max_size=30)
       .map("".join))
def test_scanning_patterns_find_the_tokens_of_the_definition(text):
    # the compiled scanners omit WORD_PATTERN's leading \b (it always holds in a findall scan)
    import re

    from analysis.terms import _BREAK_PATTERN, _TOKEN_OR_BREAK_RE, _WORD_RE, WORD_PATTERN, _preprocess

    for t in (text, _preprocess(text)):
        assert _WORD_RE.findall(t) == re.findall(WORD_PATTERN, t)
        assert _TOKEN_OR_BREAK_RE.findall(t) == re.findall(f"{WORD_PATTERN}|{_BREAK_PATTERN}", t)
