"""Chapter 03 quiz: teacher forcing and parallel training, the 1/sqrt(d_head) scale, heads, the
pre-norm residual stream, label smoothing, cross-attention and the KV cache.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: the Transformer",
    [
        Question(
            "A team adds a 'dynamic embedding' layer to a decoder-only language model: before the "
            "first block, each token's embedding is adjusted using the embeddings of the tokens "
            "before it, so a word's vector depends on its context. They train with teacher "
            "forcing on 2,048-token windows. What should they expect for training?",
            [
                Option(
                    "Training must now run position by position, because each embedding waits "
                    "for its neighbours'.",
                    False,
                    "Every Transformer layer already makes each position depend on its context, "
                    "and training is still parallel: the inputs are the true tokens, known in "
                    "advance, so every position's context is available at once.",
                ),
                Option(
                    "All positions are still trained in one pass; context-dependence costs depth, "
                    "not parallelism.",
                    True,
                    "Teacher forcing feeds the real previous tokens, and a causal mask keeps each "
                    "position from its future, so one forward pass scores all 2,048 positions. "
                    "A context-mixing layer is one more layer to run in sequence; only "
                    "generation, which must choose each token before reading it, is sequential.",
                ),
                Option(
                    "Positional information becomes unnecessary, since context now orders tokens.",
                    False,
                    "Mixing in earlier tokens does not say how far back they are; without "
                    "positions, attention still cannot tell 'dog bites man' from 'man bites dog' "
                    "beyond what the causal mask leaks.",
                ),
                Option(
                    "The model will need much less data, as context-aware vectors generalise "
                    "from few examples.",
                    False,
                    "Contextual representations are what every layer computes already; nothing "
                    "about one extra such layer changes how loss scales with data (chapter 10).",
                ),
                Option(
                    "Biases in the training text will largely disappear, since context can "
                    "correct a word's stereotyped meaning.",
                    False,
                    "Representations learned from biased text encode its associations, "
                    "contextual or not; Gopher's paper measures such associations in models "
                    "built from exactly these contextual layers.",
                ),
            ],
        ),
        Question(
            "You double a model's head size from 64 to 128 and forget the 1/sqrt(d_head) "
            "factor. The query and key entries still have unit variance at initialisation. What "
            "happens to attention at the start of training?",
            [
                Option(
                    "Nothing: softmax is invariant to the scale of its inputs.",
                    False,
                    "Softmax is invariant to *adding* a constant, not to multiplying: scaling the "
                    "scores by 2 squares every ratio of weights.",
                ),
                Option(
                    "Scores spread by sqrt(128) ≈ 11 and the softmax turns nearly one-hot, "
                    "so gradients shrink.",
                    True,
                    "A dot product of 128 unit-variance pairs has standard deviation sqrt(128). "
                    "Large scores saturate the softmax: almost all weight lands on one key, and "
                    "the gradient through the other weights is nearly zero. Section 2 measures it.",
                ),
                Option(
                    "Attention becomes uniform over the keys, because larger vectors cancel out.",
                    False,
                    "Larger dot products make the weights *more* peaked, not flatter; uniform "
                    "weights come from scores that are all about equal.",
                ),
                Option(
                    "Scores overflow float32 and training stops with NaNs on the first step.",
                    False,
                    "Scores of order 10 to 50 are far from float32's limit of about 3e38, and a "
                    "stable softmax subtracts the row maximum first.",
                ),
                Option(
                    "The causal mask stops working, because masked scores are no longer the "
                    "smallest entries in each row.",
                    False,
                    "Masked entries are set to −∞ (or −1e30) after scaling; no finite score, "
                    "scaled or not, competes with that.",
                ),
            ],
        ),
        Question(
            "A model of width 512 uses 8 heads of size 64. A colleague proposes one head of "
            "size 512 instead, 'to save the cost of many heads'. Which statement is right?",
            [
                Option(
                    "One wide head has 8 times fewer parameters in its projections.",
                    False,
                    "The projections are 512 × 512 either way: 8 heads of 64 are the same "
                    "matrices with their output columns cut into 8 groups.",
                ),
                Option(
                    "Eight heads take 8 times more FLOPs, because attention runs 8 times.",
                    False,
                    "Each of the 8 heads works on 64 features instead of 512, so the score and "
                    "value products cost the same in total.",
                ),
                Option(
                    "Same parameters and FLOPs; what changes is that 8 heads can attend in 8 "
                    "different patterns.",
                    True,
                    "Splitting costs nothing extra, and each head has its own softmax: one can "
                    "follow the previous token while another looks further back. One head "
                    "averages all its values with one set of weights.",
                ),
                Option(
                    "Eight heads are needed because a softmax cannot handle vectors wider than 64 "
                    "features without overflowing.",
                    False,
                    "Softmax runs over keys, not features; head width only enters through the "
                    "dot product, which the 1/sqrt(d_head) scale keeps in range at any width.",
                ),
                Option(
                    "One wide head would need a larger output projection W_o.",
                    False,
                    "Concatenated heads are 8 × 64 = 512 wide, exactly one head of 512: W_o is "
                    "512 × 512 in both designs.",
                ),
            ],
        ),
        Question(
            "In a pre-norm block, x ← x + Attention(Norm(x)) and x ← x + FFN(Norm(x)). What does "
            "this arrangement give a 80-layer model such as Gopher that post-norm, "
            "x ← Norm(x + Attention(x)), does not?",
            [
                Option(
                    "An identity path: the stream is never rescaled, so gradients reach early "
                    "layers unchanged.",
                    True,
                    "Each block adds to the residual stream and nothing divides it, so the "
                    "derivative of the output with respect to any block's input contains an "
                    "identity term. Post-norm rescales the sum after every sub-layer, which "
                    "makes deep stacks depend on a careful warm-up (Xiong et al. 2020).",
                ),
                Option(
                    "Fewer parameters, because the norm is applied to a smaller tensor.",
                    False,
                    "Both place one norm per sub-layer on a [batch, length, d_model] tensor; "
                    "pre-norm adds one final norm before the logits.",
                ),
                Option(
                    "Outputs of every block with unit RMS, which keeps the residual stream small "
                    "at every depth of the stack.",
                    False,
                    "That is post-norm. In pre-norm only the sub-layers' *inputs* are normalised; "
                    "the stream itself grows as blocks add to it (exercise 3).",
                ),
                Option(
                    "No need for a final norm, because each sub-layer already saw normalised "
                    "input.",
                    False,
                    "The stream reaching the logits is unnormalised in pre-norm, which is why "
                    "GPT-2 and `GopherLM` add a final norm.",
                ),
                Option(
                    "Exact equality with post-norm once training has converged.",
                    False,
                    "They are different functions with different training dynamics; neither "
                    "turns into the other.",
                ),
            ],
        ),
        Question(
            "You train a language model with label smoothing ε = 0.1 over a 32,000-token "
            "vocabulary and compare it with the same run at ε = 0 on held-out text scored by "
            "plain log-likelihood. Which outcome follows from what smoothing does?",
            [
                Option(
                    "Its training loss (against the smoothed targets) can reach zero sooner.",
                    False,
                    "Smoothed targets have entropy of their own, so the smoothed training loss "
                    "has a floor above zero that no model can go below.",
                ),
                Option(
                    "Its held-out loss must be lower, since smoothing is a regulariser and "
                    "regularisers always reduce overfitting.",
                    False,
                    "Regularising can help or hurt; for language models scored by likelihood it "
                    "often costs a little, because the model spends probability on tokens that "
                    "rarely follow. Measured here on a short run, the difference was small.",
                ),
                Option(
                    "It puts at least ε = 0.1 of its probability on every token.",
                    False,
                    "ε is spread over the whole vocabulary: each token's target share is "
                    "ε / V ≈ 3e−6, not ε.",
                ),
                Option(
                    "Lower top-token confidence, which helps calibration only if the plain model "
                    "was overconfident.",
                    True,
                    "The smoothed target caps the probability worth giving the right token at "
                    "1 − ε + ε/V, so confidence falls. If the plain model's confidence already "
                    "matched its accuracy, as in this chapter's short run, smoothing can make it "
                    "underconfident instead.",
                ),
                Option(
                    "Its predictions change order: the most likely token becomes the least.",
                    False,
                    "Smoothing adds the same constant to every target; the best prediction "
                    "under it is still the most likely token, only less sharply.",
                ),
            ],
        ),
        Question(
            "A translation model has an encoder over the source sentence and a decoder that "
            "writes the target. In the decoder's cross-attention layers, where do the queries, "
            "keys and values come from?",
            [
                Option(
                    "Queries, keys and values all from the encoder's output, masked causally.",
                    False,
                    "Then the decoder's own state would not enter; and the source is fully known, "
                    "so nothing over it needs a causal mask.",
                ),
                Option(
                    "Queries from the decoder, keys and values from the encoder, with no causal "
                    "mask.",
                    True,
                    "Each target position asks (query) what it needs from the whole source "
                    "(keys, values). Decoder-only models such as Gopher drop this layer: the "
                    "prompt is part of the same sequence and is read by causal self-attention.",
                ),
                Option(
                    "Queries from the encoder, keys and values from the decoder's previous tokens.",
                    False,
                    "That would make the output length the source's; the output of "
                    "attention has one row per query, so queries must come from the side "
                    "being written.",
                ),
                Option(
                    "All three from the decoder, as in self-attention, with the source added to "
                    "the values.",
                    False,
                    "That describes self-attention plus an addition; cross-attention is defined by "
                    "its keys and values coming from the other sequence.",
                ),
                Option(
                    "Keys from the encoder and both queries and values from the decoder.",
                    False,
                    "Keys and values come in pairs: the weight chosen by matching a key selects "
                    "that same position's value, so both come from the encoder.",
                ),
            ],
        ),
        Question(
            "Serving Gopher 280B, an engineer turns the KV cache off to save memory. What do they "
            "trade?",
            [
                Option(
                    "Nothing: the cache only stores final outputs that are cheap to recompute.",
                    False,
                    "It stores every layer's keys and values of the whole prefix; recomputing "
                    "them is a forward pass over all earlier tokens, for every new token.",
                ),
                Option(
                    "Different text: recomputed keys differ, so the model chooses other tokens.",
                    False,
                    "The mask keeps later tokens from changing earlier keys, so recomputed keys "
                    "are the same numbers; section 9 checks the tokens are identical.",
                ),
                Option(
                    "About 10.7 GB per 2,048-token sequence saved, for work per token that grows "
                    "with the prefix.",
                    True,
                    "2 × 80 layers × 2,048 × 128 × 128 × 2 bytes ≈ 10.7 GB in bfloat16 "
                    "(`kv_cache_bytes`). Without it token t reprocesses all t earlier positions, "
                    "so n tokens cost work growing like n² instead of n.",
                ),
                Option(
                    "Weight memory: without a cache, the 280B parameters can be left on disk "
                    "between generated tokens.",
                    False,
                    "The cache holds activations, not weights; the weights are needed for every "
                    "token either way.",
                ),
                Option(
                    "Longer contexts: without a cache the model can read past 2,048 tokens.",
                    False,
                    "The cache does not limit context; the trained window and memory do. "
                    "Gopher's relative positions (ch. 04) are what allow reading past 2,048.",
                ),
            ],
        ),
    ],
)
