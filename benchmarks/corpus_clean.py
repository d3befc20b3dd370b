"""Throughput and behaviour of corpus loading + cleaning on a real corpus (AllSides, 37,554 articles).

Prints documents per second for: reading the JSON lines alone (the floor), loading with
cleaning, and loading with cleaning plus sentence counts (Punkt), each as a ratio to the
floor; then what each rule removed (count, characters, share of all raw characters) and the
rejection reasons. Texts are never printed. Skips (exit 0) when the corpus is absent.

    .venv/bin/python benchmarks/corpus_clean.py [--corpus PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import sys
import time

from analysis.config import CORPORA
from analysis.corpus import iter_documents

DEFAULT = CORPORA / "allsides_article_bias" / "articles.jsonl.gz"


def _read_only(path, limit: int) -> int:
    n = 0
    with gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
            n += 1
            if n >= limit:
                break
    return n


def _load(path, limit: int, count_sentences: bool):
    n = 0
    rules: collections.Counter = collections.Counter()
    chars: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    raw_chars = 0
    for chunk in iter_documents(path, chunk_size=1000, count_sentences=count_sentences):
        for d in chunk.docs:
            raw_chars += len(d["raw_text"])
            for r in d["removed"]:
                rules[r["rule"]] += 1
                chars[r["rule"]] += len(r["text"])
        for r in chunk.rejected:
            reasons[r["reason"].split(" (")[0].split(" of ")[0]] += 1
        n += len(chunk.docs) + len(chunk.rejected)
        if n >= limit:
            break
    return n, rules, chars, reasons, raw_chars


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(DEFAULT))
    ap.add_argument("--limit", type=int, default=10**9, help="documents to read (default: all)")
    args = ap.parse_args()
    try:
        open(args.corpus, "rb").close()
    except OSError:
        print(f"skip: corpus not found at {args.corpus}")
        return 0

    t = time.perf_counter()
    n0 = _read_only(args.corpus, args.limit)
    floor = n0 / (time.perf_counter() - t)
    print(f"documents: {n0}")
    print(f"read JSON only:               {floor:8.0f} docs/s")
    for label, sentences in (("load + clean:", False), ("load + clean + sentences:", True)):
        t = time.perf_counter()
        n, rules, chars, reasons, raw_chars = _load(args.corpus, args.limit, sentences)
        rate = n / (time.perf_counter() - t)
        print(f"{label:29s} {rate:8.0f} docs/s  ({floor / rate:.1f}x slower than reading)")
    print(f"\nremovals ({raw_chars} raw characters):")
    for rule, k in rules.most_common():
        print(f"  {rule:22s} {k:7d} removals {chars[rule]:10d} chars  {100 * chars[rule] / raw_chars:6.3f}%")
    print("rejections:", dict(reasons.most_common()) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
