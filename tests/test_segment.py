"""Sentence and paragraph segmentation on the hard cases of news text."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.segment import Span, paragraphs, sentences


def _texts(text):
    return [text[s.start : s.end] for s in sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N. Korea fired a missile. Seoul said so.", ["N. Korea fired a missile.", "Seoul said so."]),
        ("The U.S. Army left. It was late.", ["The U.S. Army left.", "It was late."]),
        ("Sen. Kim spoke. He left.", ["Sen. Kim spoke.", "He left."]),
        ("Kim Jong-il met Putin. They talked.", ["Kim Jong-il met Putin.", "They talked."]),
        ('"We will win." He said it.', ['"We will win."', "He said it."]),
        ("“It is over,” he said. “Really.” Then silence.", ["“It is over,” he said.", "“Really.”", "Then silence."]),
        ("Was it? Yes! Fine.", ["Was it?", "Yes!", "Fine."]),
    ],
)
def test_sentences_hard_cases(text, expected):
    assert _texts(text) == expected


def test_offsets_and_paragraphs():
    text = "First para. Second sentence.\n\nSecond para here.\nThird para."
    sents = sentences(text)
    assert [s.paragraph for s in sents] == [0, 0, 1, 2]
    for s in sents:
        assert text[s.start : s.end].strip() == text[s.start : s.end]
    assert [text[p.start : p.end] for p in paragraphs(text)] == [
        "First para. Second sentence.",
        "Second para here.",
        "Third para.",
    ]


def test_hard_wrapped_text_joins_lines():
    text = "A long line that\nwraps here.\n\nNext block\nalso wraps.\n\nLast block\nends."
    assert len(paragraphs(text)) == 3


def test_empty():
    assert sentences("") == [] and paragraphs("   \n") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He lives in the U.S. The company does not.", ["He lives in the U.S.", "The company does not."]),
        ("U.S. Army troops left. Then more.", ["U.S. Army troops left.", "Then more."]),
        ("George W. Bush spoke.", ["George W. Bush spoke."]),
        ("Gen. Lee met Mr. Putin in Sept. 2020. They spoke.", ["Gen. Lee met Mr. Putin in Sept. 2020.", "They spoke."]),
        ("“Why?” he asked. Nobody knew.", ["“Why?” he asked.", "Nobody knew."]),
        ("The Russian side ... expressed support.", ["The Russian side ... expressed support."]),
        ("It grew 3.5 percent. Prices rose.", ["It grew 3.5 percent.", "Prices rose."]),
        ("(MENAFN) North Korea met. Russia agreed.", ["(MENAFN) North Korea met.", "Russia agreed."]),
        ("No. 1 ranked team won. It was close.", ["No. 1 ranked team won.", "It was close."]),
        ("no terminal punctuation", ["no terminal punctuation"]),
    ],
)
def test_more_news_cases(text, expected):
    assert _texts(text) == expected


def _paragraphs_by_definition(text):
    """Paragraphs as first written: every line (or blank-line block when most lines run on), stripped."""
    lines = text.split("\n")
    wrapped = len(lines) >= 4 and re.search(r"\n[ \t]*\n", text) and (
        sum(1 for a, b in zip(lines, lines[1:]) if a.strip() and b.strip()) >= sum(1 for ln in lines if ln.strip()) / 2)
    pattern = r"\S(?:.*?\S)?(?=\s*\n[ \t]*\n|\s*$)" if wrapped else r"[^\n]*\S[^\n]*"
    out = []
    for m in re.finditer(pattern, text, re.S if wrapped else 0):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Span(s, e))
    return out


@pytest.mark.parametrize(
    "text",
    [
        "One.\n\nTwo.\nThree.",
        "  padded line \t\n\u00a0 no-break spaces \u00a0\n\x0c",
        "a\nb\n\nc\nd\n\ne\nf",  # hard-wrapped: three blocks
        "a\nb\n \t \nc\nd",  # a blank line holding spaces and tabs
        "a\r\nb\r\n\r\nc\r\nd",  # \r is space inside a line, not a line end
        "x\u2028y\n\nz",  # a Unicode line separator is not a paragraph break
        "",
        "\n\n\n",
    ],
)
def test_paragraphs_match_their_definition(text):
    assert paragraphs(text) == _paragraphs_by_definition(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n\n\t\r\u00a0\u2028\x0c")), max_size=60))
def test_paragraphs_match_their_definition_on_free_text(text):
    # paragraphs() is computed from the stripped non-blank lines in one scan
    assert paragraphs(text) == _paragraphs_by_definition(text)
