"""The HTML report: escaping helpers, sanitiser, page assembly, and a build of a tiny notebook."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis import report
from analysis.errors import InputError
from analysis.config import ROOT

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


class _Visible(HTMLParser):
    """Visible text of a page (script/style contents excluded) and the tags it contains."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def visible(page: str) -> tuple[str, list[tuple[str, dict]]]:
    p = _Visible()
    p.feed(page)
    return "".join(p.text), p.tags


def assert_inert(page: str) -> None:
    """No script element, no event-handler attribute, nothing fetched from the network."""
    _, tags = visible(page)
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "svg")]
    handlers = [(t, a) for t, attrs in tags for a in attrs if a.lower().startswith("on")]
    assert handlers == []
    assert not report.REMOTE_RESOURCE.search(page)
    for tag, attrs in tags:
        if tag == "img":
            assert attrs.get("src", "").startswith("data:image/"), attrs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ('say "hi" & \'bye\'', "say &quot;hi&quot; &amp; &#x27;bye&#x27;"),
        (None, ""),
        (float("nan"), ""),
        (3, "3"),
    ],
)
def test_escape(value, expected):
    assert report.escape(value) == expected


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("a <b> c", [(2, 5)], "a <mark>&lt;b&gt;</mark> c"),
        ("x<y", [], "x&lt;y"),
        ("abcdef", [(4, 6), (0, 1)], "<mark>a</mark>bcd<mark>ef</mark>"),
        ("abc", [(1, 9)], "a<mark>bc</mark>"),
        ("abc", [(0, 2), (1, 3)], "<mark>ab</mark><mark>c</mark>"),
    ],
)
def test_highlight(text, spans, expected):
    assert report.highlight(text, spans) == expected


def test_html_table_escapes_all_but_declared_html_columns():
    df = pd.DataFrame({"text": HOSTILE, "snippet": ["<mark>ok</mark>", "<mark>ok</mark>"], "<th>": [1, 2]})
    out = report.html_table(df, html_columns=["snippet"], caption="<i>c</i>")
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert out.count("<mark>ok</mark>") == 2
    assert "<th>&lt;th&gt;</th>" in out
    assert "<caption>&lt;i&gt;c&lt;/i&gt;</caption>" in out


def test_show_table_plain_text_is_the_frame_without_html_columns():
    df = pd.DataFrame({"outlet": ["B", "A"], "html": ["<mark>x</mark>", "y"]})
    view = report.show_table(df, html_columns=["html"], caption="Cap")
    assert repr(view) == "Cap\n" + df[["outlet"]].to_string(index=False)
    assert view._repr_html_().startswith('<table class="ol-table"><caption>Cap</caption>')


@pytest.mark.parametrize(
    ("fragment", "kept", "gone"),
    [
        ("<p>raw <script>alert(1)</script></p>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script"),
        ('<img src=x onerror="alert(1)">', "&lt;img", "<img"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>", "javascript:"),
        ('<h2 id="Q-1">Question<a class="anchor-link" href="#Q-1">¶</a></h2>', '<h2 id="Q-1">', "onclick"),
        ("<style scoped>td{color:red}</style><table class=\"dataframe\"><thead><tr><th>a</th></tr></thead></table>",
         '<table class="dataframe"><thead><tr><th>a</th></tr></thead></table>', "color:red"),
        ('<div onmouseover="alert(1)">t</div>', "<div>t</div>", "onmouseover"),
    ],
)
def test_clean_html(fragment, kept, gone):
    out = report.clean_html(fragment)
    assert kept in out
    assert gone not in out


def _nb(cells: list) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# 05 · Comparison\n\nOne row per outlet: **quotes**, `sentiment`.\n\n- Inputs: corpus", ("05 · Comparison", "One row per outlet: quotes, sentiment.")),
        (["# Title\n", "\n", "- Inputs: the [seed corpus](../data/raw)\n"], ("Title", "Inputs: the seed corpus")),
        ("No heading here\nsecond", ("", "No heading here")),
    ],
)
def test_describe(source, expected):
    nb = _nb([{"cell_type": "code", "source": "x = 1"}, {"cell_type": "markdown", "source": source}])
    assert report.describe(nb) == expected


def test_table_of_contents_lists_h1_to_h3_with_ids_escaped():
    page = ('<main><h1 id="T">Top<a class="anchor-link" href="#T">¶</a></h1><h2 id="a&amp;b">A &lt;b&gt;</h2>'
            '<h4 id="deep">Deep</h4><h3>no id</h3></main>')
    toc = report.table_of_contents(page)
    assert '<a href="#T">Top</a>' in toc
    assert '<a href="#a&amp;b">A &lt;b&gt;</a>' in toc
    assert "Deep" not in toc and "no id" not in toc and "¶" not in toc


def test_postprocess_drops_scripts_and_remote_links_and_inserts_toc():
    page = ('<html><head><script src="https://cdn.example/x.js"></script>'
            '<link rel="stylesheet" href="https://cdn.example/x.css"><link rel="icon" href="data:,">'
            '</head><body><main><h1 id="x">X</h1><script>alert(1)</script></main></body></html>')
    out = report.postprocess(page, nav="<p>nav</p>")
    assert "<script" not in out and "cdn.example" not in out
    assert 'href="data:,"' in out
    assert out.index("<p>nav</p>") < out.index('<nav class="toc"') < out.index('<h1 id="x">')


# ------------------------------------------------------------------ a real (small) build

