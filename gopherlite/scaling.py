"""How loss grows with scale, and how a compute budget is best split (Chinchilla, Hoffmann et
al. 2022, the follow-up to Gopher from the same group).

Training compute is ``C ≈ 6 · N · D`` FLOPs for N parameters and D tokens. Gopher spent its
5.76e23 FLOPs on N = 280B and D = 300B; Chinchilla found the same compute better spent on a
model about four times smaller trained on about four times more data.

* `ParametricLaw`: Chinchilla's loss form ``L(N, D) = E + A / N^α + B / D^β`` (its Sec. 3.3),
  its compute-optimal split in closed form (its Eq. 4), and `CHINCHILLA_LAW`, the constants
  the paper fitted (Eq. 10).
* `compute_optimal`: the compute-optimal N and D for a budget from Chinchilla's Table 3
  (Approach 1: N and D each grow as about C^0.5), a power law through the table's rows.
* `fit_parametric_law`: fit the parametric form to measured runs (variable projection: for
  each (α, β) the best non-negative E, A, B are a linear least-squares problem, so only the
  two exponents are searched, on a grid and then refined).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import optimize

GOPHER_FLOPS = 5.76e23  # Gopher's training compute as its paper reports it (G Sec. 3.2)

# Chinchilla Table 3 (Approach 1): compute-optimal parameters, FLOPs and tokens.
CHINCHILLA_TABLE3: tuple[tuple[float, float, float], ...] = (
    (400e6, 1.92e19, 8.0e9),
    (1e9, 1.21e20, 20.2e9),
    (10e9, 1.23e22, 205.1e9),
    (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12),
    (280e9, 9.90e24, 5.9e12),
    (520e9, 3.43e25, 11.0e12),
    (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)

# The line through Table 3's (log C, log N) rows, fitted once.
_TABLE3_SLOPE, _TABLE3_INTERCEPT = np.polyfit(
    np.log([c for _, c, _ in CHINCHILLA_TABLE3]), np.log([n for n, _, _ in CHINCHILLA_TABLE3]), 1
)


@dataclasses.dataclass(frozen=True)
class ParametricLaw:
    """``L(N, D) = E + A / N^α + B / D^β`` (Chinchilla Sec. 3.3), in nats per token.

    Attributes:
      E: The irreducible loss (the entropy of text, which no model removes).
      A: Scale of the term a finite model leaves.
      B: Scale of the term finite data leaves.
      alpha: Exponent α of parameters.
      beta: Exponent β of tokens.
      source: Where the constants come from.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""

    def loss(self, n_params: np.ndarray | float, n_tokens: np.ndarray | float) -> np.ndarray:
        """Predicted loss of a model of ``n_params`` trained on ``n_tokens``."""
        n_params, n_tokens = np.asarray(n_params, np.float64), np.asarray(n_tokens, np.float64)
        return self.E + self.A * n_params**-self.alpha + self.B * n_tokens**-self.beta

    def compute_optimal(self, flops: float) -> tuple[float, float]:
        """The N and D = C / (6N) of least loss for ``flops`` (Chinchilla Eq. 4).

        Along ``6 N D = C`` the loss is least at ``N = G (C/6)^(β/(α+β))`` with
        ``G = (α A / (β B))^(1/(α+β))``.

        Args:
          flops: Training compute C.

        Returns:
          ``(n_params, n_tokens)``.
        """
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        n_params = g * (flops / 6) ** (self.beta / (self.alpha + self.beta))
        return n_params, flops / (6 * n_params)


CHINCHILLA_LAW = ParametricLaw(
    E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28, source="Hoffmann et al. 2022, Eq. 10"
)


def compute_optimal(flops: float) -> tuple[float, float]:
    """Compute-optimal parameters and tokens for a budget, from Chinchilla's Table 3.

    A straight line through the table's (log C, log N) rows gives N ∝ C^0.50; D = C / (6N).

    Args:
      flops: Training compute C in FLOPs.

    Returns:
      ``(n_params, n_tokens)``.
    """
    if not flops > 0:
        raise ValueError(f"flops must be positive, got {flops}.")
    n_params = float(np.exp(_TABLE3_INTERCEPT + _TABLE3_SLOPE * np.log(flops)))
    return n_params, flops / (6 * n_params)


