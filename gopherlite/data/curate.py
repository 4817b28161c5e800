"""Run Gopher's filters over a set of documents and report what each rule removed.

The order follows MassiveText's pipeline (G App. A.1.1): quality rules, then repetition rules,
then near-duplicate removal among the survivors, then (optionally) removal of documents that
overlap held-out text. `curate` works on `Document` lists; `curate_folder` reads a folder of
UTF-8 text files (`gopherlite.data.corpus.text_files`), shows a progress bar and can write the
kept files to a new folder; ``python -m gopherlite curate`` is its command line.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from gopherlite.data.corpus import Document, load_text_files, text_files
from gopherlite.data.dedup import heldout_overlap, near_duplicates
from gopherlite.data.filters import (
    QualityRules,
    RepetitionRules,
    quality_failures,
    repetition_failures,
)


@dataclasses.dataclass
class CurationReport:
    """What the filters did to a set of documents.

    Attributes:
      kept: The surviving documents, in their original order.
      removed: Document name → the first stage that removed it and the rules it failed there
        (``"quality: word_count, stop_words"``).
      failures: Rule name → documents failing it (a document can fail several rules of one
        stage; later stages only see survivors).
      bytes_in, bytes_kept: UTF-8 bytes before and after.
    """

    kept: list[Document]
    removed: dict[str, str]
    failures: collections.Counter
    bytes_in: int
    bytes_kept: int

    def summary(self) -> str:
        """A few lines: documents and bytes kept, then each rule's count, largest first."""
        n_in = len(self.kept) + len(self.removed)
        share = self.bytes_kept / self.bytes_in if self.bytes_in else 0.0
        lines = [
            f"kept {len(self.kept)} of {n_in} documents, {self.bytes_kept:,} of "
            f"{self.bytes_in:,} bytes ({share:.1%})"
        ]
        lines += [f"  {rule}: {count}" for rule, count in self.failures.most_common()]
        return "\n".join(lines)


def _nbytes(doc: Document) -> int:
    return len(doc.text.encode("utf-8"))


def curate(
    documents: Sequence[Document],
    *,
    heldout: Sequence[str] = (),
    dedup_threshold: float = 0.8,
    quality_rules: QualityRules | None = None,
    repetition_rules: RepetitionRules | None = None,
    progress: bool = False,
) -> CurationReport:
    """Apply the quality, repetition, near-duplicate and test-set rules in turn.

    Args:
      documents: The documents, in order (the first of a near-duplicate group is kept).
      heldout: Held-out texts whose 13-grams no kept document may share.
      dedup_threshold: MinHash Jaccard threshold for near duplicates.
      quality_rules: Thresholds of the quality rules (None: the paper's, `QualityRules()`).
      repetition_rules: Thresholds of the repetition rules (None: G Table A1's).
      progress: Show a progress bar over the per-document rules.

    Returns:
      The report.
    """
    removed: dict[str, str] = {}
    failures: collections.Counter = collections.Counter()
    quality_rules = quality_rules or QualityRules()
    repetition_rules = repetition_rules or RepetitionRules()
    survivors = []
    for doc in tqdm(documents, desc="quality and repetition", disable=not progress):
        for stage, failed in (
            ("quality", quality_failures(doc.text, quality_rules)),
            ("repetition", repetition_failures(doc.text, repetition_rules)),
        ):
            if failed:
                failures.update(failed)
                removed[doc.name] = f"{stage}: {', '.join(failed)}"
                break
        else:
            survivors.append(doc)
    stages = (
        ("near_duplicate", lambda texts: near_duplicates(texts, dedup_threshold)),
        ("test_set_overlap", lambda texts: heldout_overlap(texts, heldout)),
    )
    for stage, find in stages:  # each stage sees only what the previous one kept
        dropped = set(find([d.text for d in survivors]))
        failures[stage] += len(dropped)
        for i in dropped:
            removed[survivors[i].name] = stage
        survivors = [d for i, d in enumerate(survivors) if i not in dropped]
    return CurationReport(
        kept=survivors,
        removed=removed,
        failures=failures,
        bytes_in=sum(map(_nbytes, documents)),
        bytes_kept=sum(map(_nbytes, survivors)),
    )


def curate_folder(
    folder: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    heldout: Sequence[str | os.PathLike[str]] = (),
    progress: bool = True,
) -> CurationReport:
    """Filter every text file under a folder; optionally copy the kept ones to ``out``.

    Args:
      folder: Files and sub-folders of UTF-8 text (``text_files`` decides which are read).
      out: A new or empty folder for the kept files (their paths relative to ``folder``).
      heldout: Files of held-out text for test-set filtering.
      progress: Show a progress bar.

    Returns:
      The report.

    Raises:
      ValueError: ``out`` already holds files (nothing is overwritten), or ``out`` is inside
        ``folder``.
    """
    root = Path(folder)
    if out is not None:
        out_dir = Path(out)
        if out_dir.exists() and any(out_dir.iterdir()):
            raise ValueError(f"{out_dir} is not empty; choose a new folder for the kept files.")
        if out_dir.resolve().is_relative_to(root.resolve()):
            raise ValueError(f"{out_dir} is inside {root}; write the kept files elsewhere.")
    files = text_files(root)
    documents = load_text_files(files)
    held = [doc.text for doc in load_text_files(heldout)] if heldout else []
    report = curate(documents, heldout=held, progress=progress)
    if out is not None:
        base = root.resolve() if root.is_dir() else root.resolve().parent
        for doc in report.kept:
            target = Path(out) / Path(doc.name).resolve().relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(doc.text, encoding="utf-8", newline="")
    return report
