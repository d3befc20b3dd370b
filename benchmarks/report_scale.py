"""Report rendering time on the seed corpus vs on a pipeline run of the AllSides corpus.

The report's notebooks read a pipeline run (aggregates and a bounded text sample), so
rendering should take about as long whatever the corpus size. This script renders the
report (``python -m analysis report --results RUN``) of:

* the seed corpus (its pipeline run is made first if it is not cached; not timed), and
* a pipeline run of AllSides (``--results DIR`` to reuse one, e.g. made by
  ``python -m analysis run --corpus ../shared/corpora/allsides_article_bias/articles.jsonl.gz
  --out DIR --ngram-max 3``; otherwise the first ``--docs`` articles are run here, untimed),

and prints, for each, CPU time (user + system of the report process and its kernels,
``RUSAGE_CHILDREN``), wall time, the notebooks' own execution time (papermill's per-cell
durations, in all and per notebook) and the documents covered, then the AllSides/seeds ratios.
A run aggregated before schema 5 has no stored keyness, so notebook 03 computes it from every
term count: re-aggregate a copy first (``python -c "from analysis import pipeline;
pipeline.aggregate('COPY')"``) to time what a new run gives. Exits 0 with a message
when the corpus is absent. Outputs go to a temporary folder, deleted at the end; no corpus
text is written into the repository.

``--per-notebook`` renders each notebook in its own process to give its CPU time (report
process and kernel); ``--only 04,05`` renders only those notebooks (per notebook).

Usage: ``python benchmarks/report_scale.py [--results DIR] [--docs N] [--per-notebook] [--only NN,...]``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.config import CORPORA

ALLSIDES = CORPORA / "allsides_article_bias" / "articles.jsonl.gz"


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


_ONE_NOTEBOOK = ("import sys; from pathlib import Path; from analysis.report import build_report; "
                 "build_report(results=sys.argv[1], out=Path(sys.argv[2]), notebooks=[Path(sys.argv[3])])")


def render(results: Path, out: Path, *, per_notebook: bool = False, only: list[str] | None = None) -> dict[str, Any]:
    """Render the report of a run; CPU and wall seconds, and the notebooks' summed cell durations.

    ``per_notebook``: one process per notebook (``build_report(notebooks=[...])``), so each
    notebook's CPU (its process and kernel) is measured apart; the total is their sum (one
    interpreter start per notebook more than the one-process report). ``only``: the
    notebooks whose name starts with one of these prefixes (e.g. ``04``), per notebook.
    """
    from analysis.report import notebook_paths

    cpu_nb: dict[str, float] = {}
    cpu, wall = _cpu_children(), time.perf_counter()
    if per_notebook or only:
        for nb in notebook_paths():
            if only and not any(nb.name.startswith(o) for o in only):
                continue
            before = _cpu_children()
            subprocess.run([sys.executable, "-c", _ONE_NOTEBOOK, str(results), str(out), str(nb)],
                           check=True, capture_output=True, text=True)
            cpu_nb[nb.stem[:2]] = round(_cpu_children() - before, 1)
    else:
        subprocess.run([sys.executable, "-m", "analysis", "report", "--results", str(results), "--out", str(out)],
                       check=True, capture_output=True, text=True)
    cpu, wall = _cpu_children() - cpu, time.perf_counter() - wall
    per_notebook_cells = {}
    for nb in sorted((out / "_executed").glob("*.ipynb")):
        per_notebook_cells[nb.stem[:2]] = round(sum(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
                                                    for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]), 1)
    cells = sum(per_notebook_cells.values())
    manifest = json.loads((results / "manifest.json").read_text(encoding="utf-8"))
    return {"cpu_s": round(cpu, 1), "wall_s": round(wall, 1), "notebook_cells_s": round(cells, 1),
            "documents": manifest["summary"]["analysed"], "cells_per_notebook_s": per_notebook_cells,
            "cpu_per_notebook_s": cpu_nb}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=None, help="an existing pipeline run of AllSides")
    ap.add_argument("--docs", type=int, default=2000, help="articles to run here when --results is not given")
    ap.add_argument("--per-notebook", action="store_true",
                    help="one process per notebook: CPU per notebook (total = their sum)")
    ap.add_argument("--only", default=None,
                    help="comma-separated notebook prefixes to render (e.g. 04,05; implies --per-notebook)")
    args = ap.parse_args()
    only = args.only.split(",") if args.only else None
    if args.results is None and not ALLSIDES.exists():
        print(f"skipped: {ALLSIDES} not found (and no --results given)")
        return 0
    from analysis import pipeline

    seeds = pipeline.results_for(None).out
    with tempfile.TemporaryDirectory(prefix="report-scale-") as tmp:
        work = Path(tmp)
        run = args.results
        if run is None:
            subset = work / "allsides.jsonl.gz"
            with gzip.open(ALLSIDES, "rt", encoding="utf-8") as src, gzip.open(subset, "wt", encoding="utf-8") as dst:
                dst.writelines(itertools.islice(src, args.docs))
            run = pipeline.results_for(subset, cache=work / "runs").out
        rows = {name: render(path, work / name, per_notebook=args.per_notebook, only=only)
                for name, path in (("seeds", seeds), ("allsides", run))}
    for name, r in rows.items():
        print(f"{name:9s} {r['documents']:>7,} documents: report {r['cpu_s']:6.1f} s CPU, {r['wall_s']:6.1f} s wall, "
              f"notebook cells {r['notebook_cells_s']:6.1f} s ({', '.join(f'{k}: {v}' for k, v in r['cells_per_notebook_s'].items())})"
              + (f"; CPU per notebook ({', '.join(f'{k}: {v}' for k, v in r['cpu_per_notebook_s'].items())})"
                 if r["cpu_per_notebook_s"] else ""))
    ratio: dict[str, Any] = {k: round(rows["allsides"][k] / max(rows["seeds"][k], 1e-9), 2)
                             for k in ("cpu_s", "wall_s", "notebook_cells_s")}
    ratio["cpu_per_notebook"] = {k: round(v / max(rows["seeds"]["cpu_per_notebook_s"].get(k, 0), 1e-9), 2)
                                 for k, v in rows["allsides"]["cpu_per_notebook_s"].items()}
    print(f"allsides / seeds: CPU x{ratio['cpu_s']}, wall x{ratio['wall_s']}, notebook cells x{ratio['notebook_cells_s']} "
          f"for x{rows['allsides']['documents'] / rows['seeds']['documents']:,.0f} documents"
          + (f"; CPU per notebook {ratio['cpu_per_notebook']}" if ratio["cpu_per_notebook"] else ""))
    print(json.dumps({"rows": rows, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
