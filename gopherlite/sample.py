"""Sampling from a `GopherLM`: logit processing and KV-cached generation.

Each logit processor is a small pure function on ``[B, V]`` float logits that works inside
`jax.jit` (its settings are Python numbers, fixed at trace time):

- `apply_temperature` divides by T: T < 1 sharpens the distribution, T > 1 flattens it.
- `top_k_filter` keeps the k most likely tokens (Fan et al. 2018).
- `top_p_filter` keeps the nucleus, the smallest set of most likely tokens whose mass reaches p
  (Holtzman et al. 2020). Gopher's dialogue agent DPG samples with p = 0.8 (Perez et al. 2022;
  see ``gopher_facts.md`` Sec. 10).
- `sample_token` chains them (temperature, then top-k, then top-p) and draws one token per row;
  temperature 0 is greedy argmax.

`generate` decodes with the KV cache (G Sec. 3.1's relative attention needs only the cached
content keys and values plus a table of projected relative keys): one prefill pass over the
prompt, then one token per step, the whole loop compiled as one XLA program. `generate_uncached`
is the slow reference that re-runs the full model for every new token.

Key schedule: new token i (counting from 0) of a call is drawn with
``jax.random.fold_in(jax.random.key(seed), i)``. Because the key depends only on the seed and
the step, the cached loop and the uncached reference draw the same tokens from the same logits.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gopherlite.nn.transformer import GopherLM

# float32 rounding in the softmax and the running sum may put the mass of a set that reaches p
# exactly a hair below p; this slack stops such a set from pulling in one more token.
_MASS_TOLERANCE = 1e-6


def _check_temperature(temperature: float) -> None:
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}."
        )


def _check_top_k(k: int, vocab_size: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= vocab_size:
        raise ValueError(
            f"top_k must be an integer between 1 and vocab_size={vocab_size}, got {k!r}; "
            "use top_k=None to sample from the whole vocabulary."
        )


def _check_top_p(p: float) -> None:
    if not 0 < p <= 1:
        raise ValueError(
            f"top_p must be in (0, 1], got {p!r}; use top_p=None (or 1.0) to turn nucleus "
            "sampling off."
        )


def apply_temperature(logits_BxV: jax.Array, temperature: float | jax.Array) -> jax.Array:
    """Scale logits by 1/temperature: softmax(logits / T).

    Args:
      logits_BxV: Next-token logits.
      temperature: A positive temperature (a Python number or a scalar array). Greedy decoding
        (T = 0) is handled by `sample_token`, not here.

    Returns:
      Float32 logits ``[B, V]`` divided by the temperature.
    """
    if isinstance(temperature, int | float) and temperature <= 0:
        raise ValueError(
            f"apply_temperature needs temperature > 0, got {temperature!r}; for greedy "
            "decoding call sample_token with temperature=0."
        )
    return logits_BxV.astype(jnp.float32) / temperature


def top_k_filter(logits_BxV: jax.Array, k: int) -> jax.Array:
    """Keep each row's k largest logits and set the rest to -inf (top-k sampling).

    Exactly k entries survive per row: among equal logits the lower token id wins
    (`jax.lax.top_k`'s documented order), so ties are broken deterministically.

    Args:
      logits_BxV: Next-token logits.
      k: How many tokens to keep, 1 ≤ k ≤ V (a Python int: it fixes a shape).

    Returns:
      Logits of the same shape and dtype with all but k entries per row at -inf.
    """
    _check_top_k(k, logits_BxV.shape[-1])
    _, top_BxK = jax.lax.top_k(logits_BxV, k)
    keep_BxV = jnp.put_along_axis(
        jnp.zeros(logits_BxV.shape, bool), top_BxK, True, axis=-1, inplace=False
    )
    return jnp.where(keep_BxV, logits_BxV, -jnp.inf)


def top_p_filter(logits_BxV: jax.Array, p: float | jax.Array) -> jax.Array:
    """Nucleus filtering (Holtzman et al. 2020): keep the smallest top set with mass ≥ p.

    Tokens are ranked by probability (equal logits: lower token id first). A token is kept if
    the mass of the tokens ranked above it is still below p, so the most likely token is
    always kept and the kept set is the shortest prefix of the ranking whose mass reaches p
    (up to float32 rounding, 1e-6). With p = 1 every token is kept. Gopher's DPG used p = 0.8.

    Args:
      logits_BxV: Next-token logits (entries may already be -inf, e.g. after `top_k_filter`).
      p: Mass to keep, 0 < p ≤ 1 (a Python number or a scalar array).

    Returns:
      Logits of the same shape and dtype with the tokens outside the nucleus at -inf.
    """
    if isinstance(p, int | float):
        _check_top_p(p)
    order_BxV = jnp.argsort(-logits_BxV, axis=-1, stable=True)  # most likely first
    sorted_BxV = jnp.take_along_axis(logits_BxV, order_BxV, axis=-1)
    probs_BxV = jax.nn.softmax(sorted_BxV.astype(jnp.float32), axis=-1)
    mass_BxV = jnp.cumsum(probs_BxV, axis=-1)
    mass_above_BxV = jnp.concatenate([jnp.zeros_like(mass_BxV[..., :1]), mass_BxV[..., :-1]], -1)
    keep_sorted_BxV = (mass_above_BxV < p - _MASS_TOLERANCE) | (p >= 1)
    keep_sorted_BxV = keep_sorted_BxV.at[..., 0].set(True)  # the top token, however small p
    keep_BxV = jnp.put_along_axis(
        jnp.zeros(logits_BxV.shape, bool), order_BxV, keep_sorted_BxV, axis=-1, inplace=False
    )
    return jnp.where(keep_BxV, logits_BxV, -jnp.inf)


def sample_token(
    logits_BxV: jax.Array,
    key: jax.Array,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> jax.Array:
    """Draw one token per row: temperature, then top-k, then top-p, then a categorical draw.

    Args:
      logits_BxV: Next-token logits.
      key: PRNG key; each row gets an independent draw from it.
      temperature: 0 for greedy argmax (no randomness; top_k and top_p cannot change the
        argmax and are ignored), else a positive Python number.
      top_k: Keep only the k most likely tokens, or None.
      top_p: Keep only the nucleus of mass p, or None.

    Returns:
      int32 token ids ``[B]``.
    """
    if temperature == 0:
        return jnp.argmax(logits_BxV, axis=-1).astype(jnp.int32)
    logits_BxV = apply_temperature(logits_BxV, temperature)
    if top_k is not None:
        logits_BxV = top_k_filter(logits_BxV, top_k)
    if top_p is not None:
        logits_BxV = top_p_filter(logits_BxV, top_p)
    return jax.random.categorical(key, logits_BxV, axis=-1).astype(jnp.int32)


def _prepare(
    model: GopherLM,
    prompt_ids: object,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    eos_id: int | None,
) -> tuple[np.ndarray, bool]:
    """Validate a request; return the prompt as int32 ``[B, T]`` and whether it was batched."""
    V = model.config.vocab_size
    try:
        prompt = np.asarray(prompt_ids)
    except ValueError as err:
        raise ValueError(
            "prompt_ids rows have different lengths; batch only equal-length prompts "
            "(or generate one prompt at a time)."
        ) from err
    if prompt.ndim not in (1, 2) or prompt.dtype == object:
        raise ValueError(
            "prompt_ids must be a list of token ids or a [batch, length] list/array of "
            f"equal-length prompts; got shape {prompt.shape}."
        )
    if prompt.size == 0:
        raise ValueError("prompt_ids is empty; give at least one token id to condition on.")
    if not np.issubdtype(prompt.dtype, np.integer):
        raise ValueError(
            f"prompt_ids must be integer token ids, got dtype {prompt.dtype}; encode text "
            "with Tokenizer.encode first."
        )
    bad = (prompt < 0) | (prompt >= V)
    if bad.any():
        raise ValueError(
            f"prompt_ids contains token id {prompt[bad].flat[0]} outside [0, {V}) for this "
            f"model's vocab_size={V}; check that the tokenizer matches the model."
        )
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int | np.integer):
        raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}.")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}; ask for a token.")
    _check_temperature(temperature)
    if top_k is not None:
        _check_top_k(top_k, V)
    if top_p is not None:
        _check_top_p(top_p)
    if eos_id is not None and not 0 <= eos_id < V:
        raise ValueError(f"eos_id must be a token id in [0, {V}), got {eos_id!r}.")
    batched = prompt.ndim == 2
    return prompt.reshape(-1, prompt.shape[-1]).astype(np.int32), batched


def _check_length(model: GopherLM, prompt_len: int, max_new_tokens: int, positions: int) -> None:
    """Raise if an absolute-position model cannot address ``positions`` positions."""
    limit = model.config.max_seq_len
    if model.config.position == "absolute" and positions > limit:
        raise ValueError(
            f"The prompt ({prompt_len} tokens) plus max_new_tokens={max_new_tokens} needs "
            f"{positions} positions, more than this absolute-position model's "
            f"max_seq_len={limit}; shorten the prompt or ask for fewer tokens."
        )


def _finish(new_BxN: np.ndarray, batched: bool, eos_id: int | None) -> list[int] | list[list[int]]:
    """Python lists of new ids, each row cut after its first ``eos_id`` (inclusive)."""
    rows = []
    for row in new_BxN.tolist():
        if eos_id is not None and eos_id in row:
            row = row[: row.index(eos_id) + 1]
        rows.append(row)
    return rows if batched else rows[0]


@functools.partial(
    jax.jit, static_argnames=("graphdef", "cache_len", "temperature", "top_k", "top_p")
)
def _decode_with_cache(
    graphdef: nnx.GraphDef,
    state: nnx.State,
    prompt_BxT: jax.Array,
    max_new_tokens: jax.Array,
    key: jax.Array,
    *,
    cache_len: int,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> jax.Array:
    """Prefill, then a `jax.lax.fori_loop` of single-token decoding steps, in one program.

    The prefill (`GopherLM.prefill`: the full-pass attention over the prompt, tile by tile
    for long prompts) covers all prompt tokens but the last; step i feeds one token (the last
    prompt token at i = 0, then the token drawn at step i − 1) and draws new token i. The
    caches live inside this one program, carried by the loop, so every step writes its key
    and value in place (no buffer crosses the jit boundary, so nothing needs donating). The
    model's one-token step and the sampler appear once in the program. ``max_new_tokens`` is
    traced (the loop bound), so one compilation serves every request with the same prompt
    shape, cache size and sampling settings.

    Returns:
      int32 ``[B, cache_len − T]``: the new tokens in the first ``max_new_tokens`` columns.
    """
    model = nnx.merge(graphdef, state)
    B, T = prompt_BxT.shape
    caches = model.init_cache(B, cache_len)
    if T > 1:
        _, caches = model.prefill(prompt_BxT[:, :-1], caches)

    def step(i: jax.Array, carry: tuple) -> tuple:
        caches, token_B, new_BxS = carry
        logits_Bx1xV, caches = model.decode(token_B[:, None], caches)
        token_B = sample_token(
            logits_Bx1xV[:, 0],
            jax.random.fold_in(key, i),
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
        )
        return caches, token_B, new_BxS.at[:, i].set(token_B)

    new_BxS = jnp.zeros((B, cache_len - T), jnp.int32)
    carry = (caches, prompt_BxT[:, -1], new_BxS)
    _, _, new_BxS = jax.lax.fori_loop(0, max_new_tokens, step, carry)
    return new_BxS


def generate(
    model: GopherLM,
    prompt_ids: list[int] | list[list[int]] | np.ndarray | jax.Array,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    eos_id: int | None = None,
    max_len: int | None = None,
) -> list[int] | list[list[int]]:
    """Continue a prompt with KV-cached decoding; ``temperature=0`` is greedy.

    One `GopherLM.prefill` call fills the cache with the prompt (all but its last token,
    which the first step feeds), then each step feeds one token and draws the next. The
    prefill and the loop over steps (`jax.lax.fori_loop`, carrying the caches, the last token
    and the output buffer) form one jitted function, so there is no per-token Python overhead,
    and it compiles once per (prompt shape, cache size, sampling settings); the number of new
    tokens and the seed are runtime values. The model goes in by the split/merge
    pattern: ``nnx.split`` gives a hashable graph definition (a static argument) and a state
    pytree (traced), and the jitted function rebuilds the model with ``nnx.merge``. Decoding
    mutates no module state (caches are explicit values), so nothing needs to flow back, and
    the function is a plain `jax.jit` with none of `nnx.jit`'s per-call graph bookkeeping.

    Token i of the continuation is drawn with ``fold_in(key(seed), i)``: the same seed gives
    the same tokens, and `generate_uncached` with the same arguments draws the same ones. One
    key draws a step's tokens for all rows of a batch, so with temperature > 0 a prompt
    sampled alone and the same prompt inside a batch get different (equally valid) draws.

    Args:
      model: The language model.
      prompt_ids: One prompt as a list (or 1-D array) of token ids, or a ``[B, T]`` list or
        array of B equal-length prompts decoded together.
      max_new_tokens: Tokens to generate, at least 1.
      temperature: Softmax temperature; 0 means greedy argmax.
      top_k: Sample only among the k most likely tokens (None: no limit).
      top_p: Nucleus sampling mass, 0 < p ≤ 1 (None: off). Gopher's DPG used 0.8.
      seed: Seed of the sampling key.
      eos_id: If given, each returned continuation is cut after its first ``eos_id``
        (inclusive). The loop itself always runs ``max_new_tokens`` steps.
      max_len: Cache slots; None means prompt length + max_new_tokens. A fixed value lets
        requests with different max_new_tokens share one compilation.

    Returns:
      The new token ids only (without the prompt): a list of ints for one prompt, or a list
      of B lists for a ``[B, T]`` prompt (lengths may differ after the eos cut).
    """
    prompt_BxT, batched = _prepare(
        model, prompt_ids, max_new_tokens, temperature, top_k, top_p, eos_id
    )
    T = prompt_BxT.shape[1]
    if max_len is not None and max_len < T + max_new_tokens:
        raise ValueError(
            f"max_len={max_len} cannot hold the prompt ({T} tokens) plus "
            f"max_new_tokens={max_new_tokens}; pass max_len >= {T + max_new_tokens} or None."
        )
    cache_len = T + max_new_tokens if max_len is None else max_len
    _check_length(model, T, max_new_tokens, T + max_new_tokens)
    if model.config.position == "absolute" and cache_len > model.config.max_seq_len:
        raise ValueError(
            f"max_len={cache_len} exceeds this absolute-position model's "
            f"max_seq_len={model.config.max_seq_len}; pass a smaller max_len or None."
        )
    graphdef, state = nnx.split(model)
    new_BxS = _decode_with_cache(
        graphdef,
        state,
        jnp.asarray(prompt_BxT),
        jnp.asarray(max_new_tokens, jnp.int32),
        jax.random.key(seed),
        cache_len=cache_len,
        temperature=float(temperature),
        top_k=top_k,
        top_p=top_p,
    )
    return _finish(np.asarray(new_BxS)[:, :max_new_tokens], batched, eos_id)


@functools.partial(jax.jit, static_argnames=("graphdef", "temperature", "top_k", "top_p"))
def _next_token_uncached(
    graphdef: nnx.GraphDef,
    state: nnx.State,
    tokens_BxL: jax.Array,
    position: jax.Array,
    step_key: jax.Array,
    *,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> jax.Array:
    """Full forward pass over ``tokens_BxL``; draw the token after ``position``."""
    logits_BxLxV = nnx.merge(graphdef, state)(tokens_BxL)
    logits_BxV = jax.lax.dynamic_index_in_dim(logits_BxLxV, position, axis=1, keepdims=False)
    return sample_token(logits_BxV, step_key, temperature=temperature, top_k=top_k, top_p=top_p)


def generate_uncached(
    model: GopherLM,
    prompt_ids: list[int] | list[list[int]] | np.ndarray | jax.Array,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    eos_id: int | None = None,
) -> list[int] | list[list[int]]:
    """The slow reference: one full forward pass over the whole sequence per new token.

    No KV cache: every step re-runs the model over all positions, so a continuation of N
    tokens costs N full passes instead of one prefill and N single-token steps. It exists to
    check `generate` and to measure what the cache saves. To compile the forward pass once, the
    sequence lives in a buffer of its final length (prompt + max_new_tokens) with zeros in the
    slots not yet generated; causal attention keeps them invisible to the position read, so
    every step costs a pass over the full buffer. A Python loop drives the steps.

    Args:
      model: The language model.
      prompt_ids: One prompt (list of ids) or a ``[B, T]`` batch of equal-length prompts.
      max_new_tokens: Tokens to generate, at least 1.
      temperature: Softmax temperature; 0 means greedy argmax.
      top_k: Sample only among the k most likely tokens (None: no limit).
      top_p: Nucleus sampling mass, 0 < p ≤ 1 (None: off).
      seed: Seed of the sampling key (same schedule as `generate`).
      eos_id: If given, each continuation is cut after its first ``eos_id`` (inclusive).

    Returns:
      As `generate`: the new ids, a list for one prompt or a list of lists for a batch.
    """
    prompt_BxT, batched = _prepare(
        model, prompt_ids, max_new_tokens, temperature, top_k, top_p, eos_id
    )
    B, T = prompt_BxT.shape
    _check_length(model, T, max_new_tokens, T + max_new_tokens)
    graphdef, state = nnx.split(model)
    key = jax.random.key(seed)
    tokens_BxL = np.zeros((B, T + max_new_tokens), np.int32)
    tokens_BxL[:, :T] = prompt_BxT
    for i in range(max_new_tokens):
        token_B = _next_token_uncached(
            graphdef,
            state,
            jnp.asarray(tokens_BxL),
            jnp.asarray(T + i - 1, jnp.int32),
            jax.random.fold_in(key, i),
            temperature=float(temperature),
            top_k=top_k,
            top_p=top_p,
        )
        tokens_BxL[:, T + i] = np.asarray(token_B)
    return _finish(tokens_BxL[:, T:], batched, eos_id)
