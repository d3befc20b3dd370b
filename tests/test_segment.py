"""Sentence and paragraph segmentation on the hard cases of news text."""

import pytest

from analysis.segment import paragraphs, sentences


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
