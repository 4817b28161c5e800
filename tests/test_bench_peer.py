"""The bench's independent peer (`benchmarks/peer_gpt2.py`, `gopherlite.bench.peer`).

The peer must share no gopherlite code, match gopherlite's GPT-2 mode in size (up to its
biases), start at the uniform loss and learn; the comparison must produce positive, finite
numbers and skip cleanly without the file. Timings are never asserted."""

import ast
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from flax import nnx

from gopherlite import PRESETS
from gopherlite.bench import peer as peer_bench
from gopherlite.bench import random_batch
from gopherlite.bench.report import TARGET_PEER_RATIO, _peer_lines, targets

SMOKE = PRESETS["tiny"].replace(n_layers=1)  # the quick bench's shape: 1 layer, 2 × 32


@pytest.fixture(scope="module")
def peer():
    module = peer_bench.load_peer()
    assert module is not None, f"{peer_bench.PEER_FILE} is missing"
    return module


def test_peer_file_imports_nothing_from_gopherlite():
    tree = ast.parse(peer_bench.PEER_FILE.read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    froms = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported = [alias.name for node in imports for alias in node.names]
    imported += [node.module or "" for node in froms]
    assert "flax" in imported and "optax" in imported
    assert not [name for name in imported if name.split(".")[0] == "gopherlite"]
    # Nor any relative import, and no import by name at run time either.
    assert all(node.level == 0 for node in froms)
    assert "import_module" not in peer_bench.PEER_FILE.read_text()
    assert "__import__" not in peer_bench.PEER_FILE.read_text()


def test_loading_the_peer_alone_imports_no_gopherlite_module():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('peer', {str(peer_bench.PEER_FILE)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['peer'] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gopherlite'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("shape", [PRESETS["tiny"], SMOKE])
def test_peer_matches_gopherlite_gpt2_mode_in_size(peer, shape):
    gpt2_mode = shape.replace(position="absolute", norm="layer")
    without_bias = peer.GPT2(peer_bench.peer_config(peer, shape, use_bias=False), rngs=nnx.Rngs(0))
    assert peer.num_params(without_bias) == gpt2_mode.num_params()

    with_bias = peer.GPT2(peer_bench.peer_config(peer, shape), rngs=nnx.Rngs(0))
    width = shape.n_heads * shape.d_head
    # Per block: the fused q/k/v bias, the attention output's, the MLP's two.
    biases = shape.n_layers * (3 * width + shape.d_model + shape.d_ff + shape.d_model)
    assert peer.num_params(with_bias) == gpt2_mode.num_params() + biases
    assert biases / gpt2_mode.num_params() < peer_bench.PARAM_TOLERANCE


def test_peer_cross_entropy_matches_a_float64_reference(peer):
    rng = np.random.default_rng(0)
    logits_BxLxV = rng.normal(0, 3, (2, 5, 11)).astype(np.float32)
    targets_BxL = rng.integers(0, 11, (2, 5)).astype(np.int32)
    x = logits_BxLxV.astype(np.float64)
    lse_BxL = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1)) + x.max(-1)
    picked_BxL = np.take_along_axis(x, targets_BxL[..., None], -1)[..., 0]
    expected = (lse_BxL - picked_BxL).mean()
    np.testing.assert_allclose(float(peer.cross_entropy(logits_BxLxV, targets_BxL)), expected,
                               rtol=1e-6)  # fmt: skip


def test_peer_starts_at_the_uniform_loss_and_learns(peer):
    trainer = peer.PeerTrainer(peer_bench.peer_config(peer, SMOKE), learning_rate=1e-3)
    batch = random_batch(SMOKE.vocab_size, 2, 32)
    assert trainer.compile(batch.inputs_BxL, batch.targets_BxL) > 0
    losses = [trainer.timed_step(batch.inputs_BxL, batch.targets_BxL)[0] for _ in range(5)]
    # Small initial weights give near-uniform predictions: ln(4096) = 8.32 nats.
    assert abs(losses[0] - math.log(SMOKE.vocab_size)) < 0.1
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0] - 0.5


@pytest.mark.slow
def test_peer_costs_in_smoke_size(peer):
    result = peer_bench.peer_costs(SMOKE, 2, 32, reps=2)
    assert result["skipped"] is False
    assert (result["batch_size"], result["seq_len"], result["reps"]) == (2, 32, 2)
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {
        "peer GPT-2 (plain NNX)",
        "gopherlite GPT-2 mode",
        "gopherlite Gopher mode",
    }
    for row in rows.values():
        for key in ("params", "compile_s", "step_s", "tokens_per_s", "ratio_to_peer"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["model"], key)
    assert rows["peer GPT-2 (plain NNX)"]["ratio_to_peer"] == 1.0
    peer_params = rows["peer GPT-2 (plain NNX)"]["params"]
    gpt2_params = rows["gopherlite GPT-2 mode"]["params"]
    assert 0 < (peer_params - gpt2_params) / gpt2_params < peer_bench.PARAM_TOLERANCE

    table = "\n".join(_peer_lines(result))
    assert "peer comparison (fp32, 2 × 32, alternating)" in table
    assert table.count("\n| ") == 3  # one row per model after the header and separator


def test_peer_target_and_skip():
    results = {
        "training": [{"model": "tiny", "precision": "fp32", "mfu_fp32_peak": 0.5}],
        "architecture": [{"choice": "relative attention", "ratio": 1.0}],
        "decoding": [{"context": 32, "speedup": 20.0}],
    }
    assert len(targets(results)) == 3  # no peer section: no peer target
    results["peer"] = {
        "skipped": False,
        "rows": [
            {"model": "peer GPT-2 (plain NNX)", "ratio_to_peer": 1.0},
            {"model": "gopherlite GPT-2 mode", "ratio_to_peer": 1.2},
            {"model": "gopherlite Gopher mode", "ratio_to_peer": 1.3},
        ],
    }
    row = targets(results)[-1]
    assert (row["value"], row["threshold"], row["reached"]) == (1.2, TARGET_PEER_RATIO, False)


def test_peer_costs_skip_without_the_file(tmp_path):
    missing = tmp_path / "benchmarks" / "peer_gpt2.py"
    assert peer_bench.load_peer(missing) is None
    result = peer_bench.peer_costs(SMOKE, 2, 32, reps=1, path=missing)
    assert result["skipped"] is True and str(missing) in result["reason"]
    assert _peer_lines(result)[0].startswith("Peer comparison skipped:")
    results = {
        "training": [{"model": "tiny", "precision": "fp32", "mfu_fp32_peak": 0.5}],
        "architecture": [{"choice": "relative attention", "ratio": 1.0}],
        "decoding": [{"context": 32, "speedup": 20.0}],
        "peer": result,
    }
    assert len(targets(results)) == 3
