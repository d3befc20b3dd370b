"""Sentiment: voice split, bootstrap aggregates, targets, the shipped target model, the CLI contract."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import sentiment as S
from analysis.config import EVAL, ROOT
from analysis.errors import InputError


@dataclass
class FakeQuote:
    start: int
    end: int
    kind: str
    speaker: str | None
    fragments: tuple = ()
    speaker_start: int | None = None
    speaker_end: int | None = None
    cue: str | None = None


# ---------------------------------------------------------------- voice split with explicit quotes

TEXT = 'The talks went badly. "This is a wonderful, great success," the minister said. He called it a disaster.'


def _q(text, inner, kind="direct", speaker="minister"):
    s = text.index(inner)
    return FakeQuote(s, s + len(inner), kind, speaker)


def test_quoted_segment_is_the_quote_text():
    inner = "This is a wonderful, great success,"
    q = _q(TEXT, inner)
    q.speaker_start = TEXT.index("the minister")
    q.speaker_end, q.cue = q.speaker_start + len("the minister"), "said"
    rows = S.score_sentences(pd.DataFrame({"id": ["d"], "text": [TEXT]}), quotes={"d": [q]})
    quoted = rows[rows["voice"] == "quoted"]
    assert quoted["text"].tolist() == [inner]
    assert quoted["speaker"].tolist() == ["minister"]
    assert quoted["compound"].iloc[0] > 0.5
    # "the minister said." is attribution only and is dropped; the other sentences are own voice.
    own = rows[rows["voice"] == "own"]
    assert own["sentence"].tolist() == [0, 2]
    assert (own["compound"] < 0).all()
    # without the speaker and cue the leftover has three words and stays, as own voice
    kept = S.score_sentences(pd.DataFrame({"id": ["d"], "text": [TEXT]}), quotes={"d": [_q(TEXT, inner)]})
    assert kept.loc[kept["voice"] == "own", "text"].tolist()[1] == "the minister said."


@pytest.mark.parametrize("kind, fragments, expected", [
    # indirect speech: the reported clause is its own voice, not quoted
    ("indirect", (), {"reported"}),
    # partial quote: the words in marks are quoted, the rest of the clause reported
    ("partial", "marks", {"reported", "quoted"}),
])
def test_reported_and_partial(kind, fragments, expected):
    text = 'Officials said the ties were "unbreakable" and would grow.'
    clause = 'the ties were "unbreakable" and would grow'
    q = _q(text, clause, kind=kind, speaker="Officials")
    if fragments == "marks":
        s = text.index("unbreakable")
        q.fragments = ((s, s + len("unbreakable")),)
    rows = S.score_sentences(pd.DataFrame({"id": ["d"], "text": [text]}), quotes={"d": [q]})
    assert set(rows["voice"]) == expected
    if "quoted" in expected:
        assert rows.loc[rows["voice"] == "quoted", "text"].tolist() == ["unbreakable"]
        assert rows.loc[rows["voice"] == "reported", "text"].tolist() == ["the ties were and would grow"]


def test_no_quotes_one_own_row_per_sentence():
    text = "A good day.\nA bad day. Nothing else."
    rows = S.score_sentences(pd.DataFrame({"id": ["d"], "text": [text], "outlet": ["X"]}), quotes={})
    assert rows["voice"].tolist() == ["own"] * 3
    assert rows["paragraph"].tolist() == [0, 1, 1]
    assert [text[a:b] for a, b in zip(rows["start"], rows["end"])] == rows["text"].tolist()
    assert rows["outlet"].unique().tolist() == ["X"]


def test_each_segment_is_scored_once_and_quote_free_sentences_whole(monkeypatch):
    """One VADER call per output row: no sentence is scored twice, a quote-free one as one text."""
    calls = []
    real = S._analyzer()

    class Counting:
        def scores(self, text):
            calls.append(text)
            return real.scores(text)

    monkeypatch.setattr(S, "_analyzer", lambda: Counting())
    inner = "This is a wonderful, great success,"
    corpus = pd.DataFrame({"id": ["d", "e"], "text": [TEXT, "A good day.\nA bad day. Nothing else."]})
    rows = S.score_sentences(corpus, quotes={"d": [_q(TEXT, inner)]})
    assert sorted(calls) == sorted(rows["text"])
    assert rows.loc[rows["id"] == "e", "text"].tolist() == ["A good day.", "A bad day.", "Nothing else."]


@pytest.fixture(scope="module")
def seeds():
    from analysis.corpus import load_corpus

    corpus = load_corpus()
    return corpus, S.score_sentences(corpus)


def test_ministry_has_no_quoted_voice(seeds):
    _, rows = seeds
    assert set(rows.loc[rows["id"] == "dprk_mfa_2020", "voice"]) == {"own"}
    for doc in ("yonhap_2022", "upi_2021", "menafn_2025", "aggregator_2022"):
        assert "quoted" in set(rows.loc[rows["id"] == doc, "voice"])


def test_quoted_segments_match_the_quotes(seeds):
    from analysis.quotes import extract_quotes

    corpus, rows = seeds
    for doc_id, text in zip(corpus["id"], corpus["text"]):
        spans = [f for q in extract_quotes(text) for f in (q.fragments or ((q.start, q.end),)) if q.kind != "indirect"]
        for a, b, seg in rows.loc[(rows["id"] == doc_id) & (rows["voice"] == "quoted"), ["start", "end", "text"]].itertuples(index=False):
            # a quoted segment (fragments of one speaker in a sentence joined) starts and ends at
            # quotation marks, and its first words are the quote's
            assert any(s - 2 <= a < e for s, e in spans) and any(s < b <= e + 3 for s, e in spans)
            head = " ".join(seg.split()[:2]).rstrip(".,;:!?")
            assert any(head in text[s:e] for s, e in spans)


def test_voice_summary_has_framing_columns(seeds):
    corpus, rows = seeds
    t = S.voice_summary(corpus, sentences=rows, n_boot=200)
    assert {"group", "voice", "mean", "low", "high"} <= set(t.columns)
    assert not ((t["group"] == "DPRK Foreign Ministry") & (t["voice"] == "quoted")).any()
    assert ((t["low"] <= t["mean"]) & (t["mean"] <= t["high"])).all()


# ---------------------------------------------------------------- VADER fast path (equal to the library)

@functools.lru_cache(maxsize=1)
def _library():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@pytest.fixture(scope="module")
def library_vader():
    return _library()


# One case per rule the fast path touches: emoji, booster and "kind of", words outside the
# lexicon, negation one to three words back ("never so", "without doubt", n't), special
# idioms around the word, "no", "least", "but", ALL CAPS, punctuation emphasis, spacing.
VADER_CASES = [
    "", "   ", "The talks went well.", "The book was good.", "The book was only kind of good.",
    "It was not good at all.", "He isn't a bad man, nor a cruel one.", "Never so happy as today!",
    "She was never this sad.", "It is without doubt a great achievement.", "Without doubt great.",
    "It mayn't be good, it needn't be bad, it won't've been nice.", "Without any doubt, terrible.",
    "That film was the bomb.", "Ties were the kiss of death for him.", "A beating heart, a bad ass plan.", "We have a really bad ass plan.",
    "No good deed goes unpunished.", "No, no problem here, and no hope or love.", "At least it isn't horrible.",
    "Very least helpful reply.", "The least bad option.", "It was good, but the ending was awful.",
    "The talks were GREAT and the food was terrible.", "ALL CAPS IS ANGRY", "Wow!!! Great!!!!!",
    "Really?? Truly??? Awful????", "Make sure you :) or :D today!", "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Sad😢news", "\tPeace talks\n collapsed, \u201cwonderful\u201d said nobody.  ",
    "He said it was sort of nice and kinda cool, hardly a disaster.", "Kind of", "kind", "not",
    "Pyongyang's \"unbreakable\" ties with Moscow will grow, the ministry said.",
]


@pytest.mark.parametrize("text", VADER_CASES)
def test_fast_vader_equals_library_on_rule_cases(text, library_vader):
    assert S._analyzer().polarity_scores(text) == library_vader.polarity_scores(text)


def test_fast_vader_follows_an_edited_lexicon():
    """Words added to the lexicon (a booster, a new word) are handled as the library handles them."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    fast, lib = S._fast_vader()(), SentimentIntensityAnalyzer()
    for a in (fast, lib):
        a.lexicon.update({"very": 2.0, "juche": -1.5})
    for text in VADER_CASES + ["Juche is very much the line.", "Not very juche."]:
        assert fast.polarity_scores(text) == lib.polarity_scores(text)


