"""Chapter 04 quiz: why a learned table of absolute positions fails past its training length,
what fixed sinusoids give, Transformer-XL's four score terms and the u/v biases (and how they
are initialised), the relative-shift trick, and clamped distances.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: relative attention",
    [
        Question(
            "A GPT-2-style model was built with a learned position table of 4L rows but "
            "trained only on windows of L tokens. Scored on 4L-token windows of held-out "
            "text, its loss jumps right after position L. What is the main cause?",
            [
                Option(
                    "Attention over 4L keys is too spread out for any model to use.",
                    False,
                    "The relative model in the same experiment reads 4L windows at about its "
                    "loss at L, so long windows as such are not the problem.",
                ),
                Option(
                    "Rows L to 4L − 1 never got a gradient, so it adds untrained vectors.",
                    True,
                    "Those rows keep their random initial values: past position L every input "
                    "gets a vector the model has never seen, which disturbs the residual "
                    "stream of every later layer.",
                ),
                Option(
                    "The causal mask stops working beyond the training length, so the model "
                    "suddenly sees future tokens there and its predictions fall apart.",
                    False,
                    "The mask is built for whatever length is fed in; no position ever sees "
                    "its future, at L or at 4L.",
                ),
                Option(
                    "The held-out text past position L is harder than the text before it.",
                    False,
                    "The experiment scores the same targets at every window length; only "
                    "the amount of context before each target changes.",
                ),
                Option(
                    "Softmax overflows in float32 when there are more than L keys.",
                    False,
                    "A stable softmax subtracts the row maximum; thousands of keys are far "
                    "from any float32 limit.",
                ),
            ],
        ),
        Question(
            "Transformer-XL feeds the distance i − j to fixed sinusoids R. A student checks "
            "that the dot product R_p · R_{p+k} gives the same value for p = 0, 10 and 50 at "
            "each offset k. Why is that property useful?",
            [
                Option(
                    "It makes the sinusoids learnable with fewer parameters than a table.",
                    False,
                    "The sinusoids are fixed and have no parameters at all; the property is "
                    "about what they encode, not about learning them.",
                ),
                Option(
                    "It guarantees that attention weights fall off with distance.",
                    False,
                    "It says nothing about the sign or size of scores; a head can still "
                    "prefer distant keys through its learned W_kR and v.",
                ),
                Option(
                    "Position similarity depends only on the offset, and any integer has a row.",
                    True,
                    "Because sin a sin b + cos a cos b = cos(a − b), the product depends on k "
                    "alone; and the formula gives a row for any distance, trained or not.",
                ),
                Option(
                    "It lets the model skip the causal mask, since offsets are never negative.",
                    False,
                    "The mask is still applied: the shifted score matrix has junk above the "
                    "diagonal that must be removed.",
                ),
                Option(
                    "It means that positions no longer need to be added in every layer, only "
                    "once at the input as in GPT-2.",
                    False,
                    "Transformer-XL adds its position terms inside every layer's scores; the "
                    "offset property holds either way.",
                ),
            ],
        ),
        Question(
            "In a trained model you find a head that puts most of its weight on the previous "
            "token, whatever the tokens are. Which of the four Transformer-XL terms can "
            "express such a preference for a distance on its own?",
            [
                Option(
                    "(a), content–content, because neighbouring tokens tend to be similar.",
                    False,
                    "(a) compares what the tokens are, with no position in it; it cannot "
                    "favour distance 1 for every pair of contents.",
                ),
                Option(
                    "(c), the global content bias u · k_j, constant down each column.",
                    False,
                    "(c) favours certain keys by their content, the same for every query; it "
                    "does not depend on how far back the key is.",
                ),
                Option(
                    "None of them: distance preferences need an absolute position table, so a "
                    "relative model must learn them from content alone.",
                    False,
                    "The relative terms exist precisely to express distance; (b) and (d) both "
                    "contain R_{i−j}.",
                ),
                Option(
                    "All four equally, since their sum is what the softmax sees.",
                    False,
                    "The softmax does see the sum, but only the terms containing R_{i−j} "
                    "know the distance, and only (d) is independent of the query's content.",
                ),
                Option(
                    "(d), the global position bias v · W_kR R_{i−j}.",
                    True,
                    "(d) depends on the distance alone, constant along each diagonal, so a "
                    "large value at i − j = 1 draws the bright line just below the diagonal "
                    "for any content. (b) can add a content-dependent preference on top.",
                ),
            ],
        ),
        Question(
            "You build an untrained gopherlite model and print the four score terms: (a) and "
            "(b) are small and patternless, while (c) and (d) are exactly zero. A colleague "
            "files a bug. What is the right reply?",
            [
                Option(
                    "A bug indeed: the Transformer-XL paper forbids zero biases.",
                    False,
                    "The paper prescribes no initialisation for u and v; zero is a legitimate "
                    "choice that simply starts training without global biases.",
                ),
                Option(
                    "Expected: (c) and (d) only appear once the causal mask is applied.",
                    False,
                    "The mask removes future keys; it does not create or zero any term.",
                ),
                Option(
                    "Expected: u and v start at zero, and the biases grow during training.",
                    True,
                    "Zero initial u and v make (c) and (d) vanish until gradients move them. "
                    "That is gopherlite's choice; Transformer-XL's official code initialises "
                    "them randomly, so there the panels have values from the start.",
                ),
                Option(
                    "Expected, because Gopher disables (c) and (d) and keeps only the two "
                    "terms that involve the query's own content.",
                    False,
                    "Gopher uses Transformer-XL's scheme; in the trained model of this chapter "
                    "(c) and (d) are no longer blank.",
                ),
                Option(
                    "Expected: the sinusoids R are zero at initialisation.",
                    False,
                    "R is fixed and non-zero (cos 0 = 1 at distance 0); besides, (c) = u · k "
                    "has no R in it at all.",
                ),
            ],
        ),
        Question(
            "Implementing (b) + (d) for Gopher 280B (L = 2,048, 128 heads of 128), a first "
            "version gathers W_kR R_{i−j} for every query–key pair, an [L, L, heads, d_head] "
            "array. What does Transformer-XL's relative-shift trick do instead?",
            [
                Option(
                    "It clamps all distances to 64, so the array becomes [L, 64, ...].",
                    False,
                    "Clamping changes what the model sees and is optional; the shift trick is "
                    "exact and keeps every distance.",
                ),
                Option(
                    "It projects the L distances once, takes one query product against them, "
                    "then pads and reshapes each row into place.",
                    True,
                    "There are only L distinct distances. One [Q × C] product indexed by "
                    "distance, a zero column, and two reshapes move entry [i, j] to "
                    "q_i · r_{i−j}: about 2.3 GB instead of about 275 GB per sequence and "
                    "layer in float32.",
                ),
                Option(
                    "It computes the position terms in bfloat16, which halves the memory.",
                    False,
                    "Halving 275 GB still leaves an impossible array; the trick removes the "
                    "factor of d_head, not a factor of two.",
                ),
                Option(
                    "It drops term (b) and keeps only (d), which is cheap.",
                    False,
                    "Both terms are kept: (b) and (d) come out of one product with (q + v) "
                    "followed by the shift.",
                ),
                Option(
                    "It reuses the content keys as position keys, so no extra array is built.",
                    False,
                    "Positions have their own projection W_kR of the sinusoids; the content "
                    "keys W_kE E_xj carry no distance.",
                ),
            ],
        ),
        Question(
            "A model is run with `clamp_len = 64` (the Transformer-XL code's option; whether "
            "Gopher clamped is not known). How does a query treat one key 100 tokens back and "
            "another 500 tokens back?",
            [
                Option(
                    "It cannot attend to either, since keys beyond 64 are masked out.",
                    False,
                    "Clamping changes the distance fed to the sinusoids, not the mask; both "
                    "keys stay visible.",
                ),
                Option(
                    "It sees their true distances, as the clamp only applies to training.",
                    False,
                    "The clamp is part of how scores are computed, at training and at "
                    "evaluation alike.",
                ),
                Option(
                    "It gives the key 500 back five times less weight than the key 100 back, "
                    "because the clamp scales position terms by 64 / distance.",
                    False,
                    "Clamping replaces the distance by 64; it does not scale any term.",
                ),
                Option(
                    "It attends to them through a separate long-range head.",
                    False,
                    "There are no extra heads: clamping only changes which row of R each "
                    "pair uses.",
                ),
                Option(
                    "Same position terms for both; they differ only by their content.",
                    True,
                    "Both distances are set to 64 before R is computed, so (b) and (d) are "
                    "equal for the two keys. Content terms (a) and (c) still tell them apart.",
                ),
            ],
        ),
        Question(
            "Gopher's paper says relative positions let it evaluate on sequences longer than "
            "its 2,048-token training windows. In this chapter's tiny experiment, which "
            "statement about what the experiment showed is accurate?",
            [
                Option(
                    "The relative model got clearly better at 2L and 4L thanks to more context.",
                    False,
                    "A model this small uses only short-range context; its loss at 2L and 4L "
                    "stayed about where it was at L, not clearly lower.",
                ),
                Option(
                    "Both models degraded past L, the relative one only a little less.",
                    False,
                    "In the full-mode runs the relative model stayed flat past L, while the "
                    "absolute model's loss jumped there.",
                ),
                Option(
                    "The relative model read longer windows without breaking; the absolute "
                    "one degraded past L.",
                    True,
                    "That is the precondition for using longer contexts, not the benefit "
                    "Gopher wanted (better predictions in long books), which needs a larger "
                    "model trained longer.",
                ),
                Option(
                    "It proved Gopher's Appendix D.6 results, reproducing its long-context "
                    "gains at a tiny scale with the same context lengths.",
                    False,
                    "Which lengths D.6 used is not verified here, and a tiny model cannot show "
                    "the gains of a large one.",
                ),
                Option(
                    "The absolute model refused to run on windows longer than L.",
                    False,
                    "That happens only with a table of L rows (Section 1). The experiment gave "
                    "it 4L rows, so it ran and used untrained rows past L.",
                ),
            ],
        ),
    ],
)
