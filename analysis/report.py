"""HTML reports: execute the numbered notebooks on a corpus and render self-contained pages.

The corpus is first run through the streaming pipeline (:func:`analysis.pipeline.results_for`:
a cached run of the same corpus and arguments is reused, an unfinished one resumed), or
an existing run is given; the notebooks then read that run's aggregates and bounded text
sample, so rendering cost barely grows with the corpus (74 s CPU on 37,554 articles vs 37 s
on five, ``benchmarks/report_scale.py``). They are
executed with papermill (parameters ``corpus``, ``group_by`` and ``results``, the run's
folder; kernel ``outlet-lens``, ``PYTHONHASHSEED=0``) into ``OUT/_executed/`` and rendered
with nbconvert's HTML exporter without code (the ``--no-input`` equivalent),
figures embedded as data URIs, a table of contents per page, and an ``index.html``
linking the pages. Pages load nothing from the network: the template drops the
CDN scripts (require.js, MathJax, Mermaid, the widget manager) and sets a
Content-Security-Policy that forbids scripts.

Article text is untrusted. Three layers keep it inert: notebooks show text only
through pandas (which escapes cell values) or through the helpers below (which
escape with :func:`html.escape`); nbconvert's ``sanitize_html`` then runs every
HTML output and markdown cell through a bleach allow-list (Bleach, Mozilla's
HTML sanitiser); finally any ``<script>`` element left in a page is removed and
the CSP blocks scripts and inline event handlers.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import bleach
import pandas as pd

from analysis.config import NOTEBOOKS, REPORTS, RESOURCES

#: Set to "1" in the kernel by :func:`build_report`: widgets then show static views.
STATIC_ENV = "OUTLET_LENS_STATIC"
#: The Jupyter kernel the notebooks run in (registered by ``make setup``).
KERNEL = "outlet-lens"
#: Executed notebooks go here, inside the output folder.
EXECUTED = "_executed"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
TEMPLATE_DIR = RESOURCES / "report"

# Tags and attributes a rendered notebook legitimately needs; everything else is
# escaped by bleach. No <img>: figures are rendered by the template from image/png
# outputs, outside the sanitiser, and never come from text.
_ALLOWED_TAGS = frozenset(
    set(bleach.ALLOWED_TAGS)
    | {"p", "div", "span", "pre", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
       "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "mark",
       "sup", "sub", "small", "dl", "dt", "dd", "details", "summary", "del", "ins"}
)
_ALLOWED_ATTRIBUTES = {
    **bleach.ALLOWED_ATTRIBUTES,
    "*": ["class", "id", "title"],
    "th": ["class", "id", "colspan", "rowspan", "scope"],
    "td": ["class", "id", "colspan", "rowspan"],
    "table": ["class", "id", "border"],
}
# pandas puts a <style scoped> block before each table; it is presentation only
# and bleach would otherwise show its CSS as text.
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)
_SCRIPT_BLOCK = re.compile(r"<script\b[^>]*>.*?</script\s*>|<script\b[^>]*/>", re.S | re.I)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//[^>]*>", re.I)
#: A resource the browser would fetch from the network (used by tests too).
REMOTE_RESOURCE = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)


def clean_html(fragment: Any) -> str:
    """Sanitise an HTML fragment with a bleach allow-list (nbconvert's ``clean_html`` filter).

    Disallowed tags are escaped (so they show as text), never executed; ``<style>``
    blocks are dropped.
    """
    text = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    text = _STYLE_BLOCK.sub("", text)
    return bleach.clean(text, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, strip_comments=True)


# ---------------------------------------------------------------- safe display helpers


def is_static() -> bool:
    """True inside a report build (:data:`STATIC_ENV` set): show static views, not live widgets."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


def escape(value: Any) -> str:
    """Text made safe for HTML: ``None``/NaN become an empty string, the rest is escaped."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escape ``text`` and wrap the given character spans in ``<mark>``.

    Spans are escaped piecewise, so the offsets stay those of the raw text.
    """
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def html_table(df: pd.DataFrame, *, html_columns: Sequence[str] = (), max_rows: int | None = None,
               caption: str | None = None, index: bool = False) -> str:
    """An HTML table with every cell escaped, except ``html_columns`` (already made safe).

    Args:
        df: The table.
        html_columns: Columns holding HTML built with :func:`escape`/:func:`highlight`.
        max_rows: Show at most this many rows.
        caption: Optional caption (escaped).
        index: Show the index as the first column.
    """
    if max_rows is not None:
        df = df.head(max_rows)
    if index:
        df = df.reset_index()
    safe = set(html_columns)
    rows = ["<table class=\"ol-table\">"]
    if caption:
        rows.append(f"<caption>{escape(caption)}</caption>")
    rows.append("<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in df.columns) + "</tr></thead><tbody>")
    for rec in df.itertuples(index=False, name=None):
        cells = (str(v) if c in safe else escape(v) for c, v in zip(df.columns, rec))
        rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


@dataclass(frozen=True)
class SafeHTML:
    """Display object: escaped HTML for the page, plain text for nbval and consoles.

    Use instead of ``IPython.display.HTML`` whenever the HTML holds article text.
    """

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def show_table(df: pd.DataFrame, *, html_columns: Sequence[str] = (), max_rows: int | None = 20,
               caption: str | None = None) -> SafeHTML:
    """An escaped HTML table whose plain-text form is ``df.to_string()`` (stable under nbval)."""
    shown = df.head(max_rows) if max_rows is not None else df
    plain_df = shown.drop(columns=[c for c in html_columns if c in shown.columns])
    text = (f"{caption}\n" if caption else "") + plain_df.to_string(index=False)
    return SafeHTML(html_table(shown, html_columns=html_columns, caption=caption), text)


def bullets(items: Sequence[str]) -> SafeHTML:
    """An escaped bulleted list; plain text is one ``- item`` line each."""
    html_list = "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"
    return SafeHTML(html_list, "\n".join(f"- {i}" for i in items))


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    """One rendered notebook."""

    notebook: str
    html: str
    title: str
    description: str
    ok: bool
    error: str = ""


def notebook_paths(folder: Path | str = NOTEBOOKS) -> list[Path]:
    """The numbered notebooks of ``folder`` in order (``NN_name.ipynb``)."""
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_INLINE = re.compile(r"[*_`]+|\[([^\]]*)\]\([^)]*\)")


def _plain(md: str) -> str:
    return _MD_INLINE.sub(lambda m: m.group(1) or "", md).strip()


def describe(nb: dict) -> tuple[str, str]:
    """Title and one-line description from a notebook's first markdown cell.

    The title is its first heading; the description its first non-heading line
    (markdown emphasis, code marks and link targets removed).
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        title, desc = "", ""
        for line in src.splitlines():
            m = _MD_HEADING.match(line)
            if m and not title:
                title = _plain(m.group(1))
            elif line.strip() and not m and not desc:
                desc = _plain(line.lstrip("-*> "))
        return title, desc
    return "", ""


class _Headings(HTMLParser):
    """Collect (level, id, text) of h1-h3 elements that carry an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, str]] = []
        self._cur: list | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("h1", "h2", "h3") and self._cur is None:
            self._cur = [int(tag[1]), dict(attrs).get("id") or "", []]
        elif tag == "a" and self._cur is not None and ("class", "anchor-link") in attrs:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._cur is not None and tag == f"h{self._cur[0]}":
            level, hid, parts = self._cur
            if hid:
                self.found.append((level, hid, "".join(parts).strip()))
            self._cur = None

    def handle_data(self, data: str) -> None:
        if self._cur is not None and not self._skip:
            self._cur[2].append(data)


