"""Multiple-choice scoring by log-likelihood, and k-shot prompts (Gopher, Rae et al. 2021, Sec. 4).

Gopher scored most of its multiple-choice tasks without sampling: each answer is appended to the
question, the model's log-probability of the answer's tokens is summed, and the most likely
answer is the model's pick. The continuation is tokenised as it would be in running text:
context and answer are encoded together, and the answer's tokens are those after the longest
prefix the encoding shares with the context's own encoding (a tokenizer may merge the last
characters of the context with the first of the answer, so encoding them apart would score
token sequences the model never sees in text).

* `choice_logprobs(model, tokenizer, context, choices)`: summed log-probabilities.
* `ChoiceItem`, `load_choice_items(path)`, `choice_accuracy(model, tokenizer, items)`.
* `few_shot_prompt(examples, query)`: k solved examples, then the question.
* `continuation_items(texts, n_items)`: items built from held-out text (its true next words
  against words from elsewhere), and `accuracy_stderr(accuracy, n)` to read them honestly.

The document separator (``eos_id``, which also separates documents in training windows) is put
in front of every context, so the first token is predicted as at the start of a document.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gopherlite.data.tokenizer import Tokenizer
from gopherlite.nn.transformer import GopherLM


def continuation_tokens(
    tokenizer: Tokenizer, context: str, continuation: str
) -> tuple[list[int], int]:
    """Encode context and continuation as one text and find where the continuation starts.

    Args:
      tokenizer: The model's tokenizer.
      context: Text before the answer (its trailing space, if any, belongs to it).
      continuation: The answer.

    Returns:
      ``(ids, start)``: the ids of ``context + continuation`` and the index of the first id that
      is not part of the context's own encoding.
    """
    ids = tokenizer.encode(context + continuation)
    context_ids = tokenizer.encode(context)
    start = 0
    while start < min(len(ids), len(context_ids)) and ids[start] == context_ids[start]:
        start += 1
    return ids, start


def choice_logprobs(
    model: GopherLM, tokenizer: Tokenizer, context: str, choices: Sequence[str]
) -> list[float]:
    """Summed log-probability of each choice's tokens after the context.

    Args:
      model: The language model.
      tokenizer: Its tokenizer.
      context: The question or prompt.
      choices: Candidate continuations.

    Returns:
      One float per choice (natural log); larger is more likely.

    Raises:
      ValueError: no choices, a choice that adds no tokens, or a text longer than an absolute-
        position model's window.
    """
    if not choices:
        raise ValueError("choice_logprobs needs at least one choice.")
    scores = []
    for choice in choices:
        ids, start = continuation_tokens(tokenizer, context, choice)
        if start >= len(ids):
            raise ValueError(
                f"Choice {choice!r} adds no tokens to the context; it cannot be scored."
            )
        tokens = [tokenizer.eos_id, *ids]  # position t predicts tokens[t + 1]
        n = len(tokens) - 1
        # Padded to a multiple of 32 so that one compilation serves many lengths; the causal
        # mask keeps the padding from reaching the n real positions.
        width = -(-n // _BUCKET) * _BUCKET
        if model.config.position == "absolute":
            width = max(n, min(width, model.config.max_seq_len))
        inputs_1xP = np.full((1, width), tokenizer.pad_id, np.int32)
        targets_1xP = np.zeros((1, width), np.int32)
        inputs_1xP[0, :n], targets_1xP[0, :n] = tokens[:-1], tokens[1:]
        picked_P = _target_log_probs(model, jnp.asarray(inputs_1xP), jnp.asarray(targets_1xP))
        scores.append(float(picked_P[start:n].sum()))  # ids[start:] sit at targets[start:]
    return scores


_BUCKET = 32


@nnx.jit
def _target_log_probs(model: GopherLM, inputs_1xP: jax.Array, targets_1xP: jax.Array) -> jax.Array:
    """log p(target_t | inputs up to t) at every position of one padded sequence, ``[P]``."""
    log_probs_PxV = jax.nn.log_softmax(model(inputs_1xP)[0].astype(jnp.float32), axis=-1)
    return jnp.take_along_axis(log_probs_PxV, targets_1xP[0][:, None], axis=-1)[:, 0]


@dataclasses.dataclass(frozen=True)
class ChoiceItem:
    """One multiple-choice question.

    Attributes:
      context: The question or prompt.
      choices: Candidate answers.
      answer: Index of the right one.
    """

    context: str
    choices: tuple[str, ...]
    answer: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 2 or not 0 <= self.answer < len(self.choices):
            raise ValueError(
                f"A choice item needs two or more choices and an answer index among them; got "
                f"{len(self.choices)} choices and answer {self.answer}."
            )


def load_choice_items(path: str | os.PathLike[str]) -> list[ChoiceItem]:
    """Read items from JSON lines: ``{"context": ..., "choices": [...], "answer": i}``.

    Args:
      path: A ``.jsonl`` file, one item per line (blank lines skipped).

    Returns:
      The items.

    Raises:
      ValueError: a line that is not such an item, naming the line.
    """
    items = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                items.append(
                    ChoiceItem(record["context"], record["choices"], int(record["answer"]))
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"{path}, line {number}: not a choice item ({error}); each line must be "
                    '{"context": "...", "choices": ["...", "..."], "answer": 0}.'
                ) from None
    if not items:
        raise ValueError(f"{path} holds no choice items.")
    return items


def choice_accuracy(
    model: GopherLM,
    tokenizer: Tokenizer,
    items: Sequence[ChoiceItem],
    *,
    per_token: bool = False,
) -> float:
    """Share of items whose most likely choice is the right one.

    Args:
      model: The language model.
      tokenizer: Its tokenizer.
      items: The questions.
      per_token: Rank choices by their mean log-probability per token instead of the sum, so a
        choice is not preferred for having fewer tokens (a common length normalisation).

    Returns:
      Accuracy in [0, 1]; chance is the mean of 1 / (number of choices).
    """
    right = 0
    for item in items:
        scores = np.asarray(choice_logprobs(model, tokenizer, item.context, item.choices))
        if per_token:
            counts = [
                len(ids) - start
                for ids, start in (
                    continuation_tokens(tokenizer, item.context, c) for c in item.choices
                )
            ]
            scores = scores / np.asarray(counts)  # fmt: skip
        right += int(np.argmax(scores)) == item.answer
    return right / len(items)


def few_shot_prompt(
    examples: Sequence[tuple[str, str]], query: str, *, separator: str = "\n\n"
) -> str:
    """A k-shot prompt: solved examples, then the question left open for the model.

    Args:
      examples: ``(question, answer)`` pairs, each written as ``question + answer``.
      query: The question to answer.
      separator: Between examples.

    Returns:
      The prompt (zero-shot when ``examples`` is empty).
    """
    shots = [question + answer for question, answer in examples]
    return separator.join([*shots, query])


def continuation_items(
    texts: Sequence[str],
    n_items: int,
    *,
    n_choices: int = 4,
    context_words: int = 24,
    continuation_words: int = 6,
    seed: int = 0,
) -> list[ChoiceItem]:
    """Multiple-choice items cut from text: which continuation really came next?

    A LAMBADA-like task made from any held-out text: the context is ``context_words`` words
    of a document, the right choice the ``continuation_words`` words that follow, and the
    distractors equally long runs of words from other documents. Words are split on
    whitespace and joined with single spaces (line breaks become spaces); every choice starts
    with a space, as it would in running text after the context.

    Args:
      texts: Documents, at least two of which hold ``context_words + continuation_words`` words.
      n_items: Items to make.
      n_choices: Choices per item (chance is 1 / n_choices).
      context_words: Words of context.
      continuation_words: Words in every choice.
      seed: Seed of the positions, distractors and the right answer's place.

    Returns:
      The items; the right answer's index is uniform over the choices.

    Raises:
      ValueError: fewer than two documents are long enough.
    """
    span = context_words + continuation_words
    docs = [words for words in (text.split() for text in texts) if len(words) >= span]
    if len(docs) < 2:
        raise ValueError(
            f"continuation_items needs two or more documents of at least {span} words; got "
            f"{len(docs)}. Pass more text or fewer context_words/continuation_words."
        )
    rng = random.Random(seed)
    items = []
    for _ in range(n_items):
        d = rng.randrange(len(docs))
        start = rng.randrange(len(docs[d]) - span + 1)
        context = " ".join(docs[d][start : start + context_words])
        true = " " + " ".join(docs[d][start + context_words : start + span])
        distractors: list[str] = []
        while len(distractors) < n_choices - 1:
            other = rng.choice([i for i in range(len(docs)) if i != d])
            at = rng.randrange(len(docs[other]) - continuation_words + 1)
            choice = " " + " ".join(docs[other][at : at + continuation_words])
            if choice != true and choice not in distractors:
                distractors.append(choice)
        answer = rng.randrange(n_choices)
        choices = [*distractors[:answer], true, *distractors[answer:]]
        items.append(ChoiceItem(context, tuple(choices), answer))
    return items


def accuracy_stderr(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on n items, sqrt(p (1 − p) / n).

    Args:
      accuracy: Measured share right, in [0, 1].
      n: Number of items.

    Returns:
      The standard error; about two of them either side give a 95% interval.
    """
    return math.sqrt(accuracy * (1.0 - accuracy) / n)