def test_fast_vader_equals_library_on_seed_sentences(library_vader):
    from analysis.corpus import load_corpus
    from analysis.segment import sentences

    texts = load_corpus()["text"]
    sents = [t[s.start:s.end] for t in texts for s in sentences(t)]
    assert len(sents) > 50
    assert [S._analyzer().polarity_scores(s) for s in sents] == [library_vader.polarity_scores(s) for s in sents]


@pytest.mark.skipif(not (EVAL / "newsmtsc" / "train.jsonl").exists(), reason="NewsMTSC eval data absent")
def test_fast_vader_equals_library_on_news_sentences(library_vader):
    """Thousands of real news sentences (NewsMTSC, read in place, never copied)."""
    from analysis.io import read_jsonl

    sents = sorted({r["sentence"] for r in read_jsonl(EVAL / "newsmtsc" / "train.jsonl", required=("sentence",))})
    assert len(sents) > 1000
    fast = S._analyzer()
    assert [s for s in sents if fast.polarity_scores(s) != library_vader.polarity_scores(s)] == []


_VADER_WORDS = ["good", "bad", "great", "horrible", "love", "hate", "kind", "of", "sort", "no", "not", "never",
                "nor", "isn't", "doesnt", "mayn't", "won't've", "without", "doubt", "least", "at", "very", "so", "this", "the", "bomb",
                "kiss", "death", "but", "BUT", "GOOD", "Very", "extremely", "barely", "hardly", "uh-uh", ":)", ":(",
                "!", "?", "!!", "💘", "😁", "said", "Pyongyang", "ties", "—", '"', "\u201c", "\u201d"]


