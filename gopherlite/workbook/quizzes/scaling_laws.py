"""Chapter 10 quiz: 6ND, Kaplan against Chinchilla, the compute-optimal split, IsoFLOP profiles,
what tiny fits can tell, and training time from FLOPs.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: scaling laws and compute allocation",
    [
        Question(
            "A lab has 5.76e23 FLOPs, Gopher's budget, and plans a 280B-parameter model on 300B "
            "tokens because 'larger models are more sample-efficient'. Using Chinchilla's "
            "results, what should it expect?",
            [
                Option(
                    "The plan is optimal: with the budget fixed, loss always falls as N grows.",
                    False,
                    "With C fixed, a larger N means fewer tokens, D = C / 6N; past the optimum the "
                    "data term B / D^β grows faster than the model term falls.",
                ),
                Option(
                    "About 70B parameters on about 1.4T tokens would reach a lower loss.",
                    True,
                    "Chinchilla's fits put the optimum at 40B to 70B with about 20 tokens per "
                    "parameter, and Chinchilla 70B, trained that way on Gopher's budget, beat "
                    "Gopher on almost every task.",
                ),
                Option(
                    "A 1T-parameter model on 100B tokens would do better still, following "
                    "Kaplan's exponent.",
                    False,
                    "Kaplan's N ∝ C^0.73 already pushed towards large models; going further "
                    "leaves each parameter a tenth of a token, deep in the data-starved regime "
                    "Chinchilla measured.",
                ),
                Option(
                    "Any split gives the same loss, since the loss depends only on C = 6ND.",
                    False,
                    "Loss depends on N and D separately, L = E + A/N^α + B/D^β; along a fixed C "
                    "it has a minimum, which is what an IsoFLOP profile shows.",
                ),
                Option(
                    "A 7B model on 14T tokens, because data always matters more than parameters.",
                    False,
                    "Too small a model runs out of capacity: the A/N^α term then dominates. The "
                    "optimum balances the two terms; it does not favour data without limit.",
                ),
            ],
        ),
        Question(
            "You train a 100M-parameter model on 2B tokens with a 2,048-token context. Roughly "
            "how many FLOPs does training take, backward pass included?",
            [
                Option(
                    "4e17, two FLOPs per parameter per token.",
                    False,
                    "That is the forward pass alone (a multiply and an add per weight per token); "
                    "the backward pass costs about twice the forward again.",
                ),
                Option(
                    "1.2e18, about six FLOPs per parameter per token.",
                    True,
                    "C ≈ 6 N D = 6 × 1e8 × 2e9 = 1.2e18: 2N per token forward, 4N backward "
                    "(gradients for activations and for weights). Attention scores add a few "
                    "percent at this width and context.",
                ),
                Option(
                    "1.2e27, since compute grows with the square of the parameter count.",
                    False,
                    "Each token meets each weight a fixed number of times: compute is linear in "
                    "N and in D, not quadratic in N.",
                ),
                Option(
                    "2.5e21, since attention over 2,048 tokens multiplies every token's cost "
                    "by the context.",
                    False,
                    "Attention's scores add about 2 · L · d_model per layer and token, small "
                    "next to the 2N of the weights unless the context is far longer than the "
                    "width (`flops_breakdown` shows the terms).",
                ),
                Option(
                    "2e9, one operation per token processed.",
                    False,
                    "Every token passes through every weight matrix; the work per token is "
                    "proportional to N, not constant.",
                ),
            ],
        ),
        Question(
            "Kaplan et al. (2020) and Chinchilla (2022) disagreed on how to grow N with compute "
            "(C^0.73 against about C^0.5). Which difference between their studies did Chinchilla "
            "point to?",
            [
                Option(
                    "Kaplan used a far smaller vocabulary, which changed the loss scale.",
                    False,
                    "A different tokenizer shifts losses but does not explain a different "
                    "allocation exponent; Chinchilla does not name it as the cause.",
                ),
                Option(
                    "Kaplan measured parameters including embeddings, and Chinchilla measured them "
                    "without embeddings.",
                    False,
                    "It is the other way round (Kaplan counted non-embedding parameters), and "
                    "Chinchilla treats the counting as a smaller effect than the schedule.",
                ),
                Option(
                    "A shared schedule and token count for every run, unfair to long runs of "
                    "small models.",
                    True,
                    "A cosine schedule set for a fixed horizon makes intermediate losses of "
                    "longer runs look worse than a schedule matched to their length, so the "
                    "benefit of more tokens was underestimated (C Sec. 2).",
                ),
                Option(
                    "Kaplan trained on code and Chinchilla on web text, whose laws differ.",
                    False,
                    "Both trained on general text; the disagreement survived within one dataset "
                    "once the schedules were matched.",
                ),
                Option(
                    "Chinchilla's models were larger, and exponents change above 10B parameters.",
                    False,
                    "Chinchilla's runs went from 70M to 16B; its exponents come from the whole "
                    "range, not from a change of regime at the top.",
                ),
            ],
        ),
        Question(
            "In an IsoFLOP sweep at a fixed budget, the held-out loss of five model sizes falls "
            "from the smallest to the middle one, then rises again. What does the rising side "
            "mean?",
            [
                Option(
                    "Those models overfit: with so many parameters they memorised the training "
                    "set.",
                    False,
                    "Larger models at a fixed budget see *fewer* tokens, each once; they are "
                    "undertrained, not overfitted.",
                ),
                Option(
                    "Their learning rate was too high, since larger models need smaller rates.",
                    False,
                    "A mistuned rate can bend a profile, but the U shape appears with tuned "
                    "rates too; it follows from D = C / 6N alone.",
                ),
                Option(
                    "Their share of the budget buys too few tokens: D = C / 6N shrinks as N grows.",
                    True,
                    "At fixed C every extra parameter costs tokens. Past the minimum the data term "
                    "B / D^β rises faster than the model term A / N^α falls.",
                ),
                Option(
                    "The parabola fit is wrong; real profiles fall monotonically with size.",
                    False,
                    "The rise is in the measured points themselves (section 4), and Chinchilla's "
                    "profiles show it at every budget.",
                ),
                Option(
                    "Their FLOPs were miscounted, since larger models cost less per parameter.",
                    False,
                    "Per token, compute is about 6N for every size; the sweep sizes each run's "
                    "tokens from the library's own FLOP count.",
                ),
            ],
        ),
        Question(
            "Fitting L = E + A/N^α + B/D^β to 15 tiny runs gives α = 0.9 and β = 0.2, far from "
            "Chinchilla's 0.34 and 0.28, with a relative error under 1%. What is the soundest "
            "conclusion?",
            [
                Option(
                    "Chinchilla's exponents are wrong and should be replaced by these "
                    "better-fitting ones.",
                    False,
                    "A tiny, narrow sweep on one small corpus cannot overturn a fit to over 400 "
                    "runs from 70M to 16B parameters.",
                ),
                Option(
                    "The law is the wrong form, since the exponents moved so much.",
                    False,
                    "The fit is good (under 1%); what moved is which constants, among many that "
                    "fit almost equally well, the optimiser found.",
                ),
                Option(
                    "Many exponent pairs fit about as well: the runs pin the constants loosely.",
                    True,
                    "Over a factor of ten in compute, E, A and B trade off against α and β; a "
                    "low in-sample error says little about the exponents, and predictions far "
                    "outside the range inherit that uncertainty (exercise 3).",
                ),
                Option(
                    "Tiny models obey no scaling law, so the fit means nothing at all.",
                    False,
                    "Their losses do fall smoothly in N and D, and the best size does grow "
                    "with the budget; it is the precise constants that are weakly determined.",
                ),
                Option(
                    "β = 0.2 shows that data hardly matters for small models.",
                    False,
                    "With β small, B / D^β can still be the larger term; an exponent alone does "
                    "not say which term dominates at the measured N and D.",
                ),
            ],
        ),
        Question(
            "A team plans to repeat Gopher's 5.76e23-FLOP run on 1,024 H100s (989 TFLOP/s "
            "bfloat16 peak each). They quote '6.6 days'. What have they assumed?",
            [
                Option(
                    "An MFU of 1.0: every chip at its peak for the whole run.",
                    True,
                    "5.76e23 / (1,024 × 9.89e14) ≈ 5.7e5 s ≈ 6.6 days at full peak. Real runs "
                    "reach perhaps 30–50% of peak, so 13 to 22 days is more honest.",
                ),
                Option(
                    "An MFU of 0.4, the usual figure for large training runs.",
                    False,
                    "At 0.4 the same arithmetic gives about 16 days; the quoted time is 2.5 "
                    "times shorter than that.",
                ),
                Option(
                    "That sparsity doubles the H100's throughput on dense transformer layers.",
                    False,
                    "The 989 TFLOP/s is already the dense figure; structured sparsity does not "
                    "apply to a dense model's matmuls.",
                ),
                Option(
                    "That training takes 3 × the forward FLOPs, which the 5.76e23 leaves out.",
                    False,
                    "The 5.76e23 is the training compute, backward pass included (≈ 6ND), so "
                    "nothing needs adding for the backward pass.",
                ),
                Option(
                    "That data loading and checkpointing add a fixed 10% on top of compute.",
                    False,
                    "Overheads would make the run longer than the peak-rate estimate, not "
                    "produce it; the quoted figure has no overhead at all.",
                ),
            ],
        ),
    ],
)
