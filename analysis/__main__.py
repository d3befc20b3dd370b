"""Command line: ``python -m analysis quotes|sentiment|terms|corpus|compare|report|run ...``.

The verbs and their options are a stable contract used by external evaluation:
extend them only compatibly. Each verb's work lives in its module's
``cli_<verb>(args)`` function, imported lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analysis.errors import InputError

#: verb -> (module, function)
HANDLERS = {
    "corpus": ("analysis.corpus", "cli_corpus"),
    "quotes": ("analysis.quotes", "cli_quotes"),
    "terms": ("analysis.terms", "cli_terms"),
    "sentiment": ("analysis.sentiment", "cli_sentiment"),
    "compare": ("analysis.framing", "cli_compare"),
    "report": ("analysis.report", "cli_report"),
    "run": ("analysis.pipeline", "cli_run"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb."""
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    s = sub.add_parser("corpus", help="load and clean a corpus; one JSON line per document")
    s.add_argument("--input", required=True, help="folder of .txt + metadata.csv, or .jsonl/.jsonl.gz/.csv/.parquet; - for stdin (JSONL)")
    s.add_argument("--output", required=True, help="output JSONL; - for stdout")
    s.add_argument("--metadata", default=None, help="metadata table for a folder input (default: FOLDER/../metadata.csv or FOLDER/metadata.csv)")
    s.add_argument("--rejects", default=None, help="write rejected documents (id, file, reason) to this JSONL")

    s = sub.add_parser("quotes", help="extract quotations and their speakers")
    s.add_argument("--input", required=True, help='JSONL lines {"id", "text"}; - for stdin')
    s.add_argument("--output", required=True, help="JSONL output; - for stdout")

    s = sub.add_parser("terms", help="term frequencies and distinctive vocabulary per group")
    s.add_argument("--input", required=True, help='JSONL lines {"id", "text", <group column>}; - for stdin')
    s.add_argument("--output", required=True, help="CSV output; - for stdout")
    s.add_argument("--group-by", default="outlet", help="group column (default: outlet)")
    s.add_argument("--ngram-max", type=int, default=3, help="longest n-gram counted (default: 3)")
    s.add_argument("--min-count", type=int, default=None, help="drop terms rarer than this in the whole corpus")
    s.add_argument("--keep-stopwords", action="store_true", help="do not remove English stop words")
    s.add_argument("--no-clean", action="store_true", help="count the text as given (skip boilerplate cleaning)")

    s = sub.add_parser("sentiment", help="sentiment of a text, or toward a target in it")
    s.add_argument("--input", required=True, help='JSONL lines {"id", "text"[, "target", "target_start", "target_end"]}; - for stdin')
    s.add_argument("--output", required=True, help="JSONL output; - for stdout")

    s = sub.add_parser("compare", help="one summary row per group: quotes, voices, sentiment, framing")
    s.add_argument("--input", required=True, help='JSONL lines {"id", "text", <group column>, ...}; - for stdin')
    s.add_argument("--output", required=True, help="CSV output; - for stdout")
    s.add_argument("--group-by", default="outlet", help="group column (default: outlet)")

    s = sub.add_parser("report", help="execute the notebooks on a corpus and render HTML pages")
    s.add_argument("--corpus", default=None, help="any corpus the loader accepts (default: the seed corpus)")
    s.add_argument("--out", default=None, help="output folder (default: reports/)")
    s.add_argument("--group-by", default="outlet", help="group column (default: outlet)")
    s.add_argument("--results", default=None,
                   help="render this pipeline run (python -m analysis run --out) instead of running the pipeline")

    s = sub.add_parser("run", help="streaming pipeline: per-document Parquet and per-group aggregates")
    s.add_argument("--corpus", required=True, help="JSONL, JSONL.gz, CSV, Parquet or a folder of .txt files")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--group-by", default="outlet", help="group column (default: outlet)")
    s.add_argument("--engine", choices=["local", "dask"], default="local")
    s.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (engine dask)")
    s.add_argument("--chunk-size", type=int, default=1000, help="documents per partition (default: 1000)")
    s.add_argument("--ngram-max", type=int, default=1, help="longest n-gram counted into terms/ (default: 1)")
    s.add_argument("--workers", type=int, default=None, help="LocalCluster workers for engine dask (default: one per CPU)")
    s.add_argument("--restart", action="store_true", help="discard an earlier run in --out made with other arguments")
    s.add_argument("--sample-k", type=int, default=None, help="documents per group in the text sample (default: 100)")
    s.add_argument("--sample-cap", type=int, default=None, help="documents in the text sample in all (default: 500)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; return the exit status (2 with a one-line reason on bad input)."""
    args = build_parser().parse_args(argv)
    module, func = HANDLERS[args.verb]
    try:
        handler = getattr(importlib.import_module(module), func)
        return int(handler(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
