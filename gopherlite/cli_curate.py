"""``python -m gopherlite curate``: MassiveText's filters over a folder (`data.curate`)."""

from __future__ import annotations

import argparse
import json
import pathlib


def add_curate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curate",
        help="apply Gopher's quality, repetition, near-duplicate and test-set filters",
        description="Filter the text files under FOLDER with MassiveText's rules (Rae et al. "
        "2021, App. A.1.1): quality, repetition, MinHash near duplicates and 13-gram overlap "
        "with --heldout files. Prints what each rule removed; --out copies the kept files to a "
        "new folder (never over existing files).",
    )
    p.add_argument("folder", type=pathlib.Path, help="folder (or file) of UTF-8 text files")
    p.add_argument("--out", type=pathlib.Path, help="new or empty folder for the kept files")
    p.add_argument("--heldout", type=pathlib.Path, nargs="*", default=(), help="held-out files")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_curate)


def _curate(args: argparse.Namespace) -> None:
    from gopherlite.data.curate import curate_folder

    report = curate_folder(args.folder, out=args.out, heldout=args.heldout, progress=True)
    if args.json:
        print(json.dumps({"kept": [d.name for d in report.kept], "removed": report.removed,
                          "failures": dict(report.failures), "bytes_in": report.bytes_in,
                          "bytes_kept": report.bytes_kept}, indent=1))  # fmt: skip
    else:
        print(report.summary())
    if args.out is not None:
        print(f"wrote {len(report.kept)} files to {args.out}")
