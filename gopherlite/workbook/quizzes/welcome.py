"""Chapter 00 quiz: the Gopher family, where parameters and compute go, and why blocks look
the way they do."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: the Gopher family",
    [
        Question(
            "In the 44M model the tied token embedding (32,000 × 512) holds about 38% of all "
            "parameters; in Gopher 280B (32,000 × 16,384) it holds about 0.2%. Why does its "
            "share shrink so much?",
            [
                Option(
                    "Gopher 280B uses a smaller vocabulary.",
                    False,
                    "Every Gopher model uses the same 32,000-piece SentencePiece vocabulary "
                    "(Gopher Sec. 3.1).",
                ),
                Option(
                    "The embedding grows with `d_model`, the blocks with `n_layers × d_model²`.",
                    True,
                    "Each block holds about 12 · d_model² weights (4 · d_model² for q, k, v, o "
                    "and 8 · d_model² for the 4× feed-forward), and there are n_layers of them. "
                    "The embedding is only vocab × d_model, so depth and width squared win as "
                    "models grow.",
                ),
                Option(
                    "Gopher 280B does not tie its input and output embeddings.",
                    False,
                    "Untying would add a second vocab × d_model matrix, raising the share, not "
                    "lowering it; and Table 1's counts only match with tied embeddings.",
                ),
                Option(
                    "At 280B the embedding is sharded across devices, so it counts less.",
                    False,
                    "Sharding changes where parameters live, not how many there are.",
                ),
            ],
        ),
        Question(
            "A common estimate for training compute is 6 × parameters FLOPs per token. Where "
            "does the 6 come from?",
            [
                Option(
                    "A block has six weight matrices (q, k, v, o, up, down).",
                    False,
                    "A coincidence of counting: the rule holds per parameter whatever the "
                    "number of matrices, and a relative-attention block has a seventh (W_kR).",
                ),
                Option(
                    "Adam reads and writes every parameter six times per token.",
                    False,
                    "The optimizer update runs once per step, not per token; spread over a "
                    "batch of 250,000+ tokens it is negligible.",
                ),
                Option(
                    "2 FLOPs per parameter in the forward pass, about twice that in the "
                    "backward pass.",
                    True,
                    "Each weight takes part in one multiply-add (2 FLOPs) per token going "
                    "forward; going backward needs gradients with respect to both the "
                    "activations and the weights, about 4 FLOPs more. Attention scores add a "
                    "term that grows with context length, which is why our count is a little "
                    "above 6N.",
                ),
                Option(
                    "Attention costs six times as much as the feed-forward layers.",
                    False,
                    "At a 2,048 context the feed-forward layers take the largest share in every "
                    "model from 417M up; the attention scores matter most in the small models "
                    "(see the FLOP-share explorer).",
                ),
            ],
        ),
        Question(
            "Why does a Transformer split its attention into many heads (Gopher 280B: 128 heads "
            "of size 128) instead of one head of width 16,384?",
            [
                Option(
                    "Each head has its own softmax, so different heads can attend to different "
                    "positions at once, for the same parameters and FLOPs.",
                    True,
                    "One head produces a single weighted average per query. With 128 heads, one "
                    "can follow the previous token while another finds a matching bracket or "
                    "name; the projections still total d_model × n_heads × d_head each.",
                ),
                Option(
                    "Many small heads have far fewer parameters than one big head.",
                    False,
                    "The q, k, v, o projections have d_model × (n_heads · d_head) weights each, "
                    "however that width is split.",
                ),
                Option(
                    "Each head reads a different part of the sequence, so attention costs less.",
                    False,
                    "Heads split the feature dimension, not the sequence: every head scores "
                    "every allowed position.",
                ),
                Option(
                    "Some heads may look at future tokens, which helps prediction.",
                    False,
                    "The causal mask applies to every head; no head may see the tokens it must "
                    "predict.",
                ),
            ],
        ),
        Question(
            "Gopher is pre-norm: a block computes `x + attn(norm(x))`, then "
            "`x + ffn(norm(x))`, and one final norm follows the last block. Why is the "
            "residual path `x` itself never normalised?",
            [
                Option(
                    "RMSNorm has no bias, so it cannot be applied to the residual stream.",
                    False,
                    "A norm's bias, or lack of one, has nothing to do with where it may be "
                    "placed; RMSNorm works on any vector.",
                ),
                Option(
                    "Normalising the residual stream would add too many parameters.",
                    False,
                    "A norm has only d_model scales; even 80 more would be a rounding error.",
                ),
                Option(
                    "Because of pre-norm the final norm is unnecessary and is left out.",
                    False,
                    "The opposite: the residual stream's scale grows with depth, so pre-norm "
                    "models need a final norm before the output layer (GPT-2 and Gopher have "
                    "one).",
                ),
                Option(
                    "The untouched identity path carries signal and gradients straight through "
                    "all layers, which keeps deep stacks stable.",
                    True,
                    "Only each branch's input is rescaled. The sum of residuals forms a clean "
                    "highway from the loss to the embeddings; post-norm (GPT-1, BERT) puts a "
                    "norm on that highway and needs careful learning-rate warm-up at depth.",
                ),
            ],
        ),
        Question(
            "After the first layer a token's vector depends on the tokens before it (a "
            "context-dependent embedding). How can training still compute the loss at all "
            "2,048 positions of a window in one parallel pass?",
            [
                Option(
                    "It cannot: training must go one position at a time, like an RNN.",
                    False,
                    "That is exactly the limit Transformers remove. Only generation is "
                    "sequential, because there the next input is the model's own output.",
                ),
                Option(
                    "Contextual vectors are computed once per vocabulary entry and cached.",
                    False,
                    "That describes the input embedding table, which is context-free; the "
                    "contextual vectors depend on the whole prefix and are recomputed.",
                ),
                Option(
                    "The whole window is known, and the causal mask lets every position use "
                    "only earlier tokens, so all predictions come out of one forward pass.",
                    True,
                    "Teacher forcing: position t is fed the true tokens up to t, not the "
                    "model's guesses. Context flows between positions only through attention "
                    "inside each layer, with no step-by-step recurrence as in an RNN, so each "
                    "layer processes all positions at once.",
                ),
                Option(
                    "Each position is trained in a separate batch element.",
                    False,
                    "One sequence gives 2,048 training targets inside a single batch element; "
                    "splitting it would repeat the same prefixes thousands of times.",
                ),
            ],
        ),
        Question(
            "Gopher's bfloat16 weights plus float32 Adam state took 2.5 TiB, and a TPUv3 core "
            "has 16 GiB (Gopher Sec. 3.3). What follows?",
            [
                Option(
                    "Keeping Adam's moments in bfloat16 too would fit it on one core.",
                    False,
                    "Even 6 bytes per parameter is 1.5 TiB, about a hundred cores' worth.",
                ),
                Option(
                    "The state has to be split over at least about 160 cores, before any "
                    "activations are stored.",
                    True,
                    "2.5 TiB / 16 GiB ≈ 160. Gopher partitioned the optimizer state (ZeRO) and "
                    "the model (Megatron-style) and rematerialised activations to fit.",
                ),
                Option(
                    "Rematerialisation solves it on a single core.",
                    False,
                    "Rematerialisation recomputes activations instead of storing them; it does "
                    "nothing for the weights and optimizer state.",
                ),
                Option(
                    "It does not matter, because activations dominate memory.",
                    False,
                    "At this size the weights and Adam state alone exceed one core by a factor "
                    "of about 160.",
                ),
            ],
        ),
    ],
)
