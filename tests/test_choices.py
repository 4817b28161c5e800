"""Multiple-choice scoring against an independent log-likelihood reference, item files, k-shot
prompts."""

import json
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.choices import (
    ChoiceItem,
    accuracy_stderr,
    choice_accuracy,
    choice_logprobs,
    continuation_items,
    continuation_tokens,
    few_shot_prompt,
    load_choice_items,
)
from gopherlite.data.corpus import default_documents
from gopherlite.workbook.experiments.variants import experiment_tokenizer
from tests.conftest import randomize_params


@pytest.fixture(scope="module")
def tokenizer():
    return experiment_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    config = ModelConfig(n_layers=2, n_heads=2, d_head=16, d_model=32,
                         vocab_size=tokenizer.vocab_size, max_seq_len=128)  # fmt: skip
    model = GopherLM(config, rngs=nnx.Rngs(0))
    randomize_params(model, 1, scale=0.2)  # varied scores, so picks are not ties
    return model


def _items(n=30, seed=0):
    """Held-out text: 25 words of context, the true next 4 words, and 3 spans from elsewhere."""
    rng = random.Random(seed)
    words = " ".join(d.text for d in default_documents("heldout")).split()
    items = []
    for _ in range(n):
        i = rng.randrange(len(words) - 40)
        spans = [" " + " ".join(words[i + 25 : i + 29])]
        spans += [" " + " ".join(words[j : j + 4]) for j in rng.sample(range(len(words) - 4), 3)]
        items.append(ChoiceItem(" ".join(words[i : i + 25]), spans, 0))
    return items


_forward = nnx.jit(lambda model, tokens: model(tokens))


def _reference(model, tokenizer, context, choice):
    """log p(context + choice) − log p(context), each text tokenised on its own as running text."""

    def total(text):
        tokens = [tokenizer.eos_id, *tokenizer.encode(text)]
        padded = np.zeros((1, 128), np.int32)  # one width for every text: one compilation
        padded[0, : len(tokens) - 1] = tokens[:-1]
        logits = _forward(model, jnp.asarray(padded))[0]
        log_probs = np.asarray(jax.nn.log_softmax(logits, axis=-1), np.float64)
        return sum(log_probs[t, tok] for t, tok in enumerate(tokens[1:]))

    return total(context + choice) - total(context)


def test_picks_agree_with_an_independent_reference(model, tokenizer):
    items = _items()
    same = 0
    for item in items:
        ours = choice_logprobs(model, tokenizer, item.context, item.choices)
        ref = [_reference(model, tokenizer, item.context, c) for c in item.choices]
        same += int(np.argmax(ours)) == int(np.argmax(ref))
        # Where the boundary does not merge tokens, the two are the same number.
        ids, start = continuation_tokens(tokenizer, item.context, item.choices[0])
        if ids[:start] == tokenizer.encode(item.context):
            assert ours[0] == pytest.approx(ref[0], abs=1e-3)
    assert same / len(items) >= 0.9, same


def test_continuation_tokens_follow_the_running_text(tokenizer):
    ids, start = continuation_tokens(tokenizer, "The cat sat on the", " mat")
    assert ids == tokenizer.encode("The cat sat on the mat")
    assert tokenizer.decode(ids[start:]).strip() == "mat"


def test_accuracy_counts_the_right_picks(model, tokenizer):
    items = _items(8, seed=1)
    picks = [int(np.argmax(choice_logprobs(model, tokenizer, i.context, i.choices))) for i in items]
    relabelled = [ChoiceItem(i.context, i.choices, p) for i, p in zip(items, picks, strict=True)]
    assert choice_accuracy(model, tokenizer, relabelled) == 1.0
    wrong = [
        ChoiceItem(i.context, i.choices, (p + 1) % 4) for i, p in zip(items, picks, strict=True)
    ]
    assert choice_accuracy(model, tokenizer, wrong) == 0.0


