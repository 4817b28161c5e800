"""`python -m gopherlite bench --quick`: every section is present with positive, finite
numbers and the table prints. Timings are never asserted (benchmarks measure performance)."""

import json
import math

from gopherlite.cli import main


def _numbers(value: object) -> list[float]:
    """Every int or float inside nested dicts and lists (booleans and None left out)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return []


def test_bench_quick_writes_every_section(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out)]) == 0
    results = json.loads(out.read_text())

    assert results["quick"] is True
    assert {"cpu_count", "platform", "devices", "jax", "flax", "date", "loadavg_1min"} <= set(
        results["machine"]
    )
    assert set(results["peak_flops"]) == {"float32", "bfloat16"}
    assert {("tiny", "fp32"), ("tiny", "mixed")} <= {
        (r["model"], r["precision"]) for r in results["training"]
    }
    choices = {r["choice"]: r["ratio"] for r in results["architecture"]}
    assert set(choices) == {"relative attention", "RMSNorm"}
    assert [r["n_layers"] for r in results["scan"]] == [1, 2]
    assert len(results["decoding"]) >= 1
    assert {"train_s", "encode_mb_per_s"} <= set(results["tokenizer"])
    assert len(results["targets"]) == 3
    assert all(isinstance(t["reached"], bool) for t in results["targets"])

    for section in ("peak_flops", "training", "architecture", "scan", "decoding", "tokenizer"):
        numbers = _numbers(results[section])
        assert numbers, section
        assert all(math.isfinite(x) and x > 0 for x in numbers), section

    table = capsys.readouterr().out
    for heading in (
        "matmul peak", "training", "relative attention", "scan over layers", "decoding",
        "tokenizer",
    ):  # fmt: skip
        assert heading in table
