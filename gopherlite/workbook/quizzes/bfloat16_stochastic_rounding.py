"""Chapter 06 quiz: how float32, bfloat16 and float16 spend their bits, why round-to-nearest
loses small updates (and more so for large weights and small learning rates), what stochastic
rounding guarantees and how `stochastic_round` does it with an integer add, the float32 master
copy and its cost under ZeRO, and what Gopher reported as opposed to what the workbook measured.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: bfloat16 and stochastic rounding",
    [
        Question(
            "A team moves training from float32 to 16-bit numbers. With float16, gradients "
            "of 1e-8 turn into zero and the loss needs scaling; with bfloat16 they survive "
            "without it. What difference between the formats explains this?",
            [
                Option(
                    "bfloat16 has more mantissa bits, so it is more precise near zero.",
                    False,
                    "bfloat16 has 7 mantissa bits against float16's 10: it is the less "
                    "precise of the two.",
                ),
                Option(
                    "bfloat16 keeps float32's 8-bit exponent, so it has float32's range.",
                    True,
                    "bfloat16 is float32's upper 16 bits: sign, the whole exponent and 7 "
                    "mantissa bits. It reaches down to about 1e-38, while float16's 5-bit "
                    "exponent runs out near 6e-5 (then subnormals, then zero).",
                ),
                Option(
                    "bfloat16 stores numbers as fixed-point integers with a shared scale.",
                    False,
                    "Both are ordinary binary floating-point formats with a sign, an exponent "
                    "and a mantissa; neither uses a shared scale.",
                ),
                Option(
                    "bfloat16 rounds stochastically by default, so tiny values survive on "
                    "average while float16 rounds them to the nearest value.",
                    False,
                    "Conversions round to nearest in both formats; stochastic rounding is "
                    "something a training step applies on purpose.",
                ),
                Option(
                    "float16 uses more bits, leaving less room for small numbers.",
                    False,
                    "Both use 16 bits; they differ in how the bits are split between exponent "
                    "(range) and mantissa (precision).",
                ),
            ],
        ),
        Question(
            "A bfloat16 weight equals 1.0 and Adam proposes +0.001 at every step. After 1,000 "
            "steps, each rounded to nearest into bfloat16, the weight is still exactly 1.0. "
            "What happened?",
            [
                Option(
                    "Adam's moments were in bfloat16 too and lost the update first.",
                    False,
                    "Even an exact update of 0.001 is lost here: the problem is adding it to "
                    "a bfloat16 weight of 1.0, whatever computed it.",
                ),
                Option(
                    "The updates cancelled out, some positive and some negative.",
                    False,
                    "Every update in the scenario is +0.001; nothing cancels.",
                ),
                Option(
                    "Each update is below half a step (about 0.0039) and rounds away.",
                    True,
                    "Near 1.0 bfloat16's neighbours are 1 − 2⁻⁸ and 1 + 2⁻⁷. 1.001 is closer "
                    "to 1.0, so every single step rounds back: a thousand updates, none kept.",
                ),
                Option(
                    "bfloat16 cannot represent 0.001, so the update was zero before it was "
                    "added to the weight, whatever the weight was.",
                    False,
                    "0.001 is a normal bfloat16 number (about 0.000999). The update is lost "
                    "only when it is added to a weight as large as 1.0.",
                ),
                Option(
                    "Gradient clipping capped the update at zero.",
                    False,
                    "Clipping scales the gradient's norm down to a bound; it never sets a "
                    "proposed update to zero.",
                ),
            ],
        ),
        Question(
            "Your `bf16_rne` run matches float32 at the tiny preset's learning rate of 3e-3, "
            "but falls behind at Gopher 1.4B's 2e-4. A weight of 256 behaves like one of 1.0 "
            "only with updates 256 times larger. What links these observations?",
            [
                Option(
                    "A weight of size |w| moves in steps of about |w| · 2⁻⁷; smaller updates "
                    "round away.",
                    True,
                    "The gap between neighbouring bfloat16 numbers grows with the value. "
                    "Small learning rates and large weights both put updates below half a "
                    "step, which round-to-nearest discards every time.",
                ),
                Option(
                    "Large learning rates make bfloat16 overflow less often.",
                    False,
                    "Overflow is not involved: bfloat16's range reaches about 3e38. The "
                    "effect is about precision, not range.",
                ),
                Option(
                    "Small learning rates need more steps, and bfloat16 runs slower per step.",
                    False,
                    "Both runs take the same number of steps on the same batches; the gap "
                    "is in what each step keeps, not in speed.",
                ),
                Option(
                    "bfloat16 stores large weights with fewer mantissa bits than small ones, "
                    "so big weights lose precision while small ones keep all of it.",
                    False,
                    "Every normal bfloat16 number has the same 7 mantissa bits; the relative "
                    "precision is the same, the absolute step grows with the value.",
                ),
                Option(
                    "At 3e-3 the warm-up is longer, which hides the rounding.",
                    False,
                    "The warm-up length does not depend on the learning rate, and rounding "
                    "losses grow as the rate decays, not during warm-up.",
                ),
            ],
        ),
        Question(
            "You round x = 1 + 2⁻⁹, a quarter of the way from 1.0 to the next bfloat16 "
            "number, stochastically 100,000 times with different random bits. What should "
            "you see?",
            [
                Option(
                    "Every result equals x exactly, since stochastic rounding is exact.",
                    False,
                    "x is not a bfloat16 number, so no single result can equal it; each is "
                    "one of the two neighbours.",
                ),
                Option(
                    "Half of the results round up and half down, whatever x is.",
                    False,
                    "That would be biased for any x not exactly halfway; the probability of "
                    "rounding up equals the fraction of the step x covers.",
                ),
                Option(
                    "All results are 1.0, the nearest neighbour, as with round-to-nearest.",
                    False,
                    "That is round-to-nearest's answer; stochastic rounding sends about a "
                    "quarter of the results up.",
                ),
                Option(
                    "The results are spread evenly over the interval from 1.0 to 1 + 2⁻⁷, "
                    "since the random bits are uniform.",
                    False,
                    "The results are bfloat16 numbers, and only the two neighbours lie in "
                    "that interval; uniform bits pick between them.",
                ),
                Option(
                    "About a quarter of results are 1 + 2⁻⁷, the rest 1.0; the mean is x.",
                    True,
                    "A value covering a fraction f of the gap rounds up with probability f. "
                    "Each result is a neighbour, but the expected value is exactly x: "
                    "unbiased, with a spread of 2⁻⁷ · sqrt(f(1 − f)).",
                ),
            ],
        ),
        Question(
            "Reading `stochastic_round` in `gopherlite/precision.py`, you see it view the "
            "float32 bits as an unsigned integer, add 16 random bits to the lower half, and "
            "keep the upper half. Why does that round up with the right probability?",
            [
                Option(
                    "The random bits replace the mantissa, which scrambles the value.",
                    False,
                    "Only the lower 16 bits, which bfloat16 drops anyway, are involved; the "
                    "kept bits change only through a carry.",
                ),
                Option(
                    "The add carries into the upper half with probability lower half / 2¹⁶.",
                    True,
                    "A carry happens when the random number is at least 2¹⁶ minus the lower "
                    "half, i.e. with probability equal to the fraction of the step that x "
                    "covers. One add and one shift do it for every parameter.",
                ),
                Option(
                    "The shift rounds to nearest, and the random bits only break ties.",
                    False,
                    "Keeping the upper half truncates; all the rounding up comes from carries "
                    "caused by the random bits, not only at ties.",
                ),
                Option(
                    "Integer addition is faster than float addition, which is all that the "
                    "trick is for; the rounding itself is done separately by `astype`.",
                    False,
                    "`astype` would round to nearest; here the integer add is the rounding, "
                    "not a speed-up of something else.",
                ),
                Option(
                    "Adding bits to the exponent makes the value random in range.",
                    False,
                    "The random bits go into the lower mantissa bits, not the exponent; the "
                    "result is one of x's two bfloat16 neighbours.",
                ),
            ],
        ),
        Question(
            "Gopher's Appendix C found that bfloat16 weights plus a float32 copy of them in "
            "the optimizer state trained indistinguishably from float32. A colleague asks how "
            "the copy rescues the small updates. Which explanation is right?",
            [
                Option(
                    "The copy is used in the forward pass, so activations are float32.",
                    False,
                    "The forward and backward passes still read the bfloat16 weights; the "
                    "copy is only touched by the optimizer.",
                ),
                Option(
                    "The copy adds random noise that stands in for stochastic rounding.",
                    False,
                    "Nothing random is involved: the copy simply keeps what bfloat16 would "
                    "have thrown away.",
                ),
                Option(
                    "The copy holds the gradients in float32, so the backward pass no longer "
                    "rounds them and every small gradient reaches Adam intact.",
                    False,
                    "The lost updates are not lost in the gradients but when an update is "
                    "added to a bfloat16 weight; keeping gradients in float32 would not stop "
                    "that rounding.",
                ),
                Option(
                    "Updates go into the float32 copy, which is rounded into the weights "
                    "at every step.",
                    True,
                    "With 24 significant bits the copy keeps updates a million times smaller "
                    "than the weight. Rounding it each step leaves the bfloat16 weight "
                    "unchanged until the accumulated updates move it to a new value.",
                ),
                Option(
                    "The copy lets the optimizer skip Adam's second moment.",
                    False,
                    "Adam keeps both moments either way; the copy is an extra 4 bytes per "
                    "parameter on top of them.",
                ),
            ],
        ),
        Question(
            "Gopher 280B trains with 1,024 data-parallel replicas and ZeRO-style sharding of "
            "the optimizer state. A reviewer objects that the float32 master copy costs 4 "
            "bytes per parameter. How much does it add on each device?",
            [
                Option(
                    "4 bytes per parameter, as every device holds the full copy.",
                    False,
                    "Under ZeRO the copy is part of the optimizer state, split across the "
                    "replicas like Adam's moments.",
                ),
                Option(
                    "About 4 / 1,024 bytes per parameter: it is split with the optimizer state.",
                    True,
                    "Each replica keeps 1/D of the moments and of the copy, so bf16_master "
                    "needs 4 + 12/D bytes per parameter against 4 + 8/D for bf16_sr; with "
                    "D = 1,024 the difference is negligible.",
                ),
                Option(
                    "Nothing, since the copy replaces the bfloat16 weights.",
                    False,
                    "The bfloat16 weights stay, replicated, for the forward and backward "
                    "passes; the copy is kept in addition.",
                ),
                Option(
                    "8 bytes per parameter, because the copy also needs its own Adam "
                    "moments in float32 on every device.",
                    False,
                    "The copy has no moments of its own: Adam's moments belong to the "
                    "parameters, and the copy is what they update.",
                ),
                Option(
                    "2 bytes per parameter, as it is stored in bfloat16 on devices.",
                    False,
                    "A bfloat16 copy would lose the same small updates; the point of the "
                    "copy is its float32 precision.",
                ),
            ],
        ),
        Question(
            "You summarise chapter 06 for a reading group. Which sentence keeps apart what "
            "Gopher's paper reports and what this workbook measured?",
            [
                Option(
                    "The paper shows round-to-nearest bfloat16 losing 0.05 bits per byte, "
                    "and that stochastic rounding fully recovers float32.",
                    False,
                    "The 0.05 bits per byte is this workbook's tiny run, and the paper says "
                    "stochastic rounding did not fully recover float32 training.",
                ),
                Option(
                    "Paper and workbook agree that every bfloat16 policy matches float32.",
                    False,
                    "Neither says so: the paper reports a gap for stochastic rounding, and our "
                    "run shows round-to-nearest clearly behind.",
                ),
                Option(
                    "The paper found bfloat16 slower than float32 on TPUs.",
                    False,
                    "It reports about 1.4× faster training for every bfloat16 variant; our "
                    "CPU step times are a weak guide either way.",
                ),
                Option(
                    "The workbook shows stochastic rounding far behind float32 in its tiny "
                    "run, matching the paper's large gap at 280B.",
                    False,
                    "In our runs bf16_sr ended within about 0.0002 bits per byte of float32; "
                    "the paper describes a gap that our tiny run is too noisy to resolve.",
                ),
                Option(
                    "Paper: stochastic rounding fell short of float32 and a float32 copy did "
                    "not. Workbook: round-to-nearest fell behind.",
                    True,
                    "Gopher used stochastic rounding for 7.1B and 280B and reports it did not "
                    "fully match float32, while bfloat16 weights with a float32 copy in the "
                    "optimizer state did. How much worse round-to-nearest is, is our "
                    "measurement, not the paper's.",
                ),
            ],
        ),
    ],
)
