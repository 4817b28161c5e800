"""The embedded default corpus: English text that ships with every CPython; no download needed.

Gopher trained on MassiveText (Rae et al. 2021, Sec. 3.4 and Appendix A), 10.5 TB of web pages,
books, news, code and Wikipedia. A teaching package needs something that works offline in
seconds, so the default corpus here is built from two sources that every Python 3.11+
installation carries:

* the interactive help topics (``pydoc_data/topics.py``, the text behind ``help("assert")``);
* the docstrings of the standard library, collected by *parsing* its ``.py`` files with
  :mod:`ast` (nothing is imported), skipping test packages, ``site-packages`` and any file that
  does not parse.

Each help topic and each module is one :class:`Document`. The build is deterministic for a given
CPython version (sorted file walk, sorted topics, exact duplicates dropped); the exact text
changes between CPython versions, so record :func:`corpus_fingerprint` next to any result. The
text is under the PSF License Agreement; ``data/README.md`` gives the provenance and sizes.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import os
import pydoc_data.topics
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

SPLITS = ("train", "heldout", "all")
HELDOUT_FRACTION = 0.05
MIN_DOCUMENTS_FOR_NAME_SPLIT = 20
TEXT_SUFFIXES = (".txt", ".md", ".rst", ".text")
MIN_DOCUMENT_CHARS = 200

# Folders never walked: test suites (``test``, ``tests``, ``idle_test`` and the like), third-party
# packages, byte-code caches, and the build-specific ``config-3.x-<platform>`` folder.
_SKIPPED_DIRS = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
)
_SKIPPED_DIR_PREFIXES = ("config-",)
# Generated per platform at build time, so they would make the corpus differ between machines.
_SKIPPED_FILE_PREFIXES = ("_sysconfigdata",)
_DOCUMENTED_NODES = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclasses.dataclass(frozen=True)
class Document:
    """One document of a corpus.

    Attributes:
      name: where the text came from, e.g. ``"topic:assert"``, ``"module:json.decoder"`` or a
        file path; unique within the default corpus and the key of the train/held-out split.
      text: the document's text.
    """

    name: str
    text: str


def default_documents(split: str = "train") -> list[Document]:
    """Returns the embedded default corpus, or one side of its train/held-out split.

    The first call builds the corpus (a few seconds: it parses the standard library); later
    calls in the same process reuse it.

    Args:
      split: ``"train"`` (about 95% of documents), ``"heldout"`` (about 5%, for measuring
        generalisation such as bits per byte) or ``"all"``.

    Returns:
      The documents, sorted by name.

    Raises:
      ValueError: ``split`` is not one of ``"train"``, ``"heldout"``, ``"all"``.
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose one of {', '.join(map(repr, SPLITS))}.")
    documents = _build_default_documents()
    if split == "all":
        return list(documents)
    train, heldout = split_documents(documents)
    return train if split == "train" else heldout


def default_text(split: str = "train") -> str:
    """Returns the default corpus as one string, documents separated by a blank line.

    Args:
      split: ``"train"``, ``"heldout"`` or ``"all"``, as for :func:`default_documents`.

    Returns:
      The documents' texts joined with ``"\\n\\n"``.
    """
    return "\n\n".join(document.text for document in default_documents(split))


