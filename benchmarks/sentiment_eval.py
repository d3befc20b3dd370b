"""Target sentiment on NewsMTSC dev: plain VADER, VADER on the target's context, the trained model.

Reads ``../shared/eval/newsmtsc/{rw_dev,mt_dev}.jsonl`` (Hamborg & Donnay 2021,
EACL), writes predictions to a temporary folder and scores them with that folder's
``score.py --task newsmtsc`` (macro-F1 as in the paper, and accuracy). Throughput
is sentences per second on one core (single process, BLAS pinned to one thread),
reported as a ratio to plain VADER measured in the same run. Exits 0 with a message
when the data is absent.

    python benchmarks/sentiment_eval.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from analysis.config import EVAL  # noqa: E402
from analysis.sentiment import MODEL_PATH, TargetModel, context_window, vader  # noqa: E402

DATA = EVAL / "newsmtsc"
SETS = ("rw_dev", "mt_dev")
GOAL = 0.62


def _load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _plain(recs: list[dict]) -> list[dict]:
    return [{"id": r["id"], "compound": vader(r["sentence"])["compound"]} for r in recs]


def _context(recs: list[dict], model: TargetModel) -> list[dict]:
    # The same window the model reads, target included (VADER cannot mask it usefully).
    w = model.params["window"]
    out = []
    for r in recs:
        lo, hi = context_window(r["sentence"], r["target_start"], r["target_end"], window=w)
        out.append({"id": r["id"], "compound": vader(r["sentence"][lo:hi])["compound"]})
    return out


def _model(recs: list[dict], model: TargetModel) -> list[dict]:
    pred = model.predict([r["sentence"] for r in recs], [r["target_start"] for r in recs],
                         [r["target_end"] for r in recs])
    return [{"id": r["id"], "label": int(lab), "compound": float(c)}
            for r, lab, c in zip(recs, pred["label"], pred["compound"])]


def _score(gold: Path, pred: list[dict], tmp: Path, name: str) -> dict:
    path = tmp / f"{name}.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pred), encoding="utf-8")
    out = subprocess.run([sys.executable, str(DATA / "score.py"), str(gold), str(path), "--task", "newsmtsc"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    if not all((DATA / f"{s}.jsonl").exists() for s in SETS) or not (DATA / "score.py").exists():
        print(f"skip: NewsMTSC dev data not found under {DATA}")
        return 0
    model = TargetModel.load()
    methods = {"vader_sentence": _plain, "vader_context": lambda r: _context(r, model),
               "target_model": lambda r: _model(r, model)}
    vader("warm up")
    model.predict(["warm up"], [0], [4])
    rows, seconds, n_total = [], {m: 0.0 for m in methods}, 0
    with tempfile.TemporaryDirectory() as tmp:
        for s in SETS:
            gold = DATA / f"{s}.jsonl"
            recs = _load(gold)
            n_total += len(recs)
            for name, fn in methods.items():
                t0 = time.perf_counter()
                pred = fn(recs)
                seconds[name] += time.perf_counter() - t0
                summ = _score(gold, pred, Path(tmp), f"{s}_{name}")
                rows.append({"set": s, "method": name, "n": summ["n"], "macro_f1": summ["macro_f1"],
                             "accuracy": summ["accuracy"]})
    print(f"{'set':8} {'method':16} {'n':>5} {'macro-F1':>9} {'accuracy':>9}")
    for r in rows:
        print(f"{r['set']:8} {r['method']:16} {r['n']:5d} {r['macro_f1']:9.4f} {r['accuracy']:9.4f}")
    rate = {m: n_total / seconds[m] for m in methods}
    print("\nthroughput (sentences/s on one core; ratio to plain VADER in this run):")
    for m in methods:
        print(f"  {m:16} {rate[m]:9.0f}/s  x{rate[m] / rate['vader_sentence']:.2f}")
    ok = all(r["macro_f1"] >= GOAL for r in rows if r["method"] == "target_model")
    size = MODEL_PATH.stat().st_size
    summary = {"results": rows, "throughput_ratio": {m: round(rate[m] / rate["vader_sentence"], 3) for m in methods},
               "goal_macro_f1": GOAL, "goal_met": ok, "model_bytes": size}
    print(f"\ntarget model >= {GOAL} macro-F1 on both dev sets: {'yes' if ok else 'NO'}")
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