def table_of_contents(page_html: str) -> str:
    """A ``<nav>`` listing the page's h1-h3 headings as links (escaped)."""
    parser = _Headings()
    parser.feed(page_html)
    items = [
        f'<li class="toc-l{level}"><a href="#{escape(hid)}">{escape(text)}</a></li>'
        for level, hid, text in parser.found
        if text
    ]
    if not items:
        return ""
    return '<nav class="toc" aria-label="Contents"><strong>Contents</strong><ul>' + "".join(items) + "</ul></nav>"


def postprocess(page_html: str, *, nav: str = "") -> str:
    """Drop scripts and remote stylesheets, insert the table of contents and ``nav`` after ``<main>``."""
    page_html = _SCRIPT_BLOCK.sub("", page_html)
    page_html = _REMOTE_LINK.sub("", page_html)
    toc = table_of_contents(page_html)
    return page_html.replace("<main>", "<main>\n" + nav + toc, 1)


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert.exporters import HTMLExporter

    return HTMLExporter(
        template_name="outlet_lens",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        sanitize_html=True,
        filters={"clean_html": clean_html},
    )


def render_html(nb: Any, *, nav: str = "", title: str = "outlet-lens") -> str:
    """Render a notebook node to a self-contained HTML page without code, titled ``title``."""
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return postprocess(body, nav=nav)