def split_documents(
    documents: Iterable[Document], heldout_fraction: float = HELDOUT_FRACTION
) -> tuple[list[Document], list[Document]]:
    """Splits documents into train and held-out sets: one rule for every corpus.

    With at least ``MIN_DOCUMENTS_FOR_NAME_SPLIT`` documents, whole documents are held out: a
    document is held out when the first 8 bytes of ``sha256(name)``, read as a fraction of
    2**64, fall below ``heldout_fraction``. The rule depends only on the name, so a document
    stays on its side when others are added or removed, and the split is the same in every
    process (unlike Python's salted ``hash``); neither side is ever empty.

    With fewer documents (one text file is the usual case) a hash of a handful of names would
    hold out all or nothing, so instead the last ``heldout_fraction`` of every document's text
    is held out, cut at the start of a line where the tail has one (`split_tail`).
    `heldout_share` gives the share of UTF-8 bytes the result holds out.

    Args:
      documents: at least one document.
      heldout_fraction: the expected share held out, in (0, 1).

    Returns:
      ``(train, heldout)``, each in the input order.

    Raises:
      ValueError: no documents, text too short to hold anything out, or ``heldout_fraction``
        outside (0, 1).
    """
    documents = list(documents)
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}.")
    if not documents:
        raise ValueError("The corpus holds no documents; give at least one UTF-8 text file.")
    if len(documents) < MIN_DOCUMENTS_FOR_NAME_SPLIT:
        pairs = [split_tail(document, heldout_fraction) for document in documents]
        train = [head for head, _ in pairs if head.text]
        heldout = [tail for _, tail in pairs if tail.text]
        if not train or not heldout:
            size = sum(len(document.text) for document in documents)
            raise ValueError(
                f"The corpus is too short to hold out {heldout_fraction:.0%} of it "
                f"({size} characters); give more text (a few kilobytes at least)."
            )
        return train, heldout
    hashes = [_name_hash(document.name) for document in documents]
    threshold = heldout_fraction * 2**64
    is_heldout = [h < threshold for h in hashes]
    if not any(is_heldout):
        is_heldout[hashes.index(min(hashes))] = True
    if all(is_heldout):
        is_heldout[hashes.index(max(hashes))] = False
    train = [d for d, held in zip(documents, is_heldout, strict=True) if not held]
    heldout = [d for d, held in zip(documents, is_heldout, strict=True) if held]
    return train, heldout


def split_tail(document: Document, heldout_fraction: float) -> tuple[Document, Document]:
    """Cuts the last ``heldout_fraction`` of a document's text off as held-out text.

    The cut moves forward to the start of the next line when the tail holds a line break, so
    neither side starts mid-line; without one it stays where the fraction puts it.

    Args:
      document: The document.
      heldout_fraction: The share of characters to hold out, in (0, 1).

    Returns:
      ``(head, tail)``: the head keeps the document's name, the tail is named
      ``"<name> (held-out tail)"``; either text may be empty for a very short document.
    """
    text = document.text
    cut = len(text) - round(heldout_fraction * len(text))
    line_start = text.find("\n", cut, len(text) - 1)
    if line_start != -1:
        cut = line_start + 1
    head = Document(name=document.name, text=text[:cut])
    return head, Document(name=f"{document.name} (held-out tail)", text=text[cut:])


def heldout_share(train: Iterable[Document], heldout: Iterable[Document]) -> float:
    """The share of UTF-8 bytes held out by a split.

    Args:
      train: Training documents.
      heldout: Held-out documents.

    Returns:
      Held-out bytes over all bytes.
    """
    train_bytes = sum(len(d.text.encode("utf-8")) for d in train)
    heldout_bytes = sum(len(d.text.encode("utf-8")) for d in heldout)
    return heldout_bytes / max(train_bytes + heldout_bytes, 1)


