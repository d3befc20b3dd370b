"""Framing signals on the seeds and tiny fixtures, with expectations defended from the text."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import framing
from analysis.config import ROOT
from analysis.corpus import load_corpus

RELAY = ROOT / "tests" / "data" / "relay" / "corpus.jsonl"


@pytest.fixture(scope="module")
def seeds() -> pd.DataFrame:
    return load_corpus()


@pytest.fixture(scope="module")
def cues(seeds) -> pd.DataFrame:
    return framing.reporting_cues(seeds)


# ------------------------------------------------------------------ reporting cues


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The ministry said on Monday.", [("neutral", "said")]),
        ("Pyongyang has recently touted the ties.", [("distancing", "touted")]),
        ("North Korea marked it, casting the two countries' relations as reaching a height.", [("distancing", "casting ... as")]),
        ("Officials claimed it worked, according to media.", [("distancing", "claimed"), ("neutral", "according to")]),
        ("They stressed unity and the report confirmed it.", [("endorsing", "stressed"), ("endorsing", "confirmed")]),
        ("Media quoted him as saying so.", [("neutral", "quoted"), ("neutral", "as saying")]),
        ("The elevated ties, in what they described as a new era.", [("distancing", "what they described as")]),
        ("The “majority” of workers left.", [("distancing", "scare quotes")]),
        ('It was a "historic" day.', [("distancing", "scare quotes")]),
        # inside quotation marks the words are the source's, not the outlet's
        ('"We never claimed that," he said.', [("neutral", "said")]),
        # a quotation of several words is not a scare quote; casting without "as" is no cue
        ("It called ties “a new strategic height.” The casting was done.", []),
        # whole words only: United States is no "states", unsaid is no "said"
        ("The United States left it unsaid; the sayings stayed.", []),
    ],
)
def test_find_cues(text, expected):
    assert [(label, cue) for label, cue, _, _ in framing.find_cues(text)] == expected


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_find_cues_spans_are_inside_the_text_and_ordered(text):
    found = framing.find_cues(text)
    assert all(0 <= s < e <= len(text) for _, _, s, e in found)
    assert [s for _, _, s, _ in found] == sorted(s for _, _, s, _ in found)
    assert all(label in framing.CUE_LABELS for label, _, _, _ in found)


def test_ministry_statement_has_no_reporting_cues(cues):
    # The ministry speaks in its own voice: it reports nobody's speech.
    assert cues[cues["id"] == "dprk_mfa_2020"].empty


def test_yonhap_distances_with_casting_as_and_touted(cues):
    y = cues[(cues["id"] == "yonhap_2022") & (cues["label"] == "distancing")]
    assert list(y["cue"]) == ["casting ... as", "touted"]
    assert y["match"].iloc[0] == "casting the two countries' relations as"
    assert y["sentence"].iloc[1].startswith("Pyongyang has recently touted the traditional ties")


@pytest.mark.parametrize(
    ("doc", "cue", "match"),
    [
        ("upi_2021", "scare quotes", "“majority”"),  # Russia's "majority" repatriated, doubted next sentence
        ("menafn_2025", "what they described as", "what they described as"),
        ("aggregator_2022", "claims", "claims"),  # "in which he claims that the friendship ..."
    ],
)
def test_other_distancing_cues_in_the_seeds(cues, doc, cue, match):
    d = cues[(cues["id"] == doc) & (cues["label"] == "distancing")]
    assert list(zip(d["cue"], d["match"])) == [(cue, match)]


def test_cue_rates_are_per_thousand_words_with_zeros(seeds, cues):
    rates = framing.cue_rates(seeds, cues=cues)
    assert len(rates) == 5 * 3
    mfa = rates[rates["group"] == "DPRK Foreign Ministry"]
    assert mfa["cues"].tolist() == [0, 0, 0]
    y = rates[(rates["group"] == "Yonhap") & (rates["label"] == "distancing")].iloc[0]
    assert y["cues"] == 2
    assert y["per_1k_words"] == pytest.approx(2000 / y["words"])
    assert y["words"] == framing.count_words(seeds.loc[seeds["id"] == "yonhap_2022", "text"].iloc[0])


# ------------------------------------------------------------------ sourcing


@pytest.mark.parametrize(
    ("speaker", "expected"),
    [
        ("the North's foreign ministry", "dprk_state"),
        ("North Korea’s foreign ministry", "dprk_state"),
        ("KCNA", "dprk_state"),
        ("Kim Jong-un", "dprk_state"),
        ("Vladimir Putin", "russian_state"),
        ("Lavrov", "russian_state"),
        ("The United States", "us"),
        ("The Washington Post", "media"),
        ("local media", "media"),
        ("Seoul's unification ministry", "south_korean"),
        ("a Japanese government spokesman", "other_government"),
        ("analysts", "experts"),
        ("sources familiar with the matter", "anonymous"),
        ("The statement", "unresolved"),
        ("", "unresolved"),
        (None, "unresolved"),
    ],
)
def test_affiliation(speaker, expected):
    assert framing.affiliation(speaker) == expected


@pytest.fixture(scope="module")
def sourcing(seeds) -> pd.DataFrame:
    return framing.sourcing_profile(seeds)


def test_ministry_statement_quotes_nobody(sourcing):
    assert "DPRK Foreign Ministry" not in set(sourcing["group"])


def test_yonhap_and_upi_relay_the_ministry_in_its_own_words(sourcing):
    # Yonhap's two direct quotations and UPI's partial quotations are the DPRK
    # foreign ministry's statement: most quoted words are DPRK-state words.
    for outlet in ("Yonhap", "UPI"):
        prof = sourcing[sourcing["group"] == outlet]
        by_aff = prof.groupby("affiliation")["share_of_quoted_words"].sum()
        assert by_aff.idxmax() == "dprk_state", outlet
        assert by_aff["dprk_state"] > 0.5, outlet
    assert set(sourcing.loc[sourcing["group"] == "Yonhap", "affiliation"]) == {"dprk_state"}


def test_upi_also_sources_us_and_media(sourcing):
    assert {"us", "media", "russian_state"} <= set(sourcing.loc[sourcing["group"] == "UPI", "affiliation"])


def test_sourcing_shares_sum_to_one_per_group(sourcing):
    sums = sourcing.groupby("group")[["share_of_quotes", "share_of_quoted_words"]].sum()
    assert sums.to_numpy() == pytest.approx(1.0)


# ------------------------------------------------------------------ frames


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Russia faced condemnation over its invasion of Ukraine.", {"condemnation", "ukraine_war"}),
        ("Workers were sent abroad before sanctions banned the practice.", {"forced_labour", "sanctions"}),
        ("It marked the 22nd anniversary of the declaration.", {"history"}),
        ("They rejected the hegemonic acts of hostile forces.", {"sovereignty"}),
        ("North Korea released video of a new missile launch.", {"weapons"}),
        ("The ministers met in Wonsan on Saturday.", set()),
        ("The Ukrainians were not mentioned; nor was Kyiv.", {"ukraine_war"}),
    ],
)
def test_sentence_frames(sentence, expected):
    assert set(framing._sentence_frames(sentence, framing.load_frames())) == expected


@pytest.fixture(scope="module")
def frames(seeds) -> pd.DataFrame:
    return framing.frame_shares(seeds)


def _share(frames, group, frame):
    return frames[(frames["group"] == group) & (frames["frame"] == frame)]["share"].iloc[0]


def test_only_upi_brings_up_forced_labour_and_sanctions_at_length(frames):
    # UPI's last four paragraphs are about North Korean workers in Russia and sanctions.
    assert _share(frames, "UPI", "forced_labour") > 0.3
    assert _share(frames, "UPI", "sanctions") > 0
    assert _share(frames, "DPRK Foreign Ministry", "forced_labour") == 0
    assert _share(frames, "Yonhap", "forced_labour") == 0


def test_ministry_adds_history_but_not_the_war(frames):
    assert _share(frames, "DPRK Foreign Ministry", "history") > 0
    for frame in ("ukraine_war", "sanctions", "condemnation", "weapons"):
        assert _share(frames, "DPRK Foreign Ministry", frame) == 0, frame


def test_yonhap_and_the_aggregator_bring_in_the_war_in_ukraine(frames):
    assert _share(frames, "Yonhap", "ukraine_war") > 0.2
    assert _share(frames, "Unattributed aggregator", "ukraine_war") > 0.2
    assert _share(frames, "Yonhap", "condemnation") > 0


def test_frame_shares_grid(frames, seeds):
    assert len(frames) == 5 * len(framing.load_frames().labels)
    assert frames["share"].between(0, 1).all()
    totals = frames.groupby("group")["total_sentences"].first()
    assert totals["Yonhap"] == len(__import__("analysis.segment", fromlist=["x"]).sentences(
        seeds.loc[seeds["id"] == "yonhap_2022", "text"].iloc[0]))


# ------------------------------------------------------------------ relays


@pytest.fixture(scope="module")
def relay_corpus() -> pd.DataFrame:
    return load_corpus(RELAY)


def test_relay_finds_the_shared_passage(relay_corpus):
    r = framing.relays(relay_corpus)
    assert len(r) == 1
    row = r.iloc[0]
    assert (row["id_a"], row["id_b"]) == ("ministry", "wire")
    assert row["passage_a"].startswith("The two coastal provinces will jointly manage")
    assert row["passage_b"].lower().startswith("the two coastal provinces")
    assert row["passage_a"].endswith("catch data in full.") or row["passage_a"].endswith("catch data in full")
    texts = dict(zip(relay_corpus["id"], relay_corpus["text"]))
    assert texts["ministry"][row["start_a"]:row["end_a"]] == row["passage_a"]
    assert texts["wire"][row["start_b"]:row["end_b"]] == row["passage_b"]
    assert row["share_a"] == pytest.approx(len(row["passage_a"]) / len(texts["ministry"]))
    assert row["score"] >= 95


def test_relay_survives_small_edits_and_ignores_unrelated_text(relay_corpus):
    edited = relay_corpus.copy()
    edited.loc[edited["id"] == "wire", "text"] = edited.loc[edited["id"] == "wire", "text"].str.replace(
        "share the annual catch data in full", "share annual catch data fully")
    r = framing.relays(edited)
    assert list(zip(r["id_a"], r["id_b"])) == [("ministry", "wire")]
    alone = framing.relays(relay_corpus[relay_corpus["id"] != "wire"])
    assert alone.empty


def test_relay_summary_counts_each_side(relay_corpus):
    s = framing.relay_summary(framing.relays(relay_corpus), relay_corpus["outlet"])
    assert s.set_index("group")["relayed_passages"].to_dict() == {"Gazette": 0, "Ministry": 1, "Wire": 1}


def test_no_relays_between_the_seed_articles(seeds):
    # Each seed quotes a different year's statement; they share phrases, not passages.
    assert framing.relays(seeds).empty
