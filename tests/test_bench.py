"""`python -m gopherlite bench --quick`: every section is present with positive, finite
numbers and the table prints. Timings are never asserted (benchmarks measure performance)."""

import json
import math

import jax
import pytest

from gopherlite import PRESETS
from gopherlite.bench import random_batch
from gopherlite.bench.profiling import format_profile, op_kind, profile_step, summarize
from gopherlite.cli import main
from gopherlite.train import TrainConfig, Trainer


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
    ckpt = results["checkpointing"]
    assert ckpt["every"] == 2 and ckpt["state_mb"] > 0
    assert set(ckpt["segment_s"]) == {"none", "sync", "async"}
    assert all(s > 0 for s in ckpt["segment_s"].values())
    assert set(ckpt["overhead"]) == {"sync", "async"}  # a slowdown; noise may make it < 0
    assert all(math.isfinite(x) and x > -1 for x in ckpt["overhead"].values())
    assert len(results["decoding"]) >= 1
    assert {"train_s", "encode_mb_per_s"} <= set(results["tokenizer"])
    assert len(results["targets"]) == 4  # with the peer target (benchmarks/peer_gpt2.py)
    # The fp32 row carries its step's matmuls timed alone (no 44M shape in a quick run).
    (tiny_fp32,) = [r for r in results["training"] if r["precision"] == "fp32"]
    assert tiny_fp32["matmuls"]["count"] > tiny_fp32["matmuls"]["distinct"] > 0
    assert tiny_fp32["mfu_limit"] > 0 and tiny_fp32["step_over_matmuls"] > 0
    assert all(isinstance(t["reached"], bool) for t in results["targets"])

    long = results["long_context"]
    assert [r["seq_len"] for r in long] == [128, 256]
    # XLA's own accounting, not a timing: the tiled step needs less scratch than the dense one.
    assert all(r["blockwise_temp_mb"] < r["dense_temp_mb"] for r in long)

    sections = ("peak_flops", "training", "architecture", "scan", "decoding", "tokenizer")
    for section in (*sections, "long_context"):
        numbers = _numbers(results[section])
        assert numbers, section
        assert all(math.isfinite(x) and x > 0 for x in numbers), section

    table = capsys.readouterr().out
    for heading in (
        "matmul peak", "training", "own matmuls", "relative attention", "checkpoint every 2",
        "scan over layers", "decoding",
        "tokenizer", "long context",
    ):  # fmt: skip
        assert heading in table


def test_profile_names_the_ops_of_a_train_step():
    """The profiler finds the step's matmuls by name and ties them to the JAX ops they implement."""
    config = PRESETS["tiny"].replace(n_layers=1)
    batch = random_batch(config.vocab_size, 2, 16)
    trainer = Trainer(config, TrainConfig(batch_size=2, seq_len=16))
    trainer.compile(batch)
    jax.block_until_ready(trainer.train_step(batch))
    hlo = trainer.compiled_text()
    ops = profile_step(lambda: trainer.train_step(batch), hlo, steps=2)

    assert ops and all(f"%{op.name} = " in hlo for op in ops)
    assert [op.ms_per_step for op in ops] == sorted((op.ms_per_step for op in ops), reverse=True)
    matmuls = [op for op in ops if op.kind == "matmul"]
    assert any("BLD,VD->BLV" in op.source for op in matmuls)  # the unembedding, forward
    totals = summarize(ops)
    assert math.isclose(totals.pop("total"), sum(totals.values()))
    assert "| matmul |" in format_profile(ops, top=5)
    assert op_kind("copy_bitcast_fusion.3") == "copy/transpose"
    assert op_kind("ynn_fusion.7") == "matmul" and op_kind("add_fusion") == "elementwise/reduce"


def test_compiled_text_needs_a_compiled_step():
    trainer = Trainer(PRESETS["tiny"].replace(n_layers=1), TrainConfig(batch_size=2, seq_len=16))
    with pytest.raises(RuntimeError, match="compile"):
        trainer.compiled_text()


def test_targets_name_issue_15s_mfu_thresholds():
    """Synthetic results: the 44M target appears only when that shape ran; each is judged."""
    from gopherlite.bench import targets

    results = {
        "training": [
            {"model": "tiny", "precision": "fp32", "mfu_fp32_peak": 0.46},
            {"model": "tiny", "precision": "mixed", "mfu_fp32_peak": 0.99},
            {"model": "44m", "precision": "fp32", "mfu_fp32_peak": 0.64},
        ],
        "architecture": [{"choice": "relative attention", "ratio": 1.2}],
        "decoding": [{"context": 256, "speedup": 30.0}, {"context": 1024, "speedup": 9.0}],
    }
    rows = targets(results)
    assert [(r["threshold"], r["reached"]) for r in rows] == [
        (0.45, True), (0.65, False), (1.10, False), (10.0, False),
    ]  # fmt: skip
    results["training"] = results["training"][:2]
    assert len(targets(results)) == 3
