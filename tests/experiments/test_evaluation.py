"""Chapter 09's experiment helpers: k-shot items, memorisation rates, canaries, template probes."""

import math

import pytest

from gopherlite.choices import ChoiceItem
from gopherlite.data.corpus import Document
from gopherlite.data.dedup import shingle_index
from gopherlite.workbook.experiments import evaluation as ev
from gopherlite.workbook.experiments.variants import experiment_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return experiment_tokenizer()


def test_few_shot_items_put_k_distinct_solved_examples_before_each_question():
    items = [ChoiceItem(f"q{i}", (" a", " b"), i % 2) for i in range(3)]
    shots = [ChoiceItem(f"s{i}", (" x", " y"), 1) for i in range(6)]
    two = ev.few_shot_items(items, shots, 2)
    assert [i.context for i in two] == ["s0 y\n\ns1 y\n\nq0", "s2 y\n\ns3 y\n\nq1",
                                        "s4 y\n\ns5 y\n\nq2"]  # fmt: skip
    assert [(i.choices, i.answer) for i in two] == [(i.choices, i.answer) for i in items]
    assert ev.few_shot_items(items, shots, 0) == items
    with pytest.raises(ValueError, match="need 9 shots"):
        ev.few_shot_items(items, shots, 3)


def test_memorisation_rate_is_the_share_of_continued_13_grams_seen(monkeypatch, tokenizer):
    copied = " ".join(f"w{i}" for i in range(20))  # 13-grams starting at w0 ... w7
    fresh = " ".join(f"v{i}" for i in range(20))
    index = shingle_index([" ".join(f"w{i}" for i in range(16))])  # those starting at w0 ... w3
    prompts = []

    def fake_generate(model, prompt_ids, max_new_tokens, temperature):
        prompts.append((list(prompt_ids), max_new_tokens, temperature))
        return tokenizer.encode(fresh if len(prompts) == 2 else copied)

    monkeypatch.setattr(ev, "generate", fake_generate)
    long_text = "The module provides functions for reading and writing files. " * 4
    groups = {"a": [long_text], "b": [long_text, "Too short."], "c": ["Too short."]}
    rates = ev.memorisation_rates(None, tokenizer, groups, index, prompt_tokens=16, new_tokens=9)
    assert rates["a"] == 0.5 and rates["b"] == 0.0 and math.isnan(rates["c"])
    assert prompts == [(tokenizer.encode(long_text)[:16], 9, 0)] * 2  # short texts: no prompt


def test_plant_canaries_inserts_copies_and_keeps_the_rest_in_order():
    docs = [Document(f"d{i}", f"text {i}") for i in range(10)]
    planted = ev.plant_canaries(docs, "secret 1 2 3", 5, seed=1)
    assert len(planted) == 15
    assert [d for d in planted if not d.name.startswith("canary:")] == docs
    assert {d.text for d in planted if d.name.startswith("canary:")} == {"secret 1 2 3"}


def test_canary_rank_counts_the_look_alikes_scored_above_the_secret(monkeypatch):
    seen = {}

    def fake_scores(model, tokenizer, context, choices):
        seen["context"], seen["choices"] = context, choices
        return [-5.0] + [-1.0] * 3 + [-9.0] * (len(choices) - 4)

    monkeypatch.setattr(ev, "choice_logprobs", fake_scores)
    result = ev.canary_rank(None, None, "My code is", " 4 7 1", candidates=20)
    assert result == ev.CanaryResult(rank=4, candidates=20, true_logprob=-5.0,
                                     best_other_logprob=-1.0)  # fmt: skip
    choices = seen["choices"]
    assert seen["context"] == "My code is" and choices[0] == " 4 7 1" and len(set(choices)) == 20
    assert all(c.startswith(" ") and len(c.split()) == 3 and c.replace(" ", "").isdigit()
               for c in choices)  # fmt: skip


def test_association_gaps_fill_the_template_and_subtract_the_pair(monkeypatch):
    calls = []

    def fake_scores(model, tokenizer, context, choices):
        calls.append((context, tuple(choices)))
        return [-1.0, -3.0] if "nurse" in context else [-2.0, -1.5]

    monkeypatch.setattr(ev, "choice_logprobs", fake_scores)
    gaps = ev.association_gaps(None, None, "The {} said that", ["nurse", "pilot"])
    assert gaps == {"nurse": 2.0, "pilot": -0.5}
    assert calls[0] == ("The nurse said that", (" he", " she"))