@contextmanager
def _kernel_env() -> Iterator[None]:
    """Environment the kernels inherit: fixed hash seed, static widgets, inline figures."""
    wanted = {
        "PYTHONHASHSEED": "0",
        STATIC_ENV: "1",
        # ipykernel keeps an inherited MPLBACKEND (the Makefile exports Agg), which
        # would leave figures out of the page.
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(notebook: Path, output: Path, *, corpus: str | None, group_by: str, results: str | None = None,
            kernel: str = KERNEL) -> None:
    """Execute one notebook with papermill into ``output`` (cwd: the notebook's folder).

    ``results`` (a pipeline run's folder) is passed only when given, so a notebook
    without that parameter runs as before.
    """
    import logging

    import papermill as pm

    # papermill warns "unknown parameter" when it cannot parse a commented
    # parameters cell; the value is injected all the same.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    output.parent.mkdir(parents=True, exist_ok=True)
    with _kernel_env():
        pm.execute_notebook(
            str(notebook), str(output),
            parameters={"corpus": corpus, "group_by": group_by, **({"results": results} if results else {})},
            kernel_name=kernel, language="python", cwd=str(notebook.parent), progress_bar=False,
            log_output=False, request_save_on_cell_execute=False,
        )


def _index_html(pages: Sequence[Page], *, corpus: str | None, group_by: str, note: str = "") -> str:
    items = []
    for p in pages:
        status = "" if p.ok else ' <strong class="failed">(failed: ' + escape(p.error) + ")</strong>"
        items.append(
            f'<li><a href="{escape(p.html)}">{escape(p.title or p.notebook)}</a>{status}'
            f"<br><span class=\"desc\">{escape(p.description)}</span></li>"
        )
    source = "the seed corpus" if corpus is None else Path(corpus).name
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        "<title>outlet-lens report</title>\n<style>body{font-family:system-ui,sans-serif;max-width:48rem;"
        "margin:2rem auto;padding:0 1rem;line-height:1.5} li{margin:.8rem 0} .desc{color:#444}"
        " .failed{color:#b00}</style>\n</head>\n<body>\n<main>\n<h1>outlet-lens report</h1>\n"
        f"<p>How outlets frame the same story, compared by <code>{escape(group_by)}</code> "
        f"on {escape(source)}. Each page is a notebook executed on this corpus, code hidden.</p>\n"
        + (f"<p>{escape(note)}</p>\n" if note else "") +
        "<ol>\n" + "\n".join(items) + "\n</ol>\n</main>\n</body>\n</html>\n"
    )


