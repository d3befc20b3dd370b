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


# ------------------------------------------------------------------ the written reading


def _table(**cols) -> pd.DataFrame:
    base = {
        "group": ["A", "B"], "documents": [1, 2], "words": [100, 300], "quotes": [0, 4],
        "quoted_words": [0, 90], "quoted_word_share": [0.0, 0.3], "top_speakers": ["", "X (2)"],
        "top_affiliation": ["", "dprk_state"],
        "own_voice_sentiment": [0.2, -0.1], "own_voice_sentiment_low": [0.1, -0.2], "own_voice_sentiment_high": [0.3, 0.0],
        "quoted_voice_sentiment": [float("nan"), 0.1], "quoted_voice_sentiment_low": [float("nan"), 0.0],
        "quoted_voice_sentiment_high": [float("nan"), 0.2],
        "neutral_cues_per_1k_words": [0.0, 10.0], "endorsing_cues_per_1k_words": [0.0, 0.0],
        "distancing_cues_per_1k_words": [0.0, 3.333], "naming": ["", ""],
        "leading_frames": ["", "Sanctions (50%); War in Ukraine (10%)"], "relayed_passages": [0, 0],
        "relayed_word_share": [0.0, 0.0],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_reading_is_written_from_the_numbers():
    assert framing.reading(_table()) == [
        "The comparison covers 2 outlets, 3 documents and 400 words.",
        "Reported speech takes the largest share of the text at B (30% of words); A quotes no one.",
        "The largest share of quoted words comes from DPRK state sources at B.",
        'Distancing cues (such as "claimed", "touted" or scare quotes) are most frequent at B (3.3 per 1,000 words); A uses none.',
        "Sentiment in the outlets' own voice is highest at A (+0.20, interval +0.10 to +0.30) and lowest at B (-0.10, -0.20 to +0.00); the intervals do not overlap.",
        "Leading background frames (share of sentences): B: Sanctions (50%) and War in Ukraine (10%).",
        "A adds none of the listed background frames.",
        "No passage is shared verbatim or near-verbatim between two documents.",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"own_voice_sentiment_low": [-0.3, -0.2]}, "the intervals overlap, so this sample does not separate them."),
        ({"distancing_cues_per_1k_words": [0.0, 0.0]}, "No text uses a distancing cue."),
        ({"relayed_passages": [1, 1], "relayed_word_share": [0.2, 0.05]},
         "Passages shared with another document: A 1 (20% of words); B 1 (5% of words)."),
        ({"quotes": [2, 4], "quoted_word_share": [0.1, 0.3], "top_affiliation": ["us", "us"]},
         "The largest share of quoted words comes from US sources at A and B."),
    ],
)
def test_reading_variants(change, expected):
    assert any(s.endswith(expected) or s == expected for s in framing.reading(_table(**change)))


def test_reading_of_an_empty_table():
    assert framing.reading(_table().iloc[0:0]) == ["The corpus has no documents to compare."]


# ------------------------------------------------------------------ widgets (static views)


def test_static_quote_browser_filters_and_escapes():
    from analysis import widgets

    q = pd.DataFrame({"id": ["d1", "d1", "d2"], "start": [5, 1, 0], "group": ["A", "A", "B"],
                      "speaker": ["X", "Y", "X"], "kind": ["direct", "indirect", "direct"],
                      "quote": ["<script>alert(1)</script>", "b", "c"]})
    assert widgets.filter_quotes(q, speaker="X", group_col="group")["quote"].tolist() == ["<script>alert(1)</script>", "c"]
    assert widgets.filter_quotes(q, group="A", kind="indirect", group_col="group")["quote"].tolist() == ["b"]
    view = widgets.quote_browser(q, group_col="group", interactive=False)
    assert "<script>" not in view._repr_html_() and "&lt;script&gt;" in view._repr_html_()
    assert repr(view).splitlines()[0] == "3 quotation(s)"
    assert repr(view).splitlines()[2].split() == ["A", "Y", "indirect", "b"]  # document order: start 1 before 5


def test_widgets_are_live_only_outside_report_builds(monkeypatch):
    from analysis import report, widgets

    q = pd.DataFrame({"id": ["d"], "start": [0], "group": ["A"], "speaker": ["X"], "kind": ["direct"], "quote": ["q"]})
    monkeypatch.setenv(report.STATIC_ENV, "1")
    assert isinstance(widgets.quote_browser(q, group_col="group"), report.SafeHTML)
    monkeypatch.delenv(report.STATIC_ENV)
    live = widgets.quote_browser(q, group_col="group")
    assert type(live).__name__ == "VBox"
    assert "<td>q</td>" in live.children[1].value



def test_live_widgets_redraw_when_a_control_changes(seeds, monkeypatch):
    from analysis import report, widgets

    monkeypatch.delenv(report.STATIC_ENV, raising=False)
    k = widgets.kwic_explorer(seeds, term="hostile forces", interactive=True)
    term_box, pane = k.children[0].children[0], k.children[1]
    assert "occurrence(s) of &#x27;hostile forces&#x27;" in pane.value or "of 'hostile forces'" in pane.value
    term_box.value = "Wonsan"
    assert "Wonsan" in pane.value and "hostile forces" not in pane.value
    v = widgets.vocabulary_comparison(seeds, a="UPI", b="Yonhap", interactive=True, top=3)
    v.children[0].children[1].value = "MENAFN"
    assert "UPI vs MENAFN" in v.children[1].value
    q = pd.DataFrame({"id": ["d", "d"], "start": [0, 9], "group": ["A", "A"], "speaker": ["X", "Y"],
                      "kind": ["direct", "indirect"], "quote": ["first", "second"]})
    b = widgets.quote_browser(q, group_col="group", interactive=True)
    b.children[0].children[2].value = "indirect"
    assert "second" in b.children[1].value and "first" not in b.children[1].value

