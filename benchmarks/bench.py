"""Performance benchmark: peak matmul, training MFU, Gopher's choices, decoding, tokenizer.

Calls the same code as ``python -m gopherlite bench`` (`gopherlite.bench`), prints the table
and, in full mode, writes ``benchmarks/results/bench.json`` and ``bench.md``.

Usage::

  python benchmarks/bench.py           # full run (a few minutes on two CPU cores)
  python benchmarks/bench.py --quick   # smoke run, well under a minute, writes nothing
"""

from __future__ import annotations

import argparse
import json
import pathlib

from gopherlite.bench import format_table, run

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "bench"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repetitions")
    p.add_argument("--json", type=pathlib.Path, help="write the results to this JSON file")
    args = p.parse_args()
    results = run(quick=args.quick)
    table = format_table(results)
    print(table)
    out = args.json or (None if args.quick else RESULTS.with_suffix(".json"))
    if out is not None:
        out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {out}")
    if not args.quick and args.json is None:
        RESULTS.with_suffix(".md").write_text(f"# `bench`\n\n{table}\n")
        print(f"wrote {RESULTS.with_suffix('.md')}")


if __name__ == "__main__":
    main()