def test_items_load_from_json_lines_with_clear_errors(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps({"context": "2 + 2 =", "choices": [" 4", " 5"], "answer": 0}) + "\n\n"
    )
    assert load_choice_items(path) == [ChoiceItem("2 + 2 =", (" 4", " 5"), 0)]
    path.write_text('{"context": "x", "choices": ["a"], "answer": 0}\n')
    with pytest.raises(ValueError, match="line 1"):
        load_choice_items(path)
    path.write_text("not json\n")
    with pytest.raises(ValueError, match="line 1: not a choice item"):
        load_choice_items(path)


def test_few_shot_prompt_and_unscorable_choices(model, tokenizer):
    prompt = few_shot_prompt([("cat:", " cats"), ("dog:", " dogs")], "bird:")
    assert prompt == "cat: cats\n\ndog: dogs\n\nbird:"
    assert few_shot_prompt([], "bird:") == "bird:"
    with pytest.raises(ValueError, match="adds no tokens"):
        choice_logprobs(model, tokenizer, "bird:", [""])
    with pytest.raises(ValueError, match="at least one choice"):
        choice_logprobs(model, tokenizer, "bird:", [])


def test_continuation_items_cut_the_true_next_words_against_other_documents():
    texts = [" ".join(f"d{d}w{i}" for i in range(60)) for d in range(5)] + ["short text"]
    items = continuation_items(texts, 200, n_choices=4, context_words=10, continuation_words=3)
    assert len(items) == 200
    for item in items:
        context = item.context.split()
        doc, first = context[0].split("w")
        true = item.choices[item.answer].split()
        assert len(context) == 10 and len(true) == 3 and len(item.choices) == 4
        # the right choice is the next 3 words of the same document
        assert true == [f"{doc}w{int(first) + 10 + k}" for k in range(3)]
        assert all(c.startswith(" ") for c in item.choices)
        others = [c for i, c in enumerate(item.choices) if i != item.answer]
        assert all(not c.split()[0].startswith(doc + "w") for c in others)
        assert len(set(item.choices)) == 4
    counts = np.bincount([item.answer for item in items], minlength=4)
    assert counts.min() > 30  # uniform: 50 expected per place, 30 is over 3 sigma below
    assert continuation_items(texts, 5, seed=1) == continuation_items(texts, 5, seed=1)
    with pytest.raises(ValueError, match="two or more documents"):
        continuation_items(["one long " * 20, "short"], 3)


def test_accuracy_stderr_is_the_binomial_formula():
    assert accuracy_stderr(0.25, 300) == pytest.approx((0.25 * 0.75 / 300) ** 0.5)
    assert accuracy_stderr(1.0, 10) == 0.0


def test_per_token_accuracy_ranks_by_the_mean_log_probability(model, tokenizer):
    items = [
        ChoiceItem("The list is", (" long and", " a", " ordered by key and then by value"), 0),
        *_items(8, seed=2),
    ]
    picks = []
    for item in items:
        sums = choice_logprobs(model, tokenizer, item.context, item.choices)
        # tokens of each choice in running text: the full encoding minus the context's prefix
        counts = []
        for choice in item.choices:
            full, alone = tokenizer.encode(item.context + choice), tokenizer.encode(item.context)
            pairs = enumerate(zip(full, alone, strict=False))
            shared = next((i for i, (a, b) in pairs if a != b), min(len(full), len(alone)))
            counts.append(len(full) - shared)
        picks.append(int(np.argmax(np.asarray(sums) / np.asarray(counts))))
    relabelled = [ChoiceItem(i.context, i.choices, p) for i, p in zip(items, picks, strict=True)]
    assert choice_accuracy(model, tokenizer, relabelled, per_token=True) == 1.0
    by_sum = [
        int(np.argmax(choice_logprobs(model, tokenizer, i.context, i.choices))) for i in items
    ]
    assert by_sum != picks  # the two rules disagree somewhere, so the flag matters
    assert choice_accuracy(model, tokenizer, relabelled) == np.mean(
        [s == p for s, p in zip(by_sum, picks, strict=True)]
    )
