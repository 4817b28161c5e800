"""Chapter 02 quiz: BPE merges and how SentencePiece counts pairs and breaks ties, byte
fallback and character coverage, the vocabulary-size trade-off, what the vocabulary costs at
each model size, normalisation (NFKC and whitespace) and exact round trips,
and what a token id means to the model.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: tokenization",
    [
        Question(
            "A user of your chatbot types a message with an emoji and a Chinese name. Your "
            "tokenizer was trained only on English docstrings and has byte fallback, like "
            "Gopher's. What happens to those characters?",
            [
                Option(
                    "They become `<unk>`, and the model cannot repeat them back.",
                    False,
                    "That is what a tokenizer without byte fallback does. With it, no "
                    "character is ever mapped to `<unk>`.",
                ),
                Option(
                    "The tokenizer adds new pieces for them the first time they are seen.",
                    False,
                    "The vocabulary is fixed when the tokenizer is trained; encoding never "
                    "changes it, or ids would stop matching the model's embedding rows.",
                ),
                Option(
                    "Each is spelled as its UTF-8 bytes, 1 to 4 byte pieces per character.",
                    True,
                    "256 byte pieces are reserved, so any string can be encoded and decoded "
                    "exactly; the price is length, e.g. four tokens for one emoji.",
                ),
                Option(
                    "They are normalised to the nearest ASCII letters before tokenizing.",
                    False,
                    "No normalisation rule turns Chinese characters or emoji into ASCII; "
                    "NFKC maps compatibility forms such as `ﬁ` or `①`, it does not transliterate.",
                ),
                Option(
                    "They are encoded as one shared piece per script, so all Chinese "
                    "characters get the same id and the name is lost on decoding.",
                    False,
                    "SentencePiece has no per-script pieces; characters outside the vocabulary "
                    "are spelled byte by byte, which decodes back to the exact characters.",
                ),
            ],
        ),
        Question(
            "gopherlite trains its tokenizer with `character_coverage=0.9995` rather than 1.0. "
            "A reviewer asks why you would deliberately leave any character out of the "
            "vocabulary. What is the best answer?",
            [
                Option(
                    "So the rarest characters fall back to bytes, and the byte pieces appear "
                    "in training.",
                    True,
                    "With full coverage every training character gets a piece and the 256 "
                    "byte pieces are never used, so the model would meet them first in "
                    "deployment with untrained embeddings (SentencePiece's release notes "
                    "advise coverage below 1.0 with byte fallback).",
                ),
                Option(
                    "Full coverage makes SentencePiece run out of memory on our corpus.",
                    False,
                    "A few megabytes of docstrings are small for SentencePiece; the setting "
                    "is about which pieces the model learns, not about resources.",
                ),
                Option(
                    "It removes rare characters from the training text as noise.",
                    False,
                    "Coverage decides which characters get pieces, not which text is kept; "
                    "uncovered characters stay in the text, spelled as bytes.",
                ),
                Option(
                    "It is required for NFKC normalisation, which only works on covered "
                    "characters and would otherwise fail on rare symbols.",
                    False,
                    "Normalisation runs before segmentation on any character, and gopherlite "
                    "uses the identity rule anyway.",
                ),
                Option(
                    "It makes tokens longer, which raises bytes per token.",
                    False,
                    "Leaving a few rare characters to byte fallback makes those spots longer "
                    "in tokens, not shorter; the effect on compression is tiny either way.",
                ),
            ],
        ),
        Question(
            "You print the first learned pieces of a BPE tokenizer trained on the docstrings "
            "(the ids after the special and byte pieces) and see short pieces such as `▁t`, "
            "`he`, `▁a`, `in`. Why do these come first?",
            [
                Option(
                    "SentencePiece sorts pieces alphabetically after training.",
                    False,
                    "The pieces are not in alphabetical order; their order is the order in "
                    "which the merges were learned.",
                ),
                Option(
                    "Short pieces are reserved for English letters by the tokenizer's settings.",
                    False,
                    "No setting reserves them: they are learned from the corpus, and a "
                    "corpus of another language would give other first merges.",
                ),
                Option(
                    "BPE merges the most frequent adjacent pair first, and these pairs are the "
                    "most common in the text.",
                    True,
                    "Starting from characters, each step joins the pair that occurs most "
                    "often; frequent pairs of letters (and a space with a letter) win early, "
                    "longer pieces are built from them later.",
                ),
                Option(
                    "The model needs them first so it learns short pieces before long ones.",
                    False,
                    "Piece order is fixed before the model exists; the model sees all pieces "
                    "from the first step, in whatever order the text brings them.",
                ),
                Option(
                    "They are the pieces with the lowest unigram probability.",
                    False,
                    "The opposite: BPE picks the most frequent pair at each step, so the first "
                    "merges are among the most common pieces.",
                ),
            ],
        ),
        Question(
            "A learner's copy of `learn_bpe` picks the winner with "
            "`pairs.most_common(1)[0][0]`, so equal counts go to the pair counted first. The "
            "comparison assert now fails at merge 14, though merges 1 to 13, ties among them, "
            "still agree with SentencePiece. What explains the failure?",
            [
                Option(
                    "Merge 14 must hide a counting bug: a wrong tie rule fails at the first tie.",
                    False,
                    "A tie can go the right way by luck: when the pair counted first is also "
                    "the one SentencePiece's rule prefers, the merge agrees. The first failure "
                    "is the first tie that the pair counted first loses, not always the first tie.",
                ),
                Option(
                    "At a tie SentencePiece takes the shorter piece, then the smaller string.",
                    True,
                    "`most_common` hands a tie to whichever pair was counted first, an accident "
                    "of the order the words were met. SentencePiece decides by length, then by "
                    "code-point order, so the two part at merge 14, where that rule and the "
                    "order of counting pick different pairs.",
                ),
                Option(
                    "SentencePiece gives a tie to the pair whose first occurrence comes earliest.",
                    False,
                    "Position in the text plays no part in SentencePiece's rule. It is roughly "
                    "what `most_common` does, since pairs are counted in the order their words "
                    "were first seen: the very behaviour that broke the assert.",
                ),
                Option(
                    "SentencePiece prefers the longer piece, which shortens the text more.",
                    False,
                    "The opposite: at equal counts the shorter piece wins. In the chapter's "
                    "table, the row whose rival is `ion` is won by a two-character piece.",
                ),
                Option(
                    "SentencePiece only updates touched counts, which drift from a recount.",
                    False,
                    "Updating the counts around each merge gives the same counts as recounting "
                    "them; the chapter's loop recounts every pair after each merge and still "
                    "matched SentencePiece merge for merge.",
                ),
            ],
        ),
        Question(
            "An indented code example in a docstring gives the word `▁▁▁▁return` (four "
            "spaces, then `return`). Counting pairs for the first merge as SentencePiece "
            "does, how many times does one occurrence of this word add to the count of the "
            "pair `(▁, ▁)`?",
            [
                Option(
                    "Once: a word adds each distinct pair a single time.",
                    False,
                    "A pair counts wherever it occurs in the word (and the total is weighted "
                    "by how often the word occurs), so a pair found in three places adds three.",
                ),
                Option(
                    "Twice, as `▁▁` + `▁▁`: a space can sit in one pair only.",
                    False,
                    "That is non-overlapping counting. SentencePiece counts overlaps (`▁▁▁` "
                    "holds `(▁, ▁)` twice), and the chapter's exercise 6 shows that counting "
                    "without them breaks the agreement with its merges.",
                ),
                Option(
                    "Four times, once for each of the four spaces in the run.",
                    False,
                    "Four symbols have only three adjacent pairs; the last space's right "
                    "neighbour is `r`, so its pair is `(▁, r)`, not `(▁, ▁)`.",
                ),
                Option(
                    "Three times: each adjacent pair counts, overlaps too.",
                    True,
                    "A run of n spaces holds n − 1 overlapping `(▁, ▁)` pairs, and all of them "
                    "count. This is why indentation in the docstrings' code examples can make "
                    "`▁ + ▁` the very first merge.",
                ),
                Option(
                    "Never: `▁` may only start a piece, so `▁▁` is not valid.",
                    False,
                    "Rule 3 allows `▁` after the start when the piece is all `▁`, so `▁▁` is "
                    "a valid piece; while a piece such as `a▁b` is ruled out.",
                ),
            ],
        ),
        Question(
            "The vocabulary sweep shows held-out bytes per token rising from about 3.3 at "
            "4,096 pieces to about 4.0 at 32,000. A teammate proposes 128,000 pieces 'for even "
            "better compression'. What does the measurement suggest?",
            [
                Option(
                    "Compression will keep rising linearly, so 128k is clearly better.",
                    False,
                    "The curve flattens: each doubling of the vocabulary buys less than the "
                    "one before, so 32k to 128k gains less than 4k to 32k did.",
                ),
                Option(
                    "Compression will fall, because long pieces are harder to match.",
                    False,
                    "A BPE vocabulary only adds pieces on top of the old ones, and the "
                    "segmenter can always use them; the sweep shows compression rising at "
                    "every size.",
                ),
                Option(
                    "The vocabulary size changes the attention layers, which is the real cost.",
                    False,
                    "Attention's projections depend on d_model, heads and head size; the "
                    "vocabulary only shapes the embedding and output layer.",
                ),
                Option(
                    "It makes no difference either way, because SentencePiece caps every "
                    "vocabulary at 32,000 pieces internally, whatever size is requested.",
                    False,
                    "There is no such cap; SentencePiece trains the size it is asked for, "
                    "as the sweep's 512 to 32,000 pieces show.",
                ),
                Option(
                    "Gains shrink with each doubling, while every piece costs an embedding row "
                    "and rare pieces see little data.",
                    True,
                    "Each piece adds d_model parameters and output-layer FLOPs, and the "
                    "rarest pieces occur too seldom to train their rows well: diminishing "
                    "returns against a cost that grows with the vocabulary.",
                ),
            ],
        ),
        Question(
            "A 32,000-piece embedding is 38% of the 44M model's parameters but 0.2% of "
            "Gopher 280B's. You must pick a vocabulary for gopherlite's tiny model, 4 "
            "layers of width 128. Which choice follows from the chapter?",
            [
                Option(
                    "32,000, to match Gopher, since the share does not depend on model size.",
                    False,
                    "The share is vocab × d_model over the total, and the blocks grow like "
                    "d_model², so it depends strongly on size.",
                ),
                Option(
                    "As large as possible, since embedding rows cost no FLOPs.",
                    False,
                    "The lookup is cheap, but the output layer costs 2 · d_model · vocab "
                    "FLOPs per token, and the rows are parameters to train.",
                ),
                Option(
                    "256 pieces, bytes only, since byte fallback makes learned pieces "
                    "unnecessary for a model this small.",
                    False,
                    "Bytes only would triple or quadruple the sequence length; byte fallback is "
                    "a safety net for rare characters, not a replacement for pieces.",
                ),
                Option(
                    "A few thousand, so the embedding does not dominate the parameters.",
                    True,
                    "At width 128 a 32k table would hold most of the model. gopherlite's tiny "
                    "models use 4,096 pieces (`data/tokenizer_4k.model`) for this reason.",
                ),
                Option(
                    "Whatever size gives the lowest per-token loss in a quick run.",
                    False,
                    "Per-token loss is not comparable across vocabularies: longer pieces are "
                    "harder to predict, so a smaller vocabulary wins this contest unfairly.",
                ),
            ],
        ),
        Question(
            "You tokenize Python source with SentencePiece's default rule, `nmt_nfkc`, then "
            "decode it again. The indentation is gone and line breaks became spaces. What "
            "would keep the round trip exact?",
            [
                Option(
                    "A larger vocabulary, so that runs of spaces get pieces of their own.",
                    False,
                    "Normalisation runs before segmentation; whitespace it has already "
                    "collapsed never reaches the pieces, however many there are.",
                ),
                Option(
                    "Byte fallback, which encodes the lost whitespace as bytes.",
                    False,
                    "Byte fallback spells characters missing from the vocabulary; it cannot "
                    "bring back characters that normalisation removed.",
                ),
                Option(
                    "The identity rule, keeping whitespace, as gopherlite does.",
                    True,
                    "With no normalisation and newlines and tabs as pieces, "
                    "`decode(encode(x)) == x` for every string, and bits per byte are "
                    "measured on the original bytes.",
                ),
                Option(
                    "NFKC without the `nmt` prefix, which keeps all whitespace but still maps "
                    "`x²` to `x2` and `①` to `1`.",
                    False,
                    "Plain NFKC does not collapse whitespace, but it still changes the text "
                    "(superscripts, circled digits, ligatures), so the round trip is not exact.",
                ),
                Option(
                    "Decoding with `nmt_nfkc` too, which undoes the normalisation.",
                    False,
                    "Normalisation is many-to-one: once two spaces became one, nothing in the "
                    "output says there were two.",
                ),
            ],
        ),
        Question(
            "Chinchilla's tokenizer dropped the NFKC step that Gopher's used, which helped "
            "with maths and chemistry (Chinchilla Sec. 4.1). Which effect of NFKC explains "
            "why it could hurt there?",
            [
                Option(
                    "It lowercases the text, so element symbols like `Co` and `CO` merge.",
                    False,
                    "Lowercasing is case folding, a separate rule (`nfkc_cf`); NFKC keeps case.",
                ),
                Option(
                    "It strips accents, so `é` becomes `e` in chemical names.",
                    False,
                    "NFKC composes a letter and a combining accent into one character; it "
                    "does not remove the accent.",
                ),
                Option(
                    "It splits every number into single digits, so long constants become many "
                    "tokens and use up the context.",
                    False,
                    "Digit splitting is a tokenizer option (`split_digits`), not part of "
                    "Unicode normalisation.",
                ),
                Option(
                    "It turns every symbol it does not know into a byte piece.",
                    False,
                    "Byte pieces come from byte fallback during segmentation, after "
                    "normalisation and independent of it.",
                ),
                Option(
                    "It maps compatibility forms to plain ones, so `x²` becomes `x2`.",
                    True,
                    "Superscripts, subscripts and similar symbols collapse into ordinary "
                    "characters, so the model cannot tell x² from x2 or H₂O's subscript from "
                    "a digit.",
                ),
            ],
        ),
        Question(
            "While debugging, you notice that the piece with id 1,000 is `▁return` and id "
            "1,001 is `ation`. A colleague suggests that the model treats neighbouring ids as "
            "similar. What does an id's number actually tell the model?",
            [
                Option(
                    "Nothing: the id only picks a row of the embedding table.",
                    True,
                    "Ids 1,000 and 1,001 are no more alike to the model than 1,000 and 30,000; "
                    "similarity lives in the learned vectors. The number only records when "
                    "the piece entered the vocabulary.",
                ),
                Option(
                    "Neighbouring ids have related meanings, as merges come in order.",
                    False,
                    "Merge order reflects frequency, not meaning, and the model never sees the "
                    "number itself, only the row it selects.",
                ),
                Option(
                    "The id is fed in as a number scaled to [0, 1] alongside the embedding, so "
                    "low and high ids are told apart by their size.",
                    False,
                    "Models avoid feeding ids as numbers because that imposes a meaningless "
                    "order; the lookup is equivalent to a one-hot vector times a matrix.",
                ),
                Option(
                    "Low ids are frequent pieces, so their rows get larger gradients.",
                    False,
                    "A row's gradient depends on how often its piece occurs in the batch, not "
                    "on its id.",
                ),
                Option(
                    "The id sets the piece's position in the context window.",
                    False,
                    "Position comes from where the token sits in the sequence (relative "
                    "attention in Gopher), not from its id.",
                ),
            ],
        ),
    ],
)