FIXTURE_CELLS = [
    ("markdown", "# Fixture page\n\nA notebook that shows hostile text every way a notebook can."),
    ("code", 'corpus = None  # None = the seed corpus\ngroup_by = "outlet"'),
    ("markdown", "## Hostile text in a DataFrame"),
    ("code", f"import pandas as pd\npd.DataFrame({{'text': {HOSTILE!r}}})"),
    ("markdown", "## Through the safe helper"),
    ("code", f"from analysis.report import show_table, is_static\nshow_table(pd.DataFrame({{'text': {HOSTILE!r}}}))"),
    ("markdown", "## Raw HTML (a bug the sanitiser must catch)"),
    ("code", f"from IPython.display import HTML, Markdown, display\ndisplay(HTML({''.join(HOSTILE)!r}))\nMarkdown({HOSTILE[1]!r})"),
    ("markdown", "## Parameters and a figure"),
    ("code", "print(is_static(), corpus, group_by)"),
    ("code", "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.title('line')\nplt.show()"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    nb_dir = tmp_path_factory.mktemp("notebooks")
    nb = nbformat.v4.new_notebook()
    for kind, src in FIXTURE_CELLS:
        cell = nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        nb.cells.append(cell)
    nb.cells[1].metadata["tags"] = ["parameters"]
    path = nb_dir / "01_fixture.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    out = tmp_path_factory.mktemp("report")
    pages = report.build_report(ROOT / "tests/data/hostile/corpus.jsonl", out, "outlet", notebooks=[path])
    return path, before, out, pages


@pytest.mark.slow
def test_build_writes_pages_index_and_leaves_the_notebook_alone(built):
    path, before, out, pages = built
    assert [(p.notebook, p.html, p.title, p.ok) for p in pages] == [("01_fixture.ipynb", "01_fixture.html", "Fixture page", True)]
    assert path.read_bytes() == before
    assert (out / "_executed" / "01_fixture.ipynb").exists()
    index = (out / "index.html").read_text()
    assert '<a href="01_fixture.html">Fixture page</a>' in index
    assert "A notebook that shows hostile text every way a notebook can." in index
    assert_inert(index)


@pytest.mark.slow
def test_build_page_is_self_contained_and_shows_hostile_text_as_text(built):
    _, _, out, _ = built
    page = (out / "01_fixture.html").read_text()
    text, tags = visible(page)
    assert_inert(page)
    for payload in HOSTILE:
        assert text.count(payload) >= 3, payload  # DataFrame, helper, sanitised raw HTML
    # the parameters reached the kernel, and widgets know they are in a static build
    assert re.search(r"True /\S+/tests/data/hostile/corpus\.jsonl outlet", text)
    assert "corpus = None" not in text  # code hidden
    assert sum(1 for t, a in tags if t == "img" and a.get("src", "").startswith("data:image/png;base64,")) == 1
    assert '<nav class="toc"' in page and '<a href="#Hostile-text-in-a-DataFrame">' in page


def test_cli_report_missing_corpus_is_a_one_line_error(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--corpus", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.jsonl'}: corpus not found; give a folder of .txt files or a .jsonl/.csv/.parquet file"]
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ reports read the pipeline's results

PROBE_CELLS = [
    ("markdown", "# Probe page\n\nShows which pipeline run the report passed."),
    ("code", 'corpus = None  # None = the seed corpus\ngroup_by = "outlet"\nresults = None'),
    ("code", "from analysis.pipeline import open_results\n"
             "res = open_results(results, corpus, group_by=group_by)\n"
             "print(res.sample_note(), sorted(res.table('groups')['group']))"),
]


@pytest.fixture(scope="module")
def probe_notebook(tmp_path_factory) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, src in PROBE_CELLS:
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src))
    nb.cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path_factory.mktemp("probe") / "01_probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_second_report_on_the_same_corpus_reuses_the_pipeline_run(probe_notebook, tmp_path, monkeypatch):
    from analysis import pipeline

    corpus = ROOT / "tests/data/hostile/corpus.jsonl"
    runs = []
    real = pipeline.run
    monkeypatch.setattr(pipeline, "run", lambda *a, **kw: runs.append(a[1]) or real(*a, **kw))
    for k in range(2):
        pages = report.build_report(corpus, tmp_path / f"r{k}", "outlet", notebooks=[probe_notebook],
                                    cache=tmp_path / "runs")
        assert [p.ok for p in pages] == [True]
    assert len(runs) == 1 and runs[0].parent == tmp_path / "runs"
    executed = [nbformat.read(tmp_path / f"r{k}" / "_executed" / "01_probe.ipynb", as_version=4) for k in range(2)]
    params = [next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])) for nb in executed]
    assert params[0] == params[1] and f'results = "{runs[0].resolve()}"' in params[0]
    shown = executed[1].cells[-1].outputs[0]["text"]
    assert shown.startswith("Sections marked (text sample) read all ")
    index = (tmp_path / "r1" / "index.html").read_text()
    assert "the sample is the whole corpus" in index
    # an existing run is rendered as it is, without running anything
    pages = report.build_report(None, tmp_path / "r2", "outlet", notebooks=[probe_notebook], results=runs[0])
    assert [p.ok for p in pages] == [True] and len(runs) == 1
    with pytest.raises(InputError, match="groups by 'outlet', not 'date'"):
        report.build_report(None, tmp_path / "r3", "date", notebooks=[probe_notebook], results=runs[0])
