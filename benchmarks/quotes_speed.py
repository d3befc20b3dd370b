"""CPU time and output identity of ``analysis.quotes.extract_quotes`` against an earlier revision.

Loads ``analysis/quotes.py`` as it was at ``--rev`` (``git show``) next to the working
tree's module and, on the same texts in one process:

- compares every Quote field of both on PolNeAR dev and train (``EVAL/polnear``), the
  first ``--n`` AllSides articles (cleaned as the pipeline cleans them), KCNA
  (``CORPORA/kcna_stiles_2024``, cleaned) and the seed articles; prints the
  documents whose output differs (a speed change must print none: against 3923b58 a
  few differ by the fix of 5dc8abe, a speaker cache keyed by the id() of freed
  frames, whose old output depended on memory reuse; ``--rev 5dc8abe`` shows none);
- measures CPU time (``time.process_time``) of both on the AllSides articles: the texts
  are cut into chunks of 50, each chunk is run by the old and the new module
  alternately ``--rounds`` times and each keeps its best per chunk (on a shared machine
  the load changes within seconds); ``--cold`` empties both modules' caches before each
  round, as a run over new documents meets them. Also reported: the part before the
  speaker frames (paragraphs, quotation marks, cue scan, sentence split), which both
  revisions share, and the rest;
- times one long text (the first 200 AllSides articles joined, about a million
  characters), where work quadratic in the number of quotes shows.

Skips with a message (exit 0) when the corpora are absent or git cannot show ``--rev``.

Usage: python benchmarks/quotes_speed.py [--rev 3923b58] [--n 1500] [--rounds 5] [--cold]
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import quotes as new
from analysis.config import CORPORA, EVAL, ROOT
from analysis.corpus import build_document
from analysis.segment import paragraphs, split_sentences

ALLSIDES = CORPORA / "allsides_article_bias" / "articles.jsonl.gz"
KCNA = CORPORA / "kcna_stiles_2024" / "articles.jsonl"


def load_revision(rev: str, folder: Path):
    """The quotes module as it was at ``rev``, imported under another name."""
    src = subprocess.run(["git", "show", f"{rev}:analysis/quotes.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    path = folder / "quotes_at_rev.py"
    path.write_text(src.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("quotes_at_rev", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["quotes_at_rev"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def cleaned(records: list[dict]) -> list[str]:
    docs = (build_document(r, "bench", count_sentences=False) for r in records)
    return [d["text"] for d in docs if "text" in d]


def corpora(n: int) -> dict[str, list[str]]:
    out = {}
    for split in ("dev", "train"):
        path = EVAL / "polnear" / f"{split}.jsonl"
        out[f"PolNeAR {split}"] = [json.loads(ln)["text"] for ln in path.open(encoding="utf-8") if ln.strip()]
    with gzip.open(ALLSIDES, "rt", encoding="utf-8") as fh:
        out["AllSides"] = cleaned([json.loads(ln) for _, ln in zip(range(n), fh)])
    out["KCNA"] = cleaned([json.loads(ln) for ln in KCNA.open(encoding="utf-8") if ln.strip()])
    seeds = sorted((ROOT / "data" / "raw").glob("*.txt"))
    out["seeds"] = cleaned([{"id": p.stem, "text": p.read_text(encoding="utf-8")} for p in seeds])
    return out


def fields(mod, text: str) -> list[tuple]:
    return [tuple(getattr(q, f) for f in q.__slots__) for q in mod.extract_quotes(text)]


def before_frames(mod, text: str) -> None:
    """extract_quotes up to its sentence list (the steps both revisions share)."""
    if not text.strip():
        return
    lex = mod._lexicon()
    paras = [(p.start, p.end) for p in paragraphs(text)]
    starts = [p[0] for p in paras]
    spans = mod._double_spans(text, paras, starts)
    spans += mod._single_spans(text, starts, spans)
    wanted = {max(0, bisect.bisect_right(starts, sp.open_at) - 1) for sp in spans}
    matches = list(lex.cue_re.finditer(text))
    if any(g in text for g in lex.according_guards):
        matches += list(lex.according_re.finditer(text))
    wanted |= {max(0, bisect.bisect_right(starts, m.start()) - 1) for m in matches}
    wanted |= {max(0, bisect.bisect_right(starts, pos) - 1) for pos, _ in mod._nominal_anchors(text, lex)}
    for pi in sorted(wanted):
        if pi < len(paras):
            split_sentences(text, *paras[pi])


def clear(mod) -> None:
    for v in vars(mod).values():
        if hasattr(v, "cache_clear") and v is not mod._lexicon:
            v.cache_clear()


def timing(old, texts: list[str], rounds: int, cold: bool) -> dict[str, float]:
    """Best CPU seconds per chunk of 50, summed, for each of four jobs run alternately."""
    jobs = {"old": lambda ch: [old.extract_quotes(t) for t in ch], "new": lambda ch: [new.extract_quotes(t) for t in ch],
            "old_before": lambda ch: [before_frames(old, t) for t in ch],
            "new_before": lambda ch: [before_frames(new, t) for t in ch]}
    chunks = [texts[i : i + 50] for i in range(0, len(texts), 50)]
    best = {k: [float("inf")] * len(chunks) for k in jobs}
    for rnd in range(rounds):
        if cold:
            clear(old), clear(new)
        for ci, ch in enumerate(chunks):
            for k in (list(jobs) if rnd % 2 == 0 else list(jobs)[::-1]):
                t0 = time.process_time()
                jobs[k](ch)
                best[k][ci] = min(best[k][ci], time.process_time() - t0)
    return {k: sum(v) for k, v in best.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="3923b58", help="the revision to compare with (default: before session 4)")
    ap.add_argument("--n", type=int, default=1500, help="AllSides articles")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="empty the name caches before each round")
    args = ap.parse_args()
    if not ALLSIDES.exists() or not KCNA.exists() or not (EVAL / "polnear" / "dev.jsonl").exists():
        print(f"skip: {ALLSIDES}, {KCNA} or {EVAL / 'polnear'} not found (read from ../shared)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            old = load_revision(args.rev, Path(tmp))
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            print(f"skip: git cannot show {args.rev}:analysis/quotes.py ({exc})")
            return 0
        texts = corpora(args.n)
        differ = {}
        for name, docs in texts.items():
            differ[name] = [i for i, t in enumerate(docs) if fields(old, t) != fields(new, t)]
            print(f"{name}: {len(docs)} documents, {len(differ[name])} with other output {differ[name][:10]}")
        allsides = texts["AllSides"]
        for t in allsides[:30]:
            old.extract_quotes(t), new.extract_quotes(t)  # lexicons loaded outside the timing
        tot = timing(old, allsides, args.rounds, args.cold)
        n = len(allsides)
        rest_old, rest_new = tot["old"] - tot["old_before"], tot["new"] - tot["new_before"]
        long_text = "\n\n".join(allsides[:200])
        long_cpu = {}
        for name, mod in (("old", old), ("new", new)):
            t0 = time.process_time()
            mod.extract_quotes(long_text)
            long_cpu[name] = time.process_time() - t0
    result = {
        "rev": args.rev, "articles": n, "rounds": args.rounds, "cold": args.cold,
        "documents_with_other_output": {k: len(v) for k, v in differ.items()},
        "ms_per_article_old": round(1000 * tot["old"] / n, 3), "ms_per_article_new": round(1000 * tot["new"] / n, 3),
        "speedup": round(tot["old"] / tot["new"], 3),
        "ms_before_frames_old": round(1000 * tot["old_before"] / n, 3),
        "ms_before_frames_new": round(1000 * tot["new_before"] / n, 3),
        "speedup_after_sentence_split": round(rest_old / rest_new, 3),
        "long_text_chars": len(long_text), "long_text_s_old": round(long_cpu["old"], 2),
        "long_text_s_new": round(long_cpu["new"], 2),
    }
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
