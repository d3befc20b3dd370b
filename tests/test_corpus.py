"""Corpus loading: every input format, the seed corpus, bad input, streaming, tables and the CLI contract."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.config import METADATA, RAW, ROOT
from analysis.corpus import COLUMNS, OUTPUT_KEYS, iter_documents, load_corpus, removal_table, sentence_table
from analysis.errors import InputError

FOLDER = Path(__file__).parent / "data" / "corpus" / "folder"
META = pd.read_csv(FOLDER / "metadata.csv", dtype=str)


def _records() -> list[dict]:
    """The fixture articles as records: id, outlet, date, text (title left to the first line)."""
    return [
        {"id": r.id, "outlet": r.outlet, "date": r.date, "text": (FOLDER / r.file).read_text(encoding="utf-8")}
        for r in META.itertuples()
    ]


def _write(tmp_path: Path, fmt: str) -> Path:
    recs = _records()
    if fmt == "folder":
        return FOLDER
    path = tmp_path / f"docs.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    elif fmt == "jsonl.gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in recs)
    elif fmt == "csv":
        pd.DataFrame(recs).to_csv(path, index=False)
    elif fmt == "parquet":
        pd.DataFrame(recs).to_parquet(path, index=False)
    return path


EXPECTED_TEXT = {
    "a1": 'The city of Portville on Monday opened a ferry line to the islands, officials said.\n\n'
          '"This line will change how people commute," Mayor Ana Ruiz told reporters.\n\n'
          "Commuters welcomed the change. “It saves me an hour,” said Lee Park, a nurse.",
    "a2": 'The council approved the budget late on Tuesday after a six-hour debate.\n\n'
          'Critics said the plan "ignores the poor" and vowed to fight on.',
}


@pytest.mark.parametrize("fmt", ["folder", "jsonl", "jsonl.gz", "csv", "parquet"])
def test_every_format_gives_the_same_corpus(tmp_path, fmt):
    df = load_corpus(_write(tmp_path, fmt))
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert df["id"].tolist() == ["a1", "a2"]
    assert dict(zip(df["id"], df["text"])) == EXPECTED_TEXT
    assert df["title"].tolist() == ["Harbor city opens new ferry line", "Council approves budget after long debate"]
    assert df["outlet"].tolist() == ["Example News", "Example Blog"]
    assert df["date"].tolist() == ["2023-03-06", "2023-03-07"]
    assert df.attrs["rejected"].empty
    assert df["n_paragraphs"].tolist() == [3, 2] and df["n_sentences"].tolist() == [4, 2]


def test_extra_columns_kept_as_metadata(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "d", "text": "T\n\nBody.", "bias": "left", "url": None}) + "\n", encoding="utf-8")
    df = load_corpus(path)
    assert df.loc[0, "bias"] == "left" and df.loc[0, "outlet"] == "unknown" and df.loc[0, "date"] is None


def test_metadata_table_for_a_file_input(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "a1", "text": "T\n\nBody."}) + "\n" + json.dumps({"id": "zz", "text": "T\n\nOther."}) + "\n")
    df = load_corpus(path, metadata=FOLDER / "metadata.csv").set_index("id")
    assert df.loc["a1", "outlet"] == "Example News" and df.loc["a1", "notes"].startswith("fictional")
    assert df.loc["zz", "outlet"] == "unknown" and "no_metadata_row" in df.loc["zz", "flags"]


def test_seed_corpus():
    df = load_corpus()
    meta = pd.read_csv(METADATA, dtype=str)
    assert sorted(df["id"]) == sorted(meta["id"])
    assert set(meta.columns) <= set(df.columns)
    assert (df["outlet"] != "unknown").all() and df.attrs["rejected"].empty
    assert all(not f for f in df["flags"])


def test_seed_metadata_matches_raw_files():
    meta = pd.read_csv(METADATA, dtype=str)
    assert sorted(meta["file"]) == sorted(p.name for p in RAW.glob("*.txt"))
    for row in meta.itertuples():
        assert hashlib.sha256((RAW / row.file).read_bytes()).hexdigest() == row.sha256


def test_sha256_mismatch_is_an_error(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FOLDER, raw)
    meta = pd.read_csv(FOLDER / "metadata.csv", dtype=str)
    meta["sha256"] = [hashlib.sha256((FOLDER / f).read_bytes()).hexdigest() for f in meta["file"]]
    meta.to_csv(raw / "metadata.csv", index=False)
    assert len(load_corpus(raw)) == 2
    (raw / "a2.txt").write_text("Edited\n\nBody.", encoding="utf-8")
    with pytest.raises(InputError, match=r"sha256 of a2\.txt does not match"):
        load_corpus(raw)


def _folder(tmp_path: Path, files: dict[str, bytes], rows: list[dict] | None) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    if rows is not None:
        pd.DataFrame(rows).to_csv(d / "metadata.csv", index=False)
    return d


GOOD = "Headline\n\nA sentence of body text.".encode()


@pytest.mark.parametrize(
    ("files", "rows", "rejected", "flags"),
    [
        # empty file and a file of whitespace
        ({"a.txt": b"", "b.txt": b"  \n\n"}, None, {"a": "empty text", "b": "empty text"}, {}),
        # only boilerplate
        ({"a.txt": b"Headline\n\nGo to Contents\n\n(END)"}, None, {"a": "no body text left after cleaning"}, {}),
        # bytes that are not UTF-8: decoded with U+FFFD and flagged
        ({"a.txt": "Headline\n\nCaf\u00e9 society.".encode("latin-1")}, None, {}, {"a": "invalid_utf8_replaced"}),
        # HTML markup: stripped and flagged
        ({"a.txt": b"Headline\n\n<p>Body <b>text</b>.</p>"}, None, {}, {"a": "html_stripped"}),
        # same text twice at one outlet: the later one is rejected, naming the first
        ({"a.txt": GOOD, "b.txt": GOOD}, [{"id": "a", "file": "a.txt", "outlet": "X"}, {"id": "b", "file": "b.txt", "outlet": "X"}],
         {"b": "duplicate text of a"}, {}),
        # same text at two outlets (syndication): kept, flagged with the first id
        ({"a.txt": GOOD, "b.txt": GOOD}, [{"id": "a", "file": "a.txt", "outlet": "X"}, {"id": "b", "file": "b.txt", "outlet": "Y"}],
         {}, {"b": "duplicate_text_of:a"}),
        # a metadata row without a file, and a file without a row
        ({"a.txt": GOOD, "c.txt": b"Other\n\nSome other text."}, [{"id": "a", "file": "a.txt"}, {"id": "ghost", "file": "ghost.txt"}],
         {"ghost": "metadata row without a file"}, {"c": "no_metadata_row"}),
        # no metadata table at all
        ({"a.txt": GOOD}, None, {}, {"a": "no_metadata"}),
    ],
)
def test_bad_input_is_rejected_or_flagged_never_dropped(tmp_path, files, rows, rejected, flags):
    df = load_corpus(_folder(tmp_path, files, rows))
    rej = df.attrs["rejected"]
    assert len(df) + len(rej) == len(files) + sum(1 for r in rows or [] if r["file"] not in files)
    assert dict(zip(rej["id"], rej["reason"])).keys() == rejected.keys()
    for doc_id, reason in rejected.items():
        assert rej.set_index("id").loc[doc_id, "reason"].startswith(reason)
        assert rej.set_index("id").loc[doc_id, "source"]
    for doc_id, flag in flags.items():
        assert flag in df.set_index("id").loc[doc_id, "flags"]


def test_invalid_utf8_is_replaced_not_dropped(tmp_path):
    df = load_corpus(_folder(tmp_path, {"a.txt": b"Headline\n\nBad \xff byte here."}, None))
    assert df.loc[0, "text"] == "Bad \ufffd byte here."


def test_duplicate_ids_in_jsonl(tmp_path):
    path = tmp_path / "d.jsonl"
    recs = [{"id": "1", "text": "T\n\nFirst."}, {"id": "1", "text": "T\n\nSecond."}, {"id": 2, "text": "T\n\nThird."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    df = load_corpus(path)
    assert df["id"].tolist() == ["1", "2"] and df.loc[0, "text"] == "First."
    rej = df.attrs["rejected"]
    assert rej["id"].tolist() == ["1"] and rej.loc[0, "reason"] == f"duplicate id (first in {path}:1)"
    assert rej.loc[0, "source"] == f"{path}:2"


@pytest.mark.parametrize("fmt, first", [("jsonl", "{path}:1"), ("csv", "{path}:2"), ("parquet", "{path}:row 1"),
                                        ("folder", "{path}/a.txt")])
def test_duplicate_ids_name_where_the_first_was_in_every_format(tmp_path, fmt, first):
    # ids are stored packed (no source string per document); the message must still name the first place
    recs = [{"id": "a", "text": "T\n\nFirst."}, {"id": "b", "text": "T\n\nOther."}, {"id": "a", "text": "T\n\nAgain."}]
    if fmt == "folder":
        path = tmp_path / "corpus"
        path.mkdir()
        for name, r in (("a.txt", recs[0]), ("b.txt", recs[1])):
            (path / name).write_text(r["text"], encoding="utf-8")
        pd.DataFrame({"id": ["a", "b", "a"], "file": ["a.txt", "b.txt", "b.txt"]}).iloc[:2].to_csv(path / "metadata.csv", index=False)
        from analysis.corpus import _Builder
        b = _Builder()
        assert b.check({"id": "a", "text": "x"}, f"{path}/a.txt") is None
        got = b.check({"id": "a", "text": "y"}, f"{path}/b.txt")["reason"]
    else:
        path = tmp_path / f"d.{fmt}"
        if fmt == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in recs))
        else:
            df = pd.DataFrame(recs)
            df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
        got = load_corpus(path).attrs["rejected"].loc[0, "reason"]
    assert got == f"duplicate id (first in {first.format(path=path)})"


def test_build_document_is_what_iter_documents_yields_for_a_record():
    from analysis.corpus import build_document, iter_records

    records = list(iter_records(FOLDER))
    docs = [d for chunk in iter_documents(FOLDER) for d in chunk.docs]
    built = [build_document(rec, source, flags) for rec, source, flags in records if "_reason" not in rec]
    assert len(docs) == len(built) >= 2
    assert docs == built


def test_bad_lines_after_the_first_are_rejected_with_line_numbers(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"id": "1", "text": "T\\n\\nOk."}\nnot json\n[1, 2]\n{"id": "3"}\n{"id": "4", "text": "T\\n\\nCaf\xe9."}\n')
    df = load_corpus(path)
    rej = df.attrs["rejected"]
    assert rej["source"].tolist() == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert rej["reason"].str.startswith(("invalid JSON", "line is not a JSON object", "empty text")).all()
    assert df.set_index("id").loc["4", "flags"] == ["invalid_utf8_replaced"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", "id,body\n1,hello\n", r"missing column\(s\) text"),
        ("x.csv", "", "empty CSV file"),
        ("x.jsonl", '{"text": "hello"}\n', r"missing column\(s\) id"),
        ("x.jsonl", "hello\n", "not JSON lines"),
        ("x.parquet", "not parquet", "not a readable Parquet file"),
        ("x.docx", "whatever", "unknown format"),
    ],
)
def test_unreadable_input_is_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        load_corpus(path)
    assert str(path) in str(exc.value)


def test_parquet_without_text_column(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"id": ["1"], "body": ["x"]}).to_parquet(path)
    with pytest.raises(InputError, match=r"missing column\(s\) text"):
        load_corpus(path)


def test_missing_path_and_missing_metadata(tmp_path):
    with pytest.raises(InputError, match="not found"):
        iter_documents(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="metadata table not found"):
        iter_documents(FOLDER, metadata=tmp_path / "none.csv")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_chunks_stream_and_count_every_document(tmp_path, fmt):
    recs = [{"id": str(i), "text": f"T\n\nBody number {i}."} for i in range(23)] + [{"id": "5", "text": "T\n\nAgain."}]
    path = tmp_path / f"many.{fmt}"
    df = pd.DataFrame(recs)
    {"jsonl": lambda: df.to_json(path, orient="records", lines=True), "csv": lambda: df.to_csv(path, index=False),
     "parquet": lambda: df.to_parquet(path, index=False)}[fmt]()
    chunks = list(iter_documents(path, chunk_size=10))
    assert [len(c.docs) + len(c.rejected) for c in chunks] == [10, 10, 4]
    assert sum(len(c.docs) for c in chunks) == 23 and chunks[-1].rejected[0]["id"] == "5"


def test_sentence_and_removal_tables():
    df = load_corpus(FOLDER)
    sents = sentence_table(df)
    assert list(sents.columns) == ["id", "outlet", "paragraph", "sentence", "start", "end", "text"]
    texts = df.set_index("id")["text"]
    for row in sents.itertuples():
        assert texts[row.id][row.start:row.end] == row.text
    assert sents.groupby("id").size().tolist() == df["n_sentences"].tolist()
    assert sents[sents["id"] == "a1"]["text"].tolist()[1] == '"This line will change how people commute," Mayor Ana Ruiz told reporters.'
    rem = removal_table(df)
    assert list(rem.columns) == ["id", "outlet", "rule", "text"]
    assert len(rem) == sum(len(r) for r in df["removed"])
    assert rem[rem["id"] == "a1"]["rule"].tolist()[:3] == ["date_stamp", "navigation", "title_repeated"]


# --- command line -----------------------------------------------------------


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "corpus", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_cli_folder_to_file(tmp_path):
    out = tmp_path / "out.jsonl"
    res = _cli("--input", str(FOLDER), "--output", str(out))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [tuple(x) for x in lines] == [OUTPUT_KEYS] * 2
    assert {x["id"]: x["text"] for x in lines} == EXPECTED_TEXT
    assert lines[0]["removed"][0] == {"rule": "date_stamp", "text": "date 2023-03-06"}


def test_cli_stdin_to_stdout_with_rejects(tmp_path):
    stdin = "".join(json.dumps(r) + "\n" for r in [{"id": "1", "text": "Just one sentence."}, {"id": "2", "text": ""},
                                                   {"id": "1", "text": "Another."}])
    rej = tmp_path / "rej.jsonl"
    res = _cli("--input", "-", "--output", "-", "--rejects", str(rej), stdin=stdin)
    assert res.returncode == 0, res.stderr
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert out == [{"id": "1", "outlet": "unknown", "date": None, "title": None, "text": "Just one sentence.", "removed": []}]
    reasons = [json.loads(x) for x in rej.read_text().splitlines()]
    assert [(r["id"], r["reason"]) for r in reasons] == [("2", "empty text"), ("1", "duplicate id (first in <stdin>:1)")]
    assert "rejected 2 (<stdin>:2): empty text" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "no/such/file.jsonl"], "not found"),
        (["--input", "README.md"], "unknown format"),
        (["--input", str(FOLDER), "--metadata", "no/such.csv"], "metadata table not found"),
    ],
)
def test_cli_bad_invocation_fails_with_one_line(tmp_path, capsys, args, message):
    # in-process through the real dispatcher: a subprocess per case would only add start-up time
    from analysis.__main__ import main

    out = tmp_path / "out.jsonl"
    assert main(["corpus", *args, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("error: ")
    assert not out.exists()


def test_provenance_and_size_tables():
    from analysis.corpus import provenance_table, size_table

    seed = load_corpus()
    prov = provenance_table(seed).set_index("id")
    assert prov.loc["yonhap_2022", "date_method"] == "stated"
    assert prov.loc["upi_2021", "sha256"] == "a5b1806ca0b0"
    sizes = size_table(seed).set_index("id")
    assert (sizes["clean_chars"] < sizes["raw_chars"]).all()
    assert sizes.loc["menafn_2025", "removed_pct"] < sizes.loc["yonhap_2022", "removed_pct"]
    # a corpus without provenance columns still gets the table, with empty cells
    assert provenance_table(load_corpus(FOLDER))["outlet_type"].isna().all()
