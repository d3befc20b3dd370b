"""The streaming pipeline: counts add up, formats agree, runs resume, Dask equals local.

The corpus is generated here (seeded, fictional countries and people, news-like
sentences with quotes, attributions, sentiment words and boilerplate lines), so no
article text from anywhere is copied into the tests.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis import pipeline
from analysis.errors import InputError

# the pipeline runs every per-document module; sentence sentiment is the last to land
pytest.importorskip("analysis.sentiment")

OUTLETS = ("Harbor Times", "Valley Wire", "Capital Ledger")
PEOPLE = ("Anna Berg", "Tomas Reyes", "Li Wen", "Marta Okafor", "Jonas Vik")
ROLES = ("foreign minister", "spokesperson", "defence secretary", "trade envoy")
PLACES = ("Norland", "Estavia", "Carpathia", "Meridia")
TOPICS = ("fisheries", "border crossings", "grain exports", "satellite launches", "energy prices")
GOOD = ("historic", "constructive", "successful", "friendly", "promising")
BAD = ("reckless", "dangerous", "hostile", "disastrous", "cruel")
BOILERPLATE = ("Advertisement", "Share this article", "Read more:")


def _sentence(rng: random.Random) -> str:
    p, q, r = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(ROLES)
    t, g, b = rng.choice(TOPICS), rng.choice(GOOD), rng.choice(BAD)
    other = rng.choice([x for x in PLACES if x != q])
    return rng.choice((
        f"{q} and {other} signed a {g} agreement on {t} on Tuesday.",
        f"\u201cThis is a {g} day for our people and for {t},\u201d {p} said.",
        f"\"We will not accept such {b} behaviour,\" said {p}, the {r} of {q}.",
        f"{p}, the {r} of {q}, said that the talks on {t} had been {g}.",
        f"According to {p}, the dispute over {t} could become {b}.",
        f"Critics called the plan {b} and warned of {b} consequences for {t}.",
        f"Officials in {q} described the {t} deal as {g}.",
        f"The {r} of {other} declined to comment on {t}.",
    ))


def make_records(n: int, *, seed: int = 7) -> list[dict]:
    """``n`` synthetic news records ``id, outlet, date, title, text``."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        paras = [" ".join(_sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(3, 8))]
        if rng.random() < 0.4:
            paras.insert(rng.randint(1, len(paras)), rng.choice(BOILERPLATE))
        records.append({
            "id": f"doc-{i:04d}", "outlet": OUTLETS[i % len(OUTLETS)], "date": f"2024-0{1 + i % 9}-1{i % 10}",
            "title": f"{rng.choice(PLACES)} talks on {rng.choice(TOPICS)}", "text": "\n".join(paras),
        })
    return records


#: Documents the reader must reject, with a word of the expected reason.
BAD_RECORDS = [
    ({"id": "bad-empty", "outlet": "Valley Wire", "title": "Empty", "text": ""}, "empty text"),
    ({"id": None, "outlet": "Valley Wire", "title": "No id", "text": "Words here."}, "missing id"),
    ({"id": "doc-0001", "outlet": "Harbor Times", "title": "Again", "text": "Another text entirely."}, "duplicate id"),
    ({"id": "bad-boiler", "outlet": "Capital Ledger", "title": "Nav", "text": "Advertisement\nShare this article"},
     "no body text"),
]


