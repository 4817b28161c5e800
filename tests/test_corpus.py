"""Default corpus: deterministic, sensibly sized, cleanly split; clear errors for user files."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gopherlite.data import corpus
from gopherlite.data.corpus import Document

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_two_builds_are_identical():
    cached = corpus.default_documents("all")
    rebuilt = corpus.build_default_documents()
    assert rebuilt == cached
    assert corpus.corpus_fingerprint(rebuilt) == corpus.corpus_fingerprint(cached)


@pytest.mark.slow
def test_fingerprint_is_the_same_in_another_process():
    # A different hash seed changes set and dict-of-str iteration order; the corpus must not.
    script = (
        "from gopherlite import corpus; "
        "print(corpus.corpus_fingerprint(corpus.default_documents('all')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    expected = corpus.corpus_fingerprint(corpus.default_documents("all"))
    assert result.stdout.strip() == expected


def test_size_is_sane():
    documents = corpus.default_documents("all")
    total_bytes = sum(len(d.text.encode("utf-8")) for d in documents)
    # Measured with CPython 3.11.7: 2,367,525 bytes in 537 documents (515 train, 22 held out).
    assert 1_000_000 < total_bytes < 50_000_000
    assert 300 < len(documents) < 5_000


def test_documents_are_clean_unique_and_ordered():
    documents = corpus.default_documents("all")
    names = [d.name for d in documents]
    assert len(set(names)) == len(names)
    assert len({d.text for d in documents}) == len(documents)
    assert all(len(d.text) >= corpus.MIN_DOCUMENT_CHARS for d in documents)
    topics = [n for n in names if n.startswith("topic:")]
    modules = [n for n in names if n.startswith("module:")]
    assert names == topics + modules
    assert topics == sorted(topics) and modules == sorted(modules)
    assert "topic:assert" in topics and "module:json" in modules
    for name in modules:
        parts = name.removeprefix("module:").split(".")
        assert not {"test", "tests", "idle_test"} & set(parts), name


def test_module_documents_hold_cleaned_docstrings():
    json_text = next(d.text for d in corpus.default_documents("all") if d.name == "module:json")
    assert json_text.startswith("JSON (JavaScript Object Notation)")
    assert "\ndumps\nSerialize ``obj`` to a JSON formatted ``str``." in json_text
    # inspect.cleandoc removed the source indentation of the docstring bodies.
    assert "\n    If ``skipkeys`` is true" not in json_text
    assert "\nIf ``skipkeys`` is true" in json_text


def test_splits_are_disjoint_cover_all_and_nonempty():
    names_all = [d.name for d in corpus.default_documents("all")]
    train = {d.name for d in corpus.default_documents("train")}
    heldout = {d.name for d in corpus.default_documents("heldout")}
    assert train and heldout
    assert not train & heldout
    assert train | heldout == set(names_all)
    assert 0.02 < len(heldout) / len(names_all) < 0.10


def test_default_text_joins_documents_with_blank_lines():
    heldout = corpus.default_documents("heldout")
    assert corpus.default_text("heldout") == "\n\n".join(d.text for d in heldout)


def test_bad_split_name_lists_valid_choices():
    with pytest.raises(ValueError, match="'train', 'heldout', 'all'"):
        corpus.default_documents("test")
    with pytest.raises(ValueError, match="validation"):
        corpus.default_text("validation")


def test_split_depends_only_on_each_name():
    documents = [Document(f"doc{i}", "text") for i in range(400)]
    train, heldout = corpus.split_documents(documents)
    train_more, heldout_more = corpus.split_documents([*documents, Document("extra", "text")])
    assert set(train) <= set(train_more) and set(heldout) <= set(heldout_more)


def test_split_by_names_is_never_empty_on_either_side():
    few = corpus.MIN_DOCUMENTS_FOR_NAME_SPLIT
    documents = [Document(f"doc{i}", "text") for i in range(few)]
    train, heldout = corpus.split_documents(documents)
    assert train and heldout and len(train) + len(heldout) == few
    assert set(train) | set(heldout) == set(documents)  # whole documents, none cut


def test_one_text_file_is_split_by_bytes_at_a_line_break():
    lines = [f"line {i:03d} of a single plain text file" for i in range(200)]
    text = "\n".join(lines) + "\n"
    train, heldout = corpus.split_documents([Document("book.txt", text)])
    assert [d.name for d in train] == ["book.txt"]
    assert [d.name for d in heldout] == ["book.txt (held-out tail)"]
    assert train[0].text + heldout[0].text == text  # nothing lost, nothing repeated
    assert train[0].text.endswith("\n") and heldout[0].text.startswith("line ")
    share = corpus.heldout_share(train, heldout)
    assert abs(share - corpus.HELDOUT_FRACTION) < 0.01, share  # within one line of 5%


def test_a_few_files_each_give_their_tail():
    documents = [Document(f"f{i}.txt", "word " * 400) for i in range(3)]
    train, heldout = corpus.split_documents(documents)
    assert len(train) == len(heldout) == 3
    assert abs(corpus.heldout_share(train, heldout) - 0.05) < 0.005  # no line breaks: exact cut


def test_too_little_text_or_none_is_explained():
    with pytest.raises(ValueError, match="too short to hold out 5%"):
        corpus.split_documents([Document("a", "x"), Document("b", "y")])
    with pytest.raises(ValueError, match="no documents"):
        corpus.split_documents([])


def test_text_files_expands_folders_in_order_skipping_hidden_and_other_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/z.txt", "a.md", "b/notes.rst", ".git/x.txt", "image.png", ".hidden.txt"):
        (tmp_path / name).write_text("text")
    single = tmp_path / "b" / "z.txt"
    assert corpus.text_files([tmp_path, single]) == [
        tmp_path / "a.md", tmp_path / "b" / "notes.rst", single, single
    ]  # fmt: skip
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no text files \(\.txt, \.md"):
        corpus.text_files(tmp_path / "empty")


def test_fingerprint_tracks_names_and_texts():
    base = [Document("ab", "c")]
    assert corpus.corpus_fingerprint(base) == corpus.corpus_fingerprint(list(base))
    assert corpus.corpus_fingerprint(base) != corpus.corpus_fingerprint([Document("a", "bc")])
    assert corpus.corpus_fingerprint(base) != corpus.corpus_fingerprint([Document("ab", "d")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        base[0].text = "changed"


def test_load_text_files_keeps_text_exactly(tmp_path):
    first = tmp_path / "first.txt"
    second = tmp_path / "second.txt"
    first.write_bytes("Windows\r\nline endings, naïve café 👍🏿\n".encode())
    second.write_bytes(b"")
    documents = corpus.load_text_files([first, str(second)])
    assert documents == [
        Document(str(first), "Windows\r\nline endings, naïve café 👍🏿\n"),
        Document(str(second), ""),
    ]
    assert corpus.load_text_files(first) == documents[:1]  # a single path works too


def test_load_text_files_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        corpus.load_text_files([tmp_path / "missing.txt"])
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt.*not valid UTF-8.*0xe9.*iconv"):
        corpus.load_text_files([latin1])
    with pytest.raises(IsADirectoryError, match="folder"):
        corpus.load_text_files([tmp_path])
