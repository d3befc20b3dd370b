"""Benchmark: term counting + keyness by outlet, relative to a bare CountVectorizer.

Corpus: ``CORPORA/allsides_article_bias/articles.jsonl.gz`` (37,554 articles, 491
outlets). Skips with a message (exit 0) when it is absent.

Measured in one run, each step in its own fresh subprocess (one after the other,
never in parallel) so peak memory is per step:

- ``baseline``: ``CountVectorizer().fit_transform(texts)`` (unigrams, default pattern);
- ``ours``: ``dfm(corpus)`` + ``keyness(dfm, group_by="outlet")`` (unigrams, stop
  words removed, every outlet against the rest, all scores);
- with ``--ngram-docs N`` (default 2,000; 0 = skip) the same pair with n-grams
  1-3 on the first N articles: ``CountVectorizer(ngram_range=(1, 3))`` vs
  ``dfm(ngram_max=3)`` + keyness.

Reported: CPU seconds (``time.process_time``; the machine is shared, so CPU time
is the fairer clock), wall seconds, the ratio ours / baseline (goal <= 1.5), and
peak RSS (``resource.getrusage``) in total and above the loaded texts.

Usage: ``python benchmarks/terms_bench.py [--limit N] [--ngram-docs N] [--repeat K]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import time

from analysis.config import CORPORA

CORPUS = CORPORA / "allsides_article_bias" / "articles.jsonl.gz"


def _load(limit: int | None) -> tuple[list[str], list[str], list[str]]:
    ids, outlets, texts = [], [], []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            ids.append(str(rec["id"]))
            outlets.append(rec.get("outlet") or "unknown")
            texts.append(rec.get("text") or "")
            if limit and len(texts) >= limit:
                break
    return ids, outlets, texts


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _phase(name: str, limit: int | None, ngram_max: int) -> dict:
    """Run one step in this process; return its measurements."""
    import pandas as pd
    from sklearn.feature_extraction.text import CountVectorizer

    from analysis.terms import dfm, keyness

    ids, outlets, texts = _load(limit)
    corpus = pd.DataFrame({"id": ids, "outlet": outlets, "text": texts})
    rss0 = _rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    if name == "baseline":
        x = CountVectorizer(ngram_range=(1, ngram_max)).fit_transform(texts)
        info = {"terms": x.shape[1], "nnz": int(x.nnz)}
    else:
        d = dfm(corpus, ngram_max=ngram_max)
        c1 = time.process_time()
        k = keyness(d, group_by="outlet")
        info = {"terms": d.shape[1], "nnz": int(d.matrix.nnz), "keyness_rows": len(k),
                "count_cpu": round(c1 - c0, 2), "keyness_cpu": round(time.process_time() - c1, 2)}
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = _rss_mb()
    return {"phase": name, "docs": len(texts), "outlets": len(set(outlets)), "ngram_max": ngram_max,
            "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "peak_rss_mb": round(peak),
            "peak_above_texts_mb": round(peak - rss0), **info}


def _spawn(name: str, limit: int | None, ngram_max: int) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, "--ngram-max", str(ngram_max)]
    if limit:
        cmd += ["--limit", str(limit)]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def _compare(limit: int | None, ngram_max: int, repeat: int) -> None:
    runs = {"baseline": [], "ours": []}
    for _ in range(repeat):
        for name in ("baseline", "ours"):  # alternate so load drifts hit both
            runs[name].append(_spawn(name, limit, ngram_max))
    best = {k: min(v, key=lambda r: r["cpu_s"]) for k, v in runs.items()}
    b, o = best["baseline"], best["ours"]
    print(f"\n== n-grams 1-{ngram_max}: {o['docs']:,} articles, {o['outlets']} outlets (best of {repeat})")
    print(f"{'step':<34}{'CPU s':>8}{'wall s':>8}{'peak RSS MB':>13}{'above texts':>13}  detail")
    print(f"{'CountVectorizer().fit_transform':<34}{b['cpu_s']:>8.1f}{b['wall_s']:>8.1f}{b['peak_rss_mb']:>13,}"
          f"{b['peak_above_texts_mb']:>13,}  {b['terms']:,} terms")
    print(f"{'dfm + keyness by outlet':<34}{o['cpu_s']:>8.1f}{o['wall_s']:>8.1f}{o['peak_rss_mb']:>13,}"
          f"{o['peak_above_texts_mb']:>13,}  {o['terms']:,} terms; counting {o['count_cpu']} s, "
          f"keyness {o['keyness_cpu']} s, {o['keyness_rows']:,} rows")
    ratio = o["cpu_s"] / b["cpu_s"]
    print(f"ratio ours / baseline (CPU): {ratio:.2f}x  (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}); "
          f"wall: {o['wall_s'] / b['wall_s']:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N articles only")
    ap.add_argument("--ngram-docs", type=int, default=2000, help="articles for the n-gram 1-3 comparison (0 = skip)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per step; the best CPU time is kept")
    ap.add_argument("--phase", choices=["baseline", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--ngram-max", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found (the AllSides corpus lives in ../shared/corpora)")
        return 0
    if args.phase:
        print(json.dumps(_phase(args.phase, args.limit, args.ngram_max)))
        return 0
    _compare(args.limit, 1, args.repeat)
    if args.ngram_docs:
        _compare(min(args.ngram_docs, args.limit or args.ngram_docs), 3, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