def test_static_kwic_and_vocabulary(seeds):
    from analysis import widgets

    k = widgets.kwic_explorer(seeds, term="hostile forces", interactive=False)
    lines = repr(k).splitlines()
    assert lines[0] == "2 occurrence(s) of 'hostile forces'"
    assert [ln.split()[0] for ln in lines[2:]] == ["MENAFN", "Unattributed"]
    v = widgets.vocabulary_comparison(seeds, a="UPI", b="Yonhap", interactive=False, top=3)
    rows = [ln.split() for ln in repr(v).splitlines()[2:]]
    assert [r[1] for r in rows] == ["UPI"] * 3 + ["Yonhap"] * 3
    assert "workers" in [r[2] for r in rows[:3]]  # UPI's forced-labour paragraphs


# ------------------------------------------------------------------ compare and its command line


def _raw_jsonl(path, *, drop: str | None = None) -> None:
    """The seed articles as raw text (boilerplate included), one JSON line each."""
    import json

    meta = pd.read_csv(ROOT / "data" / "metadata.csv")
    with open(path, "w", encoding="utf-8") as fh:
        for rec in meta.itertuples():
            row = {"id": rec.id, "text": (ROOT / "data" / "raw" / rec.file).read_text(encoding="utf-8"),
                   "outlet": rec.outlet, "country": rec.country}
            if drop:
                row.pop(drop)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _run(*args, stdin: str | None = None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "analysis", "compare", *map(str, args)], input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    _raw_jsonl(d / "in.jsonl")
    res = _run("--input", d / "in.jsonl", "--output", d / "out.csv")
    assert res.returncode == 0, res.stderr
    return pd.read_csv(d / "out.csv", keep_default_na=False, na_values=[""])


def test_cli_compare_csv_contract(compared):
    assert compared.columns[: len(framing.SUMMARY_COLUMNS)].tolist() == framing.SUMMARY_COLUMNS
    assert set(framing.CSV_REQUIRED) <= set(compared.columns)
    assert compared["group"].tolist() == sorted(
        ["Yonhap", "DPRK Foreign Ministry", "Unattributed aggregator", "UPI", "MENAFN"])
    assert compared["documents"].sum() == 5


def test_cli_compare_numbers_defensible_from_the_text(compared):
    t = compared.set_index("group")
    mfa, yonhap, upi = t.loc["DPRK Foreign Ministry"], t.loc["Yonhap"], t.loc["UPI"]
    assert mfa["quotes"] == 0 and mfa["quoted_word_share"] == 0 and mfa["distancing_cues_per_1k_words"] == 0
    assert yonhap["distancing_cues_per_1k_words"] > 0
    assert "foreign ministry" in yonhap["top_speakers"].lower()
    assert upi["quoted_word_share"] > yonhap["quoted_word_share"]
    # cleaning ran: boilerplate words (comment forms, "(END)") are not counted
    assert 450 < mfa["words"] < 560
    for voice in ("own",):
        v = t[[f"{voice}_voice_sentiment_low", f"{voice}_voice_sentiment", f"{voice}_voice_sentiment_high"]].dropna()
        assert (v.iloc[:, 0] <= v.iloc[:, 1] + 1e-9).all() and (v.iloc[:, 1] <= v.iloc[:, 2] + 1e-9).all()
        assert v.iloc[:, 1].between(-1, 1).all()


def test_cli_compare_stdin_stdout_and_other_group(tmp_path):
    _raw_jsonl(tmp_path / "in.jsonl")
    res = _run("--input", "-", "--output", "-", "--group-by", "country",
               stdin=(tmp_path / "in.jsonl").read_text(encoding="utf-8"))
    assert res.returncode == 0, res.stderr
    import io

    out = pd.read_csv(io.StringIO(res.stdout))
    assert out["group"].tolist() == ["Jordan", "North Korea", "South Korea", "United States", "unknown"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "text": "x"}\n{"id": "b"}\n', "in.jsonl:2: missing field(s) text"),
        ('{"id": "a", "text": "x", "outlet": "A"}\nnot json\n', "in.jsonl:2: invalid JSON"),
        ('{"id": "a", "text": "Some text."}\n', "in.jsonl: no record has the group column 'outlet'"),
        ("", "in.jsonl: no documents in the input"),
        ('{"id": "a", "text": "x", "outlet": "A"}\n{"id": "a", "text": "y", "outlet": "B"}\n', "duplicate id 'a'"),
    ],
)
def test_cli_compare_bad_input_is_one_clear_line(tmp_path, capsys, content, message):
    from analysis.__main__ import main

    # in-process (the subprocess contract is exercised above; a start-up costs seconds)
    (tmp_path / "in.jsonl").write_text(content, encoding="utf-8")
    assert main(["compare", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.csv")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "out.csv").exists()
