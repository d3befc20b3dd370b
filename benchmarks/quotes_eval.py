"""Quote extraction measured on PolNeAR dev (Newell, Margolin & Ruths, LREC 2018).

Runs ``python -m analysis quotes`` on ``EVAL/polnear/dev.jsonl`` as a subprocess (the
CLI is the contract external evaluation uses), scores the output with the data's own
``score.py --tolerant`` for direct quotes and for all attributions, and prints the
JSON summaries. Direct quotes are scored twice: over every prediction (an unmatched
indirect-speech prediction then counts against direct precision) and over the
quotation predictions only (kind direct or partial), which is what a quote extractor
such as the naive regex claims. Then measures throughput (articles per CPU second, one process, one
core) of :func:`analysis.quotes.extract_quotes` and, in the same process, of a naive
quotation-mark regex, and prints their ratio.

Targets (issue 4): direct F1 >= 0.93 with speaker accuracy >= 0.85; all attributions
F1 >= 0.68; >= 200 articles/s/core. Skips with a message (exit 0) without the data.

Usage: python benchmarks/quotes_eval.py [--split dev|train] [--keep PRED.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.config import EVAL, ROOT

POLNEAR = EVAL / "polnear"
_NAIVE = re.compile(r"[\"“]([^\"“”\n]{1,2000})[\"”]")


def score(gold: Path, pred: Path, types: str) -> dict:
    """The JSON summary line of score.py for the given types."""
    out = subprocess.run([sys.executable, str(POLNEAR / "score.py"), str(gold), str(pred), "--types", types, "--tolerant"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def throughput(texts: list[str], *, repeat: int = 3) -> tuple[float, float]:
    """Articles per CPU second of extract_quotes and of the naive regex (best of repeat).

    CPU time of this process (``time.process_time``), not wall time: the figure must not
    depend on what else runs on a shared machine."""
    from analysis.quotes import extract_quotes

    extract_quotes(texts[0])  # load the lexicon outside the timing
    best_q = best_n = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            extract_quotes(t)
        best_q = min(best_q, time.process_time() - t0)
        t0 = time.process_time()
        for _ in range(20):  # the regex is too fast for the clock's resolution on one pass
            for t in texts:
                _NAIVE.findall(t)
        best_n = min(best_n, (time.process_time() - t0) / 20)
    return len(texts) / best_q, len(texts) / best_n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev", choices=["dev", "train"])
    ap.add_argument("--keep", default=None, help="also write the predictions here")
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput measurement")
    args = ap.parse_args()
    gold = POLNEAR / f"{args.split}.jsonl"
    if not gold.exists() or not (POLNEAR / "score.py").exists():
        print(f"skip: {gold} or score.py not found (PolNeAR is read from ../shared/eval)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(args.keep) if args.keep else Path(tmp) / "pred.jsonl"
        subprocess.run([sys.executable, "-m", "analysis", "quotes", "--input", str(gold), "--output", str(pred)],
                       check=True, cwd=ROOT)
        direct = score(gold, pred, "direct")
        every = score(gold, pred, "direct,mixed,indirect")
        # the same run restricted to what we claim is quoted (kind direct or partial):
        # indirect-speech predictions are not claims of a direct quote, and score.py
        # counts every unmatched prediction, whatever its kind, against direct precision
        quoted = Path(tmp) / "quoted.jsonl"
        with open(pred, encoding="utf-8") as src, open(quoted, "w", encoding="utf-8") as dst:
            for line in src:
                rec = json.loads(line)
                rec["quotes"] = [q for q in rec["quotes"] if q["kind"] != "indirect"]
                dst.write(json.dumps(rec) + "\n")
        direct_q = score(gold, quoted, "direct")
    print("direct (all predictions):", json.dumps(direct, sort_keys=True))
    print("direct (quotation predictions):", json.dumps(direct_q, sort_keys=True))
    print("all:", json.dumps(every, sort_keys=True))
    result = {"split": args.split, "direct_f1": direct["f1"], "direct_speaker_acc": direct["speaker_acc"],
              "direct_quoted_f1": direct_q["f1"], "direct_quoted_p": direct_q["precision"],
              "direct_quoted_r": direct_q["recall"], "direct_quoted_speaker_acc": direct_q["speaker_acc"],
              "all_f1": every["f1"], "all_p": every["precision"], "all_r": every["recall"],
              "all_speaker_acc": every["speaker_acc"]}
    if not args.no_speed:
        texts = [json.loads(line)["text"] for line in gold.open(encoding="utf-8") if line.strip()]
        ours, naive = throughput(texts)
        result |= {"articles_per_s": round(ours, 1), "naive_articles_per_s": round(naive, 1),
                   "ratio_to_naive": round(naive / ours, 1)}
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