def write_corpus(records: list[dict], path: Path, fmt: str) -> Path:
    """Write ``records`` as one of the accepted corpus formats; return the corpus path."""
    if fmt in ("jsonl", "jsonl.gz"):
        target = path / f"corpus.{fmt}"
        opener = gzip.open if fmt.endswith(".gz") else open
        with opener(target, "wt", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
        return target
    if fmt in ("csv", "parquet"):
        target = path / f"corpus.{fmt}"
        frame = pd.DataFrame(records)
        frame.to_csv(target, index=False) if fmt == "csv" else frame.to_parquet(target, index=False)
        return target
    folder = path / "corpus"
    folder.mkdir()
    for rec in records:
        (folder / f"{rec['id']}.txt").write_text(rec["text"], encoding="utf-8")
    meta = pd.DataFrame([{k: v for k, v in rec.items() if k != "text"} for rec in records])
    meta.to_csv(folder / "metadata.csv", index=False)
    return folder


def tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every per-document table and aggregate of a run, in a canonical row order."""
    res = {}
    for name in pipeline.TABLES:
        df = pd.read_parquet(out / name).drop(columns=["source"], errors="ignore")
        res[name] = df.sort_values(list(df.columns[:4]) if name != "documents" else ["id"]).reset_index(drop=True)
    for path in sorted((out / "aggregates").glob("*.parquet")):
        res[f"aggregates/{path.stem}"] = pd.read_parquet(path).drop(columns=["source"], errors="ignore")
    return res


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def good_jsonl(corpus_dir: Path) -> Path:
    return write_corpus(make_records(60), corpus_dir, "jsonl")


@pytest.fixture(scope="module")
def reference(good_jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pipeline.RunSummary, dict]:
    out = tmp_path_factory.mktemp("reference") / "out"
    summary = pipeline.run(good_jsonl, out, chunk_size=15)
    return summary, tables(out)


def test_counts_add_up_and_bad_documents_are_rejected_with_reasons(tmp_path: Path, monkeypatch) -> None:
    records = make_records(60)
    for k, (bad, _) in enumerate(BAD_RECORDS):
        records.insert(7 + 13 * k, bad)
    records[30]["text"] += "\nXYZZY-CRASH"
    corpus = write_corpus(records, tmp_path, "jsonl")
    real = pipeline._quotes

    def fragile(text, split):  # an analysis step failing on one document
        if "XYZZY-CRASH" in text:
            raise RuntimeError("boom")
        return real(text, split)

    monkeypatch.setattr(pipeline, "_quotes", fragile)
    summary = pipeline.run(corpus, tmp_path / "out", chunk_size=16)
    rejects = pd.read_parquet(tmp_path / "out" / "rejects")
    documents = pd.read_parquet(tmp_path / "out" / "documents")
    assert summary.documents_in == len(records) == 64
    assert summary.analysed + summary.rejected == summary.documents_in
    assert (summary.analysed, summary.rejected) == (len(documents), len(rejects)) == (59, 5)
    reasons = dict(zip(rejects["id"], rejects["reason"]))
    for bad, word in BAD_RECORDS:
        assert word in reasons[bad["id"] or ""]
    assert reasons[records[30]["id"]] == "quotes failed: RuntimeError: boom"
    assert documents["id"].is_unique and not set(documents["id"]) & {"bad-empty", "bad-boiler", records[30]["id"]}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["summary"]["rejected"] == 5


@pytest.mark.parametrize("fmt", ["jsonl.gz", "csv", "parquet", "folder"])
def test_every_format_gives_the_results_of_jsonl(fmt: str, reference, tmp_path: Path) -> None:
    corpus = write_corpus(make_records(60), tmp_path, fmt)
    summary = pipeline.run(corpus, tmp_path / "out", chunk_size=15)
    assert (summary.documents_in, summary.analysed, summary.partitions) == (60, 60, 4)
    assert_same(tables(tmp_path / "out"), reference[1])


def test_aggregates_equal_the_modules_on_the_whole_corpus(good_jsonl: Path, reference, tmp_path: Path) -> None:
    from analysis.corpus import load_corpus
    from analysis.terms import frequencies, keyness

    summary, got = reference
    res = pipeline.results(summary.out)
    corpus = load_corpus(good_jsonl)
    expected = frequencies(corpus, group_by="outlet").astype({"group": str, "term": str})
    pd.testing.assert_frame_equal(res.frequencies(), expected, check_dtype=False, check_categorical=False)
    key_direct = keyness(corpus, group_by="outlet").astype({"group": str, "reference": str, "term": str})
    key_agg = keyness(res.dfm(), group_by="group").astype({"group": str, "reference": str, "term": str})
    pd.testing.assert_frame_equal(key_agg, key_direct, check_dtype=False)
    groups = got["aggregates/groups"]
    assert groups["documents"].sum() == summary.analysed == 60
    sent = got["sentences"]
    assert groups["sentences"].sum() == summary.sentences and len(sent) == summary.segments
    last = sent.groupby("id")["sentence"].max()
    assert (last < got["documents"].set_index("id")["n_sentences"].reindex(last.index)).all()
    by_voice = sent.groupby(["group", "voice"])["compound"].agg(["count", "sum"]).reset_index()
    agg = got["aggregates/group_sentiment"]
    assert agg["segments"].tolist() == by_voice["count"].tolist()
    assert agg["compound_sum"].to_numpy() == pytest.approx(by_voice["sum"].to_numpy())
    doc = got["doc_sentiment"]  # per document: one file per partition, never one table
    per_doc = sent.groupby(["group", "id", "voice"])["compound"]
    assert doc["compound_mean"].to_numpy() == pytest.approx(per_doc.mean().to_numpy())
    assert doc["segments"].tolist() == per_doc.size().tolist()
    assert doc["positive"].tolist() == per_doc.agg(lambda c: int((c >= 0.05).sum())).tolist()
    speakers = got["aggregates/group_speakers"]
    assert speakers["quotes"].sum() == summary.quotes == len(got["quotes"])


def test_an_interrupted_run_resumes_without_loss_or_duplicates(good_jsonl: Path, reference, tmp_path: Path,
                                                               monkeypatch) -> None:
    real, calls = pipeline.process_partition, []

    def crash_after_two(chunk, **kw):
        calls.append(kw["part"])
        if len(calls) > 2:
            raise KeyboardInterrupt  # what Ctrl-C raises mid-run
        return real(chunk, **kw)

    monkeypatch.setattr(pipeline, "process_partition", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(good_jsonl, tmp_path / "out", chunk_size=15)
    assert not json.loads((tmp_path / "out" / "manifest.json").read_text())["complete"]
    assert len(list((tmp_path / "out" / "documents").glob("*.parquet"))) == 2
    monkeypatch.setattr(pipeline, "process_partition", real)
    summary = pipeline.run(good_jsonl, tmp_path / "out", chunk_size=15)
    assert (summary.resumed_partitions, summary.partitions, summary.documents_in) == (2, 4, 60)
    assert (summary.sentences, summary.segments) == (reference[0].sentences, reference[0].segments)
    assert_same(tables(tmp_path / "out"), reference[1])


def test_a_half_written_partition_is_recomputed(good_jsonl: Path, reference, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline.run(good_jsonl, out, chunk_size=15)
    # killed between renames: some files of partition 3 replaced, its marker never written
    (out / "_partitions" / "part-00003.json").unlink()
    (out / "terms" / "part-00003.parquet").unlink()
    summary = pipeline.run(good_jsonl, out, chunk_size=15)
    assert summary.resumed_partitions == 3
    assert_same(tables(out), reference[1])


def test_a_rerun_with_other_arguments_is_refused_unless_restarted(good_jsonl: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline.run(good_jsonl, out, chunk_size=30)
    with pytest.raises(InputError, match="chunk_size"):
        pipeline.run(good_jsonl, out, chunk_size=20)
    summary = pipeline.run(good_jsonl, out, chunk_size=20, restart=True)
    assert (summary.partitions, summary.resumed_partitions) == (3, 0)
    assert len(list((out / "documents").glob("*.parquet"))) == 3


def test_a_folder_that_is_not_a_run_is_never_overwritten(good_jsonl: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not a pipeline output"):
        pipeline.run(good_jsonl, tmp_path, restart=True)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("argv, message", [
    (["--chunk-size", "0"], "chunk size"),
    (["--group-by", "newsroom"], "no column 'newsroom'"),
])
def test_cli_rejects_bad_options_with_one_line(argv, message, good_jsonl: Path, tmp_path: Path, capsys) -> None:
    from analysis.__main__ import main

    assert main(["run", "--corpus", str(good_jsonl), "--out", str(tmp_path / "out"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_prints_the_counts(good_jsonl: Path, tmp_path: Path, capsys) -> None:
    from analysis.__main__ import main

    assert main(["run", "--corpus", str(good_jsonl), "--out", str(tmp_path / "out"), "--chunk-size", "25"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["documents_in"], printed["analysed"], printed["rejected"], printed["partitions"]) == (60, 60, 0, 3)


@pytest.mark.slow  # starting two worker processes takes 10-30 s on a shared machine
def test_dask_on_a_two_worker_cluster_equals_local(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    corpus = write_corpus(make_records(200, seed=11), tmp_path, "jsonl")
    local = pipeline.run(corpus, tmp_path / "local", chunk_size=40)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = pipeline.run(corpus, tmp_path / "dask", chunk_size=40, engine="dask", scheduler=client)
    assert (remote.documents_in, remote.analysed, remote.partitions, remote.segments, remote.quotes) == (
        local.documents_in, local.analysed, local.partitions, local.segments, local.quotes)
    assert_same(tables(tmp_path / "dask"), tables(tmp_path / "local"))


def test_duplicate_texts_across_partitions_are_what_the_reader_finds_also_after_a_resume(tmp_path: Path) -> None:
    from analysis.corpus import load_corpus

    records = make_records(40)
    records.insert(25, {**records[2], "id": "copy-same"})  # a later partition than its original
    records.insert(33, {**records[4], "id": "copy-other", "outlet": "Other Desk"})
    corpus = write_corpus(records, tmp_path, "jsonl")
    out = tmp_path / "out"
    summary = pipeline.run(corpus, out, chunk_size=10)
    reference = load_corpus(corpus)
    docs = pd.read_parquet(out / "documents").set_index("id")
    assert (summary.analysed, summary.rejected) == (41, 1)
    assert sorted(docs.index) == sorted(reference["id"])
    rejects = pd.read_parquet(out / "rejects")
    assert rejects[["id", "reason"]].values.tolist() == [["copy-same", "duplicate text of doc-0002 (same outlet)"]]
    assert list(docs.loc["copy-other", "flags"]) == list(reference.set_index("id").loc["copy-other", "flags"]) \
        == ["duplicate_text_of:doc-0004"]
    before = tables(out)
    for part in (2, 3, 4):  # the partitions holding the copies are recomputed; the originals' are not
        (out / "_partitions" / f"part-{part:05d}.json").unlink()
    resumed = pipeline.run(corpus, out, chunk_size=10)
    assert resumed.resumed_partitions == 2 and (resumed.analysed, resumed.rejected) == (41, 1)
    assert_same(tables(out), before)


@pytest.mark.parametrize("budget, n_batches", [
    ("one row", 3),        # every group alone (each exceeds the budget)
    ("first two", 2),      # the two first groups together, the third alone
    ("everything", 1),
])
def test_merging_partial_sums_in_batches_gives_the_same_aggregates(budget: str, n_batches: int, reference,
                                                                   tmp_path: Path, monkeypatch) -> None:
    import shutil

    import pyarrow.dataset as ds

    out = tmp_path / "out"
    shutil.copytree(reference[0].out, out)
    shutil.rmtree(out / "aggregates")
    # the partial sums are per partition: 4 partitions of 15 documents
    assert len(list((out / "_partials" / "group_terms").glob("*.parquet"))) == 4
    rows = pd.read_parquet(out / "_partials" / "group_terms", columns=["group"])["group"].value_counts().sort_index()
    rows_budget = {"one row": 1, "first two": int(rows.iloc[0] + rows.iloc[1]), "everything": int(rows.sum())}[budget]
    monkeypatch.setattr(pipeline, "_MERGE_ROWS", rows_budget)
    batches = pipeline._group_batches(ds.dataset(out / "_partials" / "group_terms", format="parquet"), rows_budget)
    assert len(batches) == n_batches and batches[0][0] == rows.index[0] and batches[-1][1] == rows.index[-1]
    pipeline.aggregate(out)
    assert_same(tables(out), reference[1])


def expected_sample(records: list[dict], *, k: int, cap: int) -> list[str]:
    """The sample by its definition: per outlet the k smallest id hashes, then groups in rounds, cut at cap."""
    frame = pd.DataFrame([{"id": r["id"], "group": r["outlet"], "hash": pipeline.id_hash(r["id"])} for r in records])
    frame = frame.sort_values(["group", "hash"])
    frame["rank"] = frame.groupby("group").cumcount()
    chosen = frame[frame["rank"] < k].sort_values(["rank", "hash"]).head(cap)
    return sorted(chosen["id"])


@pytest.mark.parametrize("chunk_size, k, cap", [
    (60, 4, 10),   # one partition; the cap cuts the third round
    (7, 4, 10),    # partitions smaller than k per group
    (1, 4, 10),    # one document per partition
    (15, 2, 100),  # the cap does not bind: 2 per group
    (15, 0, 100),  # no sample
])
def test_the_text_sample_is_bottom_k_per_group_whatever_the_partitioning(chunk_size: int, k: int, cap: int,
                                                                        good_jsonl: Path, tmp_path: Path) -> None:
    pipeline.run(good_jsonl, tmp_path / "out", chunk_size=chunk_size, sample_k=k, sample_cap=cap)
    sample = pipeline.results(tmp_path / "out").sample()
    assert sample["id"].tolist() == expected_sample(make_records(60), k=k, cap=cap)
    assert sample.attrs["documents"] == 60 and sample.attrs["sampled"] == len(sample)
    note = pipeline.results(tmp_path / "out").sample_note()
    assert f"a sample of {len(sample)} of 60 documents" in note


@pytest.mark.parametrize("name", pipeline.SAMPLE_TABLES)
def test_sample_rows_are_read_from_the_stored_copy_identically(name: str, good_jsonl: Path, tmp_path: Path) -> None:
    """Rows of sampled documents come from aggregates/sample_<name>.parquet: same frame as a scan, no scan needed."""
    out = tmp_path / "out"
    pipeline.run(good_jsonl, out, chunk_size=7, sample_k=2, sample_cap=10)
    res = pipeline.results(out)
    ids = res.sample()["id"].tolist()
    query = [("id", "in", ids[:7])]
    scanned = pipeline.ds.dataset(out / name, format="parquet", schema=pipeline.SCHEMAS[name]).to_table(
        filter=pipeline.pq.filters_to_expression(query)).to_pandas()
    assert len(scanned) > 0
    for f in (out / name).glob("*.parquet"):  # the per-document table is no longer needed for sampled ids
        f.unlink()
    pd.testing.assert_frame_equal(res.table(name, filters=query), scanned)
    outside = sorted(set(res.table("documents")["id"]) - set(ids))[:1]
    assert res.table(name, filters=[("id", "in", outside)]).empty  # ids outside the sample: the (now empty) scan


def test_the_sample_of_a_small_corpus_is_the_corpus_as_load_corpus_reads_it(good_jsonl: Path, reference) -> None:
    from analysis.corpus import load_corpus

    sample = pipeline.results(reference[0].out).sample()
    corpus = load_corpus(good_jsonl)
    assert (sample["raw_chars"] == corpus["raw_text"].str.len()).all()
    pd.testing.assert_frame_equal(sample.drop(columns=["raw_text", "raw_chars", "group"]),
                                  corpus.drop(columns=["raw_text"]), check_dtype=False)
    res = pipeline.results(reference[0].out)
    assert res.sample_note() == "Sections marked (text sample) read all 60 documents: the sample is the whole corpus."
    assert res.largest_groups(2) == ["Capital Ledger", "Harbor Times"]  # 20 documents each: ties by name


def test_results_for_reuses_a_finished_run_and_resumes_an_unfinished_one(good_jsonl: Path, tmp_path: Path,
                                                                         monkeypatch) -> None:
    real, calls = pipeline.process_partition, []

    def counting(chunk, **kw):
        calls.append(kw["part"])
        if len(calls) == 2 and kw["part"] == 1:
            raise KeyboardInterrupt
        return real(chunk, **kw)

    monkeypatch.setattr(pipeline, "process_partition", counting)
    with pytest.raises(KeyboardInterrupt):
        pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    first = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)  # resumes: partitions 1 and 2
    assert calls == [0, 1, 1, 2]
    again = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)  # finished: nothing runs
    assert calls == [0, 1, 1, 2] and again.out == first.out
    other = pipeline.results_for(good_jsonl, chunk_size=20, group_by="date", cache=tmp_path)
    assert other.out != first.out and len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2
    assert first.table("groups")["documents"].sum() == 60


def test_results_for_runs_once_when_two_callers_ask_at_once(good_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    """Two notebooks opening the same uncached run: one runs it, the other waits and reuses it."""
    import threading

    real, calls, started = pipeline.run, [], threading.Event()

    def slow_run(*args, **kw):
        calls.append(args[1])
        started.set()
        time.sleep(0.5)  # the second caller arrives while the run is in progress
        return real(*args, **kw)

    monkeypatch.setattr(pipeline, "run", slow_run)
    got = []
    first = threading.Thread(target=lambda: got.append(pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)))
    first.start()
    started.wait(5)
    got.append(pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path))
    first.join()
    assert len(calls) == 1 and got[0].out == got[1].out
    assert got[1].table("groups")["documents"].sum() == 60


def test_results_for_never_reuses_a_run_made_by_other_code(good_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    first = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    monkeypatch.setattr(pipeline, "code_version", lambda: "an edited lexicon")
    second = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    assert second.out != first.out and (second.out / "manifest.json").exists()


def test_results_for_keeps_one_run_per_corpus_and_options(good_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    import fcntl

    first = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    other_options = pipeline.results_for(good_jsonl, chunk_size=20, group_by="date", cache=tmp_path)
    monkeypatch.setattr(pipeline, "code_version", lambda: "an edited lexicon")
    second = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    # the older code's run of the same corpus and options is gone, the other options' run stays
    assert not first.out.exists() and second.out.exists() and other_options.out.exists()
    # a run another process is making (its lock held) is never deleted
    monkeypatch.setattr(pipeline, "code_version", lambda: "a third version")
    with open(tmp_path / f".{second.out.name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        third = pipeline.results_for(good_jsonl, chunk_size=20, cache=tmp_path)
    assert second.out.exists() and third.out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(
        p.name for p in (second.out, third.out, other_options.out))


def test_code_version_changes_with_a_lexicon(tmp_path: Path, monkeypatch) -> None:
    import analysis.config as config

    lexicon = tmp_path / "lexicon"
    lexicon.mkdir()
    (lexicon / "cues.yaml").write_text("said: neutral\n", encoding="utf-8")
    monkeypatch.setattr(config, "LEXICON", lexicon)
    pipeline.code_version.cache_clear()
    before = pipeline.code_version()
    (lexicon / "cues.yaml").write_text("said: neutral\ntouted: promotional\n", encoding="utf-8")
    pipeline.code_version.cache_clear()
    try:
        assert pipeline.code_version() != before
    finally:
        pipeline.code_version.cache_clear()


def test_voice_characters_per_group_are_the_sums_of_voice_shares(good_jsonl: Path, reference) -> None:
    from analysis.corpus import load_corpus
    from analysis.quotes import voice_shares

    direct = voice_shares(load_corpus(good_jsonl)).groupby("outlet")[["chars", "quoted", "reported", "own"]].sum()
    agg = pipeline.results(reference[0].out).table("group_voice").set_index("group")
    assert agg[["chars", "quoted", "reported", "own"]].to_dict() == direct.to_dict()
    assert agg["documents"].sum() == 60


@pytest.fixture(scope="module")
def scored(good_jsonl: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from analysis.corpus import load_corpus
    from analysis.sentiment import score_sentences

    corpus = load_corpus(good_jsonl)
    return corpus, score_sentences(corpus)


def test_sentiment_from_per_document_sums_equals_the_sentence_level_computation(scored, reference) -> None:
    from analysis import sentiment as S

    corpus, sent = scored
    res = pipeline.results(reference[0].out)
    direct = S.voice_summary(corpus, sentences=sent, n_boot=200, seed=3)
    by_doc = S.voice_summary_by_document(res.table("doc_sentiment"), n_boot=200, seed=3)
    exact = ["group", "voice", "segments", "documents"]
    pd.testing.assert_frame_equal(by_doc[exact], direct[exact], check_dtype=False)
    for col in ("mean", "pos_share", "neg_share"):
        assert by_doc[col].to_numpy() == pytest.approx(direct[col].to_numpy())
    assert (by_doc["low"] <= by_doc["mean"]).all() and (by_doc["mean"] <= by_doc["high"]).all()
    assert (by_doc["high"] > by_doc["low"]).all()  # 20 documents per outlet: a real interval
    cmp_direct = S.compare_groups(sent, by="outlet", n_boot=200, seed=3)
    cmp_docs = S.compare_groups_by_document(res.table("doc_sentiment"), n_boot=200, seed=3)
    pd.testing.assert_frame_equal(cmp_docs, cmp_direct, check_exact=False, atol=1e-12)
    two = S.compare_groups_by_document(res.table("doc_sentiment"), groups=list(OUTLETS[:2]), n_boot=200, seed=3)
    assert two[["group_a", "group_b"]].values.tolist() == [sorted(OUTLETS[:2])]


def test_sample_sentences_are_the_scored_segments_of_the_sample(scored, reference) -> None:
    from analysis import sentiment as S

    corpus, sent = scored
    res = pipeline.results(reference[0].out)
    got = S.sample_sentences(res, res.sample())
    exact = [c for c in S.SENTENCE_COLUMNS if c != "text"]
    pd.testing.assert_frame_equal(got[exact], sent[exact], check_dtype=False)
    own = (sent["voice"] == "own") & (sent["end"] - sent["start"] == sent["text"].str.len())
    assert (got.loc[own, "text"] == sent.loc[own, "text"]).all() and own.sum() > 50


def test_open_results_reads_a_given_run_and_refuses_one_grouped_otherwise(reference) -> None:
    from analysis.corpus import size_table

    res = pipeline.open_results(reference[0].out, group_by="outlet")
    assert res.out == reference[0].out
    sizes = size_table(res.sample())  # raw length from raw_chars: the sample has no raw text
    assert sizes["raw_chars"].tolist() == [len(r["text"]) for r in sorted(make_records(60), key=lambda r: r["id"])]
    with pytest.raises(InputError, match="groups by 'outlet', not 'date'"):
        pipeline.open_results(reference[0].out, group_by="date")


def test_the_notebooks_count_tables_from_results_equal_the_in_memory_ones(scored, reference) -> None:
    """The expressions notebooks 02 and 04 show, from the run's aggregates and from the whole corpus in memory."""
    from analysis.quotes import quotes_table, speaker_counts

    corpus, sent = scored
    res = pipeline.results(reference[0].out)
    quotes = quotes_table(corpus)
    kinds = res.table("group_quotes").pivot_table(index="group", columns="kind", values="quotes", aggfunc="sum",
                                                  fill_value=0)
    direct = quotes.pivot_table(index="outlet", columns="kind", values="quote", aggfunc="count", fill_value=0)
    assert kinds.to_dict() == direct.to_dict()
    types = res.table("group_speakers").fillna({"speaker_type": "none"}).pivot_table(
        index="speaker_type", columns="group", values="quotes", aggfunc="sum", fill_value=0)
    direct = quotes.assign(speaker_type=quotes["speaker_type"].fillna("none")).pivot_table(
        index="speaker_type", columns="outlet", values="quote", aggfunc="count", fill_value=0)
    assert types.to_dict() == direct.to_dict()
    by_name = quotes.groupby(["outlet", "speaker"], dropna=False).size()
    got = speaker_counts(res.table("group_speakers"), top=None).set_index(["group", "speaker"])["attributions"]
    assert got.sort_index().to_dict() == by_name.sort_index().to_dict()
    segments = res.table("group_sentiment").pivot_table(index="group", columns="voice", values="segments",
                                                        aggfunc="sum", fill_value=0)
    assert segments.to_dict() == sent.pivot_table(index="outlet", columns="voice", values="compound", aggfunc="size",
                                                  fill_value=0).to_dict()


def test_cli_sets_the_sample_size(good_jsonl: Path, tmp_path: Path, capsys) -> None:
    from analysis.__main__ import main

    assert main(["run", "--corpus", str(good_jsonl), "--out", str(tmp_path / "out"), "--sample-k", "2",
                 "--sample-cap", "5"]) == 0
    assert pipeline.results(tmp_path / "out").sample()["id"].tolist() == expected_sample(make_records(60), k=2, cap=5)


@pytest.mark.parametrize("min_count, top", [(1, None), (3, None), (1, 2), (4, 3)])
def test_frequencies_and_dfm_filtered_in_arrow_equal_the_filtered_frames(min_count: int, top, reference) -> None:
    from analysis.terms import keyness

    res = pipeline.results(reference[0].out)
    full = res.frequencies()
    total = full.groupby("term")["count"].transform("sum")
    expected = full[total >= min_count]
    expected = (expected if top is None else expected.groupby("group").head(top)).reset_index(drop=True)
    pd.testing.assert_frame_equal(res.frequencies(min_count=min_count, top=top), expected)
    pd.testing.assert_frame_equal(keyness(res.dfm(min_count=min_count), group_by="group", min_count=min_count),
                                  keyness(res.dfm(), group_by="group", min_count=min_count))
    assert res.sample(groups=["Valley Wire"])["group"].unique().tolist() == ["Valley Wire"]


# the reader's duplicate checks, in memory and on disk: (call, arguments) -> the same verdict
BUILDER_CALLS = [
    ("check", ({"id": "a", "text": "x"}, "corpus.jsonl:1")),
    ("check", ({"id": " a ", "text": "y"}, "corpus.jsonl:2")),        # the same id once stripped
    ("check", ({"id": "b", "text": "x"}, "corpus.csv:row 5")),
    ("check", ({"id": "b", "text": "x"}, "corpus.csv:row 9")),        # a packed "row N" source
    ("check", ({"id": "c\udc80", "text": "x"}, "odd source")),        # a lone surrogate, an unpackable source
    ("check", ({"id": "c\udc80", "text": "x"}, "odd source 2")),
    ("check", ({"id": "", "text": "x"}, "corpus.jsonl:7")),
    ("seen", ("a", "Harbor Times", b"\x01" * 16)),
    ("seen", ("d", "Harbor Times", b"\x01" * 16)),                    # same outlet: a copy
    ("seen", ("e", "Valley \udc80 Wire", b"\x01" * 16)),              # another outlet: syndication
    ("seen", ("f", "Valley \udc80 Wire", b"\x02" * 16)),
    ("seen", ("g", "Valley \udc80 Wire", b"\x02" * 16)),
]


def test_the_on_disk_duplicate_state_gives_the_verdicts_of_the_in_memory_one(tmp_path: Path) -> None:
    from analysis.corpus import _Builder

    memory, disk = _Builder(), _Builder(state=tmp_path / "state.sqlite")
    for call, args in BUILDER_CALLS:
        assert getattr(disk, call)(*args) == getattr(memory, call)(*args), (call, args)
    assert (len(disk.ids), len(disk.texts)) == (len(memory.ids), len(memory.texts)) == (3, 2)
    disk.close()
    assert not (tmp_path / "state.sqlite").exists()


def test_a_run_leaves_no_state_and_ignores_a_crashed_runs_leftover(good_jsonl: Path, reference, tmp_path: Path) -> None:
    import sqlite3

    out = tmp_path / "out"
    pipeline.run(good_jsonl, out, chunk_size=15)
    assert not (out / pipeline._STATE).exists()
    # a killed process leaves its state behind, holding ids of the corpus: a rerun must not see them as duplicates
    (out / "_partitions" / "part-00003.json").unlink()
    with sqlite3.connect(out / pipeline._STATE) as db:
        db.execute("CREATE TABLE ids (id BLOB PRIMARY KEY, first) WITHOUT ROWID")
        db.execute("INSERT INTO ids VALUES (?, 1)", ("doc-0050".encode(),))
    summary = pipeline.run(good_jsonl, out, chunk_size=15)
    assert (summary.resumed_partitions, summary.rejected) == (3, reference[0].rejected)
    assert_same(tables(out), reference[1])
    assert not (out / pipeline._STATE).exists()


# ------------------------------------------------- keyness and top terms aggregated once, in `aggregate`


@pytest.fixture(scope="module")
def seeds_and_generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The five seed articles and 300 generated ones, across 5 partitions, counted up to bigrams."""
    from analysis.config import RAW
    from analysis.corpus import load_corpus

    docs = load_corpus(RAW)
    seeds = [{"id": i, "outlet": o, "date": str(d), "title": t, "text": x}
             for i, o, d, t, x in zip(*(docs[c] for c in ("id", "outlet", "date", "title", "raw_text")))]
    folder = tmp_path_factory.mktemp("keyness")
    corpus = write_corpus(seeds + make_records(300, seed=5), folder, "jsonl")
    out = folder / "out"
    pipeline.run(corpus, out, chunk_size=64, ngram_max=2)
    return corpus, out


def _direct_top(corpus: Path, *, min_count: int, top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """terms.keyness and terms.frequencies on the whole corpus, first ``top`` rows per group."""
    from analysis.corpus import load_corpus
    from analysis.terms import frequencies, keyness

    docs = load_corpus(corpus)
    key = keyness(docs, group_by="outlet", min_count=min_count, ngram_max=2)
    key = key.astype({"group": str, "reference": str, "term": str}).groupby("group").head(top)
    freq = frequencies(docs, group_by="outlet", ngram_max=2).astype({"group": str, "term": str}).groupby("group").head(top)
    return key.reset_index(drop=True), freq.reset_index(drop=True)


@pytest.mark.parametrize("min_count, top, bucket_rows", [(2, 25, None), (1, 3, None), (5, 10, 997), (3, 1, 1)])
def test_aggregated_keyness_and_top_terms_equal_the_modules_on_the_whole_corpus(
        seeds_and_generated, min_count: int, top: int, bucket_rows, monkeypatch) -> None:
    corpus, out = seeds_and_generated
    if bucket_rows:  # small term buckets (1: as many as allowed), read in small batches
        monkeypatch.setattr(pipeline, "_BUCKET_ROWS", bucket_rows)
        monkeypatch.setattr(pipeline, "_MERGE_ROWS", 97)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["arguments"].update(keyness_min_count=min_count, keyness_top=top)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pipeline.aggregate(out)
    res = pipeline.results(out)
    key, freq = _direct_top(corpus, min_count=min_count, top=top)
    assert res.keyness_settings()["min_count"] == min_count and res.keyness_settings()["top"] == top
    assert res.keyness_settings()["groups"] == 8 and res.keyness_settings()["terms"] == len(
        res.dfm(min_count=min_count).terms)
    # exact: the same arithmetic on the same sums, not merely close
    pd.testing.assert_frame_equal(res.keyness(), key, check_exact=True)
    pd.testing.assert_frame_equal(res.frequencies(top=top), freq, check_exact=True)
    assert (res.table("keyness").groupby("group").size() <= top).all()
    assert not [p.name for p in (out / "aggregates").iterdir() if p.name.startswith(".")]  # buckets removed


def test_a_run_without_the_keyness_aggregate_computes_it_as_before(seeds_and_generated, tmp_path: Path) -> None:
    corpus, out = seeds_and_generated
    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    manifest["arguments"] = {k: v for k, v in manifest["arguments"].items() if not k.startswith("keyness_")}
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pipeline.aggregate(old)  # an older run re-aggregated: the defaults, as notebook 03 used them
    stored = pipeline.results(old)
    assert (stored.keyness_settings()["min_count"], stored.keyness_settings()["top"]) == (
        pipeline.KEYNESS_MIN_COUNT, pipeline.KEYNESS_TOP)
    for name in ("keyness", "top_terms"):
        (old / "aggregates" / f"{name}.parquet").unlink()
    res = pipeline.results(old)
    assert res.keyness_settings() is None
    key, freq = _direct_top(corpus, min_count=2, top=8)
    pd.testing.assert_frame_equal(res.keyness(min_count=2, top=8), key, check_exact=True)
    pd.testing.assert_frame_equal(stored.keyness(top=8), key, check_exact=True)
    pd.testing.assert_frame_equal(res.frequencies(top=8), freq, check_exact=True)
    # settings the aggregate does not hold are computed, not cut from it
    pd.testing.assert_frame_equal(stored.keyness(min_count=3, top=4),
                                  _direct_top(corpus, min_count=3, top=4)[0], check_exact=True)


# ------------------------------------- sentiment sums over documents, stored once by `aggregate` (schema 6)

KEY = ["group", "voice", "id"]


@pytest.mark.parametrize("stored, max_documents, bootstrapped", [
    (100, 100, 9),  # every group small: every row stored
    (18, 18, 3),    # the quoted voices (16-18 documents) stored; the rest summed only
    (18, 17, 1),    # fewer bootstrapped than stored (Valley Wire's quoted voice)
    (18, 20, 9),    # more than stored: those groups' rows are read from doc_sentiment
    (0, 0, 0),      # nothing stored, every interval linearised
])
def test_stored_sentiment_sums_give_what_every_row_gives(stored: int, max_documents: int, bootstrapped: int,
                                                         reference, tmp_path: Path, monkeypatch) -> None:
    from analysis import sentiment as S

    out = tmp_path / "out"
    shutil.copytree(reference[0].out, out)
    monkeypatch.setattr(S, "BOOTSTRAP_MAX_DOCUMENTS", stored)  # what aggregate stores rows for
    monkeypatch.setattr(pipeline, "_SMALL_ROW_GROUP", 50)  # several row groups, each of a few partitions
    pipeline.aggregate(out)
    res = pipeline.results(out)
    rows = res.table("doc_sentiment")
    expected = S.document_sums(rows, max_documents=stored)
    pd.testing.assert_frame_equal(res.table("doc_sentiment_sums"), expected.moments, check_dtype=False,
                                  check_exact=False, rtol=1e-13)
    pd.testing.assert_frame_equal(res.table("doc_sentiment_small").sort_values(KEY, ignore_index=True),
                                  expected.rows.sort_values(KEY, ignore_index=True), check_dtype=False)
    groups = pipeline.pq.ParquetFile(out / "aggregates" / "doc_sentiment_small.parquet").metadata.num_row_groups
    assert groups == {100: 2, 18: 1, 0: 0}[stored]  # 172, 52 and no rows, ~43 and 13 a partition
    sums = res.sentiment_sums(max_documents=max_documents)
    if max_documents <= stored:  # every row it needs is stored: doc_sentiment is not read
        shutil.rmtree(out / "doc_sentiment")
        assert res.sentiment_sums(max_documents=max_documents).rows.equals(sums.rows)
    kw = {"n_boot": 200, "seed": 3, "max_documents": max_documents}
    voice = S.voice_summary_by_document(sums, **kw)
    pd.testing.assert_frame_equal(voice, S.voice_summary_by_document(rows, **kw), check_exact=False, rtol=1e-12)
    assert (voice["method"] == "bootstrap").sum() == bootstrapped
    for which, groups in (("own", None), (None, None), ("quoted", list(OUTLETS[1:]))):
        pd.testing.assert_frame_equal(S.compare_groups_by_document(sums, voice=which, groups=groups, **kw),
                                      S.compare_groups_by_document(rows, voice=which, groups=groups, **kw),
                                      check_exact=False, rtol=1e-12)


def test_a_run_aggregated_before_the_sums_were_stored_computes_them_then_stores_them(reference, tmp_path: Path,
                                                                                     caplog) -> None:
    import logging

    from analysis import sentiment as S

    out = tmp_path / "out"
    shutil.copytree(reference[0].out, out)
    shutil.rmtree(out / "_partials" / "doc_sentiment_sums")  # as a run made before schema 6 has it
    for name in ("doc_sentiment_sums", "doc_sentiment_small"):
        (out / "aggregates" / f"{name}.parquet").unlink()
    res = pipeline.results(out)
    with caplog.at_level(logging.INFO, logger="analysis.pipeline"):
        sums = res.sentiment_sums()
    assert "rerun analysis.pipeline.aggregate" in caplog.text
    rows = res.table("doc_sentiment")
    pd.testing.assert_frame_equal(S.voice_summary_by_document(sums, n_boot=200),
                                  S.voice_summary_by_document(rows, n_boot=200))
    pd.testing.assert_frame_equal(S.compare_groups_by_document(sums, voice=None, n_boot=200),
                                  S.compare_groups_by_document(rows, voice=None, n_boot=200))
    pipeline.aggregate(out)  # re-aggregated: the partial sums are made from the doc_sentiment files
    assert_same(tables(out), reference[1])
    assert len(list((out / "_partials" / "doc_sentiment_sums").glob("*.parquet"))) == 4
