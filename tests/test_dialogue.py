"""The dialogue prompt's shape, the reply cut at the next turn, and top-p sampling of replies."""

import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.dialogue import AGENT, PREAMBLE, USER, cut_reply, dialogue_prompt, reply
from gopherlite.sample import generate
from gopherlite.workbook.experiments.variants import experiment_tokenizer
from tests.conftest import randomize_params


@pytest.fixture(scope="module")
def tokenizer():
    return experiment_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    config = ModelConfig(n_layers=1, n_heads=2, d_head=16, d_model=32,
                         vocab_size=tokenizer.vocab_size, max_seq_len=128)  # fmt: skip
    model = GopherLM(config, rngs=nnx.Rngs(0))
    randomize_params(model, 3, scale=0.3)
    return model


def test_prompt_holds_the_preamble_the_turns_and_ends_on_the_agents_cue():
    prompt = dialogue_prompt([("Hi there ", " Hello.")], "  What is 2 + 2?")
    assert prompt.startswith(PREAMBLE.rstrip("\n"))
    tail = prompt[len(PREAMBLE.rstrip("\n")) :].split("\n")
    assert tail == ["", f"{USER}: Hi there", f"{AGENT}: Hello.", f"{USER}: What is 2 + 2?",
                    f"{AGENT}:"]  # fmt: skip
    assert dialogue_prompt([], "x", preamble="P", user="A", agent="B") == "P\nA: x\nB:"


def test_reply_stops_where_the_model_writes_the_next_turn():
    assert cut_reply(" Four.\nIt is even.\nUser: thanks\nGopher: welcome") == "Four.\nIt is even."
    assert cut_reply(" Yes.\n  Gopher: and more") == "Yes."
    assert cut_reply("User: starts with a name on the first line") == (
        "User: starts with a name on the first line"
    )
    assert cut_reply(" plain") == "plain"


def test_reply_is_the_cut_continuation_of_the_prompt_and_reproducible(model, tokenizer):
    prompt_ids = tokenizer.encode(dialogue_prompt([], "Where is the library?"))
    drawn = generate(model, prompt_ids, 24, top_p=0.8, seed=5, eos_id=tokenizer.eos_id)
    drawn = drawn[:-1] if drawn[-1] == tokenizer.eos_id else drawn
    expected = cut_reply(tokenizer.decode(drawn))
    got = reply(model, tokenizer, [], "Where is the library?", max_new_tokens=24, seed=5)
    assert got == expected
    assert reply(model, tokenizer, [], "Where is the library?", max_new_tokens=24, seed=5) == got


def test_a_tiny_nucleus_is_greedy_and_a_wide_one_is_not(model, tokenizer):
    """top-p keeps the smallest set reaching mass p: for p → 0 that is the argmax alone."""
    greedy = reply(model, tokenizer, [], "Tell me a story.", max_new_tokens=24, temperature=0)
    seeds = range(4)
    narrow = {reply(model, tokenizer, [], "Tell me a story.", max_new_tokens=24, top_p=1e-6,
                    seed=s) for s in seeds}  # fmt: skip
    wide = {reply(model, tokenizer, [], "Tell me a story.", max_new_tokens=24, top_p=None,
                  seed=s) for s in seeds}  # fmt: skip
    assert narrow == {greedy}
    assert len(wide) > 1
