"""Rebuild the target-sentiment model: ``python -m analysis.train_target_model --newsmtsc PATH``.

Trains :class:`analysis.sentiment.TargetModel` on labelled target mentions in the
NewsMTSC JSON-lines format (Hamborg & Donnay 2021, EACL; one line per mention:
``{"id", "sentence", "target", "target_start", "target_end", "polarity"}``,
polarity -1/0/1), scores it on any dev files found next to the training file, and
writes the skops model and its provenance JSON (data, date, parameters, dev scores,
library versions). Deterministic: the features are hashed (no vocabulary is
learnt) and lbfgs has no randomness, so the same data and parameters give the same
model. Use ``--train`` for your own labelled data in the same format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from analysis.config import EVAL
from analysis.errors import InputError
from analysis.io import read_jsonl_numbered
from analysis.sentiment import DEFAULT_PARAMS, MODEL_PATH, TargetModel

FIELDS = ("id", "sentence", "target_start", "target_end", "polarity")
CITATION = ("Hamborg, F. & Donnay, K. (2021). NewsMTSC: A Dataset for (Multi-)Target-dependent Sentiment "
            "Classification in Political News Articles. EACL 2021.")


def load_labelled(path: str | Path) -> tuple[list[str], list[int], list[int], list[int], list[str]]:
    """Sentences, offsets, polarities and ids of a NewsMTSC-format file (checked line by line)."""
    texts, starts, ends, labels, ids = [], [], [], [], []
    for n, rec in read_jsonl_numbered(path, required=FIELDS):
        s, e, y, t = rec["target_start"], rec["target_end"], rec["polarity"], rec["sentence"]
        if not isinstance(t, str) or not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(t)):
            raise InputError(f"bad sentence or target offsets", source=str(path), where=n)
        if y not in (-1, 0, 1):
            raise InputError(f"polarity must be -1, 0 or 1", source=str(path), where=n)
        texts.append(t), starts.append(s), ends.append(e), labels.append(int(y)), ids.append(rec["id"])
    if len(set(labels)) < 3:
        raise InputError("training data needs examples of all three polarities", source=str(path))
    return texts, starts, ends, labels, ids


def dev_scores(model: TargetModel, path: Path) -> dict[str, Any]:
    """Macro-F1 and accuracy of ``model`` on a labelled file."""
    from sklearn.metrics import accuracy_score, f1_score

    texts, starts, ends, labels, _ = load_labelled(path)
    pred = model.predict(texts, starts, ends)["label"].to_numpy()
    return {"n": len(labels), "macro_f1": round(float(f1_score(labels, pred, average="macro", labels=[-1, 0, 1])), 4),
            "accuracy": round(float(accuracy_score(labels, pred)), 4)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn
    import skops

    from importlib.metadata import version

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "skops": skops.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "vaderSentiment": version("vaderSentiment")}


def train(train_path: Path, *, dev: Sequence[Path] = (), out: Path = MODEL_PATH,
          params: dict[str, Any] | None = None, data_name: str = "NewsMTSC") -> dict[str, Any]:
    """Train, score on ``dev``, save to ``out``; return the provenance record."""
    texts, starts, ends, labels, _ = load_labelled(train_path)
    t0 = time.perf_counter()
    model = TargetModel.fit(texts, starts, ends, labels, params=params)
    seconds = time.perf_counter() - t0
    scores = {p.stem: dev_scores(model, p) for p in dev}
    prov = {
        "model": "target-dependent logistic regression (analysis.sentiment.TargetModel)",
        "data": {"name": data_name, "train_file": train_path.name, "train_sha256": _sha256(train_path),
                 "train_examples": len(labels),
                 "dev_files": {p.stem: {"file": p.name, "sha256": _sha256(p)} for p in dev},
                 "citation": CITATION if data_name == "NewsMTSC" else None,
                 "note": "training text is not shipped; features are hashed, so no vocabulary ships either"},
        "trained": date.today().isoformat(),
        "train_seconds": round(seconds, 1),
        "dev_scores": scores,
        "versions": _versions(),
        "rebuild": "python -m analysis.train_target_model --newsmtsc PATH",
    }
    model.save(out, provenance=prov)
    return {**prov, "params": model.params}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.train_target_model", description=__doc__.splitlines()[0])
    ap.add_argument("--newsmtsc", default=str(EVAL / "newsmtsc"),
                    help="NewsMTSC folder with train.jsonl (and rw_dev.jsonl, mt_dev.jsonl to score)")
    ap.add_argument("--train", default=None, help="your own training file (NewsMTSC format) instead of the folder's")
    ap.add_argument("--dev", nargs="*", default=None, help="dev files to score (default: the folder's *_dev.jsonl)")
    ap.add_argument("--out", default=str(MODEL_PATH), help=f"model path (default: {MODEL_PATH})")
    for k, v in DEFAULT_PARAMS.items():
        if k != "class_weight":
            ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v, help=f"(default: {v})")
    args = ap.parse_args(argv)
    folder = Path(args.newsmtsc)
    train_path = Path(args.train) if args.train else folder / "train.jsonl"
    dev = [Path(p) for p in args.dev] if args.dev is not None else sorted(folder.glob("*_dev.jsonl"))
    params = {k: getattr(args, k) for k in DEFAULT_PARAMS if k != "class_weight"}
    try:
        prov = train(train_path, dev=dev, out=Path(args.out), params=params,
                     data_name="NewsMTSC" if not args.train else train_path.name)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, "dev_scores": prov["dev_scores"], "train_seconds": prov["train_seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
