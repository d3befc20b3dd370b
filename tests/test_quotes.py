"""Quote extraction: constructions, malformed marks, the seed annotation, the CLI
contract, properties on arbitrary text, and the PolNeAR dev figures (when present)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.config import ANNOTATIONS, EVAL, ROOT
from analysis.quotes import Quote, carried_quotes, extract_quotes, quotes_table, voice_shares


def _one(text: str) -> Quote:
    qs = extract_quotes(text)
    assert len(qs) == 1, qs
    return qs[0]


# (text, quote text, kind, speaker, cue)
CASES = [
    # direct quotes, speaker after / before, straight and curly marks
    ('"We will win this fight," Smith said.', "We will win this fight", "direct", "Smith", "said"),
    ("“We will win this fight,” said Smith.", "We will win this fight", "direct", "Smith", "said"),
    ("Smith said: “We will win this fight.”", "We will win this fight", "direct", "Smith", "said"),
    ("“The talks went well,” the ministry said in a statement.", "The talks went well", "direct", "the ministry", "said"),
    ("“The talks went well,” it added.", "The talks went well", "direct", None, "added"),
    # apposition and titles; the fullest name in the document
    ("Russian President Vladimir Putin met Kim. “Our ties are strong,” Putin, the Russian leader, said.",
     "Our ties are strong", "direct", "Vladimir Putin", "said"),
    ("Kim Jong-un spoke on Monday. “The friendship is eternal,” Kim said.", "The friendship is eternal", "direct", "Kim Jong-un", "said"),
    # frames
    ("Anna Lee was quoted as saying “the deal is dead.”", "the deal is dead", "partial", "Anna Lee", "was quoted as saying"),
    ("Media quoted the statement as saying, “The side expressed firm support.”", "The side expressed firm support",
     "direct", "the statement", "quoted the statement as saying"),
    ("The two sides agreed on what they described as “eternal strategic relations.”", "eternal strategic relations",
     "partial", None, "what they described as"),
    # irregular verbs right after a quotation; a description as their subject
    ("“The plan is bold and will help many families,” the article read.", "The plan is bold and will help many families",
     "direct", "the article", "read"),
    ("“The plan is bold and will help many families,” read the email.", "The plan is bold and will help many families",
     "direct", "the email", "read"),
    ("“Our ideas of success are different,” agrees Maria Lopez.", "Our ideas of success are different", "direct",
     "Maria Lopez", "agrees"),
    # a capitalised word after "the" is a name even when it is a common word ("Times")
    ("“After the crash, the firm was left with debt,” the Times wrote.", "After the crash, the firm was left with debt",
     "direct", "the Times", "wrote"),
    # indirect speech: the reported clause
    ("Smith said that the economy would recover next year.", "the economy would recover next year", "indirect", "Smith", "said"),
    ("Smith said the economy would recover next year.", "the economy would recover next year", "indirect", "Smith", "said"),
    ("The minister stressed that the two countries share a tradition of friendship.",
     "the two countries share a tradition of friendship", "indirect", "the minister", "stressed"),
    ("According to KCNA, the leader sent a letter to the president.", "the leader sent a letter to the president",
     "indirect", "KCNA", "According to"),
    ("The plan will fail badly, officials said on Monday.", "The plan will fail badly", "indirect", "officials", "said"),
    ("Kim claims that the friendship was sealed in the war.", "the friendship was sealed in the war", "indirect", "Kim", "claims"),
    ("Smith told reporters that the vote was rigged.", "the vote was rigged", "indirect", "Smith", "told"),
    ("A spokesperson for the State Department, who spoke on condition of anonymity, said the sanctions would stay.",
     "the sanctions would stay", "indirect", "A spokesperson for the State Department", "said"),
    # any short lowercase listener directly followed by "that"
    ("Kim Jong Un told officials that the talks failed.", "the talks failed", "indirect", "Kim Jong Un", "told"),
    ("Kim Jong Un told party officials that the talks failed.", "the talks failed", "indirect", "Kim Jong Un", "told"),
    ("Kim Jong Un told state media that the talks failed.", "the talks failed", "indirect", "Kim Jong Un", "told"),
]


@pytest.mark.parametrize(("text", "quote", "kind", "speaker", "cue"), CASES)
def test_constructions(text, quote, kind, speaker, cue):
    q = _one(text)
    assert (q.text, q.kind, q.cue) == (quote, kind, cue)
    if speaker is not None:
        assert q.speaker == speaker
    assert text[q.start : q.end] == q.text


@pytest.mark.parametrize(
    ("text", "speaker", "speaker_type"),
    [
        # "it" -> the latest non-person source; "he"/"she" by gender; nominals by their words
        ("“Ties are growing,” North Korea's foreign ministry said. “We reject hegemony,” it added.", "North Korea's foreign ministry", "government_body"),
        ("Mr. John Smith spoke first. Ms. Ann Lee spoke next. “I disagree,” she said.", "Ann Lee", "person"),
        ("Mr. John Smith spoke first. Ms. Ann Lee spoke next. “I disagree,” he said.", "John Smith", "person"),
        ("“Ties grow,” North Korea's foreign ministry said. “We reject hegemony,” the ministry said.", "North Korea's foreign ministry", "government_body"),
        ("“It failed,” a senior official said.", "a senior official", "anonymous"),
        ("“It failed,” Pyongyang said.", "Pyongyang", "state"),
        ("“It failed,” KCNA said.", "KCNA", "media"),
    ],
)
def test_speaker_resolution(text, speaker, speaker_type):
    q = extract_quotes(text)[-1]
    assert (q.speaker, q.speaker_type) == (speaker, speaker_type)
    assert q.speaker_start is not None and text[q.speaker_start : q.speaker_end]


@pytest.mark.parametrize(
    ("text", "quote", "speaker", "speaker_type", "cue"),
    [
        # a cue in mid-sentence: the content is the sentence around it
        ("The goal, the statement emphasized, is to transform the ties into a permanent alliance.",
         "The goal, the statement emphasized, is to transform the ties into a permanent alliance", "the statement",
         "document", "emphasized"),
        # "he" after an "According to X, Y ..." sentence is Y, not X
        ("Kim Jong-un spoke.\nAccording to KCNA, Kim also sent a letter to Putin, in which he claims that the ties were sealed in the war.",
         "the ties were sealed in the war", "Kim Jong-un", "person", "claims"),
        # "they" -> the conjoined subject, typed by its parts
        ("North Korea and Russia reaffirmed their ties, aiming for what they described as “eternal strategic relations.”",
         "eternal strategic relations", "North Korea and Russia", "state", "what they described as"),
        # a numbered definite description is a group of people, not an unnamed source
        ("The two foreign ministers also agreed that their assessments are unanimous.", "their assessments are unanimous",
         "the two foreign ministers", "person", "agreed"),
        # apposition, relative clause and time words between the speaker and the cue
        ("“It is bad,” California Rep. Duncan Hunter’s chief of staff, Joe Kasper, told POLITICO.", "It is bad",
         "Joe Kasper", "person", "told"),
        ("Joe Madison, a talk radio host considered one of the most influential, recalled that the mood changed.",
         "the mood changed", "Joe Madison", "person", "recalled"),
        # a head noun with its complement before a relative clause is the subject, not
        # the reported clause
        ("A spokesperson for the State Department, who spoke on condition of anonymity, said the sanctions would stay.",
         "the sanctions would stay", "A spokesperson for the State Department", "government_body", "said"),
        ("Officials at the ministry, who declined to be named, said the talks would resume.",
         "the talks would resume", "Officials at the ministry", "government_body", "said"),
        # three-part Korean names: "Son" is no family role, "Un" no "UN"
        ("Choe Son Hui, North Korea's foreign minister, said the alliance was unbreakable.",
         "the alliance was unbreakable", "Choe Son Hui", "person", "said"),
        ("Kim Jong Un, the North's leader, said the talks failed.", "the talks failed", "Kim Jong Un", "person", "said"),
        ("“Sanctions must go,” the UN said.", "Sanctions must go", "the UN", "government_body", "said"),
        ("Priebus later Thursday told Fox News: “Both men are meeting next week.”", "Both men are meeting next week",
         "Priebus", "person", "told"),
        ("“We will win,” said Sen. Lindsey Graham, R-S.C.", "We will win", "Lindsey Graham", "person", "said"),
        ("“It is bad,” Senate Minority Leader Harry M. Reid (D-Nev.) said in a statement.", "It is bad", "Harry M. Reid",
         "person", "said"),
        ("“He is a leader,” said the 46-year-old.", "He is a leader", "the 46-year-old", "person", "said"),
        # a participle's subject; a colon frame without a reporting verb
        ("Here in Columbia, Sanders stepped up his attacks, saying, “We will reform it.”", "We will reform it", "Sanders",
         "person", "saying"),
        ("Senate Majority Leader Mitch McConnell, R-Ky., delivered a blunt message to Trump: “It is time to stop.”",
         "It is time to stop", "Mitch McConnell", "person", None),
        # nominal and adjectival cues
        ("Trump’s claim that the election is rigged was repeated.", "the election is rigged was repeated", "Trump",
         "person", "claim"),
        ("Smith is confident that the bill will pass the Senate.", "the bill will pass the Senate", "Smith", "person",
         "confident"),
        # verbs of attitude: the complement is the content (PolNeAR annotates these)
        ("Still, Mr. Aftergood called the public squabble with the agencies unusual.",
         "the public squabble with the agencies unusual", "Aftergood", "person", "called"),
    ],
)
def test_speaker_frames(text, quote, speaker, speaker_type, cue):
    q = [q for q in extract_quotes(text) if q.text == quote]
    assert len(q) == 1, extract_quotes(text)
    assert (q[0].speaker, q[0].speaker_type, q[0].cue) == (speaker, speaker_type, cue)


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        # a pronoun goes to the person who is the subject of the latest sentence, not
        # to a name inside a quotation or behind "But"
        ("“We can win,” said Jeb Bush. Ben Carson has seen his standing tumble. “I'm still here,” he declared.", "Ben Carson"),
        ("But Ryan spoke first. “And I think it works,” Ryan said. “It is fine,” he added.", "Ryan"),
        # gender from the first-name list
        ("Phyllis Schlafly met Bill Smith. “It was great,” she wrote.", "Phyllis Schlafly"),
        ("Phyllis Schlafly met Bill Smith. “It was great,” he wrote.", "Bill Smith"),
        # a frameless quotation: the person named as subject since the last quote
        ("Donald Trump met Hillary Clinton.\n“We win,” Clinton said.\nTrump almost seemed to agree. “It is a great country.”",
         "Donald Trump"),
        # a frame that the sentence splitter put after the closing mark, then carried over
        ("“We must control the border,” Clinton said.\n“We will build it!” Cruz said. “I am the son of an immigrant.”",
         "Cruz"),
        # a participle after an opening time adverbial; a subject after a quotation
        ("Hours later, Donald Trump praised Adelson, telling Reuters, “He is great.”", "Donald Trump"),
        ("“It was the worst,” the Gawker employee wrote.", "the Gawker employee"),
        # the dash-line convention
        ("“Americans are worried about the future of their kids.”\n\n- Bernie Sanders.\n\nHe is wrong.", "Bernie Sanders"),
        # a description resolved through the modifiers of an earlier mention
        ("Russian President Vladimir Putin wrote to Kim. The Russian leader said closer ties would help both countries.",
         "Vladimir Putin"),
        # no earlier mention carries the description's words: the latest person source
        ('Putin thanked Kim for his support. "This is a great day," the Russian leader said.', "Putin"),
        ("Kim Jong Un said the talks failed. “We are ready,” the North Korean leader said.", "Kim Jong Un"),
        # a misread subject that names no person is no antecedent of "he"/"she"
        ("Mayor Ann Cole opened the fair. Every year, a new wave of families finds its way to the town. "
         "“We welcome them,” she said.", "Ann Cole"),
        ("Governor Bill Hale spoke to the crowd. The crowd chanted his name. “We will build the road,” he said.",
         "Bill Hale"),
        # "I" is no name: a misread subject holding it is no antecedent
        ("Mr. Tom Reed spoke. The best part was something I’d noted. “We will fix the roads,” he said.", "Tom Reed"),
        # a role noun outside the list still names a person
        ("Rep. Jane Moss joined the panel. One questioner asked about the budget. “You are right,” he said.",
         "questioner"),
        # a paragraph ending in a colon introduces the quotation that opens the next one
        ("The club said it was sad.\n\nThe union responded:\n\n“Nobody should lose a job over this decision.”", "the union"),
        ("Mr. Tom Reed met the mayor.\n\nLater he told the crowd, to loud applause:\n\n“This town deserves better roads.”",
         "Tom Reed"),
        # no cue before the colon: the subject of that sentence
        ("The mayor left early.\n\nThe council put a notice on its door:\n\n“The hall is closed until the spring.”",
         "the council"),
        # with no earlier source, the sentence subject before a name in object position
        ("George Lane is selling the old truck he used to drive Tom Hill to school. “I am a free man,” he told a local paper.",
         "George Lane"),
        # a newspaper named after another is not that other one ("The Hill" is no "Times")
        ("The Hill reported the sale on Friday. The Times on Saturday wrote that the loss was large.", "the Times"),
        # a place with a weekday, or a US state, is no person
        ("Senator Tom Reed spoke first.\nAt a rally in Manchester, New Hampshire Tuesday, he said, “We will win this state.”",
         "Tom Reed"),
    ],
)
def test_pronoun_and_description_resolution(text, speaker):
    assert extract_quotes(text)[-1].speaker == speaker


@pytest.mark.parametrize(
    "text",
    [
        # reader comments signed with the quotation dash (U+2015), an em dash or a hyphen
        "“We need better schools for our kids.” ― Maria Gomez\n“Prices keep going up every year.” ― Tom Reyes",
        "“We need better schools for our kids.”― Maria Gomez\n“Prices keep going up every year.”― Tom Reyes.",
        "“We need better schools for our kids.” — Maria Gomez\n\n“Prices keep going up every year.”\n\n- Tom Reyes",
    ],
)
def test_dash_signed_quotes(text):
    qs = extract_quotes(text)
    assert [(q.text, q.kind, q.speaker, q.cue) for q in qs] == [
        ("We need better schools for our kids", "direct", "Maria Gomez", None),
        ("Prices keep going up every year", "direct", "Tom Reyes", None),
    ]


def test_multi_paragraph_quote_continues_at_next_opening_mark():
    text = "The ministry said the accord is a “historic document of great weight.\n\n“It ensures peace and security,” the ministry said.\n\nOther news."
    qs = extract_quotes(text)
    # one attribution: the reported clause holding the two-paragraph quotation
    assert len(qs) == 1
    assert qs[0].text.startswith("the accord is a “historic document") and qs[0].text.endswith("peace and security")
    assert (qs[0].kind, qs[0].speaker) == ("partial", "the ministry")
    assert [text[s:e] for s, e in qs[0].fragments][0].endswith("peace and security")
    assert "Other news" not in qs[0].text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the doubled “” of the UPI seed: absorbed, the quote starts after it
        ("Pyongyang mentioned the summit, a “historic reunion” that “”reaffirmed the unchanging flow of history.”",
         ["historic reunion", "reaffirmed the unchanging flow of history"]),
        # an unclosed quote stops at its paragraph; the next paragraph is not swallowed
        ("“We will never give up the fight for freedom, Smith said.\nThe weather was fine. “Good,” Lee said.",
         ["We will never give up the fight for freedom, Smith said", "Good"]),
        # a stray closing mark alone
        ("Nothing here” at all. “Fine,” Lee said.", ["Fine"]),
    ],
)
def test_malformed_marks(text, expected):
    # the quoted words (a reported clause around them is one attribution)
    assert [text[s:e] for q in extract_quotes(text) for s, e in q.fragments] == expected


def test_single_quoted_headline_vs_apostrophes():
    text = "North Korea highlights ‘deepening friendship’ with Russia on anniversary"
    qs = extract_quotes(text)
    # the quoted words, inside the attribution of "highlights" (PolNeAR's "mixed")
    assert [text[s:e] for q in qs for s, e in q.fragments] == ["deepening friendship"]
    assert [(q.kind, q.speaker) for q in qs] == [("partial", "North Korea")]
    assert extract_quotes("The countries’ ties don’t change, it’s said, in Korea’s view.") == [] or all(
        "’" not in q.text[:1] for q in extract_quotes("The countries’ ties don’t change, it’s said, in Korea’s view.")
    )


def test_nyt_doubled_apostrophes():
    q = _one("''We will win this fight,'' Smith said.")
    assert (q.text, q.kind, q.speaker) == ("We will win this fight", "direct", "Smith")


@pytest.mark.parametrize(
    "text",
    [
        # verbs that report only with "that", or only frame quotations, report nothing here
        "Smith maintains a wide lead over Jones in the polls.",
        "The party hinted at a change of course in the spring.",
        "She won the county thanks to strong support from farmers.",
        "When the rally ended, the senator went on to visit three more towns in the north.",
        "After a long pause, the crowd began chanting about the new bridge.",
    ],
)
def test_no_attribution(text):
    assert extract_quotes(text) == []


def test_quotation_verb_closing_a_sentence_reports_it():
    # "none" verbs report no clause after them, but one that closes its sentence does
    q = _one("The two sides also agreed to widen their trade in grain and oil, the release continued.")
    assert (q.text, q.kind, q.speaker, q.cue) == (
        "The two sides also agreed to widen their trade in grain and oil", "indirect", "the release", "continued")


def test_strict_that_verbs_report_with_that():
    q = _one("Smith maintains that the vote was fair and open.")
    assert (q.text, q.kind, q.speaker, q.cue) == ("the vote was fair and open", "indirect", "Smith", "maintains")


# (text, reported content, speaker, cue): indirect constructions added for the
# all-attributions margin (issue 4, session 2), each in our own sentences
INDIRECT_MORE = [
    # verbs added to the lists: decisions, rulings, recommendations, implication
    ("The board decided to close the harbour for the winter.", "to close the harbour for the winter", "The board", "decided"),
    ("The court ruled that the levy was lawful and could stay.", "the levy was lawful and could stay", "The court", "ruled"),
    ("The panel recommended that the mayor repay the grant money.", "the mayor repay the grant money", "The panel", "recommended"),
    ("Ms. Okafor implied that the budget had been padded for years.", "the budget had been padded for years", "Okafor", "implied"),
    ("Ms. Okafor made it clear that the budget would not pass.", "the budget would not pass", "Okafor", "made it clear"),
    ("The firm responded that the audit had found nothing wrong.", "the audit had found nothing wrong", "The firm", "responded"),
    ("Mr. Varga decried the plan to sell the old library.", "the plan to sell the old library", "Varga", "decried"),
    ("The union refused to sign the new wage agreement.", "to sign the new wage agreement", "The union", "refused"),
    # "..., according to X" after a sentence opening with "But"; a lowercase source
    ("But even if the tariff doubled, the mill would still turn a profit, according to the 2019 audit.",
     "But even if the tariff doubled, the mill would still turn a profit", "the 2019 audit", "according to"),
    ("Nearly half of the town's families own a boat, according to figures from the harbour office.",
     "Nearly half of the town's families own a boat", "figures from the harbour office", "according to"),
    # "CLAUSE, X told her.": the listener frame closes the sentence
    ("Her sister was safe and would be home by Friday, the consul told her.",
     "Her sister was safe and would be home by Friday", "the consul", "told"),
    # an object complement ends before a place or time adjunct
    ("Mr. Varga endorsed Ms. Lund at a rally in the old port.", "Ms. Lund", "Varga", "endorsed"),
    ("Ms. Lund criticized the new parking rules on Tuesday.", "the new parking rules", "Lund", "criticized"),
    # "as" + a description stays in the object; "as" + a clause ends it
    ("Ms. Lund dismissed the proposal as too vague and costly.", "the proposal as too vague and costly", "Lund", "dismissed"),
    ("Ms. Lund criticized the proposal as she left the hall.", "the proposal", "Lund", "criticized"),
    # a comma before "including ..." or "captured by ..." does not end the object
    ("Ms. Lund backed a ban on fireworks, including the small ones sold at fairs.",
     "a ban on fireworks, including the small ones sold at fairs", "Lund", "backed"),
    ("The union requested a meeting with the harbour board.", "a meeting with the harbour board", "The union", "requested"),
    ("Ms. Lund favors a tax on empty homes in the old town.", "a tax on empty homes in the old town", "Lund", "favors"),
    ("Ms. Lund expressed concern about the closing of the ferry line.", "concern about the closing of the ferry line", "Lund", "expressed"),
    ("The harbour office did not respond to a request for comment.", "a request for comment", "The harbour office", "respond to"),
    ("Most members voted for the new ferry timetable.", "the new ferry timetable", "Most members", "voted for"),
    # a one-word object when it is a name
    ("On Tuesday, Mayor Jan Holt endorsed Lund.", "Lund", "Jan Holt", "endorsed"),
    # a poll share as the subject
    ("The survey closed in May. About 9 percent said they had no preference.", "they had no preference", "9 percent", "said"),
    ("The survey closed in May. More than six in 10 said they were tired of the race.",
     "they were tired of the race", "More than six in 10", "said"),
    # a listener followed by a short place before "that"
    ("Mr. Holt told delegates at the party congress that the mayor should resign.", "the mayor should resign", "Holt", "told"),
]


@pytest.mark.parametrize(("text", "content", "speaker", "cue"), INDIRECT_MORE)
def test_indirect_constructions(text, content, speaker, cue):
    q = _one(text)
    assert (q.text, q.kind, q.cue) == (content, "indirect", cue)
    assert q.speaker is not None and speaker.split()[-1] in q.speaker


@pytest.mark.parametrize("text", [
    "“We are close,” Ms. Lund said, referring to the seats the party holds.",
    "Ms. Lund said the vote was safe, referring to the seats the party holds.",
])
def test_participle_after_a_frame_reports_its_object(text):
    # ", referring to X" after a frame: X is attributed to the frame's speaker, and a
    # reported clause before it ends at the comma
    qs = extract_quotes(text)
    assert [(q.text, q.speaker, q.cue) for q in qs][-1] == ("the seats the party holds", "Lund", "referring to")
    assert all("referring" not in q.text for q in qs)


def test_title_case_headline_cues():
    # a title-case first line reports with capitalised cues; the body's "Says" does not
    qs = extract_quotes("Mayor Lund Says Harbour Will Close Next Year.\n\nThe harbour opened in 1901.")
    assert [(q.text, q.speaker, q.cue) for q in qs] == [("Harbour Will Close Next Year", "Lund", "says")]
    assert extract_quotes("The harbour opened in 1901.\n\nMayor Lund Says Harbour Will Close Next Year.") == []


def test_passive_attitude_verb_reports_no_agent():
    # "were attacked by X": X is the agent, not attributed content
    assert extract_quotes("The two ferries were both attacked by pirates on Sunday.") == []


@pytest.mark.parametrize("text", ["", "   ", "\n\n", '"', "“”", "''"])
def test_empty_and_degenerate(text):
    assert extract_quotes(text) == []


# ----------------------------------------------------------------- properties

_ALPHABET = st.sampled_from(list('abc XYZ.,;:\n"“”‘’\'–-') + ["said ", "He ", "Smith ", "according to ", "that "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join) | st.text(max_size=200))
def test_properties_on_arbitrary_text(text):
    qs = extract_quotes(text)
    prev_end = -1
    for q in qs:
        assert 0 <= q.start < q.end <= len(text)
        assert text[q.start : q.end] == q.text
        assert q.start >= prev_end  # in order, no overlap
        prev_end = q.end
        assert q.kind in {"direct", "partial", "indirect"}
        if q.speaker_start is not None:
            assert 0 <= q.speaker_start < q.speaker_end <= len(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join) | st.text(max_size=200))
def test_a_given_sentence_split_changes_nothing(text):
    """The pipeline hands over its split (paragraphs then sentences, for every
    paragraph); the result must be what extract_quotes finds splitting only where needed."""
    from analysis.segment import sentences

    assert extract_quotes(text, sentences=sentences(text)) == extract_quotes(text)


def test_a_given_sentence_split_changes_nothing_on_the_seeds():
    from analysis.corpus import load_corpus
    from analysis.segment import sentences

    texts = load_corpus()["text"].tolist()
    assert all(extract_quotes(t, sentences=sentences(t)) == extract_quotes(t) for t in texts)
    assert sum(len(extract_quotes(t)) for t in texts) > 30  # the seeds do hold quotations


# ----------------------------------------------------------------- seeds

def _norm(s):
    return (s or "").lower().replace("’", "'").strip()


def test_seed_annotation():
    """Extraction on the cleaned seeds against the hand annotation: every annotated
    quotation found (overlapping span) and its speaker right (name or alias)."""
    from analysis.corpus import load_corpus

    ann = yaml.safe_load((ANNOTATIONS / "quotes.yaml").read_text(encoding="utf-8"))
    df = load_corpus().set_index("id")
    assert set(ann) == set(df.index)
    n = found = speaker_ok = n_pred = 0
    matched = set()
    for doc, items in ann.items():
        preds = {f: extract_quotes(df.loc[doc, f]) for f in ("text", "title")}
        n_pred += sum(map(len, preds.values()))
        for it in items:
            field = it.get("field", "text")
            src = df.loc[doc, field]
            assert it["quote"] in src, (doc, it["quote"])
            s = -1
            for _ in range(it.get("occurrence", 1)):
                s = src.index(it["quote"], s + 1)
            e = s + len(it["quote"])
            hits = [q for q in preds[field] if q.start < e and s < q.end]
            n += 1
            if hits:
                found += 1
                matched.update((doc, field, q.start) for q in hits)
                names = {_norm(it["speaker"])} | {_norm(a) for a in it["aliases"]}
                speaker_ok += _norm(hits[0].speaker) in names
    assert n == 35
    assert found / n >= 0.95
    assert len(matched) / n_pred >= 0.95  # precision: predictions that are annotated
    assert speaker_ok / found >= 0.95


def test_quotes_table_columns_and_offsets():
    corpus = pd.DataFrame({"id": ["a", "b"], "outlet": ["X", "Y"],
                           "text": ["“We will win,” Smith said.", "Nothing quoted here."]})
    df = quotes_table(corpus)
    assert list(df.columns) == ["id", "outlet", "quote", "kind", "speaker", "speaker_type", "cue", "paragraph",
                                "start", "end", "speaker_start", "speaker_end"]
    assert df.to_dict("records")[0] | {} == {
        "id": "a", "outlet": "X", "quote": "We will win", "kind": "direct", "speaker": "Smith", "speaker_type": "person",
        "cue": "said", "paragraph": 0, "start": 1, "end": 12, "speaker_start": 15, "speaker_end": 20}


# ----------------------------------------------------------------- CLI contract

def _cli(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "quotes", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT)


def test_cli_one_line_per_input_in_order():
    docs = [{"id": "d2", "text": "“We will win,” Smith said."}, {"id": "d1", "text": ""},
            {"id": 3, "text": "Lee said that the plan would fail next year."}]
    res = _cli("".join(json.dumps(d) + "\n" for d in docs), "--input", "-", "--output", "-")
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["id"] for o in out] == ["d2", "d1", "3"]
    assert out[1]["quotes"] == []
    q = out[0]["quotes"][0]
    assert set(q) == {"start", "end", "text", "kind", "speaker", "speaker_start", "speaker_end", "speaker_type", "cue"}
    assert docs[0]["text"][q["start"] : q["end"]] == q["text"] == "We will win"
    assert out[2]["quotes"][0]["kind"] == "indirect"


def test_cli_files_and_bad_input(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "“Yes,” Lee said."}\n', encoding="utf-8")
    outp = tmp_path / "out.jsonl"
    assert _cli("", "--input", str(inp), "--output", str(outp)).returncode == 0
    assert json.loads(outp.read_text(encoding="utf-8"))["quotes"][0]["speaker"] == "Lee"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n', encoding="utf-8")
    res = _cli("", "--input", str(bad), "--output", str(outp))
    assert res.returncode == 2 and "bad.jsonl:1" in res.stderr and "Traceback" not in res.stderr


# ----------------------------------------------------------------- PolNeAR dev

@pytest.mark.slow
@pytest.mark.skipif(not (EVAL / "polnear" / "dev.jsonl").exists(), reason="../shared/eval/polnear not present")
def test_polnear_dev_figures(tmp_path):
    """The dev figures reached (benchmarks/README.md), each held a little below what
    was measured: direct quotes F1 0.932 (quotation predictions) with speaker accuracy
    0.862 (target 0.85), 0.805 over all predictions; all attributions F1 0.705 (target
    0.68) with speaker accuracy 0.835."""
    gold = EVAL / "polnear" / "dev.jsonl"
    pred = tmp_path / "pred.jsonl"
    subprocess.run([sys.executable, "-m", "analysis", "quotes", "--input", str(gold), "--output", str(pred)],
                   check=True, cwd=ROOT)
    quoted = tmp_path / "quoted.jsonl"
    with open(pred, encoding="utf-8") as src, open(quoted, "w", encoding="utf-8") as dst:
        for line in src:
            rec = json.loads(line)
            rec["quotes"] = [q for q in rec["quotes"] if q["kind"] != "indirect"]
            dst.write(json.dumps(rec) + "\n")

    def score(path, types):
        out = subprocess.run([sys.executable, str(EVAL / "polnear" / "score.py"), str(gold), str(path), "--types", types,
                              "--tolerant"], check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    direct_quoted, direct_all, every = score(quoted, "direct"), score(pred, "direct"), score(pred, "direct,mixed,indirect")
    assert direct_quoted["f1"] >= 0.93
    assert direct_quoted["speaker_acc"] >= 0.85
    # indirect predictions that match no gold count against direct precision, so this
    # figure falls as indirect recall rises (0.819 -> 0.805 in session 2)
    assert direct_all["f1"] >= 0.80
    assert every["f1"] >= 0.70
    assert every["speaker_acc"] >= 0.83


def test_voice_shares_counts_quoted_reported_and_own():
    corpus = pd.DataFrame({"id": ["a"], "outlet": ["X"], "text": ["“Yes no,” Lee said. Smith said that the plan is off."]})
    row = voice_shares(corpus).iloc[0]
    # quoted: "Yes no," -> "Yesno," minus trimmed comma = 5 chars; reported: "the plan is off" = 12
    assert (row.quoted, row.reported) == (5, 12)
    assert row.own == row.chars - 17
    assert row.quoted_share + row.reported_share + row.own_share == pytest.approx(1.0)


def test_carried_quotes_finds_fragments_in_the_source():
    corpus = pd.DataFrame({"id": ["src", "b"], "outlet": ["S", "B"],
                           "text": ["The relations are reaching a new strategic height today.",
                                    "The ministry said ties reach a “new strategic height” and a “golden future.”"]})
    df = carried_quotes(corpus, source_id="src")
    assert df[["fragment", "found"]].values.tolist() == [["new strategic height", True], ["golden future", False]]
    with pytest.raises(ValueError, match="nope"):
        carried_quotes(corpus, source_id="nope")
    empty = carried_quotes(corpus, source_id="nope", missing_ok=True)
    assert empty.empty and list(empty.columns) == ["id", "outlet", "fragment", "words", "score", "found"]


@pytest.mark.parametrize(
    ("text", "speaker", "not_speaker"),
    [
        # function words, determiners and adjectives never head a speaker
        ("Marta Ruiz, the club treasurer, is believed to have said that the books were fine.", "Marta Ruiz", "is"),
        ("The council might fund the library, or tell residents that there is no money left.", None, "or"),
        ("An estimated 400 volunteers said that the cleanup went well.", None, "An"),
        ("The figures are the main concern for the board, which says the deficit will grow.", None, "the main"),
        ("It was a repeated claim that the harbour would close.", None, "a repeated"),
        # adverbs and nationalities before a name are not part of it
        ("Now Oliver Brandt said the vote would be held in May.", "Oliver Brandt", "Now"),
        ("Australian Peter Holloway says the mine will reopen next year.", "Peter Holloway", "Australian"),
        # titles that run on with a preposition are cut whole
        ("Secretary of Commerce Dana Whitfield said tariffs would stay.", "Dana Whitfield", "of"),
        ("Ambassador to North Macedonia Gregor Lind told reporters that talks had stalled.", "Gregor Lind", "Macedonia"),
        # the speaker search stops at a URL
        ("Read it here https://t.co/Zk8PqW2xYb Whitfield also said that the plan was final.", "Whitfield", "Zk8PqW2xYb"),
        # places are not speakers
        ("On a ridge above the flooded fields of Marlow County, he stressed that aid must come fast.", None, "County"),
        ("Near the banks of River Tamsin, the governor said the dam would hold.", None, "River"),
    ],
)
def test_speaker_mentions_are_names_or_head_nouns(text, speaker, not_speaker):
    qs = extract_quotes(text)
    assert all(not_speaker not in (q.speaker or "").split() and q.speaker != not_speaker for q in qs)
    assert all(q.speaker_type != "person" or not any(w in (q.speaker or "") for w in ("County", "River")) for q in qs)
    if speaker is not None:
        assert [q.speaker for q in qs] == [speaker]


@pytest.mark.parametrize(("text", "speaker_type"), [
    ("Downing Street said the talks would resume.", "state"),
    ("Prime Minister Ana Costa said the talks would resume.", "person"),
])
def test_place_names_are_not_persons(text, speaker_type):
    assert [q.speaker_type for q in extract_quotes(text)] == [speaker_type]


@pytest.mark.parametrize(
    ("text", "not_speaker"),
    [
        # "it" never refers back to an unnamed person
        ('A committee aide declined to comment. "We have met 40 witnesses," it said.', "A committee aide"),
        # an all-capitals dateline is no antecedent of "he"
        ('WEST RIDGE FALLS — Pollution has doubled. "It is terrifying," he said.', "WEST RIDGE FALLS"),
        # a time adverbial and a heading are not speakers
        ("A day before the vote began, Ana Costa said she was not hopeful.", "A day"),
        ("READ MORE: Officials say the bridge is safe", "READ MORE"),
    ],
)
def test_pronouns_and_adverbials_do_not_pick_non_sources(text, not_speaker):
    qs = extract_quotes(text)
    assert qs and qs[-1].speaker != not_speaker  # the last quote is the one at issue


def test_surname_that_is_also_a_verb_stays_a_speaker():
    assert [q.speaker for q in extract_quotes('"We will build it," Read said.')] == ["Read"]


@pytest.mark.parametrize(("mention", "gender"), [
    ("Party spokesman Hope Adler", "f"),  # the first name outweighs the role noun
    ("the spokesman", "m"),
    ("Senator Mary Reyes", "f"),
])
def test_mention_gender(mention, gender):
    from analysis.quotes import _classify, _lexicon
    assert _classify(mention, _lexicon())[1] == gender


def _reference_voice_counts(text: str, spans: list[tuple[int, int, list[tuple[int, int]]]]) -> tuple[int, int, int]:
    """Per character, as the definition says: inside quotation marks beats reported beats own; spaces not counted."""
    counts = [0, 0, 0]
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        quoted = any(s <= i < e for _, _, frags in spans for s, e in frags)
        reported = any(a <= i < b for a, b, _ in spans)
        counts[2 if quoted else 1 if reported else 0] += 1
    return counts[0], counts[1], counts[2]


def _quote(start: int, end: int, fragments: list[tuple[int, int]]) -> Quote:
    return Quote(start, end, "", "direct", None, None, None, None, None, 0, tuple(fragments))


@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
       cuts=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)),
                     max_size=3))
@settings(max_examples=200, deadline=None)
def test_voice_counts_match_the_per_character_definition(text: str, cuts) -> None:
    from analysis.quotes import voice_counts

    spans = []
    for a, b, c, d in cuts:  # overlapping spans and fragments, fragments possibly outside their span
        a, b = sorted((min(a, len(text)), min(b, len(text))))
        c, d = sorted((min(c, len(text)), min(d, len(text))))
        spans.append((a, b, [(c, d)]))
    assert voice_counts(text, [_quote(a, b, f) for a, b, f in spans]) == _reference_voice_counts(text, spans)


@pytest.mark.parametrize("top, expected", [
    (None, [("A", "Lee", 5), ("A", "Kim", 2), ("A", None, 2), ("B", "Kim", 1)]),
    (1, [("A", "Lee", 5), ("B", "Kim", 1)]),
])
def test_speaker_counts_sum_speaker_types_and_keep_the_top(top, expected) -> None:
    from analysis.quotes import speaker_counts

    rows = pd.DataFrame([("A", "Lee", "person", 3), ("A", "Lee", "government_body", 2), ("A", "Kim", "person", 2),
                         ("A", None, None, 2), ("B", "Kim", "person", 1)],
                        columns=["group", "speaker", "speaker_type", "quotes"])
    got = speaker_counts(rows, top=top)
    assert [(g, None if s != s else s, n) for g, s, n in got.itertuples(index=False)] == expected


# ---- odd speakers (issue 8): participles, capitalised pronouns, states, leading articles


@pytest.mark.parametrize(
    "text",
    [
        "The mayor toured the dam. Noting that he had stressed more than once that the levee is weak, he urged residents to stay alert.",
        "The mayor toured the dam. Saying that as was revealed this spring, the levee is weak, he called for repairs.",
        "Referring to the storm, it was revealed that the levee had failed twice.",
        "Pointing out that the budget was late, the report said repairs would wait.",
        "Asked about the levee, the mayor said repairs would start in May.",
        # a reporting verb's own participle, even before a word that is a cue
        "Expressing hope that the levee would hold, he thanked the crews.",
    ],
)
def test_participle_openers_are_never_speakers(text):
    opener = text.split(". ")[-1].split()[0]
    speakers = [q.speaker for q in extract_quotes(text)]
    assert opener not in speakers


@pytest.mark.parametrize(
    ("text", "speaker", "speaker_type"),
    [
        # a name ending in -ing/-ed is still a speaker when its cue follows
        ("Harding said the levee would hold.", "Harding", "person"),
        ("Beijing on Monday said the talks would resume.", "Beijing", "state"),
        ("Ahmed said the levee would hold.", "Ahmed", "person"),
    ],
)
def test_ing_and_ed_names_stay_speakers(text, speaker, speaker_type):
    assert [(q.speaker, q.speaker_type) for q in extract_quotes(text)] == [(speaker, speaker_type)]


@pytest.mark.parametrize("pronoun", ["it", "they", "he", "she"])
def test_capitalised_pronoun_is_the_pronoun(pronoun):
    # unresolved: reported as the pronoun in lower case with the same type either way
    lower = extract_quotes(f"The hall was quiet, and {pronoun} said the plan had failed.")
    upper = extract_quotes(f"{pronoun.capitalize()} said the plan had failed.")
    assert [(q.speaker, q.speaker_type) for q in upper] == [(q.speaker, q.speaker_type) for q in lower]
    assert [q.speaker for q in upper] == [pronoun]


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        # resolved alike whether "It"/"it" opens the sentence or not
        ("“Ties are growing,” the foreign ministry said. It added that talks would go on.", "the foreign ministry"),
        ("“Ties are growing,” Ana Costa said. She added that talks would go on.", "Ana Costa"),
    ],
)
def test_capitalised_pronoun_resolves_like_lowercase(text, speaker):
    assert [q.speaker for q in extract_quotes(text)] == [speaker, speaker]


@pytest.mark.parametrize(
    ("text", "speaker", "speaker_type"),
    [
        ("Malaysia said the suspects had left the country.", "Malaysia", "state"),
        ("ROK said the drills would continue.", "ROK", "state"),
        ("The UK said the sanctions would stay.", "the UK", "state"),
        ("Peru said the border would reopen.", "Peru", "state"),
        ("The EU said the sanctions would stay.", "the EU", "government_body"),
        # a person described by their country is the person, not the country
        ("The suspects will be charged on Monday, Malaysia's attorney general said.", "Malaysia's attorney general",
         "person"),
    ],
)
def test_countries_and_state_abbreviations_are_states(text, speaker, speaker_type):
    assert [(q.speaker, q.speaker_type) for q in extract_quotes(text)] == [(speaker, speaker_type)]


@pytest.mark.parametrize(
    ("text", "speakers"),
    [
        # one spelling per source, whether the article opens the sentence or not
        ("The U.S. said the drills were a threat. Later, the U.S. said it would talk.", ["the U.S.", "the U.S."]),
        ("The message said the friendship was strong. In turn, the message said it would last.",
         ["the message", "the message"]),
        ("The speakers said the plan was good. Then speakers said it would work.", ["the speakers", "speakers"]),
        ("Police said the road was closed. Later, police said it had reopened.", ["police", "police"]),
        # a proper name keeps its capitals
        ("Congress said the bill would pass.", ["Congress"]),
    ],
)
def test_leading_article_and_case_normalised(text, speakers):
    assert [q.speaker for q in extract_quotes(text)] == speakers


@pytest.mark.parametrize(
    "text",
    [
        # an impersonal "it" (either case) holds no view and is no named subject
        'The drills ended. It is clear that the talk of "peace" is a lie.',
        'The drills ended, and it is clear that the talk of "peace" is a lie.',
        'The drills ended. It is no secret that the "peace talks" were a cover.',
        "The test came during the visit. It's hard to know whether the timing was deliberate, but the talks went on.",
    ],
)
def test_impersonal_it_is_no_speaker(text):
    assert all(q.speaker not in ("it", "It") for q in extract_quotes(text))


def test_subject_of_frameless_partial():
    # a named subject still speaks a frameless partial quote; a pronoun subject names nobody
    named = extract_quotes('North Korea marked the day, casting ties as "a new height".')
    assert [(q.kind, q.speaker) for q in named] == [("partial", "North Korea")]
    pronoun = extract_quotes('The drills ended. It marked the day, casting ties as "a new height".')
    assert all(q.speaker not in ("it", "It") for q in pronoun)


@pytest.mark.parametrize(
    ("text", "speaker", "speaker_type"),
    [
        # an object pronoun resolves like its subject form, or stays a pronoun (never a person's name)
        ("The two unions met on Monday. According to them, the strike will go on.", "them", "anonymous"),
        ("“We will not give in,” the ministers said. According to them, the strike will go on.", "the ministers",
         "person"),
    ],
)
def test_object_pronouns_after_according_to(text, speaker, speaker_type):
    assert [(q.speaker, q.speaker_type) for q in extract_quotes(text)][-1:] == [(speaker, speaker_type)]


@pytest.mark.parametrize("padding", [0, 1, 5, 40])
def test_consecutive_frameless_partials_keep_their_own_subjects(padding):
    # each frameless partial quote takes its own sentence's subject; the frames made for
    # them on the fly once shared a cache slot when one was freed and its id reused
    text = ("During the Carter years critics branded his films like “Night Riders” as “cheap and cynical”. "
            "During the Reagan years, reviewers tagged “Lone Hill” as a “tired old western”. ") * 2 + "x " * padding
    assert [q.speaker for q in extract_quotes(text)][:2] == ["Carter", "Reagan"]


# ---- the fast forms of string and regex tests equal their plain definitions (speed work)

_PIECES = st.lists(st.sampled_from(list("ab zA,.;:'’s\n\u00a0—–-") + ["that", "whether", "how", "why", "and ", "but ",
                                                                       "added ", "--", "noting "]),
                   max_size=30).map("".join)


@given(_PIECES)
def test_possessive_strip_equals_the_regex(s):
    from analysis.quotes import _POSS, _strip_poss

    assert _strip_poss(s) == _POSS.sub("", s)


@given(_PIECES, st.integers(0, 200))
def test_comma_before_and_word_at_equal_the_copies_they_replace(s, pos):
    from analysis.quotes import _comma_before, _word_at

    pos = min(pos, len(s))
    assert _comma_before(s, pos) == s[:pos].rstrip().endswith(",")
    assert _word_at(s, pos, "that ") == s[pos:].lstrip().startswith("that ")


@given(_PIECES, st.text(alphabet="abhtw", min_size=1, max_size=4))
def test_has_word_equals_membership_in_the_word_set(s, word):
    import re

    from analysis.quotes import _has_word

    low = s.lower()
    assert _has_word(low, word) == (word in set(re.findall(r"[a-z]+", low)))


@settings(max_examples=300)
@given(_PIECES, st.integers(0, 200), st.integers(0, 200))
def test_reordered_clause_regexes_match_their_plain_forms(s, a, b):
    import re

    from analysis.quotes import _CLAUSE_BREAK, _THAT

    plain_that = re.compile(r"\b(?:that|whether|how|why)\b")
    plain_break = re.compile(
        r",(?=\s+(?:but|adding|saying|noting|calling|according|referring|citing)\s|\s+and\s+(?=[a-z]{3,}ed\s)"
        r"|\s+(?=[a-z]{3,}ed\s+(?:that|to)\s))|;|\s(?=[—–]\s|--\s|\s*and\s+(?=[a-z]{3,}ed\s))")
    span = lambda m: m and m.span()  # noqa: E731
    assert span(_THAT.search(s)) == span(plain_that.search(s))
    assert span(_CLAUSE_BREAK.search(s, a, b)) == span(plain_break.search(s, a, b))


_FULLEST_TEXTS = [
    # equal lengths: the nearest before, else the first after
    "Before anyone, Hillary Clinton spoke. Later Bill Clinton joined. Clinton said it was over. Chelsea Clinton agreed.",
    # a longer chain wins wherever it is
    "Hillary Clinton spoke first. Later Bill Clinton joined. Clinton said it was over.\n"
    "Former President Bill Jefferson Clinton agreed. Mrs. Clinton left, and Clinton stayed.",
]


@pytest.mark.parametrize("text", _FULLEST_TEXTS)
@pytest.mark.parametrize("name", ["Clinton", "Bill Clinton", "Mrs. Clinton", "Hillary", "Jefferson Clinton", "Nobody"])
def test_fullest_is_the_nearest_longest_chain(text, name):
    # the per-name candidate list answers as the rank loop it replaced: the longest
    # index chain holding the core, the nearest before pos, else the first after it
    from analysis.quotes import _lexicon, _person_core_cached, _Resolver

    r = _Resolver(text, _lexicon(), [])
    low = tuple(c.lower() for c in _person_core_cached(name))
    answers = set()
    for pos in range(0, len(text) + 1, 3):
        best, rank = None, None
        for s, cl, full in r.person_chains.get(low[0], ()) if low else ():
            n = len(low)
            if len(cl) > n and any(cl[k : k + n] == low for k in range(len(cl) - n + 1)):
                key = (len(cl), s - pos if s < pos else pos - s - len(text))
                if rank is None or key > rank:
                    best, rank = full, key
        answers.add(r.fullest(name, pos))
        assert r.fullest(name, pos) == (best or " ".join(_person_core_cached(name)) or name)
    if text is _FULLEST_TEXTS[0] and name == "Clinton":
        assert answers == {"Hillary Clinton", "Bill Clinton", "Chelsea Clinton"}  # the tie-break is exercised
