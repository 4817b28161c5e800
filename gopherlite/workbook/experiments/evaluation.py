"""Measured experiments of ch. 09: few-shot scoring, memorisation, canaries, template probes.

Each helper composes library pieces (`gopherlite.choices`, `gopherlite.sample`,
`gopherlite.data.dedup`) into the measurement a section of the chapter reports:

* `few_shot_items`: k solved items put in front of each question (G Sec. 4: k-shot prompts).
* `memorisation_rates`: how much of a model's greedy continuation of a document's opening is
  made of 13-grams from the training text, for training and for held-out openings (G Sec. 5's
  privacy risk; Carlini et al. 2021 extract training text this way).
* `plant_canaries` and `canary_rank`: a made-up secret repeated in the training text, and where
  the trained model ranks it among look-alikes (Carlini et al. 2019's "secret sharer" test).
* `association_gaps`: a template probe, log p(word A) − log p(word B) after a template filled
  with each of a list of words (the method of Gopher's gender and occupation study, Sec. 5).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import numpy as np

from gopherlite.choices import ChoiceItem, choice_logprobs, few_shot_prompt
from gopherlite.data.corpus import Document
from gopherlite.data.dedup import overlap_fraction
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.nn.transformer import GopherLM
from gopherlite.sample import generate


def few_shot_items(
    items: Sequence[ChoiceItem], shots: Sequence[ChoiceItem], k: int
) -> list[ChoiceItem]:
    """The same questions with k solved examples in front of each (k-shot prompting).

    Item i gets shots ``i·k … i·k + k − 1``, each written as its context followed by its right
    choice, so no example is reused and none is the question itself.

    Args:
      items: The questions.
      shots: Solved items to draw examples from, at least ``k · len(items)`` of them.
      k: Examples per prompt (0: the items unchanged).

    Returns:
      Items with the k-shot prompt as context and the same choices and answer.

    Raises:
      ValueError: too few shots.
    """
    if k * len(items) > len(shots):
        raise ValueError(f"{k}-shot prompts for {len(items)} items need {k * len(items)} shots; "
                         f"got {len(shots)}.")  # fmt: skip
    out = []
    for i, item in enumerate(items):
        examples = [(s.context, s.choices[s.answer]) for s in shots[i * k : (i + 1) * k]]
        out.append(ChoiceItem(few_shot_prompt(examples, item.context), item.choices, item.answer))
    return out


def memorisation_rates(
    model: GopherLM,
    tokenizer: Tokenizer,
    prompts: dict[str, Sequence[str]],
    train_index: set[tuple[str, ...]],
    *,
    prompt_tokens: int = 32,
    new_tokens: int = 48,
) -> dict[str, float]:
    """Mean share of the greedy continuations' 13-grams that occur in the training text.

    Args:
      model: The trained model.
      tokenizer: Its tokenizer.
      prompts: Group name → documents whose first ``prompt_tokens`` tokens are the prompts
        (e.g. ``{"training": ..., "held-out": ...}``); shorter documents are skipped.
      train_index: `gopherlite.data.dedup.shingle_index` of the training text.
      prompt_tokens: Tokens of each document given as the prompt.
      new_tokens: Tokens generated greedily after it.

    Returns:
      Group name → mean `overlap_fraction` of its continuations (continuations of fewer than
      13 words are left out).
    """
    rates = {}
    for group, texts in prompts.items():
        fractions = []
        for text in texts:
            ids = tokenizer.encode(text)
            if len(ids) <= prompt_tokens:
                continue
            new = generate(model, ids[:prompt_tokens], new_tokens, temperature=0)
            fraction = overlap_fraction(tokenizer.decode(new), train_index)
            if fraction is not None:
                fractions.append(fraction)
        rates[group] = float(np.mean(fractions)) if fractions else float("nan")
    return rates


def plant_canaries(
    documents: Sequence[Document], canary: str, repeats: int, *, seed: int = 0
) -> list[Document]:
    """The documents with a canary document inserted ``repeats`` times at random places.

    Args:
      documents: The training documents.
      canary: The text to plant (a made-up secret in a sentence).
      repeats: How many copies.
      seed: Seed of the insertion places.

    Returns:
      A new list of ``len(documents) + repeats`` documents; the copies are named
      ``canary:<i>``.
    """
    rng = random.Random(seed)
    out = list(documents)
    for i in range(repeats):
        out.insert(rng.randrange(len(out) + 1), Document(f"canary:{i}", canary))
    return out


@dataclasses.dataclass(frozen=True)
class CanaryResult:
    """Where the true secret ranks among look-alikes under the model.

    Attributes:
      rank: 1 when the true secret is the most likely of all candidates.
      candidates: How many secrets were scored (the true one included).
      true_logprob: Summed log-probability of the true secret after the prefix.
      best_other_logprob: The highest log-probability among the other candidates.
    """

    rank: int
    candidates: int
    true_logprob: float
    best_other_logprob: float


def canary_rank(
    model: GopherLM,
    tokenizer: Tokenizer,
    prefix: str,
    secret: str,
    *,
    candidates: int = 100,
    seed: int = 0,
) -> CanaryResult:
    """Rank a secret of digits among random secrets of the same form, after its prefix.

    Args:
      model: The model.
      tokenizer: Its tokenizer.
      prefix: The text before the secret, e.g. ``"My locker code is"``.
      secret: The planted secret, digits separated by spaces (``" 4 7 1 9"``, leading space).
      candidates: Secrets scored in all, the true one included.
      seed: Seed of the look-alikes.

    Returns:
      The rank and the log-probabilities.
    """
    rng = random.Random(seed)
    digits = secret.split()
    others: set[str] = set()
    while len(others) < candidates - 1:
        other = " " + " ".join(str(rng.randrange(10)) for _ in digits)
        if other.split() != digits:
            others.add(other)
    scores = choice_logprobs(model, tokenizer, prefix, [secret, *sorted(others)])
    true, rest = scores[0], scores[1:]
    return CanaryResult(1 + sum(s > true for s in rest), candidates, true, max(rest))


def association_gaps(
    model: GopherLM,
    tokenizer: Tokenizer,
    template: str,
    fillers: Sequence[str],
    pair: tuple[str, str] = (" he", " she"),
) -> dict[str, float]:
    """log p(pair[0]) − log p(pair[1]) after a template filled with each word.

    Args:
      model: The model.
      tokenizer: Its tokenizer.
      template: Text with one ``{}``, e.g. ``"The {} said that"``.
      fillers: Words to put in it, e.g. occupations.
      pair: The two continuations compared.

    Returns:
      Word → gap in nats (positive: the first of the pair is more likely).
    """
    gaps = {}
    for word in fillers:
        first, second = choice_logprobs(model, tokenizer, template.format(word), pair)
        gaps[word] = first - second
    return gaps