def text_files(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expands files and folders into the text files of a corpus.

    A folder stands for every file under it (recursively, sorted by path) whose suffix is in
    ``TEXT_SUFFIXES``, hidden files and folders skipped.

    Args:
      paths: Files and folders.

    Returns:
      The files, folders expanded in place.

    Raises:
      ValueError: a folder holds no text file.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in TEXT_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise ValueError(
                f"Folder {str(path)!r} holds no text files ({', '.join(TEXT_SUFFIXES)}); "
                "pass the files themselves or a folder that holds them."
            )
        files.extend(found)
    return files


def load_text_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Document]:
    """Reads users' own UTF-8 text files, one :class:`Document` per file.

    The text is kept exactly as stored (no newline translation, no stripping).

    Args:
      paths: one path or an iterable of paths.

    Returns:
      One document per path, in the given order, named by the path as given.

    Raises:
      FileNotFoundError: a path does not exist.
      IsADirectoryError: a path is a folder.
      ValueError: a file is not valid UTF-8.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return [_read_utf8_document(Path(path)) for path in paths]


def corpus_fingerprint(documents: Iterable[Document]) -> str:
    """Returns a SHA-256 hex digest of the documents' names and texts, in order.

    Record it with any result trained or evaluated on a corpus: two corpora with the same
    fingerprint are identical. Each name and text is length-prefixed, so different
    splittings of the same characters cannot collide.

    Args:
      documents: the documents, in the order used.

    Returns:
      A 64-character lowercase hex string.
    """
    digest = hashlib.sha256()
    for document in documents:
        for field in (document.name, document.text):
            encoded = field.encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)
    return digest.hexdigest()


@functools.cache
def _build_default_documents() -> tuple[Document, ...]:
    """Builds the default corpus once per process; see :func:`build_default_documents`."""
    return tuple(build_default_documents())


def build_default_documents() -> list[Document]:
    """Builds the default corpus from scratch, without the in-process cache.

    Documents are the help topics (named ``topic:<key>``) followed by the standard library
    modules (``module:<dotted.name>``), each group sorted by name. Documents shorter than
    ``MIN_DOCUMENT_CHARS`` characters are dropped, as are exact duplicates of an earlier text.

    Returns:
      The documents, in that order.
    """
    candidates = list(_topic_documents())
    candidates.extend(_module_documents(Path(sysconfig.get_paths()["stdlib"])))
    seen_texts = set()
    documents = []
    for document in candidates:
        if len(document.text) < MIN_DOCUMENT_CHARS or document.text in seen_texts:
            continue
        seen_texts.add(document.text)
        documents.append(document)
    return documents


def _topic_documents() -> Iterator[Document]:
    """Yields one document per interactive help topic, sorted by topic key."""
    topics = pydoc_data.topics.topics
    for key in sorted(topics):
        yield Document(name=f"topic:{key}", text=topics[key].strip())


def _module_documents(stdlib_dir: Path) -> Iterator[Document]:
    """Yields one document per parseable standard-library module, sorted by module name."""
    for path in sorted(_stdlib_sources(stdlib_dir), key=lambda p: _module_name(p, stdlib_dir)):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue
        yield Document(name=f"module:{_module_name(path, stdlib_dir)}", text=_docstrings_text(tree))


def _stdlib_sources(stdlib_dir: Path) -> Iterator[Path]:
    """Yields the ``.py`` files under ``stdlib_dir``, skipping tests and third-party packages."""
    for dirpath, dirnames, filenames in os.walk(stdlib_dir):
        dirnames[:] = [
            name
            for name in dirnames
            if name not in _SKIPPED_DIRS and not name.startswith(_SKIPPED_DIR_PREFIXES)
        ]
        for filename in filenames:
            if filename.endswith(".py") and not filename.startswith(_SKIPPED_FILE_PREFIXES):
                yield Path(dirpath, filename)


def _module_name(path: Path, stdlib_dir: Path) -> str:
    """Returns the dotted module name of ``path``, e.g. ``email.mime.text`` or ``json``."""
    parts = list(path.relative_to(stdlib_dir).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _docstrings_text(tree: ast.Module) -> str:
    """Joins a module's docstrings: the module's own, then each class and function in order.

    Each class or function docstring is headed by its qualified name (``Class.method``).
    Functions nested inside functions are not visited.
    """
    blocks = []
    module_docstring = ast.get_docstring(tree, clean=False)
    if module_docstring:
        blocks.append(inspect.cleandoc(module_docstring))
    blocks.extend(f"{qualname}\n{docstring}" for qualname, docstring in _member_docstrings(tree))
    return "\n\n".join(blocks)


def _member_docstrings(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yields ``(qualified name, cleaned docstring)`` for classes and functions under ``node``."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, _DOCUMENTED_NODES):
            continue
        qualname = f"{prefix}{child.name}"
        docstring = ast.get_docstring(child, clean=False)
        if docstring and docstring.strip():
            yield qualname, inspect.cleandoc(docstring)
        if isinstance(child, ast.ClassDef):
            yield from _member_docstrings(child, prefix=f"{qualname}.")


def _read_utf8_document(path: Path) -> Document:
    """Reads one UTF-8 file into a document, with errors that name the file and the fix."""
    if not path.exists():
        raise FileNotFoundError(
            f"Text file not found: {str(path)!r}. Check the path (relative paths are resolved "
            f"from the current directory, {os.getcwd()!r})."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not a text file; expand it with `text_files` (the "
            "command line and `load_documents` do)."
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{str(path)!r} is not valid UTF-8 (byte {data[error.start]:#04x} at offset "
            f"{error.start}). Convert it to UTF-8 first, e.g. "
            f"`iconv -f latin1 -t utf-8 in.txt > out.txt`."
        ) from error
    return Document(name=str(path), text=text)


def _name_hash(name: str) -> int:
    """Returns the first 8 bytes of ``sha256(name)`` as an unsigned integer."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
