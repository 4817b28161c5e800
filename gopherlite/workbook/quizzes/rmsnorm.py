"""Chapter 05 quiz: RMSNorm against LayerNorm: the missing mean and what it changes
(re-centring, constant vectors, zero-mean inputs), scale invariance and its effect on
gradients, where epsilon breaks the invariance, what the switch saves (time rather than
parameters), and how to read a side-by-side training comparison.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: RMSNorm",
    [
        Question(
            "In the invariance explorer you leave the scale at 1 and drag the shift to a "
            "large value, adding the same constant c to every feature of x. With unit gain "
            "and no bias, what do the two norms' outputs do?",
            [
                Option(
                    "Both stay on their lines, since both norms divide by a spread.",
                    False,
                    "Only LayerNorm measures spread around the mean. RMSNorm's root mean "
                    "square includes the offset, so a shift changes its output.",
                ),
                Option(
                    "LayerNorm stays put; RMSNorm's output moves towards all ones.",
                    True,
                    "LayerNorm subtracts the mean, which removes c exactly. RMSNorm divides "
                    "x + c by its RMS; as c grows that ratio tends to 1 in every feature, "
                    "wiping out the pattern in x.",
                ),
                Option(
                    "RMSNorm stays put; LayerNorm's output moves towards all ones, because "
                    "subtracting the mean turns the shift into a constant vector.",
                    False,
                    "The roles are swapped: subtracting the mean is what removes the shift, "
                    "so LayerNorm is the one that ignores it.",
                ),
                Option(
                    "Both outputs shrink towards zero, as the mean square grows.",
                    False,
                    "Both outputs keep an RMS of about 1 for inputs well above sqrt(eps); "
                    "shrinking towards zero is what a tiny scale does, not a shift.",
                ),
                Option(
                    "Both outputs grow by c, because the norms pass offsets through.",
                    False,
                    "With no bias, neither norm adds anything back; LayerNorm removes the "
                    "offset and RMSNorm divides it down.",
                ),
            ],
        ),
        Question(
            "Testing a new kernel, you compare LayerNorm and RMSNorm (unit gain, no bias, "
            "same eps) on many inputs and find some on which the outputs agree exactly. "
            "What do those inputs have in common?",
            [
                Option(
                    "Their features have unit variance.",
                    False,
                    "The two norms differ by the mean, not the variance: with unit variance "
                    "and a non-zero mean they still disagree.",
                ),
                Option(
                    "They are longer than 128 features, where the norms converge.",
                    False,
                    "The difference is the mean, at any width; a wide vector with an offset "
                    "disagrees as much as a narrow one.",
                ),
                Option(
                    "Their features have a mean of zero.",
                    True,
                    "With mean 0, centring changes nothing and the standard deviation equals "
                    "the root mean square, so the formulas coincide. gopherlite's "
                    "`layer_norm` is written as RMSNorm of the centred input for this reason.",
                ),
                Option(
                    "All their features are equal, so both norms output ones.",
                    False,
                    "A constant vector is where they differ most: LayerNorm centres it to "
                    "zeros, RMSNorm outputs ±1 everywhere (exercise 1).",
                ),
                Option(
                    "They are all positive, so the root mean square and the standard "
                    "deviation measure the same thing.",
                    False,
                    "Positive features have a positive mean, which is exactly what separates "
                    "the two norms.",
                ),
            ],
        ),
        Question(
            "You check numerically that `rms_norm(10 · x)` equals `rms_norm(x)`. Now the "
            "input to one of Gopher's norms grows tenfold during training. What happens to "
            "the gradient of the loss with respect to that norm's input?",
            [
                Option(
                    "It stays the same, since the output does not change.",
                    False,
                    "The output is the same, but the same output change now needs a ten "
                    "times larger input change, so the gradient is smaller.",
                ),
                Option(
                    "It becomes ten times larger, to make up for the larger input.",
                    False,
                    "The chain rule goes the other way: from f(αx) = f(x) follows "
                    "α ∇f(αx) = ∇f(x).",
                ),
                Option(
                    "It drops to exactly zero, because a scale-invariant function has no "
                    "gradient along any direction of its input.",
                    False,
                    "Only the component along x itself is zero; gradients in other directions "
                    "remain, shrunk by the scale.",
                ),
                Option(
                    "It shrinks to about one tenth.",
                    True,
                    "Differentiating f(αx) = f(x) gives α ∇f(αx) = ∇f(x): growing inputs make "
                    "their own gradients smaller, a self-stabilising effect (exercise 2 checks "
                    "it numerically).",
                ),
                Option(
                    "It becomes NaN once the input passes the eps threshold.",
                    False,
                    "Larger inputs make eps less important, not more; nothing overflows at "
                    "these scales.",
                ),
            ],
        ),
        Question(
            "In the explorer you drag the scale down to 0.001. Now both norms' outputs move "
            "off their lines and shrink towards zero, although both are meant to be "
            "scale-invariant. Why?",
            [
                Option(
                    "Float32 cannot represent numbers as small as 0.001 · x.",
                    False,
                    "Float32 reaches about 1e-38; 0.001 is nowhere near its limits.",
                ),
                Option(
                    "The explorer switches to a learned gain below some input scale, and the "
                    "gain is initialised to zero.",
                    False,
                    "The gain is fixed at 1 in the explorer, and RMSNorm's gain is initialised "
                    "to 1, not zero.",
                ),
                Option(
                    "Scale invariance only holds for scales above 1.",
                    False,
                    "It holds for shrinking as well as growing inputs, from about 0.1 to 100 "
                    "in the explorer; what breaks it is eps, not the direction.",
                ),
                Option(
                    "LayerNorm's mean subtraction spreads to RMSNorm at small scales.",
                    False,
                    "RMSNorm never subtracts a mean; both norms shrink for the same reason, "
                    "the eps in their denominators.",
                ),
                Option(
                    "eps = 1e-5 is no longer small next to the mean square.",
                    True,
                    "The norms divide by sqrt(mean square + eps). Once the mean square is "
                    "about eps or less, the denominator stops shrinking with the input, so "
                    "the output shrinks: the invariance holds only well above sqrt(eps).",
                ),
            ],
        ),
        Question(
            "A manager asks what Gopher 280B gained by using RMSNorm without a bias instead "
            "of LayerNorm with one (80 layers, d_model 16,384, two norms per block and a "
            "final norm). Which answer matches the chapter?",
            [
                Option(
                    "Several billion parameters, about 1% of the model.",
                    False,
                    "161 norms × 16,384 biases is about 2.6M parameters, roughly 1e-5 of the "
                    "model, not 1%.",
                ),
                Option(
                    "A large gain in final loss, which is the reason the paper gives.",
                    False,
                    "Gopher gives no reason beyond citing Zhang & Sennrich, and this "
                    "chapter's side-by-side runs end within about 0.01 nats.",
                ),
                Option(
                    "Less work per token: one reduction instead of two and no subtraction, "
                    "for negligible parameters saved.",
                    True,
                    "The parameter saving is about 2.6M biases, negligible; the saving is in "
                    "the norm's own passes over the data, which the RMSNorm paper reports "
                    "as 7% to 64% less running time.",
                ),
                Option(
                    "The removal of the final norm before the logits.",
                    False,
                    "The final norm is still there, now an RMSNorm; pre-norm models keep it.",
                ),
                Option(
                    "Freedom from normalisation statistics across the batch.",
                    False,
                    "Both LayerNorm and RMSNorm already compute statistics per token over "
                    "its features; neither depends on the batch.",
                ),
            ],
        ),
        Question(
            "You time jitted `rms_norm` and `layer_norm` on your laptop and find RMSNorm only "
            "a few percent faster on the largest size, far below the 64% a paper reported. "
            "What is the most likely explanation?",
            [
                Option(
                    "Your timing is broken: RMSNorm is always about 64% faster.",
                    False,
                    "The paper reports a range, 7% to 64%, across its models and hardware; a "
                    "small gap is a plausible result, not a sign of a broken timer.",
                ),
                Option(
                    "RMSNorm is slower in theory and the paper measured it wrongly.",
                    False,
                    "RMSNorm does strictly less work per token; the question is how much of "
                    "the time that work is.",
                ),
                Option(
                    "jax.jit cannot compile RMSNorm, so it runs unoptimised on every call, "
                    "which eats up the advantage.",
                    False,
                    "Both norms are ordinary jitted array code; neither falls back to "
                    "uncompiled execution.",
                ),
                Option(
                    "Norms are memory-bound, and XLA's fusion shrinks the gap.",
                    True,
                    "Time goes mostly to passes over the data. A fusing compiler can compute "
                    "LayerNorm's extra statistics in few passes, so the saving depends on the "
                    "hardware and compiler, which is why the chapter measures it.",
                ),
                Option(
                    "The gap only appears in float16, which the test did not use.",
                    False,
                    "The difference in work per token exists in any precision; nothing makes "
                    "it appear only in float16.",
                ),
            ],
        ),
        Question(
            "Trained from the same seed on identical batches, your LayerNorm model ends 0.02 "
            "nats below your RMSNorm model on held-out text. A colleague writes 'LayerNorm is "
            "better for small models'. What should you do before believing it?",
            [
                Option(
                    "Nothing: identical batches make any difference meaningful.",
                    False,
                    "Identical batches remove one source of noise, but the two runs still "
                    "follow different paths, and another seed can flip a small gap.",
                ),
                Option(
                    "Rerun with other seeds and compare the gap with the seed-to-seed spread.",
                    True,
                    "If changing the seed moves the losses by about as much as switching the "
                    "norm, the run cannot tell the norms apart (exercise 4); in our full-mode "
                    "run they differed by about 0.01 nats.",
                ),
                Option(
                    "Train both for one step longer, which settles which norm is better.",
                    False,
                    "One more step adds a little noise of its own; it cannot separate a "
                    "0.02-nat gap from seed noise.",
                ),
                Option(
                    "Switch both to float64, as the gap comes from rounding in the norms.",
                    False,
                    "The norms' statistics are already computed in float32; the gap comes "
                    "from training dynamics, not from rounding in one operation.",
                ),
                Option(
                    "Report it, since it confirms the RMSNorm paper's finding that LayerNorm "
                    "trains to clearly lower loss.",
                    False,
                    "The RMSNorm paper reports comparable quality at lower cost, not a clear "
                    "advantage for LayerNorm.",
                ),
            ],
        ),
    ],
)
