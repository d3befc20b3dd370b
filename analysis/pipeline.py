"""Streaming pipeline: per-document Parquet tables and per-group aggregates for any corpus size.

``run`` reads a corpus in partitions of ``chunk_size`` documents through the corpus
module's streaming reader, runs the project's per-document functions on each
partition (cleaning, quotations, sentence sentiment with voice, term counts; nothing
is re-implemented here) and writes one Parquet file per partition and table under
``OUT``. The aggregates the notebooks read are computed from those files alone, so a
report on millions of documents never needs the texts again:

* counts are *summed* (terms per group, quotes per speaker, sentences per voice),
  which is exact and independent of partitioning: keyness (log-odds, G²) needs only
  group totals;
* interval estimates come from per-document statistics (``doc_sentiment``: one mean
  per document and voice), the unit a bootstrap over documents resamples.

Term counts. Each partition fits its own scikit-learn ``CountVectorizer`` (configured
by the terms module) and stores sparse ``(id, term, count)`` triples keyed by the term
*string*; aggregation merges partitions by term string. That is exact and
deterministic whatever the partitioning, unlike merging vocabulary *indices*, and
unlike ``HashingVectorizer`` (stateless, but it loses the term strings a keyness table
must show and silently merges colliding terms). Parquet dictionary-encodes the
repeated strings, so the triples stay compact on disk.

Aggregation is done in two steps so that its memory does not grow with the number
of documents. When a partition is written, its *partial* per-group sums (counts,
sums, sums of squares; distinct documents, exact since ids are unique across
partitions) are written beside it under ``_partials/``, and ``doc_sentiment`` (one
row per document and voice) is written as a per-document table, one file per
partition, never materialised whole. ``aggregate`` then merges the partial sums in
bounded batches: contiguous ranges of groups holding at most ``_MERGE_ROWS`` partial
rows are read (row-group statistics skip the rest), summed with Arrow's ``group_by``
and appended, in key order, to the output file. Memory is bounded by one batch (or by
one group's partial rows when a single group exceeds the budget), not by the corpus.

Keyness. ``group_terms`` grows with the vocabulary (12M rows for 37,554 AllSides articles
with trigrams), so :func:`aggregate` also stores what notebook 03 shows of it, computed
once from the full counts: each group's ``keyness_top`` most distinctive terms against the
rest (``aggregates/keyness.parquet``: exactly :func:`analysis.terms.keyness` with
``min_count=keyness_min_count``, first rows per group) and its most frequent terms
(``aggregates/top_terms.parquet``). A group against the rest needs only its own counts and
each term's corpus total, so ``group_terms`` is split once into files of disjoint term
ranges; each gives its terms' totals and every group's best candidates among them, and
the candidates are cut to each group's first rows: memory is one range, not the table.
:meth:`Results.keyness` reads the stored rows, or computes them from ``group_terms`` for
other settings or a run aggregated before schema 5.

Sentiment sums. Notebook 04's intervals over documents need, for a group of more than
:data:`analysis.sentiment.BOOTSTRAP_MAX_DOCUMENTS` documents, only its moment sums (the
linearised interval), and the rows of ``doc_sentiment`` only for the smaller groups (the
bootstrap over documents). So each partition also writes the partial moment sums of its
``doc_sentiment`` per group and voice (and per group over all voices), merged like the
other aggregates into ``aggregates/doc_sentiment_sums.parquet``, and :func:`aggregate`
copies the small groups' rows into ``aggregates/doc_sentiment_small.parquet``:
:meth:`Results.sentiment_sums` reads those two, whose size grows with the groups, not the
documents. A run made before schema 6 gets the partial sums from its ``doc_sentiment``
files when it is re-aggregated; until then its sums are computed from every row.

Text sample. Sections that need texts (KWIC, naming evidence, carried quotes, target
sentiment, extreme sentences) read a bounded sample instead of the corpus: per group the
``sample_k`` documents with the smallest BLAKE2b hash of their id (bottom-k sampling, Cohen &
Kaplan 2007: uniform within the group and a function of the ids alone), at most ``sample_cap``
in all, taken in rounds across groups. Each partition writes its own bottom-k candidates
(texts included) under ``_partials/sample/``; :func:`aggregate` reads their keys, chooses, and
reads the chosen texts into ``aggregates/sample.parquet``, so the sample is identical whatever
the partitioning or engine. Per-document counts that are cheap given what a partition already
computed are tables of their own (``voice/``: characters by voice, from the quotes found, 0.8%
of a partition's CPU on AllSides articles); anything costlier runs on the sample instead.

Resumability. A partition's files are written under hidden temporary names and
renamed into place (atomic on POSIX), then a marker ``_partitions/part-NNNNN.json``
with its counts is written the same way. A rerun with the same arguments skips
partitions that have a marker; a partition interrupted half-way is recomputed and
overwrites its own deterministic file names, so nothing is lost or duplicated. The
arguments (corpus fingerprint, group column, chunk size, n-grams, sample sizes, schema version) are recorded
in ``manifest.json``; a rerun with different ones is refused unless ``restart=True``.
The engine is not part of a run's identity: both engines write identical files, so a
run started locally may be finished on Dask.

Dask. ``engine="dask"`` submits the same :func:`process_partition` to a
``distributed`` cluster as futures, with at most two partitions per worker in flight
(back-pressure keeps memory flat), and writes each result as it completes. Futures
rather than ``dask.bag``: the corpus reader is one stream over every accepted format
(JSONL, gzip, CSV, Parquet, folders) which a bag would need re-implemented as
per-format partitioned readers, and a bag built from the stream would hold the whole
corpus in the client. Workers return tables to the client, which writes them, so a
remote ``--scheduler`` needs no shared file system. The client only reads records and checks
ids (cheap, serial); cleaning runs in :func:`process_partition`, so workers do it
and a resumed run never re-cleans finished partitions. The duplicate-text check
needs corpus order: partitions are written in order, the client applies the check
from the workers' text digests (:func:`_dedupe`) and stores each partition's first
texts beside its marker, so a resumed run knows them without the texts. Workers run one thread each: the
work is pure Python and holds the GIL.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from analysis.config import PROCESSED
from analysis.errors import InputError

if TYPE_CHECKING:
    from analysis.sentiment import DocumentSums

log = logging.getLogger(__name__)

#: Bump when the layout or the meaning of an output column changes: older outputs are then refused.
SCHEMA_VERSION = 6  # 6: moment sums of doc_sentiment per group (_partials/ and aggregates/doc_sentiment_sums.parquet), small groups' rows (aggregates/doc_sentiment_small.parquet); 5: keyness and top terms per group (aggregates/keyness.parquet, top_terms.parquet); 4: voice characters (voice/, group_voice), text sample (_partials/sample/, aggregates/sample.parquet); 3: partial sums per partition
#: Per-document tables, one Parquet file per partition in each folder.
TABLES = ("documents", "sentences", "quotes", "terms", "doc_sentiment", "rejects", "voice")
#: Per-document tables whose rows for the text sample ``aggregate`` also stores (``aggregates/sample_<name>.parquet``).
SAMPLE_TABLES = ("sentences", "quotes")
#: Partitions in flight per Dask worker: enough to hide the client's reading and writing.
_IN_FLIGHT_PER_WORKER = 2
_MARKERS = "_partitions"
_PARTIALS = "_partials"
#: The reader's duplicate-check state (ids, text digests) during a run: scratch, deleted at the end.
_STATE = ".seen.sqlite"
#: Partial-sum rows merged at once by :func:`aggregate` (a few tens of MB in Arrow).
_MERGE_ROWS = 500_000
#: Text sample: documents kept per group (bottom-k of the id hash) and in all (see :func:`_merge_sample`).
SAMPLE_K = 100
SAMPLE_CAP = 500
#: Default cache of :func:`results_for` runs, and the n-grams they count (what notebook 03 shows).
RUNS = "runs"
REPORT_NGRAM_MAX = 3
#: Aggregated keyness (:func:`_top_terms`): terms seen fewer times in the corpus are not scored (notebook 03's
#: ``min_count``), and each group keeps its ``KEYNESS_TOP`` most distinctive and most frequent terms (notebook 03
#: shows 8 and 5; the margin lets a reader ask for more without recomputing).
KEYNESS_MIN_COUNT = 2
KEYNESS_TOP = 25


@dataclass(frozen=True)
class RunSummary:
    """What a run did; ``documents_in == analysed + rejected`` always holds.

    Attributes:
        out: Output folder.
        documents_in: Documents read from the corpus, rejected ones included.
        analysed: Documents analysed and written to ``documents/``.
        rejected: Documents rejected by the reader or an analysis step (``rejects/``).
        partitions: Partitions in the corpus.
        resumed_partitions: Partitions already finished by an earlier, interrupted run.
        sentences: Sentences of the analysed documents.
        segments: Rows of ``sentences/``: voice segments of sentences (own, reported,
            quoted), each scored on its own text.
        quotes: Quotations found.
        engine: ``"local"`` or ``"dask"``.
        seconds: Wall time of this invocation.
        step_seconds: Seconds per step: ``read`` (parse, clean, split: the corpus reader),
            ``quotes``, ``sentiment``, ``terms``, ``tables`` (summed over partitions, on
            the workers for Dask), ``write`` and ``aggregate``.
    """

    out: Path
    documents_in: int
    analysed: int
    rejected: int
    partitions: int
    resumed_partitions: int
    sentences: int
    segments: int
    quotes: int
    engine: str
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class PartitionResult:
    """The per-document tables of one partition, and its counts."""

    part: int
    tables: dict[str, pd.DataFrame]
    counts: dict[str, int] = field(default_factory=dict)
    #: (id, outlet, text digest, input position) of every document cleaning kept, for the
    #: duplicate-text check, which needs the corpus order and so runs in the client.
    texts: list[tuple[str, str, bytes, int]] = field(default_factory=list)
    #: First occurrences of texts this partition added to the duplicate check (id, outlet, digest).
    firsts: list[tuple[str, str, bytes]] = field(default_factory=list)


# --------------------------------------------------------------------------- output files


def _part_name(part: int) -> str:
    return f"part-{part:05d}"


def _atomic_replace(write: Callable[[Path], None], path: Path) -> None:
    """Write via ``write(tmp)`` to a hidden sibling, then rename over ``path``.

    Hidden names (leading ``.``) are ignored by Arrow's dataset discovery, so readers
    never see a half-written file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(obj: Any, path: Path) -> None:
    _atomic_replace(lambda p: p.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8"), path)


def _write_table(table: pa.Table, path: Path, **options: Any) -> None:
    _atomic_replace(lambda p: pq.write_table(table, p, compression="zstd", **options), path)


def _write_partition(out: Path, result: PartitionResult) -> None:
    """Write every table of a partition, its partial sums, then its marker: the marker means "complete"."""
    name = _part_name(result.part)
    arrow = {t: pa.Table.from_pandas(f, schema=SCHEMAS[t], preserve_index=False) for t, f in result.tables.items()}
    for table, data in arrow.items():
        # the sample's per-partition candidates are a partial, like the partial sums
        _write_table(data, (out / _PARTIALS / table if table == "sample" else out / table) / f"{name}.parquet")
    specs = _aggregate_specs()
    doc = _partial(arrow, "doc_sentiment", specs["doc_sentiment"])
    _write_table(doc, out / "doc_sentiment" / f"{name}.parquet")
    arrow["doc_voices"] = _doc_voices(doc)
    for agg in AGGREGATES:
        # sorted by group with small row groups: a merge batch reads only its groups' row groups
        _write_table(_partial(arrow, agg, specs[agg]), out / _PARTIALS / agg / f"{name}.parquet",
                     row_group_size=1 << 15)
    firsts = pa.table({k: list(v) for k, v in zip(("id", "outlet", "digest"), zip(*result.firsts))} if result.firsts
                      else {"id": pa.array([], _STR), "outlet": pa.array([], _STR), "digest": pa.array([], pa.binary())})
    _atomic_replace(lambda p: pq.write_table(firsts, p), out / _MARKERS / f"{name}.texts.parquet")
    _write_json(result.counts, out / _MARKERS / f"{name}.json")


def _finished(out: Path) -> dict[int, dict[str, int]]:
    markers = out / _MARKERS
    done = {}
    for path in sorted(markers.glob("part-?????.json")) if markers.exists() else []:
        done[int(path.stem.split("-")[1])] = json.loads(path.read_text(encoding="utf-8"))
    return done


def _fingerprint(corpus: Path) -> dict[str, Any]:
    """Identity of the input: path, size and modification time (of every file, for a folder)."""
    if corpus.is_dir():
        files = sorted(p for p in corpus.rglob("*") if p.is_file())
        stats = [p.stat() for p in files]
        return {"path": str(corpus), "files": len(files), "bytes": sum(s.st_size for s in stats),
                "mtime_ns": max((s.st_mtime_ns for s in stats), default=0)}
    st = corpus.stat()
    return {"path": str(corpus), "files": 1, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_manifest(out: Path) -> dict[str, Any] | None:
    """The run's ``manifest.json`` (arguments, completeness, counts), or None if there is none."""
    path = out / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _prepare(out: Path, arguments: dict[str, Any], *, restart: bool) -> dict[int, dict[str, int]]:
    """Create or reopen ``out``; return the partitions an earlier run finished."""
    manifest = _read_manifest(out)
    if manifest is not None:
        previous = manifest.get("arguments")
        if previous == arguments:
            return _finished(out)
        if not restart:
            changed = sorted(k for k in set(previous or {}) | set(arguments) if (previous or {}).get(k) != arguments.get(k))
            raise InputError(
                f"holds a run with different arguments ({', '.join(changed)} changed); "
                "use another --out, or restart=True to discard it",
                source=str(out),
            )
    elif out.exists() and any(out.iterdir()):
        # Never delete files this module did not write.
        raise InputError("exists, is not empty and is not a pipeline output; choose another --out", source=str(out))
    if manifest is not None:  # restart requested: discard the earlier run
        for sub in (*TABLES, _MARKERS, _PARTIALS, "aggregates"):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / "manifest.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    for sub in (*TABLES, _MARKERS, *(f"{_PARTIALS}/{a}" for a in (*AGGREGATES, "sample"))):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _write_json({"schema_version": SCHEMA_VERSION, "arguments": arguments, "complete": False}, out / "manifest.json")
    return {}


# --------------------------------------------------------------------------- engines


def _progress(total: int | None, *, enabled: bool | None) -> Any:
    from tqdm.auto import tqdm

    # tqdm's disable=None turns the bar off when stderr is not a terminal (CI, tests, pipes).
    return tqdm(total=total, unit="doc", file=sys.stderr, disable=None if enabled is None else not enabled, dynamic_ncols=True)


def _log_partition(counts: dict[str, int], part: int, *, resumed: bool = False) -> None:
    log.info(
        "partition %05d%s: %d documents in, %d analysed, %d rejected, %d sentences (%d voice segments), "
        "%d quotes, %d term entries",
        part, " (resumed)" if resumed else "", counts["documents_in"], counts["analysed"], counts["rejected"],
        counts["sentences"], counts["segments"], counts["quotes"], counts["terms"],
    )


def _run_local(chunks: Iterable[tuple[int, Any]], write: Callable[[PartitionResult], None], **options: Any) -> None:
    for part, chunk in chunks:
        write(process_partition(chunk, part=part, **options))


def _cluster(scheduler: Any, workers: int | None) -> tuple[Any, Any]:
    """A client on ``scheduler`` (address or Client), or on a new LocalCluster sized to the machine."""
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        return scheduler, None  # a caller-owned Client: not ours to close
    if scheduler is not None:
        return Client(scheduler), None
    n = workers or len(os.sched_getaffinity(0))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.WARNING)
    return Client(cluster), cluster


def _run_dask(chunks: Iterable[tuple[int, Any]], write: Callable[[PartitionResult], None], *, scheduler: Any,
              workers: int | None, backlog: Callable[[], int] = lambda: 0, **options: Any) -> None:
    from distributed import as_completed

    client, cluster = _cluster(scheduler, workers)
    try:
        window = _IN_FLIGHT_PER_WORKER * max(1, sum(client.nthreads().values()))
        pending = as_completed()
        for part, chunk in chunks:
            # a unique key: a rerun must recompute, never reuse a result the cluster still holds
            # scattered, not embedded in the task: a partition of texts is megabytes
            [data] = client.scatter([chunk], hash=False)
            pending.add(client.submit(process_partition, data, part=part, **options,
                                      key=f"outlet-lens-partition-{part}-{os.getpid()}-{time.monotonic_ns()}"))
            # results waiting for an earlier partition (written in order) count as in flight
            while pending.count() + backlog() >= window:
                write(next(pending).result())
        for fut in pending:
            write(fut.result())
    finally:
        if cluster is not None:
            client.close()
            cluster.close()


# --------------------------------------------------------------------------- aggregates


def _polarity() -> dict[str, pc.Expression]:
    from analysis.sentiment import THRESHOLD  # VADER's +-0.05 convention, as the sentiment module applies it

    c = pc.field("compound")
    return {"positive": (c >= THRESHOLD).cast(pa.int64()), "negative": (c <= -THRESHOLD).cast(pa.int64())}


#: Per-group aggregates made by :func:`aggregate`, each merged from per-partition partial sums.
AGGREGATES = ("groups", "group_terms", "group_sentiment", "group_quotes", "group_speakers", "group_voice",
              "doc_sentiment_sums")


def _doc_voices(doc: pa.Table) -> pa.Table:
    """``doc_sentiment`` rows and, per document, its voices summed (voice ``analysis.sentiment.ALL_VOICES``).

    The rows whose per-group moments ``doc_sentiment_sums`` holds: the second kind is
    what :func:`analysis.sentiment.compare_groups_by_document` resamples with ``voice=None``.
    """
    from analysis.sentiment import ALL_VOICES, DOCUMENT_SUMS

    cols = ["segments", *DOCUMENT_SUMS]
    whole = doc.group_by(["group", "id"], use_threads=False).aggregate([(c, "sum") for c in cols])
    whole = pa.table({"group": whole["group"], "id": whole["id"], "voice": pa.array([ALL_VOICES] * len(whole), _STR),
                      **{c: whole[f"{c}_sum"] for c in cols}})
    return pa.concat_tables([doc.select(whole.column_names), whole])


@functools.lru_cache(maxsize=1)
def _aggregate_specs() -> dict[str, tuple[str, list[str], list[tuple[str, str, str]], dict[str, pc.Expression]]]:
    """Name -> (source table, keys, ``(column, Arrow function, name)``, derived columns).

    Every function has an exact merge by summing partials: ``count``, ``sum`` and
    ``count_distinct`` of ``id`` (ids are unique across partitions). ``doc_sentiment``
    (keyed by document, so complete within its partition) may use ``mean``.
    """
    from analysis.sentiment import DOCUMENT_SUMS as ys

    polarity = _polarity()
    return {
        "groups": ("documents", ["group"], [
            ("id", "count", "documents"), ("words", "sum", "words"), ("n_sentences", "sum", "sentences"),
            ("n_quotes", "sum", "quotes")], {}),
        "group_terms": ("terms", ["group", "term"], [("count", "sum", "count"), ("id", "count", "documents")], {}),
        "group_sentiment": ("sentences", ["group", "voice"], [
            ("compound", "count", "segments"), ("compound", "sum", "compound_sum"),
            ("compound_sq", "sum", "compound_sumsq"), ("positive", "sum", "positive"),
            ("negative", "sum", "negative"), ("id", "count_distinct", "documents")],
            {"compound_sq": pc.multiply(pc.field("compound"), pc.field("compound")), **polarity}),
        "doc_sentiment": ("sentences", ["group", "id", "voice"], [
            ("compound", "count", "segments"), ("compound", "sum", "compound_sum"),
            ("compound", "mean", "compound_mean"), ("positive", "sum", "positive"),
            ("negative", "sum", "negative")], polarity),
        "group_quotes": ("quotes", ["group", "kind"], [("start", "count", "quotes")], {}),
        "group_speakers": ("quotes", ["group", "speaker", "speaker_type"], [
            ("start", "count", "quotes"), ("id", "count_distinct", "documents")], {}),
        "group_voice": ("voice", ["group"], [
            ("id", "count", "documents"), ("chars", "sum", "chars"), ("quoted", "sum", "quoted"),
            ("reported", "sum", "reported"), ("own", "sum", "own")], {}),
        # over documents: y, y^2 and segments*y per document sum y (analysis.sentiment._ratio_moments)
        "doc_sentiment_sums": ("doc_voices", ["group", "voice"], [
            ("id", "count", "documents"), ("segments", "sum", "segments"), ("segments_sq", "sum", "segments_sq"),
            *[(f"{y}{s}", "sum", f"{y}{s}") for y in ys for s in ("", "_sq", "_x")]],
            {"segments_sq": pc.multiply(pc.field("segments"), pc.field("segments")),
             **{f"{y}_sq": pc.multiply(pc.field(y), pc.field(y)) for y in ys},
             **{f"{y}_x": pc.multiply(pc.field(y), pc.field("segments")) for y in ys}}),
    }


def _partial(tables: dict[str, pa.Table], name: str,
             spec: tuple[str, list[str], list[tuple[str, str, str]], dict[str, pc.Expression]]) -> pa.Table:
    """One aggregate over one partition's tables, sorted by its keys (``AGGREGATE_SCHEMAS[name]``)."""
    source, keys, aggs, derived = spec
    columns = sorted((set(keys) | {c for c, _, _ in aggs}) - set(derived))
    # an in-memory dataset evaluates the derived expressions (compound², polarity) in one projection
    table = ds.dataset(tables[source]).to_table(columns={**{c: pc.field(c) for c in columns}, **derived})
    grouped = table.group_by(keys, use_threads=False).aggregate([(c, f) for c, f, _ in aggs])
    named = pa.table({**{k: grouped[k] for k in keys}, **{n: grouped[f"{c}_{f}"] for c, f, n in aggs}})
    return named.sort_by([(k, "ascending") for k in keys]).cast(AGGREGATE_SCHEMAS[name])


def _group_batches(dataset: ds.Dataset, budget: int) -> list[tuple[str, str]]:
    """Contiguous ``(first, last)`` group ranges, in Arrow's (= code point) order, of at most ``budget`` partial rows."""
    rows: dict[str, int] = {}
    # one file at a time, groups read as a dictionary: a dataset scan's read-ahead held
    # ~250 MiB on 38 partitions of AllSides, this holds one batch of codes (~90 MiB peak)
    for f in dataset.files:
        batches = pq.ParquetFile(f, read_dictionary=["group"]).iter_batches(columns=["group"], batch_size=1 << 16)
        for batch in batches:
            counts = pc.value_counts(batch.column(0).dictionary_decode())
            for g, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                rows[g] = rows.get(g, 0) + n
    batches, first, size = [], None, 0
    for g in sorted(rows):
        if first is not None and size + rows[g] > budget:
            batches.append((first, last))
            first, size = None, 0
        first, last, size = g if first is None else first, g, size + rows[g]
    return batches + ([(first, last)] if first is not None else [])


def _merge(out: Path, name: str, path: Path, *, budget: int | None = None) -> None:
    """Sum the partial tables of aggregate ``name`` batch by batch of groups into ``path``, sorted by its keys."""
    budget = budget or _MERGE_ROWS
    _, keys, aggs, _ = _aggregate_specs()[name]
    schema = AGGREGATE_SCHEMAS[name]
    dataset = ds.dataset(out / _PARTIALS / name, format="parquet", schema=schema)
    values = [n for _, _, n in aggs]

    def write(target: Path) -> None:
        with pq.ParquetWriter(target, schema, compression="zstd") as writer:
            batches = _group_batches(dataset, budget)
            if not batches:
                writer.write_table(schema.empty_table())
            for first, last in batches:
                group = pc.field("group")
                part = dataset.to_table(filter=(group >= first) & (group <= last))
                # string keys hashed as dictionary codes: about 20 % less peak memory on group_terms
                part = pa.table({c: part[c].dictionary_encode() if c in keys and pa.types.is_string(part[c].type)
                                 else part[c] for c in part.column_names})
                summed = part.group_by(keys, use_threads=False).aggregate([(v, "sum") for v in values])
                table = pa.table({**{k: summed[k] for k in keys}, **{v: summed[f"{v}_sum"] for v in values}})
                writer.write_table(table.cast(schema).sort_by([(k, "ascending") for k in keys]))
                del part, summed, table
                pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages otherwise

    _atomic_replace(write, path)


def aggregate(out: str | Path) -> dict[str, Path]:
    """(Re)compute the per-group aggregates of a finished run from its per-partition partial sums.

    Args:
        out: The run's output folder.

    Returns:
        Table name -> Parquet path under ``out/aggregates``.
    """
    out = Path(out)
    target = out / "aggregates"
    target.mkdir(exist_ok=True)
    paths = {}
    _backfill_sums(out)
    for name in AGGREGATES:
        paths[name] = target / f"{name}.parquet"
        _merge(out, name, paths[name])
    paths["doc_sentiment_small"] = target / "doc_sentiment_small.parquet"
    _small_groups_rows(out, paths["doc_sentiment_sums"], paths["doc_sentiment_small"])
    arguments = _read_manifest(out)["arguments"]
    paths["keyness"], paths["top_terms"] = target / "keyness.parquet", target / "top_terms.parquet"
    # runs made before schema 5 have no keyness arguments: the defaults, as their notebooks used
    _top_terms(paths["group_terms"], paths["groups"], paths["keyness"], paths["top_terms"],
               min_count=int(arguments.get("keyness_min_count", KEYNESS_MIN_COUNT)),
               top=int(arguments.get("keyness_top", KEYNESS_TOP)))
    paths["sample"] = target / "sample.parquet"
    ids = _merge_sample(out, paths["sample"], k=arguments["sample_k"], cap=arguments["sample_cap"])
    for name in SAMPLE_TABLES:
        # the text sections read these rows on every render: one scan here, not one per notebook
        paths[f"sample_{name}"] = target / f"sample_{name}.parquet"
        rows = ds.dataset(out / name, format="parquet", schema=SCHEMAS[name]).to_table(filter=pc.field("id").isin(ids))
        _write_table(rows, paths[f"sample_{name}"])
    return paths


def _backfill_sums(out: Path) -> None:
    """Write the ``doc_sentiment_sums`` partials a run made before schema 6 lacks, from its ``doc_sentiment`` files."""
    folder = out / _PARTIALS / "doc_sentiment_sums"
    folder.mkdir(parents=True, exist_ok=True)
    spec = _aggregate_specs()["doc_sentiment_sums"]
    for part in _finished(out):
        name = _part_name(part)
        if not (folder / f"{name}.parquet").exists():
            doc = pq.read_table(out / "doc_sentiment" / f"{name}.parquet", schema=SCHEMAS["doc_sentiment"])
            _write_table(_partial({"doc_voices": _doc_voices(doc)}, "doc_sentiment_sums", spec),
                         folder / f"{name}.parquet", row_group_size=1 << 15)


#: Rows per row group of ``doc_sentiment_small`` (at most, apart from one partition's rows).
_SMALL_ROW_GROUP = 1 << 16


def _small_groups_rows(out: Path, sums: Path, path: Path) -> None:
    """The ``doc_sentiment`` rows of every group and voice of at most ``BOOTSTRAP_MAX_DOCUMENTS`` documents.

    What the bootstrap over documents resamples (:class:`analysis.sentiment.DocumentSums`);
    larger groups need only their sums. Read one partition file at a time, so memory is
    one partition plus the output's keys; rows in partition order (each file sorted by
    group, id, voice). The bound is stored in the file's metadata (``max_documents``).
    """
    from analysis.sentiment import ALL_VOICES, BOOTSTRAP_MAX_DOCUMENTS

    keys = pq.read_table(sums, columns=["group", "voice", "documents"])
    keys = keys.filter(pc.and_(pc.not_equal(keys["voice"], ALL_VOICES),
                               pc.less_equal(keys["documents"], BOOTSTRAP_MAX_DOCUMENTS))).select(["group", "voice"])
    schema = SCHEMAS["doc_sentiment"].with_metadata(
        {b"outlet_lens": json.dumps({"max_documents": BOOTSTRAP_MAX_DOCUMENTS}).encode()})
    sort = [(k, "ascending") for k in ("group", "id", "voice")]

    def write(target: Path) -> None:
        with pq.ParquetWriter(target, schema, compression="zstd") as writer:
            # row groups of many partitions: one per partition (1,000 at a million documents) read 30x slower
            held: list[pa.Table] = []
            for f in sorted((out / "doc_sentiment").glob("part-*.parquet")) if len(keys) else []:
                rows = pq.read_table(f, schema=SCHEMAS["doc_sentiment"])
                rows = rows.join(keys, keys=["group", "voice"], join_type="left semi", use_threads=False)
                held.append(rows.select(schema.names).sort_by(sort).cast(schema))
                if sum(map(len, held)) >= _SMALL_ROW_GROUP:  # bounded memory: ~65k rows and one partition
                    writer.write_table(pa.concat_tables(held))
                    held = []
            if held:
                writer.write_table(pa.concat_tables(held))

    _atomic_replace(write, path)


#: Rows of ``group_terms`` per term bucket scored at once by :func:`_top_terms` (a few hundred MB at most).
_BUCKET_ROWS = 4 * _MERGE_ROWS
#: At most this many term buckets (files open at once); past it buckets grow beyond :data:`_BUCKET_ROWS`.
_MAX_BUCKETS = 256


def _term_bounds(pf: pq.ParquetFile, buckets: int) -> list[str]:
    """``buckets - 1`` increasing terms splitting the vocabulary into parts of about equal rows.

    Quantiles of the terms of a few row groups spread over the file (each holds whole groups' vocabularies):
    only the buckets' balance depends on them, never the results.
    """
    if buckets <= 1 or pf.metadata.num_row_groups == 0:
        return []
    picks = sorted({round(i * (pf.metadata.num_row_groups - 1) / 7) for i in range(8)})
    sample = pa.concat_arrays([pf.read_row_group(i, columns=["term"])["term"].combine_chunks().cast(_STR) for i in picks])
    sample = sample.take(pc.array_sort_indices(sample)).to_numpy(zero_copy_only=False)
    if not len(sample):
        return []
    return sorted({sample[len(sample) * i // buckets] for i in range(1, buckets)})


def _split_by_term(path: Path, folder: Path) -> list[Path]:
    """Copy ``group_terms`` into files of disjoint term ranges (each term's rows, all groups, in one file).

    One streamed pass; each file holds about :data:`_BUCKET_ROWS` rows, so scoring one at a
    time bounds memory whatever the corpus, with work linear in the rows.
    """
    pf = pq.ParquetFile(path)
    bounds = _term_bounds(pf, min(-(-pf.metadata.num_rows // _BUCKET_ROWS), _MAX_BUCKETS))
    schema = AGGREGATE_SCHEMAS["group_terms"]
    paths = [folder / f"bucket-{i:05d}.parquet" for i in range(len(bounds) + 1)]
    writers = [pq.ParquetWriter(p, schema, compression="none") for p in paths]  # read once, soon deleted
    try:
        for batch in pf.iter_batches(batch_size=_MERGE_ROWS):
            table = pa.Table.from_batches([batch]).cast(schema)
            bucket = np.zeros(len(table), dtype=np.int64)  # = searchsorted(bounds, term, "right"), in Arrow
            for bound in bounds:
                bucket += pc.greater_equal(table["term"], bound).to_numpy(zero_copy_only=False)
            for i, writer in enumerate(writers):
                writer.write_table(table.filter(pa.array(bucket == i)))
    finally:
        for writer in writers:
            writer.close()
    return paths


def _first_rows(codes: np.ndarray, top: int) -> np.ndarray:
    """Mask of the first ``top`` rows of each run of equal ``codes`` (rows sorted by code)."""
    row = np.arange(len(codes))
    start = np.maximum.accumulate(np.where(np.r_[True, codes[1:] != codes[:-1]], row, 0)) if len(codes) else row
    return row - start < top


def _score_bucket(part: pa.Table, labels: pa.Array, words: np.ndarray, n_all: float, *, min_count: int,
                  top: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Each group's first ``top`` keyness and frequency rows among the terms of one bucket (all their rows), and
    the bucket's terms seen at least ``min_count`` times."""
    from analysis.terms import ALPHA0, keyness_vs_rest, log_odds

    totals = part.group_by("term", use_threads=False).aggregate([("count", "sum")])
    unique = pc.index_in(part["term"], value_set=totals["term"]).to_numpy()
    total = totals["count_sum"].to_numpy()[unique]
    # term order (code points, as Python sorts) ranked over the distinct terms only
    rank = pc.rank(totals["term"], sort_keys="ascending").to_numpy()[unique]
    group = pc.index_in(part["group"], value_set=labels).to_numpy()  # code = position in the sorted labels
    count = part["count"].to_numpy()
    rows = np.arange(len(part))
    order = np.lexsort((rank, -count, group))
    order = order[_first_rows(group[order], top)]
    freq = pd.DataFrame({"group": group[order], "term": rows[order], "n": part["documents"].to_numpy()[order],
                         "count": count[order]})
    kept = np.flatnonzero(total >= min_count)
    # rank by the z-score alone (keyness_vs_rest's arithmetic, element by element), then score the rows kept
    n_t = words[group[kept]].astype(float)
    _, z = log_odds(count[kept].astype(float), n_t, (total[kept] - count[kept]).astype(float), n_all - n_t,
                    alpha_w=ALPHA0 * total[kept].astype(float) / max(n_all, 1.0), alpha0=ALPHA0)
    order = np.lexsort((rank[kept], -z, group[kept]))
    best = kept[order[_first_rows(group[kept][order], top)]]
    key = keyness_vs_rest(group[best], rows[best], count[best], total[best], words[group[best]], n_all, alpha0=ALPHA0)
    names, terms = labels.to_numpy(zero_copy_only=False), part["term"]
    for frame in (freq, key):
        frame["term"] = terms.take(pa.array(frame["term"].to_numpy(dtype=np.int64))).to_numpy(zero_copy_only=False)
        frame["group"] = names[frame["group"].to_numpy(dtype=np.int64)]
    return key, freq, int(pc.sum(pc.greater_equal(totals["count_sum"], min_count)).as_py() or 0)


def _top_terms(group_terms: Path, groups: Path, keyness_path: Path, top_path: Path, *, min_count: int,
               top: int) -> None:
    """Each group's ``top`` most distinctive terms against the rest, and its ``top`` most frequent terms.

    Exactly :func:`analysis.terms.keyness` (log-odds z with the informative Dirichlet
    prior, G², Log Ratio; ``min_count`` as there) and :func:`analysis.terms.frequencies`
    on the whole corpus, cut to each group's first rows, so notebooks need not read
    ``group_terms`` (which grows with the vocabulary). A group against the rest needs
    only its own counts, each term's corpus total and the word counts, so memory stays
    bounded: ``group_terms`` is split into term ranges (:func:`_split_by_term`), each
    holding every row of its terms, so each range gives its terms' totals and each
    group's best candidates among them; the candidates (at most ``top`` per group and
    range) are then cut to each group's ``top``. The settings are stored in the files'
    metadata (:meth:`Results.keyness_settings`).
    """
    from analysis.terms import ALPHA0

    sizes = pq.read_table(groups, columns=["group", "words"]).sort_by("group")
    labels, words = sizes["group"].combine_chunks().cast(_STR), sizes["words"].to_numpy()
    n_all = float(words.sum())
    keys, freqs, terms = [], [], 0
    with tempfile.TemporaryDirectory(prefix=".terms-", dir=group_terms.parent) as tmp:
        for path in _split_by_term(group_terms, Path(tmp)):
            part = pq.read_table(path)
            path.unlink()  # disk: one copy of group_terms at most
            if len(part):
                key, freq, n = _score_bucket(part, labels, words, n_all, min_count=min_count, top=top)
                keys.append(key)
                freqs.append(freq)
                terms += n
    meta = {"min_count": min_count, "top": top, "alpha0": ALPHA0, "groups": len(labels), "terms": terms}
    key = _head_per_group(_concat(keys, "keyness"), ["log_odds_z", "term"], [False, True], top)
    freq = _head_per_group(_concat(freqs, "top_terms"), ["count", "term"], [False, True], top)
    freq["words"] = freq["group"].map(dict(zip(labels.to_pylist(), words.tolist()))).astype("int64")
    freq["rate_per_1k"] = 1000.0 * freq["count"] / freq["words"].clip(lower=1)
    freq = freq[["group", "term", "n", "count", "rate_per_1k", "words"]]
    for frame, path in ((key, keyness_path), (freq, top_path)):
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        table = table.replace_schema_metadata({b"outlet_lens": json.dumps(meta).encode()})
        _atomic_replace(lambda p, t=table: pq.write_table(t, p, compression="zstd"), path)


def _head_per_group(frame: pd.DataFrame, by: list[str], ascending: list[bool], top: int) -> pd.DataFrame:
    """The first ``top`` rows of each group in the order ``by`` (``group`` first)."""
    frame = frame.sort_values(["group", *by], ascending=[True, *ascending], kind="stable")
    return frame.groupby("group", sort=False).head(top)


def _concat(frames: list[pd.DataFrame], name: str) -> pd.DataFrame:
    from analysis.terms import _KEYNESS_COLUMNS

    if frames:
        return pd.concat(frames, ignore_index=True)
    columns = _KEYNESS_COLUMNS if name == "keyness" else ["group", "term", "n", "count"]
    return pd.DataFrame({c: pd.Series([], dtype=object if c in ("group", "reference", "term") else
                                      "int64" if c.startswith(("count", "n")) else float) for c in columns})


def id_hash(doc_id: str) -> int:
    """A stable 64-bit hash of a document id (BLAKE2b): the sample's order, the same in every process."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def _sample_order(keys: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """``keys`` (id, group, hash) cut to each group's ``k`` smallest hashes, with their ``rank`` in the group."""
    keys = keys.sort_values(["group", "hash", "id"], kind="stable")
    keys = keys.assign(rank=keys.groupby("group", sort=False).cumcount())
    return keys[keys["rank"] < k]


def _merge_sample(out: Path, path: Path, *, k: int, cap: int) -> pa.Array:
    """Merge the partitions' sample candidates into the run's text sample; return the sampled ids.

    Bottom-k sampling (Cohen & Kaplan 2007): each group keeps the ``k`` documents with
    the smallest :func:`id_hash`, a uniform random sample within the group that is a
    function of the ids alone, so it is the same whatever the partitioning or engine
    (each partition keeps its own bottom-k, which contains its share of the global
    one). Over ``cap`` documents in all, groups are taken in rounds: every group's
    first document, then every group's second, and so on (within a round by hash), so
    small groups are never crowded out by large ones. Only the keys are read to
    choose; texts are read for the chosen documents only.
    """
    schema = SCHEMAS["sample"]
    dataset = ds.dataset(out / _PARTIALS / "sample", format="parquet", schema=schema)
    keys = _sample_order(dataset.to_table(columns=["id", "group", "hash"]).to_pandas(), k=k)
    chosen = keys.sort_values(["rank", "hash", "id"], kind="stable").head(cap)
    ids = pa.array(chosen["id"].tolist(), _STR)
    table = dataset.to_table(filter=pc.field("id").isin(ids))
    table = table.sort_by([("group", "ascending"), ("id", "ascending")])
    _write_table(table, path)
    return ids


# --------------------------------------------------------------------------- entry points


def run(
    corpus: str | Path,
    out: str | Path,
    *,
    group_by: str = "outlet",
    engine: str = "local",
    scheduler: Any = None,
    chunk_size: int = 1000,
    ngram_max: int = 1,
    workers: int | None = None,
    restart: bool = False,
    progress: bool | None = None,
    sample_k: int = SAMPLE_K,
    sample_cap: int = SAMPLE_CAP,
) -> RunSummary:
    """Analyse a corpus partition by partition; write per-document Parquet and per-group aggregates.

    Args:
        corpus: Any corpus the corpus module reads (JSONL, JSONL.gz, CSV, Parquet, folder).
        out: Output folder (created; an earlier run with the same arguments is resumed).
        group_by: Metadata column that groups documents (missing values -> ``"unknown"``).
        engine: ``"local"`` (this process) or ``"dask"``.
        scheduler: Dask scheduler address or ``distributed.Client``; default a LocalCluster.
        chunk_size: Documents per partition.
        ngram_max: Longest n-gram counted into ``terms/`` (1-3, as :func:`analysis.terms.dfm`).
        workers: LocalCluster workers (default: the CPUs this process may use).
        restart: Discard an earlier run in ``out`` made with different arguments.
        progress: Show a progress bar; ``None`` = only when stderr is a terminal.
        sample_k: Documents per group kept in the text sample (:meth:`Results.sample`).
        sample_cap: Documents kept in the text sample in all.

    Returns:
        A :class:`RunSummary`; its counts satisfy ``documents_in == analysed + rejected``.

    Raises:
        InputError: unreadable corpus, bad options, or ``out`` holding another run.
    """
    t0 = time.perf_counter()
    corpus, out = Path(corpus), Path(out)
    if engine not in ("local", "dask"):
        raise InputError(f"unknown engine {engine!r}; use 'local' or 'dask'")
    if chunk_size < 1:
        raise InputError(f"chunk size must be at least 1, not {chunk_size}")
    if not corpus.exists():
        raise InputError("corpus not found", source=str(corpus))
    if ngram_max not in (1, 2, 3):
        raise InputError(f"ngram_max must be 1, 2 or 3, not {ngram_max}")
    if sample_k < 0 or sample_cap < 0:
        raise InputError(f"sample sizes must be at least 0, not {sample_k} and {sample_cap}")
    arguments = _arguments(corpus, group_by=group_by, chunk_size=chunk_size, ngram_max=ngram_max,
                           sample_k=sample_k, sample_cap=sample_cap)
    done = _prepare(out, arguments, restart=restart)
    if done:
        log.info("resuming %s: %d partitions already finished", out, len(done))

    counts: dict[int, dict[str, int]] = dict(done)
    bar = _progress(None, enabled=progress)

    steps: dict[str, float] = {"read": 0.0, "write": 0.0}
    from analysis.corpus import _Builder

    # ids checked in the reader, texts in the writer; both sets on disk, so memory stays flat
    builder = _Builder(count_sentences=False, state=out / _STATE)

    def handle(part: int, result: PartitionResult | None) -> None:
        t = time.perf_counter()
        if result is None:  # finished earlier: only its texts for the duplicate check
            firsts = pq.read_table(out / _MARKERS / f"{_part_name(part)}.texts.parquet")
            for doc_id, outlet, digest in zip(*(firsts[c].to_pylist() for c in ("id", "outlet", "digest"))):
                builder.seen(doc_id, outlet, digest)
            _log_partition(done[part], part, resumed=True)
            bar.update(done[part]["documents_in"])
        else:
            _dedupe(result, builder)
            _write_partition(out, result)
            counts[result.part] = result.counts
            _log_partition(result.counts, result.part)
            bar.update(result.counts["documents_in"])
        steps["write"] += time.perf_counter() - t

    writer = _InOrder(handle)

    def chunks() -> Iterator[tuple[int, Any]]:
        reader = _read_chunks(corpus, chunk_size=chunk_size, group_by=group_by, builder=builder)
        while True:
            t = time.perf_counter()
            part, chunk = next(reader, (None, None))
            steps["read"] += time.perf_counter() - t
            if part is None:
                return
            writer.expect(part, finished=part in done)
            if part not in done:  # a resumed run neither cleans nor analyses finished partitions
                yield part, chunk

    try:
        options = {"group_by": group_by, "ngram_max": ngram_max, "sample_k": sample_k}
        if engine == "local":
            _run_local(chunks(), writer, **options)
        else:
            _run_dask(chunks(), writer, scheduler=scheduler, workers=workers, backlog=writer.backlog, **options)
        assert not writer.backlog(), "partitions left unwritten"
    finally:
        bar.close()
        builder.close()

    totals = {k: sum(c[k] for c in counts.values()) for k in ("documents_in", "analysed", "rejected", "sentences", "segments", "quotes")}
    # Every document read is either analysed or rejected: a mismatch is a bug, never a silent drop.
    assert totals["documents_in"] == totals["analysed"] + totals["rejected"], totals
    t = time.perf_counter()
    aggregate(out)
    steps["aggregate"] = time.perf_counter() - t
    for c in counts.values():
        for k, v in c.items():
            if k.startswith("seconds_"):
                steps[k[8:]] = steps.get(k[8:], 0.0) + v
    summary = RunSummary(out=out, partitions=len(counts), resumed_partitions=len(done), engine=engine,
                         seconds=round(time.perf_counter() - t0, 3),
                         step_seconds={k: round(v, 3) for k, v in steps.items()}, **totals)
    _write_json({"schema_version": SCHEMA_VERSION, "arguments": arguments, "complete": True,
                 "summary": {k: v for k, v in asdict(summary).items() if k not in ("out", "seconds", "engine", "step_seconds")}},
                out / "manifest.json")
    log.info("%s: %d documents in = %d analysed + %d rejected; %d partitions (%d resumed)", out,
             summary.documents_in, summary.analysed, summary.rejected, summary.partitions, summary.resumed_partitions)
    return summary


def cli_run(args: Any) -> int:
    """``python -m analysis run``: run the pipeline and print its counts as one JSON line."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    summary = run(args.corpus, args.out, group_by=args.group_by, engine=args.engine, scheduler=args.scheduler,
                  chunk_size=args.chunk_size, ngram_max=getattr(args, "ngram_max", 1),
                  workers=getattr(args, "workers", None), restart=getattr(args, "restart", False),
                  sample_k=SAMPLE_K if getattr(args, "sample_k", None) is None else args.sample_k,
                  sample_cap=SAMPLE_CAP if getattr(args, "sample_cap", None) is None else args.sample_cap)
    print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(summary).items()}))
    return 0


# --------------------------------------------------------------------------- per partition

#: Arrow schemas of the per-document tables: fixed, so empty partitions and nulls never
#: change a column's type and the partition files always read as one dataset.
_STR, _I32, _I64, _F64 = pa.string(), pa.int32(), pa.int64(), pa.float64()
SCHEMAS: dict[str, pa.Schema] = {
    "documents": pa.schema([
        ("id", _STR), ("group", _STR), ("outlet", _STR), ("date", _STR), ("title", _STR), ("words", _I64),
        ("n_paragraphs", _I32), ("n_sentences", _I32), ("n_quotes", _I32), ("n_removed", _I32),
        ("flags", pa.list_(_STR)), ("source", _STR)]),
    "sentences": pa.schema([
        ("id", _STR), ("group", _STR), ("sentence", _I32), ("paragraph", _I32), ("start", _I64), ("end", _I64),
        ("voice", _STR), ("speaker", _STR), ("compound", _F64), ("pos", _F64), ("neu", _F64), ("neg", _F64)]),
    "quotes": pa.schema([
        ("id", _STR), ("group", _STR), ("quote", _STR), ("kind", _STR), ("speaker", _STR), ("speaker_type", _STR),
        ("cue", _STR), ("paragraph", _I32), ("start", _I64), ("end", _I64), ("speaker_start", _I64),
        ("speaker_end", _I64)]),
    "terms": pa.schema([("id", _STR), ("group", _STR), ("term", _STR), ("count", _I64)]),
    "doc_sentiment": pa.schema([
        ("group", _STR), ("id", _STR), ("voice", _STR), ("segments", _I64), ("compound_sum", _F64),
        ("compound_mean", _F64), ("positive", _I64), ("negative", _I64)]),
    "rejects": pa.schema([("id", _STR), ("source", _STR), ("reason", _STR)]),
    "voice": pa.schema([("id", _STR), ("group", _STR), ("chars", _I64), ("quoted", _I64), ("reported", _I64),
                        ("own", _I64)]),
    # the text sample: what load_corpus gives, minus the raw text (its length instead);
    # removed = the removal log as JSON, meta = the other metadata columns as one JSON object
    "sample": pa.schema([
        ("id", _STR), ("group", _STR), ("hash", pa.uint64()), ("outlet", _STR), ("date", _STR), ("title", _STR),
        ("text", _STR), ("removed", _STR), ("flags", pa.list_(_STR)), ("n_paragraphs", _I32),
        ("n_sentences", _I32), ("n_words", _I64), ("raw_chars", _I64), ("dateline", _STR),
        ("dateline_place", _STR), ("dateline_agency", _STR), ("section", _STR), ("stamp", _STR),
        ("source", _STR), ("meta", _STR)]),
}
#: Arrow schemas of the per-group aggregates, and of their per-partition partial sums.
AGGREGATE_SCHEMAS: dict[str, pa.Schema] = {
    "groups": pa.schema([("group", _STR), ("documents", _I64), ("words", _I64), ("sentences", _I64), ("quotes", _I64)]),
    "group_terms": pa.schema([("group", _STR), ("term", _STR), ("count", _I64), ("documents", _I64)]),
    "group_sentiment": pa.schema([
        ("group", _STR), ("voice", _STR), ("segments", _I64), ("compound_sum", _F64), ("compound_sumsq", _F64),
        ("positive", _I64), ("negative", _I64), ("documents", _I64)]),
    "group_quotes": pa.schema([("group", _STR), ("kind", _STR), ("quotes", _I64)]),
    "group_speakers": pa.schema([
        ("group", _STR), ("speaker", _STR), ("speaker_type", _STR), ("quotes", _I64), ("documents", _I64)]),
    "group_voice": pa.schema([("group", _STR), ("documents", _I64), ("chars", _I64), ("quoted", _I64),
                              ("reported", _I64), ("own", _I64)]),
    "doc_sentiment": SCHEMAS["doc_sentiment"],
    "doc_sentiment_sums": pa.schema([
        ("group", _STR), ("voice", _STR), ("documents", _I64), ("segments", _I64), ("segments_sq", _I64),
        ("compound_sum", _F64), ("compound_sum_sq", _F64), ("compound_sum_x", _F64),
        ("positive", _I64), ("positive_sq", _I64), ("positive_x", _I64),
        ("negative", _I64), ("negative_sq", _I64), ("negative_x", _I64)]),
}


def _frame(name: str, rows: list[dict[str, Any]] | dict[str, Any]) -> pd.DataFrame:
    """A table with exactly the columns of ``SCHEMAS[name]``, in order."""
    cols = SCHEMAS[name].names
    frame = pd.DataFrame(rows) if not isinstance(rows, list) or rows else pd.DataFrame(columns=cols)
    for c in cols:
        if c not in frame.columns:
            frame[c] = None
    return frame[cols]


def _group_value(doc: dict[str, Any], group_by: str) -> str:
    v = doc.get(group_by)
    if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
        return "unknown"
    return str(v).strip()


def _error(step: str, exc: BaseException) -> str:
    return f"{step} failed: {type(exc).__name__}: {exc}"[:500]


def _quotes(text: str, sentences: list[Any]) -> list[Any]:
    from analysis.quotes import extract_quotes

    return extract_quotes(text, sentences=sentences)


def _quote_rows(doc_id: str, group: str, quotes: list[Any]) -> list[dict[str, Any]]:
    return [{"id": doc_id, "group": group, "quote": q.text, "kind": q.kind, "speaker": q.speaker,
             "speaker_type": q.speaker_type, "cue": q.cue, "paragraph": q.paragraph, "start": q.start, "end": q.end,
             "speaker_start": q.speaker_start, "speaker_end": q.speaker_end}
            for q in quotes]


def _term_rows(documents: pd.DataFrame, *, ngram_max: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Sparse ``(id, group, term, count)`` triples of a partition (terms module's ``dfm``), and words per document."""
    from analysis.terms import dfm

    if documents.empty:
        return _frame("terms", []), {}
    d = dfm(documents[["id", "group", "text"]], ngram_max=ngram_max)
    coo = d.matrix.tocoo()  # rows in document order, columns sorted within a row
    terms = pd.DataFrame({
        "id": d.doc_ids[coo.row], "group": documents["group"].to_numpy(dtype=object)[coo.row],
        "term": d.terms[coo.col], "count": coo.data.astype("int64"),
    })
    return terms, dict(zip(d.doc_ids, d.n_words.tolist()))


def _voice_rows(documents: pd.DataFrame, quotes: dict[str, list[Any]]) -> pd.DataFrame:
    """Non-space characters per document in each voice (:func:`analysis.quotes.voice_counts`), from the quotes found."""
    from analysis.quotes import voice_counts

    rows = []
    for doc_id, group, text in zip(documents["id"], documents["group"], documents["text"]):
        own, reported, quoted = voice_counts(text, quotes[doc_id])
        rows.append({"id": doc_id, "group": group, "chars": own + reported + quoted, "quoted": quoted,
                     "reported": reported, "own": own})
    return _frame("voice", rows)


def _sample_rows(docs: list[dict[str, Any]], documents: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """A partition's text-sample candidates: per group, the ``k`` analysed documents of smallest :func:`id_hash`.

    Cheap: one hash per document and a sort; the merge is :func:`_merge_sample`.
    """
    if k < 1 or documents.empty:
        return _frame("sample", [])
    keys = documents[["id", "group", "n_sentences"]].assign(hash=[id_hash(i) for i in documents["id"]])
    keys = _sample_order(keys, k=k)
    by_id = {d["id"]: d for d in docs}
    fixed = set(SCHEMAS["sample"].names) | {"raw_text", "n_removed", "text"}
    rows = []
    for doc_id, group, n_sentences, h in keys[["id", "group", "n_sentences", "hash"]].itertuples(index=False):
        d = by_id[doc_id]
        rows.append({
            **{c: d.get(c) for c in SCHEMAS["sample"].names}, "group": group, "hash": h, "n_sentences": n_sentences,
            "removed": json.dumps(d.get("removed") or [], ensure_ascii=False),
            "flags": list(d.get("flags") or []),
            "meta": json.dumps({c: v for c, v in d.items() if c not in fixed}, ensure_ascii=False, default=str),
        })
    frame = _frame("sample", rows)
    for c in ("date", "dateline", "dateline_place", "dateline_agency", "section", "stamp"):
        frame[c] = [None if v is None or v != v else str(v) for v in frame[c]]
    return frame


def _sentence_frame(documents: pd.DataFrame, quotes: dict[str, list[Any]],
                    split: dict[str, list[Any]]) -> tuple[pd.DataFrame, dict[str, int], dict[str, str]]:
    """Sentence sentiment with voice for a partition, sentences per document, and the documents that failed (id -> reason).

    The whole partition is scored in one call, reusing the quotes already found (the
    voice split needs them); only if that raises is each document scored alone, to
    find and reject the one that fails. The sentence split made for scoring also
    gives ``n_sentences``, so the corpus reader need not split the texts a second time.
    """
    from analysis.sentiment import _score

    def score(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
        rows, n = _score(frame[["id", "text"]], quotes=quotes, sentences=split)
        return rows.assign(group=rows["id"].map(dict(zip(frame["id"], frame["group"])))), n

    if documents.empty:
        return _frame("sentences", []), {}, {}
    try:
        return *score(documents), {}
    except Exception:
        parts, counts, failed = [], {}, {}
        for i in range(len(documents)):
            try:
                rows, n = score(documents.iloc[i:i + 1])
                parts.append(rows)
                counts.update(n)
            except Exception as exc:
                failed[documents["id"].iat[i]] = _error("sentiment", exc)
        return (pd.concat(parts, ignore_index=True) if parts else _frame("sentences", [])), counts, failed


def process_partition(chunk: list[Any], *, part: int, group_by: str, ngram_max: int = 1,
                      sample_k: int = SAMPLE_K) -> PartitionResult:
    """Clean and analyse one partition of raw records; a failing document becomes a reject, never a crash.

    Cleaning runs here (on the Dask workers, and not again for the finished partitions
    of a resumed run); the duplicate-text check needs the corpus order and is applied
    by the client when it writes the partition (:func:`_dedupe`).

    Args:
        chunk: Input records in order, each ``(record, source, flags)`` from
            :func:`analysis.corpus.iter_records` that passed the id checks, or the
            rejection ``{"id", "source", "reason"}`` of one that did not.
        part: Partition number (names the output files).
        group_by: Column whose value groups documents (missing -> ``"unknown"``).
        ngram_max: Longest n-gram counted (as :func:`analysis.terms.dfm`).
        sample_k: Text-sample candidates kept per group (:func:`_sample_rows`).

    Returns:
        Tables ``documents, sentences, quotes, terms, rejects, sample`` (:data:`SCHEMAS`) and
        counts, rows in input order.
    """
    from analysis.corpus import build_document, text_digest
    from analysis.segment import sentences

    t0 = time.perf_counter()
    # "order" keeps the reader's order of rejects: reading and cleaning first, then analysis steps
    rejects: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    texts: list[tuple[str, str, bytes, int]] = []
    for k, item in enumerate(chunk):
        if isinstance(item, tuple):
            rec, source, flags = item
            item = build_document(rec, source, flags, count_sentences=False)
            if "reason" not in item:
                docs.append(_slim(item))
                texts.append((item["id"], item["outlet"], text_digest(item["text"]), k))
                continue
        rejects.append({"id": item.get("id"), "source": item.get("source"), "reason": item.get("reason"), "order": k})
    position = {t[0]: t[3] for t in texts}
    kept: list[dict[str, Any]] = []
    quotes: dict[str, list[Any]] = {}
    quote_rows: dict[str, list[dict[str, Any]]] = {}
    clock = {"clean": t0, "quotes": time.perf_counter()}
    split: dict[str, list[Any]] = {}  # sentence spans, made once for quotes and sentiment
    for doc in docs:
        doc_id, group = doc["id"], _group_value(doc, group_by)
        try:
            split[doc_id] = sentences(doc["text"])
            quotes[doc_id] = _quotes(doc["text"], split[doc_id])
            quote_rows[doc_id] = _quote_rows(doc_id, group, quotes[doc_id])
        except Exception as exc:  # one bad document must not stop a million-document run
            rejects.append({"id": doc_id, "source": doc.get("source"), "reason": _error("quotes", exc),
                            "order": _STEP * 1 + position[doc_id]})
            continue
        kept.append({"id": doc_id, "group": group, "outlet": doc.get("outlet"), "date": doc.get("date"),
                     "title": doc.get("title"), "n_paragraphs": doc.get("n_paragraphs"),
                     "n_sentences": doc.get("n_sentences"), "n_quotes": len(quotes[doc_id]),
                     "n_removed": doc.get("n_removed", 0), "flags": list(doc.get("flags") or []),
                     "source": doc.get("source"), "text": doc["text"]})
    documents = pd.DataFrame(kept, columns=[*SCHEMAS["documents"].names, "text"])
    clock["sentiment"] = time.perf_counter()
    sentence_rows, n_sentences, failed = _sentence_frame(documents, quotes, split)
    if failed:
        rejects += [{"id": d["id"], "source": d["source"], "reason": failed[d["id"]], "order": _STEP * 2 + position[d["id"]]}
                    for d in kept if d["id"] in failed]
        documents = documents[~documents["id"].isin(failed)].reset_index(drop=True)
    documents["n_sentences"] = documents["id"].map(n_sentences).astype("int64")
    clock["terms"] = time.perf_counter()
    terms, words = _term_rows(documents, ngram_max=ngram_max)
    clock["tables"] = time.perf_counter()
    documents["words"] = documents["id"].map(words).fillna(0).astype("int64")
    tables = {
        "documents": _frame("documents", documents.drop(columns="text")),
        "sentences": _frame("sentences", sentence_rows),
        "quotes": _frame("quotes", [q for doc_id in documents["id"] for q in quote_rows[doc_id]]),
        "terms": _frame("terms", terms),
        "rejects": pd.DataFrame(rejects, columns=[*SCHEMAS["rejects"].names, "order"]),
    }
    tables["voice"] = _voice_rows(documents, quotes)
    tables["sample"] = _sample_rows(docs, tables["documents"], k=sample_k)
    counts = {"documents_in": len(chunk), **_counts(tables), "seconds": round(time.perf_counter() - t0, 3)}
    # seconds per step, for the log and the benchmark: where a partition's time goes
    ends = [*list(clock.values())[1:], time.perf_counter()]
    counts.update({f"seconds_{k}": round(e - b, 3) for (k, b), e in zip(clock.items(), ends)})
    return PartitionResult(part=part, tables=tables, counts=counts, texts=texts)


#: Order offsets of rejects by step (reading/cleaning < quotes < sentiment), as the old serial reader had them.
_STEP = 1 << 32


def _counts(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    return {"analysed": len(tables["documents"]), "rejected": len(tables["rejects"]),
            "sentences": int(tables["documents"]["n_sentences"].sum()), "segments": len(tables["sentences"]),
            "quotes": len(tables["quotes"]), "terms": len(tables["terms"])}


def _dedupe(result: PartitionResult, builder: Any) -> None:
    """Apply the corpus reader's duplicate-text check to a partition, in corpus order (in place).

    A copy of an earlier text at the same outlet becomes a reject (its rows leave every
    table), a copy at another outlet is flagged ``duplicate_text_of:ID``: exactly what
    :func:`analysis.corpus.iter_documents` does, but after cleaning on the workers.
    """
    tables, firsts, drop, flags = result.tables, [], {}, {}
    sources = {}
    for doc_id, outlet, digest, k in result.texts:
        verdict = builder.seen(doc_id, outlet, digest)
        if verdict is None:
            firsts.append((doc_id, outlet, digest))
        elif verdict[1]:
            drop[doc_id] = (k, f"duplicate text of {verdict[0]} (same outlet)")
        else:
            flags[doc_id] = f"duplicate_text_of:{verdict[0]}"
    result.firsts, result.texts = firsts, []
    if drop or flags:
        docs = tables["documents"]
        sources = dict(zip(docs["id"], docs["source"]))
        rej = tables["rejects"]
        for doc_id in drop:  # never analysed by the serial reader: an analysis failure of a copy is moot
            if doc_id not in sources:
                sources[doc_id] = rej.loc[rej["id"] == doc_id, "source"].iat[0]
        rej = rej[~rej["id"].isin(drop)]
        new = pd.DataFrame([{"id": i, "source": sources[i], "reason": r, "order": k} for i, (k, r) in drop.items()],
                           columns=rej.columns)
        tables["rejects"] = pd.concat([rej, new], ignore_index=True) if len(rej) else new
        for name in ("documents", "sentences", "quotes", "terms", "voice", "sample"):
            tables[name] = tables[name][~tables[name]["id"].isin(drop)].reset_index(drop=True)
        for name in ("documents", "sample") if flags else ():
            docs = tables[name]
            docs["flags"] = [list(f) + [flags[i]] if i in flags else f for i, f in zip(docs["id"], docs["flags"])]
        result.counts.update(_counts(tables))
    rej = tables["rejects"].sort_values("order", kind="stable")
    tables["rejects"] = _frame("rejects", rej.drop(columns="order").reset_index(drop=True))


class _InOrder:
    """Hands partition results to ``handle`` in partition order (Dask completes them in any order)."""

    def __init__(self, handle: Callable[[int, PartitionResult | None], None]) -> None:
        from collections import deque

        self.handle, self.queue, self.ready = handle, deque(), {}

    def expect(self, part: int, *, finished: bool = False) -> None:
        self.queue.append(part)
        if finished:
            self.ready[part] = None
        self._flush()

    def __call__(self, result: PartitionResult) -> None:
        self.ready[result.part] = result
        self._flush()

    def backlog(self) -> int:
        return sum(r is not None for r in self.ready.values())

    def _flush(self) -> None:
        while self.queue and self.queue[0] in self.ready:
            part = self.queue.popleft()
            self.handle(part, self.ready.pop(part))


def _slim(doc: dict[str, Any]) -> dict[str, Any]:
    """What a partition needs of a reader document: drops the raw text (its length is kept for the sample)."""
    out = {k: v for k, v in doc.items() if k != "raw_text"}
    out["n_removed"] = len(doc.get("removed") or ())
    out["raw_chars"] = len(doc.get("raw_text") or "")
    return out


def _read_chunks(corpus: Path, *, chunk_size: int, group_by: str, builder: Any) -> Iterator[tuple[int, list[Any]]]:
    """``(partition number, records)``: raw records with the id checks done (serial, cheap), not cleaned."""
    from analysis.corpus import COLUMNS, iter_records

    part, items = 0, []
    for rec, source, flags in iter_records(corpus, chunk_size=chunk_size):
        rejected = builder.check(rec, source)
        items.append((rec, source, flags) if rejected is None else rejected)
        if len(items) >= chunk_size:
            yield part, _checked(items, group_by, corpus, part)
            part, items = part + 1, []
    if items:
        yield part, _checked(items, group_by, corpus, part)


def _checked(items: list[Any], group_by: str, corpus: Path, part: int) -> list[Any]:
    from analysis.corpus import COLUMNS

    records = [t[0] for t in items if isinstance(t, tuple)]
    if part == 0 and records and group_by not in COLUMNS and not any(group_by in r for r in records):
        columns = sorted(set(COLUMNS) | set(records[0]))
        raise InputError(f"no column {group_by!r} to group by; columns: {', '.join(columns)}", source=str(corpus))
    return items


# --------------------------------------------------------------------------- reading results


@dataclass(frozen=True)
class Results:
    """A finished run's tables, read lazily from its Parquet files (for notebooks and the report).

    Per-group aggregates are small whatever the corpus size; per-document tables are
    read with only the requested ``columns`` (and ``filters``, Arrow predicates such as
    ``[("group", "in", ["A", "B"])]``), so a notebook never loads a million documents
    to show ten.
    """

    out: Path

    def table(self, name: str, *, columns: list[str] | None = None, filters: Any = None) -> pd.DataFrame:
        """A per-document table (``documents, sentences, quotes, terms, doc_sentiment, rejects``) or an
        aggregate (``groups, group_terms, group_sentiment, group_quotes, group_speakers, group_voice``; since schema 5
        ``keyness, top_terms``: see :meth:`keyness`, :meth:`frequencies`; since schema 6 ``doc_sentiment_sums,
        doc_sentiment_small``: see :meth:`sentiment_sums`). ``sentences`` or ``quotes`` filtered to
        ``[("id", "in", ids)]`` of sampled documents are read from the run's copy of the sample's rows."""
        path = self.out / name if name in TABLES else self.out / "aggregates" / f"{name}.parquet"
        if not path.exists():
            raise InputError(f"no table {name!r} in this run", source=str(self.out))
        if name in SAMPLE_TABLES and self._in_sample(filters):
            path = self.out / "aggregates" / f"sample_{name}.parquet"  # same rows, same order, no scan of every document
        if name in TABLES:
            return ds.dataset(path, format="parquet", schema=SCHEMAS[name]).to_table(
                columns=columns, filter=pq.filters_to_expression(filters) if filters else None).to_pandas()
        return pd.read_parquet(path, columns=columns, filters=filters)

    def _in_sample(self, filters: Any) -> bool:
        """Whether ``filters`` is ``[("id", "in", ids)]`` with every id in the text sample (and the run stores its rows)."""
        if not (isinstance(filters, list) and len(filters) == 1 and isinstance(filters[0], tuple)
                and len(filters[0]) == 3 and filters[0][:2] == ("id", "in")):
            return False
        if not all((self.out / "aggregates" / f"sample_{n}.parquet").exists() for n in SAMPLE_TABLES):
            return False  # a run aggregated before these files existed
        sampled = set(pq.read_table(self.out / "aggregates" / "sample.parquet", columns=["id"]).column("id").to_pylist())
        return set(filters[0][2]) <= sampled

    def _group_terms(self, *, min_count: int = 1) -> pa.Table:
        """``group_terms`` without the terms seen fewer than ``min_count`` times in all, filtered in Arrow.

        Most n-grams of a large corpus occur once: dropping them before pandas sees the
        table keeps notebooks fast (the aggregate grows with the vocabulary).
        """
        terms = pq.read_table(self.out / "aggregates" / "group_terms.parquet")
        if min_count > 1:
            totals = terms.group_by("term", use_threads=False).aggregate([("count", "sum")])
            keep = totals.filter(pc.greater_equal(totals["count_sum"], min_count))["term"]
            terms = terms.filter(pc.is_in(terms["term"], value_set=keep))
        return terms

    def frequencies(self, *, min_count: int = 1, top: int | None = None) -> pd.DataFrame:
        """Term counts per group, as :func:`analysis.terms.frequencies` gives them for the whole corpus.

        Args:
            min_count: Drop terms seen fewer times in the whole corpus.
            top: Keep each group's ``top`` first rows: read from the run's ``top_terms``
                aggregate when it holds them (``min_count=1``, ``top`` at most its
                :meth:`keyness_settings` ``top``), else chosen in Arrow from ``group_terms``.

        Returns:
            ``group, term, n, count, rate_per_1k, words`` sorted by group, count desc, term.
        """
        import numpy as np

        settings = self.keyness_settings()
        if min_count <= 1 and top is not None and settings is not None and top <= settings["top"]:
            stored = pd.read_parquet(self.out / "aggregates" / "top_terms.parquet")
            return stored.groupby("group", sort=False).head(top).reset_index(drop=True)
        terms = self._group_terms(min_count=min_count).sort_by(
            [("group", "ascending"), ("count", "descending"), ("term", "ascending")])
        if top is not None and len(terms):
            codes = pc.dictionary_encode(terms["group"]).combine_chunks().indices.to_numpy()
            row = np.arange(len(codes))
            first = np.maximum.accumulate(np.where(np.r_[True, codes[1:] != codes[:-1]], row, 0))
            terms = terms.filter(pa.array(row - first < top))
        words = self.table("groups").set_index("group")["words"]
        out = terms.to_pandas().rename(columns={"documents": "n"})
        out["words"] = out["group"].map(words).astype("int64")
        out["rate_per_1k"] = 1000.0 * out["count"] / out["words"].clip(lower=1)
        out = out[["group", "term", "n", "count", "rate_per_1k", "words"]]
        return out.reset_index(drop=True)

    def keyness_settings(self) -> dict[str, Any] | None:
        """``min_count, top, alpha0, groups, terms`` of the run's keyness aggregate (``terms``: terms scored, those
        seen at least ``min_count`` times), or ``None`` for a run aggregated before it existed."""
        path = self.out / "aggregates" / "keyness.parquet"
        if not path.exists():
            return None
        return json.loads(pq.read_schema(path).metadata[b"outlet_lens"])

    def keyness(self, *, min_count: int | None = None, top: int | None = None) -> pd.DataFrame:
        """Each group's ``top`` most distinctive terms against the rest: :func:`analysis.terms.keyness` on the whole
        corpus, first rows per group.

        Read from the run's ``keyness`` aggregate (computed once by :func:`aggregate`) when it
        holds them: ``min_count`` equal to the run's and ``top`` at most the run's (see
        :meth:`keyness_settings`; ``None`` = the run's). Otherwise (other settings, or a run
        aggregated before schema 5) computed here from ``group_terms``, as exact but with
        time and memory growing with the vocabulary; rerun :func:`aggregate` on an older run
        to store it.

        Returns:
            The columns of :func:`analysis.terms.keyness` (``group``, ``reference``, ``term`` as
            strings), sorted by group, z-score desc, term.
        """
        settings = self.keyness_settings()
        if settings is not None and min_count in (None, settings["min_count"]) and (top or 0) <= settings["top"]:
            stored = pd.read_parquet(self.out / "aggregates" / "keyness.parquet")
            return stored.groupby("group", sort=False).head(top or settings["top"]).reset_index(drop=True)
        from analysis.terms import keyness

        min_count = KEYNESS_MIN_COUNT if min_count is None else min_count
        log.info("%s: keyness computed from group_terms (min_count=%d, top=%s): no stored aggregate holds it",
                 self.out, min_count, top)
        key = keyness(self.dfm(min_count=min_count), group_by="group", min_count=min_count)
        key = key.astype({"group": str, "reference": str, "term": str})
        return key.groupby("group", sort=False).head(top or KEYNESS_TOP).reset_index(drop=True)

    def dfm(self, *, min_count: int = 1) -> Any:
        """A groups x terms :class:`analysis.terms.DocumentTermMatrix` (one row per group).

        :func:`analysis.terms.keyness` on it with ``group_by="group"`` gives exactly the
        keyness of the whole corpus, since keyness uses only per-group sums.
        """
        import numpy as np
        import scipy.sparse as sp

        from analysis.terms import DocumentTermMatrix

        terms = self._group_terms(min_count=min_count)
        groups = self.table("groups").sort_values("group")
        labels = groups["group"].to_numpy(dtype=object)
        # indices in Arrow: UTF-8 byte order is code point order, so the vocabulary sorts as Python sorts it
        vocab = pc.unique(terms["term"]) if len(terms) else pa.array([], _STR)
        vocab = vocab.take(pc.array_sort_indices(vocab))
        row = pc.index_in(terms["group"], value_set=pa.array(labels.tolist(), _STR)).to_numpy()
        col = pc.index_in(terms["term"], value_set=vocab).to_numpy()
        vocab = np.array(vocab.to_pylist(), dtype=object)
        matrix = sp.csr_matrix((terms["count"].to_numpy().astype(np.int64), (row, col)),
                               shape=(len(labels), len(vocab)))
        matrix.sort_indices()
        return DocumentTermMatrix(matrix=matrix, doc_ids=labels, terms=vocab,
                                  docvars=pd.DataFrame({"group": labels}),
                                  n_words=groups["words"].to_numpy(dtype=np.int64),
                                  ngram_max=int(self.manifest()["arguments"]["ngram_max"]))

    def sentiment_sums(self, *, max_documents: int | None = None) -> DocumentSums:
        """``doc_sentiment`` as the intervals over documents need it: per-group sums, and the rows of small groups.

        An :class:`analysis.sentiment.DocumentSums` for
        :func:`analysis.sentiment.voice_summary_by_document` and
        :func:`~analysis.sentiment.compare_groups_by_document`, which give with it what they
        give with every row (to float rounding), at a cost that grows with the groups, not
        the documents. Read from the run's ``doc_sentiment_sums`` and ``doc_sentiment_small``
        aggregates; the rows of groups larger than those hold, when ``max_documents`` asks
        for them, are read from ``doc_sentiment`` (only those groups). A run aggregated
        before schema 6 has neither: the sums are made here from every row, as exact but
        growing with the documents; rerun :func:`aggregate` on it to store them.

        Args:
            max_documents: Largest groups the functions may bootstrap (their ``max_documents``);
                default :data:`analysis.sentiment.BOOTSTRAP_MAX_DOCUMENTS`.
        """
        from analysis.sentiment import BOOTSTRAP_MAX_DOCUMENTS, DocumentSums, document_sums

        max_documents = BOOTSTRAP_MAX_DOCUMENTS if max_documents is None else max_documents
        sums, small = (self.out / "aggregates" / f"{n}.parquet" for n in ("doc_sentiment_sums", "doc_sentiment_small"))
        if not (sums.exists() and small.exists()):
            log.info("%s: sentiment sums computed from every doc_sentiment row: the run was aggregated before they "
                     "were stored; rerun analysis.pipeline.aggregate on it to store them", self.out)
            return document_sums(self.table("doc_sentiment"), max_documents=max_documents)
        moments = pd.read_parquet(sums)
        rows = pd.read_parquet(small)
        stored = json.loads(pq.read_schema(small).metadata[b"outlet_lens"])["max_documents"]
        if max_documents > stored:  # groups beyond the stored rows: read theirs, and only theirs
            docs = moments["documents"]
            more = sorted(moments.loc[(docs > stored) & (docs <= max_documents), "group"].unique())
            if more:
                rows = pd.concat([rows[~rows["group"].isin(more)],
                                  self.table("doc_sentiment", filters=[("group", "in", more)])], ignore_index=True)
        return DocumentSums(moments, rows, max_documents)

    def manifest(self) -> dict[str, Any]:
        """The run's manifest: arguments, completeness and counts."""
        return _read_manifest(self.out)

    def sample(self, *, groups: list[str] | None = None) -> pd.DataFrame:
        """The run's text sample (of ``groups`` only, if given), shaped like :func:`analysis.corpus.load_corpus` output.

        Per group the documents of smallest id hash (see :func:`_merge_sample`); the
        whole corpus when it is small. Columns :data:`analysis.corpus.COLUMNS` (``raw_text``
        is None; ``raw_chars`` holds its length) then the metadata columns and ``group``,
        sorted by id. ``attrs``: ``rejected`` (the run's rejects), ``sampled`` and
        ``documents`` (documents in the sample and analysed in the run).
        """
        from analysis.corpus import COLUMNS, REJECTED_COLUMNS

        # built from records as load_corpus builds its frame, so the column types are the same
        rows = pq.read_table(self.out / "aggregates" / "sample.parquet",
                             filters=None if groups is None else [("group", "in", list(groups))]).to_pylist()
        for row in rows:
            meta = json.loads(row.pop("meta"))
            row.update({k: v for k, v in meta.items() if k not in row}, removed=json.loads(row["removed"]), raw_text=None)
            del row["hash"]
        docs = pd.DataFrame(rows)
        if docs.empty:
            docs = pd.DataFrame(columns=[*COLUMNS, "group", "raw_chars"])
        extra = [c for c in docs.columns if c not in COLUMNS]
        docs = docs[list(COLUMNS) + extra].sort_values("id", kind="stable").reset_index(drop=True)
        docs.attrs["rejected"] = self.table("rejects").reindex(columns=list(REJECTED_COLUMNS))
        docs.attrs["sampled"] = len(docs)
        docs.attrs["documents"] = int(self.manifest()["summary"]["analysed"])
        return docs

    def sample_note(self) -> str:
        """One line saying what the sections marked *(text sample)* read: the whole corpus, or a sample of it."""
        n = len(pd.read_parquet(self.out / "aggregates" / "sample.parquet", columns=["id"]))
        total = int(self.manifest()["summary"]["analysed"])
        if n >= total:
            return f"Sections marked (text sample) read all {total:,} documents: the sample is the whole corpus."
        return (f"Sections marked (text sample) read a sample of {n:,} of {total:,} documents: per group, those "
                "of smallest id hash (uniform and reproducible); all other sections count every document.")

    def largest_groups(self, n: int = 12) -> list[str]:
        """The ``n`` groups with most documents (ties by name), sorted by name: what figures show of many groups."""
        groups = self.table("groups", columns=["group", "documents"])
        top = groups.sort_values(["documents", "group"], ascending=[False, True], kind="stable").head(n)
        return sorted(top["group"])


def _arguments(corpus: Path, *, group_by: str, chunk_size: int, ngram_max: int, sample_k: int,
               sample_cap: int) -> dict[str, Any]:
    """A run's identity, recorded in its manifest: a rerun must have the same."""
    return {"corpus": _fingerprint(corpus.resolve()), "group_by": group_by, "chunk_size": chunk_size,
            "ngram_max": ngram_max, "sample_k": sample_k, "sample_cap": sample_cap,
            "keyness_min_count": KEYNESS_MIN_COUNT, "keyness_top": KEYNESS_TOP, "schema_version": SCHEMA_VERSION}


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of what decides a run's results: the package's code and resources and the lexicons.

    Part of :func:`results_for`'s cache key, so results made by an older version of the
    analysis are never reused silently after an upgrade or an edited lexicon.
    """
    from analysis.config import LEXICON, PACKAGE_DIR

    digest = hashlib.blake2b(digest_size=8)
    for root in (PACKAGE_DIR, LEXICON):
        files = sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for f in files:
            digest.update(f"{f.relative_to(root)}\0".encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def results_for(corpus: str | Path | None = None, *, group_by: str = "outlet", ngram_max: int = REPORT_NGRAM_MAX,
                chunk_size: int = 1000, sample_k: int = SAMPLE_K, sample_cap: int = SAMPLE_CAP,
                cache: str | Path | None = None, progress: bool | None = False) -> Results:
    """The pipeline's results for a corpus: a finished run is reused, an unfinished one resumed, else one is run.

    The run goes to a folder of ``cache`` named from the corpus fingerprint (path,
    sizes, modification times, and those of a folder's metadata table), the
    arguments and :func:`code_version`, so an edited corpus, other arguments or
    another version of the analysis get a new run. Quiet by default (no
    progress bar; log lines only where logging is configured), for notebooks.

    Args:
        corpus: Any corpus :func:`run` reads; ``None`` = the seed corpus (``data/raw``
            with ``data/metadata.csv``).
        group_by, ngram_max, chunk_size, sample_k, sample_cap: As :func:`run`.
        cache: Folder of cached runs (default ``data/processed/runs``).
        progress: As :func:`run` (default off: notebooks show no bar).

    Returns:
        The finished run's :class:`Results`.
    """
    from analysis.config import METADATA, RAW
    from analysis.corpus import _find_metadata

    path = Path(RAW if corpus is None else corpus).expanduser()
    if not path.exists():
        raise InputError("corpus not found", source=str(path))
    arguments = _arguments(path, group_by=group_by, chunk_size=chunk_size, ngram_max=ngram_max,
                           sample_k=sample_k, sample_cap=sample_cap)
    meta = (METADATA if corpus is None else _find_metadata(path, None)) if path.is_dir() else None
    key = json.dumps([arguments, meta and _fingerprint(Path(meta).resolve()), code_version()], sort_keys=True)
    # the slot is the corpus path and the options; the key adds the corpus's and the
    # code's versions: a slot keeps one run, the latest
    slot = json.dumps([str(path.resolve()), {k: v for k, v in arguments.items() if k != "corpus"}], sort_keys=True)
    prefix = f"{path.stem.split('.')[0] or 'corpus'}-{hashlib.blake2b(slot.encode(), digest_size=4).hexdigest()}-"
    name = prefix + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    cache_dir = Path(cache if cache is not None else PROCESSED / RUNS)
    out = cache_dir / name
    # two notebooks (or a report and a notebook) asking for the same uncached run: one
    # runs it, the other waits and then reuses it
    with _exclusive(cache_dir / f".{name}.lock"):
        if not (_read_manifest(out) or {}).get("complete"):
            run(path, out, group_by=group_by, ngram_max=ngram_max, chunk_size=chunk_size, sample_k=sample_k,
                sample_cap=sample_cap, progress=progress)
    _drop_stale(cache_dir, prefix, keep=name)
    return results(out)


def _drop_stale(cache_dir: Path, prefix: str, *, keep: str) -> None:
    """Delete the cached runs of a slot other than ``keep``: made by other code or from an older corpus version.

    A run that another process is making (its lock is held) is left alone; without
    this, every code or lexicon edit left a full run behind in the cache.
    """
    for old in sorted(cache_dir.glob(f"{prefix}*")):
        if old.name == keep or not old.is_dir():
            continue
        with _exclusive(cache_dir / f".{old.name}.lock", wait=False) as held:
            if held:
                shutil.rmtree(old, ignore_errors=True)
        if held:
            (cache_dir / f".{old.name}.lock").unlink(missing_ok=True)


@contextlib.contextmanager
def _exclusive(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if missing) while the block runs, across processes.

    Yields whether the lock is held: always with ``wait``, else only if nobody held it.
    POSIX ``flock``; where there is none (Windows) concurrent first runs are not
    serialised, and without ``wait`` nothing is locked (the block gets ``False``).
    """
    try:
        import fcntl
    except ImportError:
        yield wait
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def open_results(results: str | Path | None = None, corpus: str | Path | None = None, *, group_by: str = "outlet",
                 ngram_max: int = REPORT_NGRAM_MAX) -> Results:
    """What a notebook reads: the run in ``results`` if given, else :func:`results_for` ``corpus``.

    Raises:
        InputError: ``results`` is not a finished run, or one grouped by another column.
    """
    if results is None:
        return results_for(corpus, group_by=group_by, ngram_max=ngram_max)
    res = globals()["results"](results)
    used = res.manifest()["arguments"]["group_by"]
    if used != group_by:
        raise InputError(f"the run groups by {used!r}, not {group_by!r}; run the pipeline with --group-by {group_by}",
                         source=str(results))
    return res


def results(out: str | Path) -> Results:
    """Open a finished run for reading.

    Raises:
        InputError: ``out`` holds no run, or an unfinished one (rerun ``run`` to finish it).
    """
    out = Path(out)
    manifest = _read_manifest(out)
    if manifest is None:
        raise InputError("not a pipeline output (no manifest.json); run `python -m analysis run` first", source=str(out))
    if not manifest.get("complete"):
        raise InputError("the run is unfinished; rerun it with the same arguments to resume", source=str(out))
    return Results(out)
