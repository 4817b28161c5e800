"""Dialogue by prompting alone, the way Gopher's dialogue section made a chatbot (G Sec. 5).

Dialogue-Prompted Gopher (DPG) was the pretrained 280B model with no fine-tuning: a prompt
described an assistant and showed a few turns of conversation in its manner, the user's
message was appended as the next turn, and the model's continuation up to the start of the
following user turn was the reply. Replies were drawn with nucleus (top-p) sampling; p = 0.8 is
the value reported for DPG by the red-teaming paper that studied it (Perez et al. 2022; the
facts sheet marks the Gopher paper's own statement of it as unverified).

The preamble below is this project's own text in that style, not the paper's prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

from gopherlite.data.tokenizer import Tokenizer
from gopherlite.nn.transformer import GopherLM
from gopherlite.sample import generate

USER = "User"
AGENT = "Gopher"
DPG_TOP_P = 0.8
"""Nucleus mass DPG sampled its replies with (Perez et al. 2022, via the facts sheet)."""

PREAMBLE = (
    "What follows is a conversation between a curious person and Gopher, a knowledgeable "
    "assistant. Gopher answers politely and briefly, says so when it does not know, and "
    "does not make things up.\n\n"
    f"{USER}: What is the boiling point of water at sea level?\n"
    f"{AGENT}: About 100 degrees Celsius, or 212 degrees Fahrenheit.\n"
    f"{USER}: And on a high mountain?\n"
    f"{AGENT}: Lower, because the air pressure is lower; near the top of a 3,000 metre "
    "mountain it is roughly 90 degrees Celsius.\n"
)
"""A persona and two example exchanges (this project's wording, in DPG's form)."""


def dialogue_prompt(
    history: Sequence[tuple[str, str]],
    message: str,
    *,
    preamble: str = PREAMBLE,
    user: str = USER,
    agent: str = AGENT,
) -> str:
    """The text the model continues: preamble, earlier turns, the new message, the agent's cue.

    Args:
      history: Earlier ``(user message, agent reply)`` pairs of this conversation, oldest first.
      message: The user's new message.
      preamble: The persona and example turns (default `PREAMBLE`).
      user: The user's speaker name.
      agent: The agent's speaker name.

    Returns:
      A prompt ending in ``"{agent}:"``, so the continuation is the agent's reply.
    """
    lines = [preamble.rstrip("\n")]
    for said, replied in history:
        lines += [f"{user}: {said.strip()}", f"{agent}: {replied.strip()}"]
    lines += [f"{user}: {message.strip()}", f"{agent}:"]
    return "\n".join(lines)


def cut_reply(continuation: str, *, user: str = USER, agent: str = AGENT) -> str:
    """The agent's reply: the continuation up to the first line that starts another turn.

    Args:
      continuation: Text the model produced after the prompt's ``"{agent}:"`` cue.
      user: The user's speaker name.
      agent: The agent's speaker name.

    Returns:
      The reply, stripped; it stops before a line starting ``"{user}:"`` or ``"{agent}:"``
      (the model writing the other side of the conversation).
    """
    kept = []
    for i, line in enumerate(continuation.split("\n")):
        if i > 0 and line.lstrip().startswith((f"{user}:", f"{agent}:")):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def reply(
    model: GopherLM,
    tokenizer: Tokenizer,
    history: Sequence[tuple[str, str]],
    message: str,
    *,
    max_new_tokens: int = 48,
    top_p: float | None = DPG_TOP_P,
    temperature: float = 1.0,
    seed: int = 0,
    preamble: str = PREAMBLE,
) -> str:
    """Sample the agent's next reply with top-p, as DPG did (G Sec. 5).

    Args:
      model: The language model (any trained gopherlite model).
      tokenizer: Its tokenizer.
      history: Earlier ``(user message, agent reply)`` pairs, oldest first.
      message: The user's new message.
      max_new_tokens: Most tokens to draw; the reply is then cut at the next turn.
      top_p: Nucleus mass (default 0.8, DPG's); None samples from the whole distribution.
      temperature: Softmax temperature (1.0: the model's own distribution; 0: greedy).
      seed: Sampling seed (the same seed gives the same reply).
      preamble: The persona and example turns.

    Returns:
      The reply text.

    Raises:
      ValueError: the prompt plus ``max_new_tokens`` is longer than an absolute-position
        model's context (drop old turns or shorten the preamble).
    """
    prompt_ids = tokenizer.encode(dialogue_prompt(history, message, preamble=preamble))
    new_ids = generate(
        model,
        prompt_ids,
        max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        eos_id=tokenizer.eos_id,
    )
    if new_ids and new_ids[-1] == tokenizer.eos_id:
        new_ids = new_ids[:-1]
    return cut_reply(tokenizer.decode(new_ids))
