"""Chapter 05 quiz: RMSNorm against LayerNorm, invariances, speed, pre-norm residual paths, and
which axis a Transformer normalises over."""

from gopherlite.workbook.quiz import Option, Question, Quiz


def _right_at(index: int, right: Option, *wrong: Option) -> list[Option]:
    """The options with the right one (written first below) moved to position ``index``."""
    options = list(wrong)
    options.insert(index, right)
    return options


QUIZ = Quiz(
    "Check your understanding: RMSNorm",
    [
        Question(
            "Add the same constant c to every feature of x. With unit gain and no bias, how "
            "do the two norms respond?",
            _right_at(
                1,
                Option(
                    "LayerNorm's output is unchanged; RMSNorm's output changes.",
                    True,
                    "LayerNorm subtracts the mean, which removes c exactly (re-centring "
                    "invariance). RMSNorm divides by sqrt(mean(x²)), which c changes, and "
                    "keeps the offset in the output: for large c every feature tends to 1.",
                ),
                Option(
                    "Both are unchanged, because dividing by the RMS removes offsets.",
                    False,
                    "Dividing removes a *scale*, not an offset: (x + c) / rms(x + c) is not "
                    "x / rms(x). Move the shift slider to see it.",
                ),
                Option(
                    "Both change, because neither subtracts anything.",
                    False,
                    "LayerNorm does subtract the mean; that one step is the whole difference "
                    "between the two (`layer_norm(x) = rms_norm(x − mean(x))`).",
                ),
                Option(
                    "RMSNorm is unchanged as long as its learned gain is 1.",
                    False,
                    "The gain multiplies the output after normalising; it cannot undo an "
                    "offset that the normalisation kept.",
                ),
            ),
        ),
        Question(
            "When do LayerNorm and RMSNorm (unit gain, no bias, same eps) give identical outputs?",
            _right_at(
                3,
                Option(
                    "When the input's features already have mean exactly zero.",
                    True,
                    "Then the mean subtraction does nothing and the variance equals the mean "
                    "square, so the two formulas coincide.",
                ),
                Option(
                    "When the input's features have variance 1.",
                    False,
                    "A unit variance says nothing about the mean; with a nonzero mean "
                    "LayerNorm removes it and RMSNorm does not.",
                ),
                Option(
                    "When d_model is large.",
                    False,
                    "Close, not identical: for zero-mean random features the sample mean "
                    "shrinks like 1/√d, so the outputs approach each other. A common offset "
                    "across features does not shrink with d.",
                ),
                Option(
                    "Never: RMSNorm always has a bias and LayerNorm does not.",
                    False,
                    "Backwards: GPT-2's LayerNorm has a learned bias; RMSNorm's bias is "
                    "optional and off by default in its official code.",
                ),
            ),
        ),
        Question(
            "Why can RMSNorm run faster than LayerNorm?",
            _right_at(
                0,
                Option(
                    "It needs one reduction over the features (the mean of squares) instead "
                    "of two (the mean, then the variance of the centred values), and no "
                    "subtraction.",
                    True,
                    "Norms do little arithmetic per byte, so their time is mostly reading "
                    "and writing memory; fewer passes help. A compiler that fuses both "
                    "reductions (XLA does) can shrink the gap, which is why you measure it.",
                ),
                Option(
                    "It has fewer matrix-multiply FLOPs.",
                    False,
                    "Neither norm has a matrix multiply; both are element-wise work and "
                    "reductions.",
                ),
                Option(
                    "It has no learned parameters.",
                    False,
                    "It keeps the learned gain g; only the (optional) bias goes.",
                ),
                Option(
                    "It computes its statistics in bfloat16.",
                    False,
                    "gopherlite computes both norms' statistics in float32 under every "
                    "precision policy; the speed difference is not about the dtype.",
                ),
            ),
        ),
        Question(
            "In a Transformer, over which axis do LayerNorm and RMSNorm compute their "
            "statistics, and why not over the batch as BatchNorm does?",
            _right_at(
                2,
                Option(
                    "Over the d_model features of each token separately, so a token's "
                    "normalisation depends on nothing but itself.",
                    True,
                    "That works with any batch size, gives the same result in training and "
                    "inference, and allows decoding one token at a time. Batch statistics "
                    "would mix unrelated sequences and change between training and "
                    "inference.",
                ),
                Option(
                    "Over the sequence, so every token is normalised by its whole window.",
                    False,
                    "That would leak the future: a token's output would depend on the tokens "
                    "after it, breaking the causal language model.",
                ),
                Option(
                    "Over the batch, like BatchNorm, with running averages for inference.",
                    False,
                    "That is BatchNorm; language models avoid it because of the batch "
                    "dependence and the train/inference mismatch.",
                ),
                Option(
                    "Over the attention heads.",
                    False,
                    "Norms act on the residual stream, which has no head axis; heads exist "
                    "only inside attention.",
                ),
            ),
        ),
        Question(
            "Gopher, like GPT-2, uses pre-norm blocks: `x + f(norm(x))`, plus a final norm "
            "before the output layer. Which statement about the residual path is right?",
            _right_at(
                3,
                Option(
                    "The residual stream itself is never normalised, so an identity path runs "
                    "from the embedding to the final norm and gradients reach every layer "
                    "directly; the final norm fixes the stream's growing scale before the "
                    "logits.",
                    True,
                    "Each block adds to the stream without rescaling it. This is why pre-norm "
                    "trains stably without long warm-ups (Xiong et al. 2020), and why the final "
                    "norm is needed.",
                ),
                Option(
                    "The stream is renormalised after every block, which keeps it bounded.",
                    False,
                    "That is post-norm (the original Transformer): `norm(x + f(x))`. It puts a "
                    "norm on the residual path itself.",
                ),
                Option(
                    "The norm is applied to each sublayer's output before it is added.",
                    False,
                    "Pre-norm normalises the sublayer's *input*; its output is added as is.",
                ),
                Option(
                    "With pre-norm blocks no final norm is needed.",
                    False,
                    "Without it the logits would see the un-normalised, growing stream; GPT-2 "
                    "adds one more norm after the last block, and Gopher inherits it.",
                ),
            ),
        ),
        Question(
            "RMSNorm is scale-invariant: `rms_norm(αx) = rms_norm(x)` for α > 0 (ignoring "
            "eps). If the input is multiplied by α = 10, what happens to the gradient of the "
            "loss with respect to that input?",
            _right_at(
                1,
                Option(
                    "It becomes 10 times smaller.",
                    True,
                    "For any f with f(αx) = f(x), differentiating gives α · ∇f(αx) = ∇f(x), "
                    "so ∇f(αx) = ∇f(x) / α. Larger inputs get proportionally smaller "
                    "gradients, a built-in brake on growth.",
                ),
                Option(
                    "It is unchanged, because the output is unchanged.",
                    False,
                    "The output is the same, but the same output change now needs a 10 times "
                    "larger move of the input, so the gradient is 10 times smaller.",
                ),
                Option(
                    "It becomes 10 times larger.",
                    False,
                    "That would hold for a linear map; a scale-invariant function has "
                    "gradients inversely proportional to the input's scale.",
                ),
                Option(
                    "It becomes zero.",
                    False,
                    "Only the component along x is zero (the output does not change along x); "
                    "the other components shrink by 1/α.",
                ),
            ),
        ),
    ],
)
