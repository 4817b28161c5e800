"""The filters run in MassiveText's order over documents and folders, with a report and a CLI."""

import json

import pytest

from gopherlite.cli import main
from gopherlite.data.corpus import Document
from gopherlite.data.curate import curate, curate_folder
from tests.curation_docs import clean_prose, junk_documents


@pytest.fixture(scope="module")
def documents():
    good = clean_prose(6)
    junk = junk_documents(per_kind=1)
    docs = [Document(f"good{i}.txt", text) for i, text in enumerate(good)]
    docs += [Document(f"{kind}.txt", texts[0]) for kind, texts in junk.items()]
    docs.append(Document("copy.txt", good[0].replace("Tuesday", "Monday")))
    return docs


def test_curate_removes_each_kind_at_its_stage(documents):
    report = curate(documents, heldout=[clean_prose(6)[5]])
    kept = [d.name for d in report.kept]
    assert kept == [f"good{i}.txt" for i in range(5)]
    assert report.removed["good5.txt"] == "test_set_overlap"
    assert report.removed["copy.txt"] == "near_duplicate"
    assert report.removed["short snippet.txt"].startswith("quality: word_count")
    assert report.removed["repeated paragraphs.txt"].startswith("repetition:")
    assert len(report.removed) == len(documents) - 5
    assert report.failures["near_duplicate"] == 1 and report.failures["test_set_overlap"] == 1
    assert report.bytes_kept == sum(len(d.text.encode()) for d in report.kept) < report.bytes_in
    assert "kept 5 of" in report.summary()


def test_each_stage_sees_only_what_the_previous_one_kept():
    """A near copy early in the list must not shift which document the held-out stage drops."""
    good = clean_prose(6)
    docs = [Document("a", good[0]), Document("a-copy", good[0]), Document("b", good[1]),
            Document("c", good[2]), Document("d", good[3])]  # fmt: skip
    report = curate(docs, heldout=[good[2]])
    assert report.removed == {"a-copy": "near_duplicate", "c": "test_set_overlap"}
    assert [d.name for d in report.kept] == ["a", "b", "d"]


def test_curate_folder_on_a_single_file(tmp_path):
    src = tmp_path / "one.txt"
    src.write_text(clean_prose(1)[0])
    report = curate_folder(src, out=tmp_path / "kept", progress=False)
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["one.txt"] and len(report.kept) == 1


def test_curate_folder_copies_the_kept_files_and_never_overwrites(tmp_path, documents):
    src = tmp_path / "web"
    (src / "sub").mkdir(parents=True)
    for i, doc in enumerate(documents):
        (src / ("sub" if i % 2 else "") / doc.name).write_text(doc.text)
    out = tmp_path / "kept"
    report = curate_folder(src, out=out, progress=False)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt"))
    assert len(written) == len(report.kept) == 6  # the five good ones and the near copy's original
    assert "sub/good1.txt" in written
    with pytest.raises(ValueError, match="not empty"):
        curate_folder(src, out=out, progress=False)
    with pytest.raises(ValueError, match="inside"):
        curate_folder(src, out=src / "kept", progress=False)


def test_cli_curate_reports_and_refuses_a_full_out_folder(tmp_path, documents, capsys):
    src = tmp_path / "web"
    src.mkdir()
    for doc in documents:
        (src / doc.name).write_text(doc.text)
    assert main(["curate", str(src), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failures"]["near_duplicate"] == 1 and len(report["kept"]) == 6
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    assert main(["curate", str(src), "--out", str(tmp_path / "full")]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and err.count("\n") == 1
    assert (tmp_path / "full" / "x.txt").read_text() == "mine"