@given(st.lists(st.one_of(st.sampled_from(_VADER_WORDS), st.text(max_size=8)), max_size=40),
       st.lists(st.sampled_from([" ", "  ", "\n", "\t", ", ", ". ", ""]), min_size=1, max_size=40))
@settings(max_examples=400, deadline=None)
def test_fast_vader_equals_library_on_generated_text(words, gaps):
    text = "".join(w + gaps[i % len(gaps)] for i, w in enumerate(words))
    lib = _library().polarity_scores(text)
    assert S._analyzer().polarity_scores(text) == lib
    assert S._analyzer().scores(text) == (lib["compound"], lib["pos"], lib["neu"], lib["neg"])


@given(st.lists(st.sampled_from(_VADER_WORDS), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_fast_vader_context_checks_equal_library_at_every_position(words):
    """The replaced idiom check at every word position (also those the library never asks), negation in context."""
    def outcome(check, *args):  # the library raises IndexError on short lists: so must the fast path
        try:
            return check(1.0, words, *args)
        except IndexError:
            return IndexError

    fast, lib = S._fast_vader(), type(_library())
    for i in range(len(words)):
        assert outcome(fast._special_idioms_check, i) == outcome(lib._special_idioms_check, i)
    text = " ".join(words)  # the negation checks are inline: compare whole scores
    assert S._analyzer().polarity_scores(text) == _library().polarity_scores(text)


# ---------------------------------------------------------------- bootstrap

def _frame(values, group="g"):
    return pd.DataFrame({"id": [f"d{i % 5}" for i in range(len(values))], "outlet": group, "compound": values})


def test_summary_point_estimates_exact():
    df = pd.concat([_frame([0.5, -0.5, 0.0, 0.9], "A"), _frame([-0.2, -0.6], "B")])
    t = S.summarize(df, n_boot=100)
    assert t["outlet"].tolist() == ["A", "B"]
    assert t["mean"].tolist() == pytest.approx([0.225, -0.4])
    assert t["pos_share"].tolist() == pytest.approx([0.5, 0.0])
    assert t["neg_share"].tolist() == pytest.approx([0.25, 1.0])
    assert t["segments"].tolist() == [4, 2]


def test_bootstrap_seeded_and_contains_estimate():
    rng = np.random.default_rng(1)
    df = _frame(np.clip(rng.normal(0.1, 0.4, 80), -1, 1))
    a, b = S.summarize(df, seed=7), S.summarize(df, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not S.summarize(df, seed=8)["low"].equals(a["low"])
    for p in ("", "pos_", "neg_"):
        est = a["mean" if not p else f"{p}share"].iloc[0]
        assert a[f"{p}low" if p else "low"].iloc[0] <= est <= a[f"{p}high" if p else "high"].iloc[0]


def test_interval_narrower_with_more_data():
    rng = np.random.default_rng(2)
    small = _frame(np.clip(rng.normal(0, 0.5, 30), -1, 1), "small")
    big = _frame(np.clip(rng.normal(0, 0.5, 3000), -1, 1), "big")
    t = S.summarize(pd.concat([small, big]), n_boot=500).set_index("outlet")
    width = t["high"] - t["low"]
    assert width["big"] < width["small"] / 5


def test_bootstrap_groups_independent_of_other_groups():
    """Vectorised over groups: a group's interval does not depend on which other groups exist."""
    df = _frame([0.1, 0.3, -0.2, 0.5, 0.0], "A")
    alone = S.summarize(df, n_boot=300)
    assert alone["low"].iloc[0] < alone["high"].iloc[0]
    constant = S.summarize(_frame([0.4] * 6, "C"), n_boot=300)
    assert constant[["low", "mean", "high"]].iloc[0].tolist() == pytest.approx([0.4, 0.4, 0.4])


def test_cluster_bootstrap_differences():
    rows = []
    for g, shift in (("A", 0.4), ("B", -0.2)):
        for d in range(6):
            for k in range(5):
                rows.append({"id": f"{g}{d}", "outlet": g, "voice": "own", "compound": shift + 0.05 * ((d + k) % 3 - 1)})
    rows.append({"id": "C0", "outlet": "C", "voice": "own", "compound": 0.0})
    t = S.compare_groups(pd.DataFrame(rows), n_boot=500)
    ab = t[(t["group_a"] == "A") & (t["group_b"] == "B")].iloc[0]
    assert ab["diff"] == pytest.approx(0.6)
    assert ab["low"] <= ab["diff"] <= ab["high"] and ab["low"] > 0.4
    # one article cannot show between-article variation: no interval
    assert t[t["group_b"] == "C"][["low", "high"]].isna().all().all()


# ---------------------------------------------------------------- targets

@pytest.mark.parametrize("text, expected", [
    ("Russia and the DPRK signed a deal.", [("Russia", "Russia"), ("North Korea", "DPRK")]),
    ("The Democratic People's Republic of Korea met the Republic of Korea.",
     [("North Korea", "Democratic People's Republic of Korea"), ("South Korea", "Republic of Korea")]),
    ("The Democratic People’s Republic of Korea", [("North Korea", "Democratic People’s Republic of Korea")]),
    ("The Washington Post said U.S. officials agreed.", [("United States", "U.S.")]),
    ("Let us go; Russians love it. DPRK-Russia ties.", [("Russia", "Russians"), ("North Korea", "DPRK"), ("Russia", "Russia")]),
    ("Ukrainian troops defended Kyiv.", [("Ukraine", "Ukrainian"), ("Ukraine", "Kyiv")]),
    ("Prussia is not Russia's neighbour anymore.", [("Russia", "Russia")]),
])
def test_find_targets(text, expected):
    got = S.find_targets(text)
    assert [(m.target, m.alias) for m in got] == expected
    assert all(text[m.start:m.end] == m.alias for m in got)


def test_user_defined_targets():
    got = S.find_targets("The EU and Brussels reacted.", targets={"European Union": ["EU", "Brussels"]})
    assert [m.target for m in got] == ["European Union", "European Union"]
    with pytest.raises(InputError, match="no aliases"):
        S.load_targets({"Empty": []})


@given(st.text(max_size=200))
@settings(max_examples=100, deadline=None)
def test_find_targets_offsets_hold_on_any_text(text):
    for m in S.find_targets(text):
        assert text[m.start:m.end] == m.alias


# ---------------------------------------------------------------- the shipped target model

@pytest.fixture(scope="module")
def model():
    return S.TargetModel.load()


def test_model_loads_with_provenance(model):
    prov = model.provenance
    assert prov["data"]["name"] == "NewsMTSC" and "Hamborg" in prov["data"]["citation"]
    assert prov["dev_scores"]["rw_dev"]["macro_f1"] >= 0.62 and prov["dev_scores"]["mt_dev"]["macro_f1"] >= 0.62
    assert S.MODEL_PATH.stat().st_size < 5_000_000
    assert model.classes == [-1, 0, 1]


@pytest.mark.parametrize("text, target, label", [
    ("Critics condemned Russia for the brutal and illegal invasion.", "Russia", -1),
    ("Kim warmly praised Putin as a great and trusted friend.", "Putin", 1),
    ("Ukraine held elections on Sunday.", "Ukraine", 0),
])
def test_model_direction_on_clear_cases(model, text, target, label):
    s = text.index(target)
    pred = model.predict([text], [s], [s + len(target)])
    assert pred["label"].tolist() == [label]


@given(st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda p: sum(p) > 0))
def test_compound_consistent_with_label(p):
    proba = np.array([p]) / sum(p)
    compound, label = S._compound_from_proba(proba, [-1, 0, 1])
    assert -1 <= compound[0] <= 1
    assert S.label_of(compound[0]) == label[0]


@pytest.mark.skipif(not (EVAL / "newsmtsc" / "rw_dev.jsonl").exists(), reason="NewsMTSC eval data absent")
@pytest.mark.parametrize("name", ["rw_dev", "mt_dev"])
def test_model_reproduces_documented_dev_score(model, name):
    from analysis.train_target_model import dev_scores

    got = dev_scores(model, EVAL / "newsmtsc" / f"{name}.jsonl")
    assert got["macro_f1"] == pytest.approx(model.provenance["dev_scores"][name]["macro_f1"], abs=0.005)
    assert got["macro_f1"] >= 0.62


def test_target_sentiment_on_seeds(seeds, model):
    corpus, _ = seeds
    t = S.target_sentiment(corpus, model=model)
    assert {"Russia", "North Korea"} <= set(t["target"])
    assert t["label"].isin([-1, 0, 1]).all() and t["compound"].between(-1, 1).all()
    assert (t["label"] == S.label_of(t["compound"].to_numpy())).all()
    texts = dict(zip(corpus["id"], corpus["text"]))
    assert all(texts[i][a:b] == al for i, a, b, al in t[["id", "start", "end", "alias"]].itertuples(index=False))
    summ = S.target_summary(t, n_boot=100)
    assert ((summ["low"] <= summ["mean"]) & (summ["mean"] <= summ["high"])).all()


# ---------------------------------------------------------------- CLI contract

def _cli(tmp_path, lines, raw=False):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join((ln if raw else json.dumps(ln)) + "\n" for ln in lines), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "analysis", "sentiment", "--input", str(inp), "--output", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    return r, (out.read_text(encoding="utf-8").splitlines() if out.exists() else [])


def test_cli_contract(tmp_path):
    text = "Critics condemned Russia for the brutal invasion, while China stayed quiet."
    lines = [{"id": "a", "text": "What a wonderful, happy day!"},
             {"id": 2, "text": "This is terrible and sad."},
             {"id": "c", "text": text, "target": "Russia", "target_start": 18, "target_end": 24},
             {"id": "d", "text": "Nothing to see here."}]
    r, out = _cli(tmp_path, lines)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in out]
    assert [x["id"] for x in recs] == ["a", "2", "c", "d"]
    assert all(set(x) == {"id", "compound", "label"} for x in recs)
    assert [x["label"] for x in recs] == [1, -1, -1, 0]
    for x in recs:
        assert -1 <= x["compound"] <= 1 and S.label_of(x["compound"]) == x["label"]


@pytest.mark.parametrize("line, message", [
    ({"id": "e", "text": "   "}, "empty text"),
    ({"id": "o", "text": "Russia.", "target": "Russia", "target_start": 0, "target_end": 40}, "out of range"),
    ({"id": "m", "text": "Russia and Ukraine.", "target": "Ukraine", "target_start": 0, "target_end": 6}, "not the target"),
    ({"id": "t", "text": "Russia.", "target_start": "0", "target_end": 6}, "must both be integers"),
    ({"id": "n", "text": "Russia.", "target": "Chile"}, "not found in text"),
])
def test_cli_bad_input(tmp_path, line, message):
    good = {"id": "ok", "text": "Fine."}
    r, out = _cli(tmp_path, [good, line])
    assert r.returncode == 2
    assert message in r.stderr and "in.jsonl:2" in r.stderr and "Traceback" not in r.stderr
    assert out == []


def test_cli_invalid_json_names_line(tmp_path):
    r, _ = _cli(tmp_path, ['{"id": "a", "text": "ok"}', "{not json"], raw=True)
    assert r.returncode == 2 and "in.jsonl:2" in r.stderr


def test_cli_error_names_the_file_line_past_blank_lines(tmp_path):
    r, out = _cli(tmp_path, ['{"id": "a", "text": "ok"}', "", '{"id": "e", "text": "  "}'], raw=True)
    assert r.returncode == 2 and "in.jsonl:3" in r.stderr and "empty text" in r.stderr and out == []


# ---------------------------------------------------------------- intervals over documents: bootstrap vs linearised

def _doc_sentiment(n: int, group: str = "g", *, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Synthetic per-document sums shaped like the pipeline's: uneven lengths, a per-article tone."""
    rng = np.random.default_rng(seed)
    segments = 1 + rng.negative_binomial(2, 0.1, n)  # mean ~19, long right tail (some very long articles)
    rows = []
    for i, k in enumerate(segments):
        c = np.clip(rng.normal(shift + rng.normal(0, 0.15), 0.4, k), -1, 1)
        rows.append((group, f"{group}{i:05d}", "own", k, c.sum(), c.mean(), int((c >= 0.05).sum()),
                     int((c <= -0.05).sum())))
    return pd.DataFrame(rows, columns=["group", "id", "voice", "segments", "compound_sum", "compound_mean",
                                       "positive", "negative"])


@pytest.mark.parametrize("n", [S.BOOTSTRAP_MAX_DOCUMENTS + 1, 1000, 5000])
def test_linearised_interval_agrees_with_the_document_bootstrap(n):
    """Above the switch, endpoints within 5% of the interval width of a 4,000-replicate bootstrap."""
    docs = _doc_sentiment(n, seed=n)
    fast = S.voice_summary_by_document(docs).iloc[0]
    boot = S.voice_summary_by_document(docs, n_boot=4000, max_documents=n).iloc[0]
    assert (fast["method"], boot["method"]) == ("linearised", "bootstrap")
    for low, high in (("low", "high"), ("pos_low", "pos_high"), ("neg_low", "neg_high")):
        width = boot[high] - boot[low]
        assert abs(fast[low] - boot[low]) <= 0.05 * width and abs(fast[high] - boot[high]) <= 0.05 * width


def test_linearised_difference_agrees_with_the_document_bootstrap():
    docs = pd.concat([_doc_sentiment(1500, "A", seed=1, shift=0.05), _doc_sentiment(600, "B", seed=2)])
    fast = S.compare_groups_by_document(docs).iloc[0]
    boot = S.compare_groups_by_document(docs, n_boot=4000, max_documents=1500).iloc[0]
    assert (fast["method"], boot["method"]) == ("linearised", "bootstrap")
    width = boot["high"] - boot["low"]
    assert abs(fast["low"] - boot["low"]) <= 0.05 * width and abs(fast["high"] - boot["high"]) <= 0.05 * width


def test_linearised_variance_by_hand():
    """Three articles (sum, segments) (0.6, 1), (-0.2, 1), (0.4, 2): R = 0.2, residuals 0.4, -0.4, 0;
    var = 3/2 * 0.32 / 4**2 = 0.03."""
    docs = pd.DataFrame({"group": "g", "id": ["a", "b", "c"], "voice": "own", "segments": [1, 1, 2],
                         "compound_sum": [0.6, -0.2, 0.4], "compound_mean": [0.6, -0.2, 0.2],
                         "positive": [1, 0, 1], "negative": [0, 1, 0]})
    row = S.voice_summary_by_document(docs, max_documents=0).iloc[0]
    half = 1.959963984540054 * 0.03 ** 0.5
    assert row["method"] == "linearised"
    assert [row["mean"], row["low"], row["high"]] == pytest.approx([0.2, 0.2 - half, 0.2 + half])


@pytest.mark.parametrize("sizes, max_documents, voice_methods, pair_method", [
    ((5, 5), 100, ["bootstrap", "bootstrap"], "bootstrap"),
    ((100, 5), 100, ["bootstrap", "bootstrap"], "bootstrap"),
    ((101, 5), 100, ["linearised", "bootstrap"], "linearised"),
    ((101, 101), 100, ["linearised", "linearised"], "linearised"),
    ((5, 5), 4, ["linearised", "linearised"], "linearised"),
])
def test_method_column_shows_the_switch(sizes, max_documents, voice_methods, pair_method):
    docs = pd.concat([_doc_sentiment(n, g, seed=n) for n, g in zip(sizes, "AB")])
    voice = S.voice_summary_by_document(docs, n_boot=200, max_documents=max_documents)
    assert voice["method"].tolist() == voice_methods
    pair = S.compare_groups_by_document(docs, n_boot=200, max_documents=max_documents)
    assert pair["method"].tolist() == [pair_method]
    assert ((voice["low"] <= voice["mean"]) & (voice["mean"] <= voice["high"])).all()


def test_small_groups_keep_their_bootstrap_whatever_the_large_groups():
    """Groups at or below the switch get the same intervals as a bootstrap of them alone would give."""
    small = _doc_sentiment(40, "A", seed=3)
    alone = S.voice_summary_by_document(small, n_boot=300, seed=5)
    mixed = S.voice_summary_by_document(pd.concat([small, _doc_sentiment(400, "B", seed=4)]), n_boot=300, seed=5)
    pd.testing.assert_frame_equal(mixed.iloc[[0]].reset_index(drop=True), alone)


def test_load_targets_reads_a_file_once_per_version(tmp_path):
    """Parsed once (find_targets runs per document), yet an edited file is read again."""
    import os

    p = tmp_path / "targets.yaml"
    p.write_text("targets:\n  Seoul: [Seoul]\n", encoding="utf-8")
    assert list(S.load_targets(p)) == ["Seoul"]
    hits = S._targets_file.cache_info().hits
    assert [m.target for m in S.find_targets("Seoul said.", targets=p)] == ["Seoul"]
    assert S._targets_file.cache_info().hits == hits + 1
    p.write_text("targets:\n  Pyongyang: [Pyongyang]\n", encoding="utf-8")
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    assert list(S.load_targets(p)) == ["Pyongyang"]


@pytest.mark.parametrize("n", [S.BOOTSTRAP_MAX_DOCUMENTS + 1, 3000])
def test_summarize_normal_interval_agrees_with_the_segment_bootstrap(n):
    """Above max_rows segments a group gets mean +- z * s / sqrt(n): within 5% of the bootstrap's width."""
    rng = np.random.default_rng(n)
    df = _frame(np.clip(rng.normal(0.1, 0.45, n), -1, 1))
    fast = S.summarize(df).iloc[0]
    boot = S.summarize(df, n_boot=4000, max_rows=n).iloc[0]
    assert (fast["method"], boot["method"]) == ("linearised", "bootstrap")
    c = df["compound"]
    assert fast["high"] - fast["mean"] == pytest.approx(1.959963984540054 * c.std(ddof=1) / n ** 0.5)
    for low, high in (("low", "high"), ("pos_low", "pos_high"), ("neg_low", "neg_high")):
        width = boot[high] - boot[low]
        assert abs(fast[low] - boot[low]) <= 0.05 * width and abs(fast[high] - boot[high]) <= 0.05 * width


# ---------------------------------------------------------------- per-group sums instead of every document's row

def _voiced(sizes: tuple[int, ...]) -> pd.DataFrame:
    """Groups A, B, ... of ``sizes`` documents with an own voice; half of them also quote, a third report."""
    frames = []
    for k, (n, g) in enumerate(zip(sizes, "ABCDE")):
        for voice, m, shift in (("own", n, 0.0), ("quoted", n // 2, 0.1), ("reported", n // 3, -0.1)):
            frames.append(_doc_sentiment(m, g, seed=10 * k + len(voice), shift=shift).assign(voice=voice))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("sizes, stored, max_documents", [
    ((5, 7), 100, 100),        # all bootstrapped
    ((150, 3), 100, 100),      # A's own voice linearised, its quoted and reported voices bootstrapped
    ((101, 100, 1), 100, 60),  # fewer bootstrapped than the sums hold rows for
    ((40, 250), 30, 30),       # a bound of the caller's choosing
    ((300, 120), 100, 0),      # everything linearised
])
def test_document_sums_give_what_every_row_gives(sizes, stored, max_documents):
    rows = _voiced(sizes)
    sums = S.document_sums(rows, max_documents=stored)
    small = sums.moments.loc[sums.moments["documents"] <= stored, ["group", "voice"]]
    assert len(sums.rows) == len(rows.merge(small, on=["group", "voice"]))  # only the small groups' rows
    kw = {"n_boot": 300, "seed": 4, "max_documents": max_documents}
    pd.testing.assert_frame_equal(S.voice_summary_by_document(sums, **kw), S.voice_summary_by_document(rows, **kw),
                                  check_exact=False, rtol=1e-12)
    for voice, groups in (("own", None), (None, None), ("quoted", ["B", "A"]), ("reported", ["A"])):
        pd.testing.assert_frame_equal(S.compare_groups_by_document(sums, voice=voice, groups=groups, **kw),
                                      S.compare_groups_by_document(rows, voice=voice, groups=groups, **kw),
                                      check_exact=False, rtol=1e-12)


def test_document_sums_by_hand():
    """Two documents of group g: (segments, compound_sum, positive) own (1, 0.6, 1), (2, -0.2, 0) and quoted (3, 0.3, 2)
    in the second: own sums 2 docs, 3, 1+4, 0.4, 0.36+0.04, 0.6-0.4; all voices: second document (5, 0.1, 2)."""
    rows = pd.DataFrame({"group": "g", "id": ["a", "b", "b"], "voice": ["own", "own", "quoted"],
                         "segments": [1, 2, 3], "compound_sum": [0.6, -0.2, 0.3], "compound_mean": [0.6, -0.1, 0.1],
                         "positive": [1, 0, 2], "negative": [0, 1, 0]})
    m = S.document_sums(rows).moments.set_index("voice")
    assert m.loc["own", ["documents", "segments", "segments_sq", "positive", "positive_sq", "positive_x"]].tolist() \
        == [2, 3, 5, 1, 1, 1]
    assert m.loc["own", ["compound_sum", "compound_sum_sq", "compound_sum_x"]].tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert m.loc[S.ALL_VOICES, ["documents", "segments", "segments_sq", "positive_x"]].tolist() == [2, 6, 26, 11]
    assert m.loc[S.ALL_VOICES, ["compound_sum", "compound_sum_sq", "compound_sum_x"]].tolist() == pytest.approx(
        [0.7, 0.37, 1.1])


def test_sums_holding_fewer_rows_than_asked_for_are_refused():
    sums = S.document_sums(_voiced((50,)), max_documents=20)
    with pytest.raises(InputError, match=r"at most 20 documents, not 100; read them with Results.sentiment_sums"):
        S.voice_summary_by_document(sums)
    with pytest.raises(InputError, match="at most 20 documents, not 30"):
        S.compare_groups_by_document(sums, max_documents=30)
