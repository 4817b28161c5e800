"""`workbook.experiments.precision_study`: the side-by-side runs, their summary, the verdict."""

import math

import numpy as np
import pytest

from gopherlite import ModelConfig
from gopherlite.data.batches import pack
from gopherlite.precision import POLICIES
from gopherlite.workbook.experiments.precision_study import (
    make_runs,
    reading,
    summarise,
    train_side_by_side,
    verdict,
)

VOCAB, L = 64, 8
CONFIG = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=VOCAB, max_seq_len=L)


def _windows(n_docs, seed):
    rng = np.random.default_rng(seed)
    docs = [rng.integers(4, VOCAB, rng.integers(5, 30)).tolist() for _ in range(n_docs)]
    return pack(docs, L, separator_id=3, pad_id=0, num_bytes=1000)


def _rows(final, fp32_seeds=()):
    rows = [{"run": n, "policy": n, "final_heldout_bpb": final[n]} for n in POLICIES]
    rows += [
        {"run": f"fp32_seed{i}", "policy": "fp32", "final_heldout_bpb": b}
        for i, b in enumerate(fp32_seeds, start=1)
    ]
    return rows


def test_verdict_reads_gophers_ordering():
    final = {"fp32": 2.70, "mixed": 2.70, "bf16_rne": 2.80, "bf16_sr": 2.701, "bf16_master": 2.70}
    v = verdict(_rows(final, fp32_seeds=(2.705, 2.695)))
    assert v["ordering_best_first"][-1] == "bf16_rne"
    assert v["sigma_diff_bpb"] == pytest.approx(math.sqrt(2) * 0.005)
    assert v["rne_clearly_worst"] and v["master_within_noise_of_fp32"]
    assert v["minus_fp32_bpb"]["bf16_rne"] == pytest.approx(0.10)
    assert "bf16_master matches fp32" in reading(v) and "clearly worst" in reading(v)


def test_verdict_without_noise_runs_claims_nothing_is_within_noise():
    final = {"fp32": 2.70, "mixed": 2.70, "bf16_rne": 2.69, "bf16_sr": 2.71, "bf16_master": 2.72}
    v = verdict(_rows(final))
    assert v["sigma_diff_bpb"] == 0.0
    assert not v["rne_clearly_worst"] and not v["master_within_noise_of_fp32"]
    assert "behind fp32 beyond the noise" in reading(v)


@pytest.mark.slow
def test_runs_share_weights_and_batches_and_are_summarised():
    runs = make_runs(
        steps=3,
        batch_size=2,
        seq_len=L,
        learning_rate=1e-2,
        policies=("fp32", "bf16_sr"),
        noise_seeds=(1,),
        model_config=CONFIG,
    )
    assert [(r.name, r.policy, r.seed) for r in runs] == [
        ("fp32", "fp32", 0),
        ("bf16_sr", "bf16_sr", 0),
        ("fp32_seed1", "fp32", 1),
    ]
    seen = []
    _, loadavg = train_side_by_side(
        runs,
        _windows(20, 0),
        _windows(6, 1),
        steps=3,
        batch_size=2,
        eval_every=2,
        on_eval=lambda step, rs: seen.append((step, len(rs))),
    )
    assert seen == [(2, 3), (3, 3)] and [s for s, _ in loadavg] == [2, 3]
    for run in runs:
        assert len(run.losses) == len(run.step_seconds) == 3
        assert [s for s, _ in run.heldout] == [2, 3]
    # Same initial weights and batches: the first losses of both policies agree closely.
    assert runs[0].losses[0] == pytest.approx(runs[1].losses[0], abs=0.05)
    assert runs[0].losses[0] != runs[2].losses[0]  # another seed, other weights
    rows = summarise(runs, bytes_per_token=3.0)
    assert [r["bytes_per_parameter"]["total"] for r in rows] == [16, 12, 16]
    assert rows[0]["final_train_bpb"] == pytest.approx(
        rows[0]["final_train_loss"] / math.log(2) / 3.0
    )
