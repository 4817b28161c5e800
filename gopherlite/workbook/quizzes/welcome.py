"""Chapter 00 quiz: the Gopher family of Table 1, where its parameters go (blocks against the
tied embedding), why the counts imply tied embeddings, how the attention-score share of compute
moves with context and model size, and why its weights and Adam state outgrow one chip.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: the Gopher family",
    [
        Question(
            "You are sizing a model in the architecture explorer. Starting from Gopher 1.4B "
            "(24 layers, d_model 2,048), you try two edits: doubling the layers to 48, or "
            "doubling d_model to 4,096 (with twice the heads). Roughly what happens to the "
            "parameters in the blocks?",
            [
                Option(
                    "Both edits double the block parameters, since each doubles one dimension.",
                    False,
                    "Depth enters linearly but width enters squared: every projection and "
                    "feed-forward matrix is d_model by a multiple of d_model.",
                ),
                Option(
                    "Doubling layers about doubles them; doubling d_model about quadruples them.",
                    True,
                    "A block holds about 13 · d_model² weights (q, k, v, o, W_kR and the 4× "
                    "feed-forward), and there are n_layers blocks, so the block total grows "
                    "like n_layers · d_model².",
                ),
                Option(
                    "Doubling d_model doubles them; doubling layers leaves them nearly flat.",
                    False,
                    "Each extra layer adds a full block of about 13 · d_model² weights, so "
                    "depth is far from free; and width enters squared, not linearly.",
                ),
                Option(
                    "Both edits quadruple them, because heads and layers are coupled.",
                    False,
                    "Heads only cut the projection width into groups; layers are independent "
                    "copies of the block, so one more layer adds one more block and no more.",
                ),
                Option(
                    "Neither changes much, because the 32,000-row embedding table holds most "
                    "of a model's parameters at this size.",
                    False,
                    "At 1.4B the embedding (32,000 × 2,048 ≈ 66M) is under 5% of the total; "
                    "the blocks hold nearly everything.",
                ),
            ],
        ),
        Question(
            "A colleague reproduces Table 1 by counting parameters from the shapes and gets "
            "60.0M for the smallest model and 141.2M for the next, against the paper's 44M "
            "and 117M. The layer shapes are right. What is the most likely difference?",
            [
                Option(
                    "They forgot the relative-position projection W_kR in every layer.",
                    False,
                    "Leaving a matrix out would make the count smaller than the paper's, not "
                    "larger; W_kR is part of the count that matches Table 1.",
                ),
                Option(
                    "They used a 4× feed-forward, while Gopher's feed-forward is 2× wide.",
                    False,
                    "Gopher's feed-forward is 4 × d_model in every model (Table 1 caption), so "
                    "the 4× width is right.",
                ),
                Option(
                    "They added learned absolute position tables, which Gopher does not have "
                    "because its attention is relative.",
                    False,
                    "A 2,048 × 512 table is about 1M parameters, far short of the 16M gap; "
                    "the gap is exactly one vocabulary-sized matrix.",
                ),
                Option(
                    "Table 1 rounds counts down to the nearest familiar model size.",
                    False,
                    "The paper's labels round the real counts (43.6M to 44M, 116.6M to 117M); "
                    "they do not hide a 16M or 24M difference.",
                ),
                Option(
                    "They counted a separate output matrix; only tied embeddings match.",
                    True,
                    "A second 32,000 × d_model matrix adds 16.4M at d_model 512 and 24.6M at "
                    "768, exactly the gap. The paper does not say it ties its embeddings; the "
                    "workbook infers it from this match, and says so.",
                ),
            ],
        ),
        Question(
            "In the context explorer you move the context from 512 to 8,192 tokens for the "
            "44M model. The parameter count does not move at all, while the training FLOPs "
            "per token rise. Why?",
            [
                Option(
                    "Relative attention has no position table, and only the score terms grow "
                    "with the context.",
                    True,
                    "Positions enter through fixed sinusoids of the distance, so nothing in "
                    "the weights depends on the context. Each token's query is compared with "
                    "every earlier key, so the score and value products grow linearly with it.",
                ),
                Option(
                    "The explorer caps the count at the training context of 2,048 tokens.",
                    False,
                    "No cap is involved: the count is the same at any context, because no "
                    "weight's shape depends on the context length.",
                ),
                Option(
                    "The feed-forward layers process more tokens, so they cost more per token.",
                    False,
                    "The feed-forward acts on each position alone: its cost per token is the "
                    "same at any context; only its total grows with the number of tokens.",
                ),
                Option(
                    "Longer contexts need more heads, which add FLOPs but share weights.",
                    False,
                    "The number of heads is a fixed shape of the model; the context slider "
                    "does not touch it.",
                ),
                Option(
                    "Parameters grow too, but by less than the explorer's rounding shows, "
                    "since a position table is tiny next to the blocks.",
                    False,
                    "A learned table would add context × d_model parameters, 4M at 8,192 × "
                    "512, which the count would show; Gopher's relative scheme has none.",
                ),
            ],
        ),
        Question(
            "At Gopher's 2,048-token context the FLOP-share explorer shows the attention "
            "scores taking a large share of the 44M model's compute, but a small share of "
            "280B's. What explains the difference?",
            [
                Option(
                    "The 280B model uses sparse attention, so its scores cost less.",
                    False,
                    "Every Gopher model uses the same dense causal attention over its 2,048 "
                    "tokens; nothing in the architecture changes with size.",
                ),
                Option(
                    "Projections and feed-forward grow like d_model², the scores like "
                    "d_model × context.",
                    True,
                    "At a fixed context, widening the model multiplies the matrix work by the "
                    "square of the width but the score work only by the width: 16,384 wide, "
                    "the scores are a small share, while at 512 they rival the feed-forward.",
                ),
                Option(
                    "Small models have more heads relative to their width, and each head "
                    "recomputes the scores from scratch, which multiplies their cost.",
                    False,
                    "Score cost depends on the total key/value width (heads × head size), "
                    "which equals d_model in every Table 1 model, not on how it is split.",
                ),
                Option(
                    "The 280B model was trained with a shorter context than the 44M model.",
                    False,
                    "All six models were trained on 2,048-token windows (Gopher Sec. 3.2).",
                ),
                Option(
                    "Large models skip the value products, keeping only query·key scores.",
                    False,
                    "Every attention layer needs both the scores and the weighted sum of "
                    "values; no model skips either.",
                ),
            ],
        ),
        Question(
            "The memory table of this chapter lists 10 bytes per parameter for Gopher's "
            "storage rule: bfloat16 weights plus two float32 Adam moments. For the 280B model "
            "that is about 2.5 TiB (Gopher Sec. 3.3). What does the rule leave out?",
            [
                Option(
                    "Nothing: 10 bytes per parameter is everything a training step needs.",
                    False,
                    "A step also needs the gradients and the activations kept for the backward "
                    "pass, which are not weights or optimizer state.",
                ),
                Option(
                    "The Adam moments, which Gopher kept in bfloat16 to save memory.",
                    False,
                    "The 10 bytes already are 2 for the bfloat16 weight and 4 + 4 for Adam's "
                    "two float32 moments; the paper describes single-precision Adam state.",
                ),
                Option(
                    "The tied embedding, which the rule stores twice.",
                    False,
                    "A tied matrix is one set of parameters, counted once, and stored once "
                    "with its moments like any other weight.",
                ),
                Option(
                    "Gradients and stored activations, which add to the 2.5 TiB.",
                    True,
                    "The table is weights and optimizer state only. Gradients take at least "
                    "another 2 bytes per parameter, and the activations kept for the backward "
                    "pass grow with batch and context; chapter 07 adds them up per device.",
                ),
                Option(
                    "Its own overhead: the rule counts the state of all 4,096 chips together, "
                    "which makes the per-chip figure far smaller than it appears.",
                    False,
                    "2.5 TiB is the size of one copy of the model's weights and Adam state, "
                    "before it is split over any chips.",
                ),
            ],
        ),
        Question(
            "A TPUv3 core has 16 GiB of memory, and Gopher 280B's weights and Adam state take "
            "about 2.5 TiB. A manager asks for the fewest cores that could hold it. Which "
            "answer is sound?",
            [
                Option(
                    "One core, if its weights are streamed from host memory as needed.",
                    False,
                    "Every step reads all the weights and updates every Adam moment; moving "
                    "2.5 TiB over a host link at every step would take far longer than the "
                    "step itself.",
                ),
                Option(
                    "About 16 cores, since bfloat16 halves the memory of every number.",
                    False,
                    "The 2.5 TiB already uses bfloat16 weights; the float32 Adam moments are "
                    "most of it, and 16 × 16 GiB is only a quarter of a TiB.",
                ),
                Option(
                    "About 4,096 cores, because each core must keep a whole copy of the model "
                    "and the batch is what gets split.",
                    False,
                    "If each core kept a whole copy, no number of 16 GiB cores would do; "
                    "Gopher split the state itself (ZeRO and model parallelism).",
                ),
                Option(
                    "About 2 cores, because rematerialisation frees most of the memory.",
                    False,
                    "Rematerialisation recomputes activations instead of storing them; it "
                    "does nothing for the weights and Adam state.",
                ),
                Option(
                    "About 160 cores, as a lower bound before gradients and activations.",
                    True,
                    "2.5 TiB / 16 GiB ≈ 160. That only counts the state; gradients and "
                    "activations need room too, and Gopher trained on many more chips.",
                ),
            ],
        ),
    ],
)
