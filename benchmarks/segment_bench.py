"""Sentence splitter: agreement with NLTK Punkt and speed ratio, on PolNeAR dev articles.

Punkt (Kiss & Strunk 2006) runs with the same abbreviation list and no trained
parameters. Agreement is the F1 of sentence-end offsets of our splitter against
Punkt's (Punkt is a reference, not gold). Reads ../shared/eval; skips when absent.
"""

from __future__ import annotations

import json
import sys
import time

from analysis.config import EVAL
from analysis.segment import _rules, paragraphs, sentences


def main() -> int:
    path = EVAL / "polnear" / "dev.jsonl"
    if not path.exists():
        print(f"skip: {path} not found")
        return 0
    try:
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    except ImportError:
        print("skip: nltk not installed (needed only for this comparison)")
        return 0
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    rules = _rules()
    params = PunktParameters()
    params.abbrev_types = set(rules.never_final | rules.maybe_final) | set("abcdefghijklmnopqrstuvwxyz")
    punkt = PunktSentenceTokenizer(params)

    def punkt_ends(text: str) -> set[int]:
        return {p.start + e for p in paragraphs(text) for _, e in punkt.span_tokenize(text[p.start : p.end])}

    t0 = time.perf_counter()
    ours = [{s.end for s in sentences(t)} for t in texts]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = [punkt_ends(t) for t in texts]
    t_punkt = time.perf_counter() - t0
    tp = sum(len(a & b) for a, b in zip(ours, ref))
    p, r = tp / sum(map(len, ours)), tp / sum(map(len, ref))
    result = {
        "articles": len(texts),
        "agreement_precision": round(p, 4),
        "agreement_recall": round(r, 4),
        "agreement_f1": round(2 * p * r / (p + r), 4),
        "ours_ms_per_article": round(1000 * t_ours / len(texts), 3),
        "punkt_ms_per_article": round(1000 * t_punkt / len(texts), 3),
        "speedup_vs_punkt": round(t_punkt / t_ours, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
