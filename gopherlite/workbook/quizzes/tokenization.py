"""Chapter 02 quiz: SentencePiece, vocabulary size, byte fallback, normalisation, and what a
token id means to the model."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: tokenization",
    [
        Question(
            "Gopher's SentencePiece tokenizer has byte fallback. What does it buy?",
            [
                Option(
                    "Shorter sequences for rare characters.",
                    False,
                    "The opposite: a character that needs byte fallback costs 1 to 4 tokens, "
                    "one per UTF-8 byte.",
                ),
                Option(
                    "It turns the tokenizer into a pure byte-level model.",
                    False,
                    "Common text is still covered by learned pieces; bytes appear only for "
                    "characters outside the vocabulary.",
                ),
                Option(
                    "Every string can be encoded and decoded: a character outside the "
                    "vocabulary becomes its UTF-8 bytes, so there is no `<unk>`.",
                    True,
                    "An open vocabulary: the model can read and write any text (emoji, rare "
                    "scripts, binary-looking data) with only 256 reserved byte pieces.",
                ),
                Option(
                    "It makes text normalisation unnecessary.",
                    False,
                    "The two are independent: normalisation changes text before tokenizing; "
                    "byte fallback handles characters the vocabulary lacks.",
                ),
            ],
        ),
        Question(
            "On our corpus, going from a 4,096-piece to a 32,000-piece vocabulary raises "
            "held-out bytes per token from about 3.3 to about 4.0. Which trade-off comes "
            "with it?",
            [
                Option(
                    "Each context window holds more text, but the embedding and output layer "
                    "grow and rare pieces see fewer training examples.",
                    True,
                    "vocab × d_model parameters and 2 · d_model · vocab FLOPs per token for the "
                    "logits; at Gopher's sizes that is small next to the blocks, which is one "
                    "reason 32k is a sensible choice there.",
                ),
                Option(
                    "The attention layers get more parameters.",
                    False,
                    "Attention's projections depend on d_model, n_heads and d_head only.",
                ),
                Option(
                    "Loss per token must go down, so the model is better.",
                    False,
                    "Per-token loss is not comparable across vocabularies: longer tokens are "
                    "harder to predict. Compare bits per byte instead.",
                ),
                Option(
                    "Training the tokenizer gets about eight times slower.",
                    False,
                    "Measure it: in this chapter's sweep, training time grows far more slowly "
                    "than the vocabulary; reading and counting the text takes much of it.",
                ),
            ],
        ),
        Question(
            "Chinchilla's tokenizer dropped the NFKC normalisation that Gopher's used, which "
            "helped with maths and chemistry (Chinchilla Sec. 4.1). What does NFKC do that "
            "could hurt there?",
            [
                Option(
                    "It lowercases everything.",
                    False,
                    "That is case folding, a separate option (`nfkc_cf`, `nmt_nfkc_cf`).",
                ),
                Option(
                    "It strips accents, so `é` becomes `e`.",
                    False,
                    "NFKC composes characters: `e` followed by a combining accent becomes one "
                    "`é`; it does not remove the accent.",
                ),
                Option(
                    "It splits every number into single digits.",
                    False,
                    "Digit splitting is a tokenizer option (SentencePiece's "
                    "`split_digits`), not part of Unicode normalisation.",
                ),
                Option(
                    "It maps compatibility characters to plain ones: `x²` becomes `x2`, `①` "
                    "becomes `1`.",
                    True,
                    "Superscripts, subscripts and other symbols collapse into ordinary "
                    "characters, so the model cannot tell x² from x2, and decoding no longer "
                    "gives the original text back.",
                ),
            ],
        ),
        Question(
            "Why do Gopher and gopherlite compare models in bits per byte rather than "
            "perplexity per token?",
            [
                Option(
                    "Because the model predicts bytes, not tokens.",
                    False,
                    "The model predicts tokens; bytes are only the unit of normalisation.",
                ),
                Option(
                    "Per-token numbers depend on the tokenizer; bits per byte divides by the "
                    "text's length in bytes, which every tokenizer agrees on.",
                    True,
                    "bits per byte = loss per token / ln 2 / bytes per token. Two models with "
                    "different vocabularies, or a model and a compressor, can then be compared "
                    "on the same text.",
                ),
                Option(
                    "Perplexity cannot be computed for a SentencePiece model.",
                    False,
                    "Perplexity is exp(loss per token) for any tokenizer; it is just not "
                    "comparable across tokenizers.",
                ),
                Option(
                    "Bits per byte is always the smaller number, so results look better.",
                    False,
                    "Units are chosen for comparability, not for flattering numbers.",
                ),
            ],
        ),
        Question(
            "Token ids enter the model through an embedding lookup. What does the id's numeric "
            "value tell the model?",
            [
                Option(
                    "Neighbouring ids have similar meanings, because BPE adds merges in "
                    "frequency order.",
                    False,
                    "Merge order says how frequent a pair was, not what it means; the model "
                    "never sees the number itself.",
                ),
                Option(
                    "The model reads the id as a number scaled to [0, 1].",
                    False,
                    "Feeding ids as numbers would impose a meaningless order; that is why "
                    "models use a lookup table (equivalently, a one-hot vector times a matrix).",
                ),
                Option(
                    "Nothing: the id only selects a row of the table; ids 100 and 101 are no "
                    "more alike than 100 and 30,000.",
                    True,
                    "Similarity lives in the learned vectors. The order of ids only reflects "
                    "when a piece entered the vocabulary during tokenizer training.",
                ),
                Option(
                    "Low ids are frequent pieces, so they get larger gradients.",
                    False,
                    "A row's gradient depends on how often its piece occurs in the batch, not "
                    "on its id.",
                ),
            ],
        ),
        Question(
            "The piece `▁bank` gets the same input embedding in 'river bank' and 'bank loan'. "
            "Where does the model tell the two senses apart?",
            [
                Option(
                    "The tokenizer gives the two senses different ids.",
                    False,
                    "SentencePiece segments strings; it knows nothing about meaning, so the same "
                    "string gets the same pieces.",
                ),
                Option(
                    "In the Transformer layers: attention mixes in the surrounding tokens, so "
                    "the hidden vector of `▁bank` differs between the two sentences.",
                    True,
                    "The embedding table is context-free; the layers turn it into a "
                    "context-dependent representation, one position at a time but all "
                    "positions in parallel.",
                ),
                Option(
                    "The position encoding separates them.",
                    False,
                    "Positions say where a token is, not what its neighbours are; the same "
                    "sense can occur at any position.",
                ),
                Option(
                    "It cannot: one id means one vector and one sense.",
                    False,
                    "That limitation applies to static word vectors such as word2vec, not to "
                    "the contextual hidden states of a Transformer.",
                ),
            ],
        ),
    ],
)
