"""Exploration widgets for JupyterLab, with static equivalents for executed notebooks and reports.

* :func:`quote_browser`: quotations filterable by group (outlet), speaker and kind.
* :func:`kwic_explorer`: keyword in context for any term across groups
  (:func:`analysis.terms.kwic`).
* :func:`vocabulary_comparison`: the words that most distinguish one group from
  another (:func:`analysis.terms.keyness`, weighted log-odds z-scores, Monroe et al. 2008).

Each takes ``interactive``: ``True`` builds ipywidgets controls; ``False`` returns a
static, escaped table (:class:`analysis.report.SafeHTML`) whose plain-text form is
the table itself, so nbval and HTML reports stay deterministic. ``None`` (default)
means interactive unless a report build set ``OUTLET_LENS_STATIC`` (see
:func:`analysis.report.is_static`). Article text is always escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from analysis import report

ALL = "(all)"


def _interactive(flag: bool | None) -> bool:
    return (not report.is_static()) if flag is None else bool(flag)


def _live(controls: Sequence[Any], render: Callable[..., report.SafeHTML]) -> Any:
    """Controls above an HTML pane that shows ``render(*control values)``, redrawn on change."""
    import ipywidgets as w

    out = w.HTML()

    def update(_: Any = None) -> None:
        out.value = render(*(c.value for c in controls)).html

    for c in controls:
        c.observe(update, names="value")
    update()
    return w.VBox([w.HBox(list(controls)), out])


def _choices(values: pd.Series) -> list[str]:
    return [ALL, *sorted({str(v) for v in values.dropna()})]


def filter_quotes(quotes: pd.DataFrame, *, group: str = ALL, speaker: str = ALL, kind: str = ALL,
                  group_col: str = "outlet") -> pd.DataFrame:
    """Quotations matching the filters (``"(all)"`` = no filter), in document order."""
    q = quotes
    for col, val in ((group_col, group), ("speaker", speaker), ("kind", kind)):
        if val != ALL:
            q = q[q[col].astype(str) == val]
    return q.sort_values(["id", "start"], kind="stable")


def _quote_view(q: pd.DataFrame, group_col: str, max_rows: int) -> report.SafeHTML:
    cols = [c for c in (group_col, "speaker", "kind", "quote") if c in q.columns]
    shown = q[cols].reset_index(drop=True)
    caption = f"{len(q)} quotation(s)" + (f", first {max_rows} shown" if len(q) > max_rows else "")
    return report.show_table(shown, max_rows=max_rows, caption=caption)


def quote_browser(quotes: pd.DataFrame, *, group_col: str = "outlet", interactive: bool | None = None,
                  max_rows: int = 25) -> Any:
    """Browse quotations by group, speaker and kind.

    Args:
        quotes: :func:`analysis.quotes.quotes_table` output (columns id, ``group_col``,
            speaker, kind, quote, start).
        group_col: The group column.
        interactive: Live widgets (True), static table (False), or decide from the
            environment (None).
        max_rows: Rows shown at once.
    """
    if not _interactive(interactive):
        return _quote_view(filter_quotes(quotes, group_col=group_col), group_col, max_rows)
    import ipywidgets as w

    controls = [w.Dropdown(options=_choices(quotes[col]), description=name)
                for name, col in (("group", group_col), ("speaker", "speaker"), ("kind", "kind"))]
    return _live(controls, lambda group, speaker, kind: _quote_view(
        filter_quotes(quotes, group=group, speaker=speaker, kind=kind, group_col=group_col), group_col, max_rows))


def _kwic_view(corpus: pd.DataFrame, term: str, window: int, group_by: str, max_rows: int) -> report.SafeHTML:
    from analysis.terms import kwic

    if not term.strip():
        return report.SafeHTML("<p>Type a term.</p>", "Type a term.")
    hits = kwic(corpus, term, window=window, group_by=group_by)
    shown = hits.sort_values(["group", "id", "start"], kind="stable")[["group", "id", "left", "match", "right"]]
    shown = shown.rename(columns={"group": group_by}).reset_index(drop=True)
    caption = f"{len(hits)} occurrence(s) of {term!r}" + (f", first {max_rows} shown" if len(hits) > max_rows else "")
    return report.show_table(shown, max_rows=max_rows, caption=caption)


def kwic_explorer(corpus: pd.DataFrame, *, term: str = "", window: int = 8, group_by: str = "outlet",
                  interactive: bool | None = None, max_rows: int = 25) -> Any:
    """Keyword in context for ``term`` across groups; interactive: type any term.

    Args:
        corpus: A corpus table (id, ``group_by``, text).
        term: Initial term (a word or phrase).
        window: Words of context each side.
        group_by: Group column.
        interactive: See :func:`quote_browser`.
        max_rows: Lines shown at once.
    """
    if not _interactive(interactive):
        return _kwic_view(corpus, term, window, group_by, max_rows)
    import ipywidgets as w

    controls = [w.Text(value=term, description="term", continuous_update=False),
                w.IntSlider(value=window, min=2, max=30, description="window")]
    return _live(controls, lambda t, win: _kwic_view(corpus, t, win, group_by, max_rows))


def _vocab_view(corpus: pd.DataFrame, a: str, b: str, group_by: str, top: int) -> report.SafeHTML:
    from analysis.terms import keyness

    if a == b:
        return report.SafeHTML("<p>Pick two different groups.</p>", "Pick two different groups.")
    sub = corpus[corpus[group_by].astype(str).isin([a, b])]
    rows = []
    for target, ref in ((a, b), (b, a)):
        k = keyness(sub, group_by=group_by, target=target, reference=ref, method="log_odds")
        part = k[k["log_odds_z"] > 0].sort_values(["log_odds_z", "term"], ascending=[False, True]).head(top)
        rows.append(part.assign(rank=range(1, len(part) + 1))[["rank", "group", "term", "count", "log_odds_z"]])
    table = pd.concat(rows, ignore_index=True)
    table["log_odds_z"] = table["log_odds_z"].round(2)
    return report.show_table(table, max_rows=None, caption=f"Most distinctive terms: {a} vs {b}")


def vocabulary_comparison(corpus: pd.DataFrame, *, a: str | None = None, b: str | None = None,
                          group_by: str = "outlet", interactive: bool | None = None, top: int = 10) -> Any:
    """The ``top`` terms that most distinguish group ``a`` from ``b`` and back (log-odds z-scores).

    Args:
        corpus: A corpus table.
        a, b: The two groups (default: the first two in sorted order).
        group_by: Group column.
        interactive: See :func:`quote_browser`.
        top: Terms per group.
    """
    groups = sorted(corpus[group_by].dropna().astype(str).unique())
    a = a or (groups[0] if groups else "")
    b = b or (groups[1] if len(groups) > 1 else a)
    if not _interactive(interactive):
        return _vocab_view(corpus, a, b, group_by, top)
    import ipywidgets as w

    controls = [w.Dropdown(options=groups, value=a, description="A"), w.Dropdown(options=groups, value=b, description="B")]
    return _live(controls, lambda ga, gb: _vocab_view(corpus, ga, gb, group_by, top))