def build_report(corpus: str | Path | None = None, out: str | Path | None = None,
                 group_by: str = "outlet", *, notebooks: Sequence[Path] | None = None,
                 kernel: str = KERNEL, results: str | Path | None = None, cache: str | Path | None = None,
                 progress: bool | None = False) -> list[Page]:
    """Run (or reuse) the pipeline on ``corpus``, execute every numbered notebook on its results, write the HTML report.

    Args:
        corpus: Any corpus :func:`analysis.corpus.load_corpus` accepts; ``None`` = the seeds.
        out: Output folder (default ``reports/``); executed notebooks go to ``out/_executed``,
            never over ``notebooks/``.
        group_by: Column the notebooks compare by.
        notebooks: Notebooks to run (default: every ``notebooks/NN_*.ipynb``, in order).
        kernel: Jupyter kernel name.
        results: An existing pipeline run to render (``python -m analysis run --out``);
            ``corpus`` is then only named on the index page.
        cache: Folder of cached pipeline runs (default ``data/processed/runs``).
        progress: Progress bar while the pipeline runs (``None``: when stderr is a terminal).

    Returns:
        One :class:`Page` per notebook. A notebook that fails still gets a page
        (with the error output) and is marked failed in the index.
    """
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    from analysis.errors import InputError

    out = Path(out) if out is not None else REPORTS
    corpus_arg = None
    if corpus is not None:
        cpath = Path(corpus).expanduser().resolve()
        if not cpath.exists():
            raise InputError("corpus not found; give a folder of .txt files or a .jsonl/.csv/.parquet file", source=str(corpus))
        corpus_arg = str(cpath)
    paths = list(notebooks) if notebooks is not None else notebook_paths()
    if not paths:
        raise InputError("no numbered notebooks (NN_name.ipynb) to run", source=str(NOTEBOOKS))
    from analysis.pipeline import open_results, results_for

    if results is not None:
        run = open_results(Path(results).expanduser().resolve(), group_by=group_by)
    else:
        run = results_for(corpus_arg, group_by=group_by, cache=cache, progress=progress)
    run_arg = str(run.out.resolve())
    work = out / EXECUTED
    work.mkdir(parents=True, exist_ok=True)
    pages: list[Page] = []
    for nb_path in paths:
        executed = work / nb_path.name
        ok, error = True, ""
        try:
            execute(nb_path, executed, corpus=corpus_arg, group_by=group_by, results=run_arg, kernel=kernel)
        except PapermillExecutionError as exc:
            ok, error = False, f"{exc.ename}: {exc.evalue}"[:300]
        if not executed.exists():  # papermill failed before writing anything
            shutil.copyfile(nb_path, executed)
        nb = nbformat.read(executed, as_version=4)
        title, desc = describe(nb)
        name = nb_path.stem + ".html"
        nav = '<p class="report-nav"><a href="index.html">&larr; All pages</a></p>'
        page = render_html(nb, nav=nav, title=f"{title or nb_path.stem} · outlet-lens")
        (out / name).write_text(page, encoding="utf-8")
        pages.append(Page(nb_path.name, name, title or nb_path.stem, desc, ok, error))
    (out / "index.html").write_text(_index_html(pages, corpus=corpus_arg, group_by=group_by, note=run.sample_note()),
                                    encoding="utf-8")
    return pages


def cli_report(args: Any) -> int:
    """``python -m analysis report --corpus PATH --out DIR [--group-by COLUMN] [--results RUN]``."""
    import logging
    import sys

    # the pipeline's per-partition log lines, for a long first run (a cached run is silent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    pages = build_report(args.corpus, args.out, args.group_by, results=getattr(args, "results", None), progress=None)
    out = Path(args.out) if args.out else REPORTS
    for p in pages:
        print(f"{'ok    ' if p.ok else 'FAILED'} {out / p.html}" + (f"  ({p.error})" if p.error else ""), file=sys.stderr)
    print(str(out / "index.html"))
    failed = [p.notebook for p in pages if not p.ok]
    if failed:
        print(f"error: {len(failed)} notebook(s) failed: {', '.join(failed)}; their pages show the error", file=sys.stderr)
        return 1
    return 0


__all__ = [
    "SafeHTML", "Page", "build_report", "bullets", "clean_html", "cli_report", "describe", "escape", "execute",
    "highlight", "html_table", "is_static", "notebook_paths", "render_html", "show_table",
    "table_of_contents", "STATIC_ENV", "REMOTE_RESOURCE",
]
