"""A small scaling law: ``L(N) = a · N^(−α) + c`` fitted to models of several sizes (ch. 08).

Kaplan et al. (2020) and Gopher (Rae et al. 2021, Sec. 4) describe how held-out loss falls
with the parameter count N; chapter 08 trains a few tiny models and fits that curve.

* :func:`fit_power_law`, :class:`PowerLawFit`: the fit with an irreducible-loss offset ``c``,
  or the straight line ``log L = log a − α log N`` with ``offset=False``.

`gopherlite.workbook.viz.training.scaling_figure` draws the points and the fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """``L(N) = a · N^(−α) + c`` fitted to losses of models with N parameters.

    Attributes:
      a: Scale.
      alpha: Exponent α (positive when loss falls with size).
      c: Irreducible loss (0 for the straight-line fit).
      rmse: Root-mean-square error of the fit on the losses, in the losses' units.
    """

    a: float
    alpha: float
    c: float
    rmse: float

    def predict(self, n_N: np.ndarray | Sequence[float]) -> np.ndarray:
        """Loss predicted for models with ``n_N`` parameters.

        Args:
          n_N: Parameter counts.

        Returns:
          The predicted losses.
        """
        return self.a * np.asarray(n_N, np.float64) ** -self.alpha + self.c

    def __str__(self) -> str:
        offset = f" + {self.c:.3f}" if self.c else ""
        return f"L(N) = {self.a:.3g} · N^(−{self.alpha:.3f}){offset}  (rmse {self.rmse:.3g})"


def _line_fit(log_n_N: np.ndarray, loss_N: np.ndarray, c: float) -> PowerLawFit:
    """The least-squares line through ``(log N, log(L − c))`` as a power law."""
    slope, intercept = np.polyfit(log_n_N, np.log(loss_N - c), 1)
    fit = PowerLawFit(a=float(np.exp(intercept)), alpha=float(-slope), c=c, rmse=0.0)
    rmse = float(np.sqrt(np.mean((fit.predict(np.exp(log_n_N)) - loss_N) ** 2)))
    return dataclasses.replace(fit, rmse=rmse)


def fit_power_law(
    n_N: Sequence[float] | np.ndarray,
    loss_N: Sequence[float] | np.ndarray,
    *,
    offset: bool = True,
    grid_points: int = 400,
) -> PowerLawFit:
    """Fit ``L(N) = a · N^(−α) + c`` to losses of models of several sizes.

    For a fixed ``c`` the fit is a straight line in log-log, ``log(L − c) = log a − α log N``;
    ``c`` is chosen on a grid in ``[0, min L)`` (then refined on a finer grid around the best
    value) to minimise the squared error of ``L`` itself. With ``offset=False``, ``c = 0``. Three
    sizes determine three parameters exactly, so the offset fit needs more points to be tested.

    Args:
      n_N: Parameter counts N (at least two, positive).
      loss_N: Losses at those sizes (positive).
      offset: Fit the irreducible loss ``c`` too.
      grid_points: Candidate values of ``c`` per refinement round.

    Returns:
      The fit.
    """
    n_N, loss_N = np.asarray(n_N, np.float64), np.asarray(loss_N, np.float64)
    if n_N.shape != loss_N.shape or n_N.ndim != 1 or n_N.size < 2:
        raise ValueError(
            f"Need two equal 1-D arrays of ≥ 2 sizes, got {n_N.shape}, {loss_N.shape}."
        )
    if (n_N <= 0).any() or (loss_N <= 0).any():
        raise ValueError("Parameter counts and losses must be positive.")
    log_n_N = np.log(n_N)
    if not offset:
        return _line_fit(log_n_N, loss_N, 0.0)
    low, high = 0.0, float(loss_N.min())
    best = _line_fit(log_n_N, loss_N, 0.0)
    for _ in range(3):  # coarse grid, then two finer grids around the best c
        candidates = np.linspace(low, high, grid_points, endpoint=False)
        fits = [_line_fit(log_n_N, loss_N, float(c)) for c in candidates]
        best = min([best, *fits], key=lambda fit: fit.rmse)
        step = (high - low) / grid_points
        low, high = max(0.0, best.c - step), min(float(loss_N.min()), best.c + step)
    return best
