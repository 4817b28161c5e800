"""Chapter 04 quiz: positions in attention, the four Transformer-XL terms, the shift, the clamp,
heads, and why context-dependent representations still train in parallel."""

from gopherlite.workbook.quiz import Option, Question, Quiz


def _right_at(index: int, right: Option, *wrong: Option) -> list[Option]:
    """The options with the right one (written first below) moved to position ``index``."""
    options = list(wrong)
    options.insert(index, right)
    return options


QUIZ = Quiz(
    "Check your understanding: relative attention",
    [
        Question(
            "A GPT-2-style model has a learned position table of 4L rows but was trained only "
            "on windows of L tokens. Read with 4L-token windows, its loss rises after "
            "position L. What is the main cause?",
            _right_at(
                2,
                Option(
                    "Rows L … 4L−1 of the table never received a gradient, so those positions "
                    "add vectors the rest of the network has never seen.",
                    True,
                    "An embedding row is trained only when its position occurs in a batch. "
                    "Past L the model gets random initial vectors added to its token "
                    "embeddings: inputs from outside everything it learned.",
                ),
                Option(
                    "With more keys, the softmax spreads attention over more tokens and "
                    "dilutes it.",
                    False,
                    "The relative model in this chapter also has more keys at 4L and its loss "
                    "stays flat, so dilution is not what breaks the absolute model here.",
                ),
                Option(
                    "The causal mask is only defined up to L.",
                    False,
                    "The mask is built for whatever length arrives (key j ≤ query i); it "
                    "holds no learned state.",
                ),
                Option(
                    "Positions past L are scored on different, harder text.",
                    False,
                    "The held-out targets are identical at every window length (`repack`); "
                    "only the context each target sees changes.",
                ),
            ),
        ),
        Question(
            "A trained head puts most of its attention on the previous token, whatever the "
            "tokens are. Which Transformer-XL term can express such a preference for a "
            "*distance*, the same for every query and key content?",
            _right_at(
                1,
                Option(
                    "(d), the global position bias `v · W_kR R_{i−j}`.",
                    True,
                    "It depends on i − j alone: one learned vector v per head scores every "
                    "distance, so it can favour distance 1 for all queries.",
                ),
                Option(
                    "(a), content–content `q_i · k_j`.",
                    False,
                    "It sees only the two tokens' contents, not where they are; the same pair "
                    "scores the same at distance 1 or 100.",
                ),
                Option(
                    "(c), the global content bias `u · k_j`.",
                    False,
                    "It depends only on the key's content, the same for every query row: "
                    "it can make a token globally salient (say, a separator), but it knows "
                    "nothing about distance.",
                ),
                Option(
                    "None: position preferences need absolute positions.",
                    False,
                    "The relative terms (b) and (d) are exactly distance preferences; "
                    "absolute positions are not needed for 'the previous token'.",
                ),
            ),
        ),
        Question(
            "Why does Transformer-XL compute terms (b) + (d) as one `[Q × C]` product against "
            "the C distinct distances followed by a relative shift, rather than gathering "
            "W_kR R_{i−j} for every (i, j) pair?",
            _right_at(
                3,
                Option(
                    "The gather builds an L × L × heads × d_head array; the product needs only "
                    "L projected distances and the shift is a pad and two reshapes.",
                    True,
                    "Both give the same scores on and below the diagonal (the tests check "
                    "it); the shift saves a factor d_head in memory and avoids a gather.",
                ),
                Option(
                    "The shift is what makes the attention causal.",
                    False,
                    "The shift leaves garbage above the diagonal; the causal mask removes it. "
                    "Causality comes from the mask alone.",
                ),
                Option(
                    "Sinusoids of negative distances are undefined, so the gather cannot work.",
                    False,
                    "Sinusoids are defined for any number, and future keys are masked "
                    "anyway; the reason is cost, not definability.",
                ),
                Option(
                    "The shift lets the model use segment memory from the previous window.",
                    False,
                    "Memory is a separate Transformer-XL feature (and Gopher is not known to "
                    "use it); the shift is an indexing trick.",
                ),
            ),
        ),
        Question(
            "With `clamp_len = 64`, how does a query treat a key 500 tokens back?",
            _right_at(
                0,
                Option(
                    "Its position terms (b) and (d) are those of distance 64; its content terms "
                    "(a) and (c) are unchanged, and it can still be attended to.",
                    True,
                    "Clamping replaces the distance fed to the sinusoids, nothing else. All "
                    "keys beyond 64 look equally far away, but none is hidden.",
                ),
                Option(
                    "It is masked out, as in local (windowed) attention.",
                    False,
                    "The clamp never masks anything; a sliding-window mask would be a "
                    "different mechanism.",
                ),
                Option(
                    "Its score is set to zero.",
                    False,
                    "Only the distance changes; the score is still the sum of the four terms.",
                ),
                Option(
                    "It is treated as if it were at position 64 of the window.",
                    False,
                    "Clamping acts on the *distance* i − j, not on absolute positions, which "
                    "relative attention never uses.",
                ),
            ),
        ),
        Question(
            "During training, a decoder computes the loss at all L positions of a window in "
            "one forward pass, although each token's hidden representation depends on the "
            "tokens before it. What makes that parallelism possible?",
            _right_at(
                2,
                Option(
                    "All L input tokens are known in advance (teacher forcing); the causal mask "
                    "lets every position attend to its own past, computed for all positions "
                    "at once.",
                    True,
                    "Representations are context-dependent, but they depend on the *given* "
                    "inputs, not on the model's own earlier outputs, so nothing has to wait. "
                    "Only generation is sequential.",
                ),
                Option(
                    "Token embeddings are fixed lookups, so they do not depend on context.",
                    False,
                    "The input lookup is fixed, but every layer's output is contextual; the "
                    "parallelism does not come from the embeddings being static.",
                ),
                Option(
                    "Each layer processes the positions one after another, but on many cores.",
                    False,
                    "A layer is a few matrix products over all positions together; there is "
                    "no per-position loop to spread over cores.",
                ),
                Option(
                    "Transformer-XL's recurrence passes each position's state to the next one.",
                    False,
                    "That would be sequential, like an RNN. Transformer-XL's memory (if used) "
                    "carries whole windows forward, and within a window all positions are "
                    "still computed together.",
                ),
            ),
        ),
        Question(
            "Why use H heads of size d_model / H rather than one head of size d_model?",
            _right_at(
                3,
                Option(
                    "Each head has its own softmax, so different heads can attend to different "
                    "positions at the same time.",
                    True,
                    "One head returns one weighted average per query; several heads can, for "
                    "instance, follow the previous token and a distant keyword at once. The "
                    "projection parameters and FLOPs stay about the same.",
                ),
                Option(
                    "More heads give the layer many more parameters.",
                    False,
                    "q, k, v and o are d_model × (H · d_head) either way; only the way the "
                    "scores are grouped changes (plus u, v per head).",
                ),
                Option(
                    "Relative positions only work with several heads.",
                    False,
                    "The four terms are defined per head; one head has them too.",
                ),
                Option(
                    "Heads let the layer process different positions in parallel.",
                    False,
                    "Every position is processed together already; heads split the "
                    "features, not the positions.",
                ),
            ),
        ),
        Question(
            "In Transformer-XL's scores the query never gets a position vector; where the "
            "absolute formula has the query's position, there are learned vectors u and v. "
            "What does that achieve?",
            _right_at(
                1,
                Option(
                    "The score depends on positions only through i − j, so shifting the whole "
                    "text by some positions changes nothing.",
                    True,
                    "With u and v in place of the query's absolute position, every term is "
                    "translation-invariant: what matters is how far back a key is.",
                ),
                Option(
                    "It halves the parameter count of attention.",
                    False,
                    "It adds parameters: W_kR and the two vectors u and v per layer.",
                ),
                Option(
                    "It lets the model read the future.",
                    False,
                    "The causal mask is untouched; positions and masking are independent.",
                ),
                Option(
                    "It makes the model ignore word order.",
                    False,
                    "Order is still seen through distances in terms (b) and (d); the model "
                    "knows a key is 3 tokens back, just not that it is at position 17.",
                ),
            ),
        ),
    ],
)