@dataclasses.dataclass(frozen=True)
class LawFit:
    """A `ParametricLaw` fitted to runs, with how well it fits.

    Attributes:
      law: The fitted law.
      rms_relative_error: Root mean square of (predicted − measured) / measured loss.
      n_runs: Runs fitted.
    """

    law: ParametricLaw
    rms_relative_error: float
    n_runs: int


def _best_linear_terms(
    alpha: float, beta: float, n_R: np.ndarray, d_R: np.ndarray, loss_R: np.ndarray
) -> tuple[np.ndarray, float]:
    """For fixed exponents: non-negative (E, A, B) minimising the relative squared error."""
    features_Rx3 = np.stack([np.ones_like(n_R), n_R**-alpha, d_R**-beta], axis=1)
    coef_3, residual = optimize.nnls(features_Rx3 / loss_R[:, None], np.ones_like(loss_R))
    return coef_3, float(residual)


def fit_parametric_law(
    n_params: Sequence[float], n_tokens: Sequence[float], losses: Sequence[float]
) -> LawFit:
    """Fit ``L(N, D) = E + A / N^α + B / D^β`` to measured runs.

    Args:
      n_params: Each run's parameter count N.
      n_tokens: Each run's training tokens D.
      losses: Each run's held-out loss (nats per token).

    Returns:
      The fitted law and its relative error. With runs spanning little of N or D (tiny
      budgets), very different constants fit almost equally well: read the exponents with
      that in mind.
    """
    n_R, d_R, loss_R = (np.asarray(x, np.float64) for x in (n_params, n_tokens, losses))
    if not (len(n_R) == len(d_R) == len(loss_R)) or len(n_R) < 5:
        raise ValueError("Fitting five constants needs at least 5 runs, with N, D and loss each.")

    def residual(exponents: np.ndarray) -> float:
        if np.any(exponents <= 0):
            return np.inf
        return _best_linear_terms(*exponents, n_R, d_R, loss_R)[1]

    grid = np.linspace(0.05, 1.5, 30)
    start = min(((a, b) for a in grid for b in grid), key=lambda ab: residual(np.array(ab)))
    best = optimize.minimize(residual, np.array(start), method="Nelder-Mead",
                             options={"xatol": 1e-6, "fatol": 1e-12})  # fmt: skip
    alpha, beta = best.x
    (e, a, b), norm = _best_linear_terms(alpha, beta, n_R, d_R, loss_R)
    law = ParametricLaw(*map(float, (e, a, b, alpha, beta)), source="fitted")
    return LawFit(law, float(norm / np.sqrt(len(loss_R))), n_runs=len(loss_R))


# How the compute-optimal N and D grow with compute, N ∝ C^a and D ∝ C^b (Chinchilla Table 2).
ALLOCATION_EXPONENTS: dict[str, tuple[float, float]] = {
    "Chinchilla, Approach 1 (training curves)": (0.50, 0.50),
    "Chinchilla, Approach 2 (IsoFLOP profiles)": (0.49, 0.51),
    "Chinchilla, Approach 3 (parametric fit)": (0.46, 0.54),
    "Kaplan et al. 2020": (0.73, 0.27),
}


def training_seconds(flops: float, peak_flops_per_chip: float, n_chips: int, mfu: float) -> float:
    """Wall-clock time of a training run from its FLOPs, the chips and how well they are used.

    Args:
      flops: Training compute (e.g. ``GOPHER_FLOPS``).
      peak_flops_per_chip: The chip's dense 16-bit peak (``gopherlite.hardware.CHIPS``).
      n_chips: Chips training together.
      mfu: Model-FLOPs utilisation, the fraction of peak the run achieves, in (0, 1].

    Returns:
      ``flops / (peak_flops_per_chip · n_chips · mfu)`` seconds.
    """
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu}.")
    if n_chips < 1 or not peak_flops_per_chip > 0 or not flops > 0:
        raise ValueError("flops, peak_flops_per_chip and n_chips must be positive.")
    return flops / (peak_flops_per_chip * n_chips * mfu)
