"""Chapter 00's numbers: the Gopher family, where its compute goes, and what its weights weigh.

Every count comes from the library: parameters from `gopherlite.counts.param_breakdown`
(the real model's shapes), FLOPs from `gopherlite.counts.flops_breakdown` (the terms that
``ModelConfig.flops_per_token`` adds up), bytes per parameter from
`gopherlite.costs.bytes_per_parameter` and a TPUv3 core's memory from `gopherlite.hardware`.
`gopherlite.workbook.viz.architecture` draws them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from gopherlite.config import PRESETS, TABLE1_LABELS, ModelConfig, table1_label
from gopherlite.costs import bytes_per_parameter
from gopherlite.counts import Part, flops_breakdown, total_params
from gopherlite.hardware import CHIPS

GOPHER_TRAINING_TOKENS = 300e9  # every Table 1 model saw 300B tokens (G Sec. 3.2)
TPU_V3_CORE_BYTES = CHIPS["v3"].hbm_bytes_per_device  # 16 GiB per TPUv3 core (G Sec. 3.3)

# Memory rows (weights and optimizer state, no activations): label, precision policy, and the
# parts of `bytes_per_parameter` the row holds.
_MEMORY_ROWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("weights, bfloat16", "bf16_sr", ("params",)),
    ("weights, float32", "fp32", ("params",)),
    ("Gopher: bf16 weights + fp32 Adam m, v", "bf16_sr", ("params", "adam_moments")),
    ("fp32 weights, gradients, Adam m, v", "fp32", ("params", "gradients", "adam_moments")),
)


def _memory_rules() -> tuple[tuple[str, int], ...]:
    rules = []
    for label, policy, parts in _MEMORY_ROWS:
        nbytes = sum(bytes_per_parameter(policy)[part] for part in parts)
        rules.append((f"{label} ({nbytes} B/param)", nbytes))
    return tuple(rules)


# Label and bytes per parameter of each memory row, e.g. ("weights, float32 (4 B/param)", 4).
MEMORY_RULES: tuple[tuple[str, int], ...] = _memory_rules()
GOPHER_BYTES_PER_PARAM = MEMORY_RULES[2][1]  # bf16 weights + fp32 Adam moments


def memory_breakdown(n_params: int) -> list[Part]:
    """Bytes needed to hold the weights (and optimizer state) under common layouts.

    At 280B parameters the Gopher row (bf16 weights plus fp32 Adam moments, 10 bytes per
    parameter) gives 2.5 TiB, the figure Gopher Sec. 3.3 quotes.

    Args:
      n_params: Parameter count.

    Returns:
      One part per row of ``MEMORY_RULES``.
    """
    return [Part(label, "embedding", float(n_params * nbytes)) for label, nbytes in MEMORY_RULES]


@dataclasses.dataclass(frozen=True)
class CostSummary:
    """What one model shape costs, as chapter 00's explorer reads it out.

    Attributes:
      params: All parameters.
      non_embedding_params: Parameters without the token embedding (and absolute table).
      flops_per_token: Training FLOPs per token at the config's context.
      six_n: The 6 × parameters rule of thumb (Kaplan et al. 2020).
      training_flops: FLOPs for Gopher's 300B training tokens.
      memory: :func:`memory_breakdown` of the parameters.
      tpu_v3_cores: TPUv3 cores whose memory Gopher's state (10 B/param) fills.
      attention_width: ``n_heads · d_head``, next to ``d_model`` in Table 1.
    """

    params: int
    non_embedding_params: int
    flops_per_token: float
    six_n: float
    training_flops: float
    memory: list[Part]
    tpu_v3_cores: int
    attention_width: int


def cost_summary(config: ModelConfig) -> CostSummary:
    """Parameters, compute and memory of one model shape.

    Args:
      config: The model's shape.

    Returns:
      The summary.
    """
    n = total_params(config)
    flops = config.flops_per_token()
    return CostSummary(
        params=n,
        non_embedding_params=total_params(config, include_embeddings=False),
        flops_per_token=flops,
        six_n=6.0 * n,
        training_flops=flops * GOPHER_TRAINING_TOKENS,
        memory=memory_breakdown(n),
        tpu_v3_cores=math.ceil(n * GOPHER_BYTES_PER_PARAM / TPU_V3_CORE_BYTES),
        attention_width=config.n_heads * config.d_head,
    )


def family_rows(presets: Mapping[str, ModelConfig] = PRESETS) -> list[dict[str, object]]:
    """The Gopher family as computed here, next to Table 1's labels.

    Args:
      presets: Named configs; those in ``TABLE1_LABELS`` get their Table 1 label.

    Returns:
      One dict per preset: shape, ``params``, ``label`` (our count formatted as Table 1 does),
      ``table1`` (the paper's label or ``"—"``), ``flops_per_token`` and ``training_flops``
      (for Gopher's 300B tokens, at the preset's own context length).
    """
    rows = []
    for name, config in presets.items():
        n = total_params(config)
        rows.append(
            {
                "preset": name,
                "n_layers": config.n_layers,
                "n_heads": config.n_heads,
                "d_head": config.d_head,
                "d_model": config.d_model,
                "params": n,
                "label": table1_label(n),
                "table1": TABLE1_LABELS.get(name, "—"),
                "flops_per_token": config.flops_per_token(),
                "training_flops": config.flops_per_token() * GOPHER_TRAINING_TOKENS,
            }
        )
    return rows


def flops_shares(
    seq_len: int, presets: Mapping[str, ModelConfig] = PRESETS
) -> list[tuple[str, str, list[float]]]:
    """Each FLOP component's share of every preset's training FLOPs per token, in percent.

    Args:
      seq_len: The context length every preset is evaluated at.
      presets: Named configs.

    Returns:
      Per component of `gopherlite.counts.flops_breakdown`: ``(label, kind, shares)`` with one
      percentage per preset (0 where a preset has no such term); each preset's shares sum
      to 100.
    """
    per_preset = [{p.label: p for p in flops_breakdown(c, seq_len)} for c in presets.values()]
    labels: dict[str, str] = {}
    for parts in per_preset:
        labels.update({label: part.kind for label, part in parts.items()})
    out = []
    for label, kind in labels.items():
        shares = []
        for parts in per_preset:
            total = sum(part.value for part in parts.values())
            shares.append(100 * parts[label].value / total if label in parts else 0.0)
        out.append((label, kind, shares))
    return out
