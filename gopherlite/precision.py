"""Precision policies, stochastic rounding and bfloat16 parameter updates (G Sec. 3.2, App. C).

Gopher trained its models below 7.1B with float32 parameters and bfloat16 activations, and its
7.1B and 280B models with bfloat16 parameters updated by stochastic rounding (Gupta et al.
2015), which did not fully recover the float32 result. Appendix C found that keeping a float32
copy of the parameters in the (sharded) optimizer state matched "float32 everywhere". The five
`POLICIES` reproduce that comparison; one name selects a policy everywhere
(``TrainConfig(precision=...)``, ``train --precision``):

============  ============  ==========  ===========  ==================================
name          parameters    activations master copy  update of the stored parameters
============  ============  ==========  ===========  ==================================
fp32          float32       float32     no           float32 add
mixed         float32       bfloat16    no           float32 add (Gopher below 7.1B)
bf16_rne      bfloat16      bfloat16    no           round to nearest: the failure mode
bf16_sr       bfloat16      bfloat16    no           stochastic rounding (Gopher 7.1B, 280B)
bf16_master   bfloat16      bfloat16    float32      float32 add to the master copy, whose
                                                     nearest bfloat16 becomes the parameter
============  ============  ==========  ===========  ==================================

In every policy the attention softmax, the RMSNorm statistics, the logits and the loss are
float32 (see `gopherlite.nn`), and the optimizer state is explicitly float32: Adam's two
moments always, plus the master copy under ``bf16_master`` (G Sec. 3.2: half-precision
parameters with single-precision Adam state). Gradients have the parameters' dtype and are cast
to float32 before clipping and Adam.

Why round-to-nearest fails: bfloat16 keeps 8 significant bits, so a weight ``w`` can only move
in steps of about ``|w| · 2⁻⁷``; an update smaller than half a step is rounded away every time,
however many times it is applied. Stochastic rounding rounds up with probability equal to the
fraction of the step covered, so small updates survive on average (E[round(x)] = x) at the
price of extra noise; a float32 master copy keeps them exactly.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn import GopherLM

Rounding = Literal["nearest", "stochastic"]

# float32 keeps 23 stored mantissa bits and bfloat16 the top 7 of them, with the same sign and
# 8-bit exponent: a bfloat16 is exactly the upper half of a float32's bits.
_DROPPED_BITS = 16
# Folded into the seed so the rounding noise is a stream of its own, apart from the
# initialisation's `nnx.Rngs(seed)` streams (an arbitrary constant: "SR" in ASCII).
_ROUNDING_STREAM = 0x5352


@dataclasses.dataclass(frozen=True)
class Policy:
    """How parameters are stored and updated, and which dtype the activations use.

    Attributes:
      name: The policy's name, a key of `POLICIES`.
      param_dtype: dtype of the model's parameters (and so of its gradients).
      compute_dtype: dtype of the activations (matmul inputs and outputs).
      master_copy: Keep a float32 copy of the parameters in the optimizer state; the model's
        parameters are its round-to-nearest bfloat16 copies, refreshed after every update.
      update_rounding: How ``parameter + update`` (computed in float32) is rounded back to
        ``param_dtype``: ``"nearest"`` (round half to even, what ``astype`` does) or
        ``"stochastic"`` (`stochastic_round`).
      description: One line for tables and widgets.
    """

    name: str
    param_dtype: str
    compute_dtype: str
    master_copy: bool
    update_rounding: Rounding
    description: str

    def __post_init__(self) -> None:
        if self.update_rounding not in ("nearest", "stochastic"):
            raise ValueError(
                f"Policy.update_rounding must be 'nearest' or 'stochastic', got "
                f"{self.update_rounding!r}."
            )
        if self.update_rounding == "stochastic" and self.param_dtype != "bfloat16":
            raise ValueError("Stochastic rounding is implemented for bfloat16 parameters only.")
        if self.master_copy and self.param_dtype == "float32":
            raise ValueError("A float32 master copy only makes sense for low-precision params.")

    def apply_to(self, config: ModelConfig) -> ModelConfig:
        """The model config with this policy's activation and parameter dtypes.

        A config whose dtypes are still the float32 defaults takes the policy's; one that
        already names exactly the policy's dtypes is returned unchanged.

        Args:
          config: A model config, e.g. a preset.

        Returns:
          The config with ``dtype`` and ``param_dtype`` set by the policy.

        Raises:
          ValueError: the config asks for other low-precision dtypes than the policy.
        """
        wanted = (self.compute_dtype, self.param_dtype)
        given = (config.dtype, config.param_dtype)
        if given not in (("float32", "float32"), wanted):
            raise ValueError(
                f"The model config asks for dtype={config.dtype!r}, param_dtype="
                f"{config.param_dtype!r}, but precision {self.name!r} uses dtype="
                f"{self.compute_dtype!r}, param_dtype={self.param_dtype!r}. Choose dtypes with "
                f"the precision policy (one of {', '.join(POLICIES)}) and leave the config's "
                "dtypes at their float32 defaults."
            )
        return config.replace(dtype=self.compute_dtype, param_dtype=self.param_dtype)


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("fp32", "float32", "float32", False, "nearest", "fp32 everywhere (baseline)"),
        Policy("mixed", "float32", "bfloat16", False, "nearest", "fp32 params, bf16 activations"),
        Policy("bf16_rne", "bfloat16", "bfloat16", False, "nearest", "bf16 params, nearest"),
        Policy("bf16_sr", "bfloat16", "bfloat16", False, "stochastic", "bf16 params, stochastic"),
        Policy("bf16_master", "bfloat16", "bfloat16", True, "nearest", "bf16 + fp32 master copy"),
    )
}


def get_policy(name: str) -> Policy:
    """Look up a precision policy by name.

    Args:
      name: One of `POLICIES`' keys.

    Returns:
      The policy.

    Raises:
      ValueError: unknown name; the message lists the choices.
    """
    if name not in POLICIES:
        raise ValueError(f"Unknown precision {name!r}; choose one of: {', '.join(POLICIES)}.")
    return POLICIES[name]


def stochastic_round(x: jax.Array, key: jax.Array, dtype: Any = jnp.bfloat16) -> jax.Array:
    """Round float32 values to bfloat16, up or down with probability set by the distance.

    A finite ``x`` between neighbouring bfloat16 values ``lo`` and ``hi`` becomes ``hi`` with
    probability ``(x - lo) / (hi - lo)`` and ``lo`` otherwise, so ``E[round(x)] = x``
    (Gupta et al. 2015, "Deep Learning with Limited Numerical Precision"; Gopher G Sec. 3.2 and
    App. C use it for the bfloat16 parameters of the 7.1B and 280B models).

    Bit manipulation on the float32 encoding: a bfloat16 is the upper 16 bits of a float32, and
    for one sign the encodings are ordered like the magnitudes and evenly spaced between
    neighbouring bfloat16 values. Adding 16 uniform random bits to the low half and then
    dropping it carries into the upper half exactly when the random number reaches ``2¹⁶ − low
    half``, i.e. with probability ``low half / 2¹⁶``, the fraction of the step covered.
    Magnitudes round away from zero or towards it, so negative values are symmetric. The same
    arithmetic covers subnormals (evenly spaced encodings), a carry from one binade into the
    next, and zeros (the low half is zero, so ±0 stay ±0). Values above the largest finite
    bfloat16 (about 3.39e38) round to it or, treating infinity as the next step as IEEE
    rounding does, to ±inf. Non-finite inputs are handled explicitly: ±inf stay, and nan stays
    nan (a nan's payload may sit in the dropped bits, where the bit trick could make it inf).

    Args:
      x: Floating-point values (converted to float32 first; exact for bfloat16 and float16).
      key: A `jax.random` key; the same key gives the same rounding.
      dtype: The target dtype; only bfloat16 is supported.

    Returns:
      An array of ``dtype`` with the shape of ``x``.

    Raises:
      ValueError: ``dtype`` is not bfloat16.
      TypeError: ``x`` is not floating point.
    """
    if jnp.dtype(dtype) != jnp.dtype(jnp.bfloat16):
        raise ValueError(
            f"stochastic_round rounds to bfloat16 only, got dtype={jnp.dtype(dtype)}: its bit "
            "trick needs a target that is the upper half of a float32."
        )
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"stochastic_round needs floating-point input, got {x.dtype}.")
    x32 = x.astype(jnp.float32)
    bits_u32 = jax.lax.bitcast_convert_type(x32, jnp.uint32)
    noise_u32 = jax.random.bits(key, x32.shape, jnp.uint16).astype(jnp.uint32)
    upper_u16 = ((bits_u32 + noise_u32) >> _DROPPED_BITS).astype(jnp.uint16)
    rounded = jax.lax.bitcast_convert_type(upper_u16, jnp.bfloat16)
    return jnp.where(jnp.isfinite(x32), rounded, x32.astype(jnp.bfloat16))


def rounding_key(seed: int, step: jax.Array | int) -> jax.Array:
    """The key of step ``step``'s stochastic rounding: a pure function of (seed, step).

    Deriving the key from the step (rather than carrying one in the train state) makes a run
    reproducible from its seed and lets a resumed run draw exactly the noise the uninterrupted
    run would have drawn.

    Args:
      seed: The run's seed (``TrainConfig.seed``).
      step: The optimizer step being taken (may be traced).

    Returns:
      A typed `jax.random` key.
    """
    return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), _ROUNDING_STREAM), step)


def init_model(config: ModelConfig, policy: Policy, seed: int) -> GopherLM:
    """A `GopherLM` with the policy's dtypes whose weights are the same draws in every policy.

    Random initialisers draw different numbers for bfloat16 than for float32, so bfloat16
    parameters are drawn in float32 and rounded to nearest: runs of different policies with one
    seed then start from the same weights and differ only in how they are trained.

    Args:
      config: The model's shape (its dtypes are set by the policy, see `Policy.apply_to`).
      policy: The precision policy.
      seed: Initialisation seed.

    Returns:
      The model.
    """
    config = policy.apply_to(config)
    if config.param_dtype == "float32":
        return GopherLM(config, rngs=nnx.Rngs(seed))
    draws = nnx.state(GopherLM(config.replace(param_dtype="float32"), rngs=nnx.Rngs(seed)))
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: GopherLM(config, rngs=nnx.Rngs(seed))))
    dtype = jnp.dtype(config.param_dtype)
    return nnx.merge(graphdef, jax.tree.map(lambda x: x.astype(dtype), draws))


class MasterCopyState(NamedTuple):
    """Optimizer state of ``bf16_master``: the wrapped optimizer's state and the master copy.

    Attributes:
      inner: State of the wrapped optax transformation (float32 Adam moments).
      master: float32 parameters; the model holds their nearest bfloat16 values.
    """

    inner: optax.OptState
    master: optax.Params


def _cast(tree: Any, dtype: Any) -> Any:
    return jax.tree.map(lambda x: x.astype(dtype), tree)


def float32_optimizer(
    inner: optax.GradientTransformation, *, master_copy: bool
) -> optax.GradientTransformation:
    """Run an optax transformation in float32 whatever the parameters' dtype.

    Gradients and parameters are cast to float32 before ``inner`` sees them, so every state it
    creates (e.g. Adam's moments) is float32. With ``master_copy`` the state also holds a float32
    copy of the parameters (`MasterCopyState`): ``inner`` reads the master copy instead of the
    parameters, and the returned updates are added to the master copy inside this
    transformation; `PolicyOptimizer` then sets the parameters to the master copy's nearest
    bfloat16 values (Gopher App. C).

    Args:
      inner: The optimizer, e.g. from `gopherlite.train.make_optimizer`.
      master_copy: Keep and advance a float32 master copy.

    Returns:
      The wrapped transformation; its updates are float32 (relative to the master copy when
      there is one).
    """

    def init(params: optax.Params) -> optax.OptState:
        params32 = _cast(params, jnp.float32)
        state = inner.init(params32)
        return MasterCopyState(state, params32) if master_copy else state

    def update(
        grads: optax.Updates, state: optax.OptState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, optax.OptState]:
        grads32 = _cast(grads, jnp.float32)
        if not master_copy:
            return inner.update(grads32, state, _cast(params, jnp.float32))
        updates, inner_state = inner.update(grads32, state.inner, state.master)
        return updates, MasterCopyState(inner_state, optax.apply_updates(state.master, updates))

    return optax.GradientTransformation(init, update)


def updated_params(
    policy: Policy,
    params: optax.Params,
    updates: optax.Updates,
    opt_state: optax.OptState,
    key: jax.Array | None,
) -> optax.Params:
    """The policy's update rule: new stored parameters from float32 updates.

    - no master copy, ``"nearest"``: ``(float32(p) + u).astype(param_dtype)``: exact for float32
      parameters; for bfloat16 ones, updates below half a bfloat16 step are lost;
    - no master copy, ``"stochastic"``: `stochastic_round` of ``float32(p) + u``, with one key
      per parameter array split from ``key``;
    - master copy: the nearest ``param_dtype`` values of the (already advanced) master copy.

    Args:
      policy: The precision policy.
      params: Current parameters (arrays).
      updates: float32 updates from `float32_optimizer`.
      opt_state: The optimizer state after the update (holds the master copy, if any).
      key: Rounding key (needed by ``"stochastic"`` only), e.g. from `rounding_key`.

    Returns:
      The new parameters, in ``policy.param_dtype``.
    """
    dtype = jnp.dtype(policy.param_dtype)
    if policy.master_copy:
        return _cast(opt_state.master, dtype)
    new32 = jax.tree.map(lambda p, u: p.astype(jnp.float32) + u, params, updates)
    if policy.update_rounding == "nearest":
        return _cast(new32, dtype)
    if key is None:
        raise ValueError(f"Precision {policy.name!r} rounds stochastically and needs a key.")
    leaves, treedef = jax.tree.flatten(new32)
    keys = jax.random.split(key, len(leaves))
    rounded = [stochastic_round(x, k, dtype) for x, k in zip(leaves, keys, strict=True)]
    return jax.tree.unflatten(treedef, rounded)


class PolicyOptimizer(nnx.Optimizer):
    """`nnx.Optimizer` that stores and updates parameters as a precision policy says.

    The optax transformation is wrapped by `float32_optimizer` (float32 state, plus the master
    copy under ``bf16_master``), and `update` applies `updated_params` instead of
    ``optax.apply_updates``.

    Example:
      >>> policy = get_policy("bf16_sr")
      >>> model = init_model(PRESETS["tiny"], policy, seed=0)
      >>> optimizer = PolicyOptimizer(model, optax.adam(1e-3), policy=policy)
      >>> optimizer.update(model, grads, key=rounding_key(0, optimizer.step[...]))
    """

    def __init__(
        self,
        model: nnx.Module,
        tx: optax.GradientTransformation,
        *,
        policy: Policy,
        wrt: Any = nnx.Param,
    ) -> None:
        """Create the float32 optimizer state for the model's parameters.

        Args:
          model: The model, built with the policy's dtypes (see `init_model`).
          tx: The optimizer (e.g. clipping and Adam), unaware of precision.
          policy: The precision policy.
          wrt: Which variables are optimized.
        """
        super().__init__(model, float32_optimizer(tx, master_copy=policy.master_copy), wrt=wrt)
        self.policy = policy

    def update(
        self, model: nnx.Module, grads: Any, /, *, key: jax.Array | None = None
    ) -> optax.Updates:
        """One optimizer step: advance the state and write the new parameters into the model.

        Args:
          model: The model whose parameters are updated in place.
          grads: Gradients from `nnx.grad` (in the parameters' dtype).
          key: Rounding key; required by stochastic rounding, ignored otherwise.

        Returns:
          The float32 updates (relative to the master copy under ``bf16_master``).
        """
        params = nnx.as_pure(nnx.state(model, self.wrt, graph=self.graph))
        grads = nnx.as_pure(nnx.state(grads, self.wrt, graph=self.graph))
        updates, opt_state = self.tx.update(grads, nnx.as_pure(self.opt_state), params)
        nnx.update(model, updated_params(self.policy, params, updates, opt_state, key))
        nnx.update(self.opt_state, nnx.state(opt_state, graph=self.graph))
        self.step[...] += 1
        return updates
