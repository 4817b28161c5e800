"""Chapter 01 quiz: MassiveText's quality and repetition rules, deduplication with MinHash and
LSH, test-set filtering, sampling proportions and epochs, and the cost of over-filtering.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: data curation",
    [
        Question(
            "A team runs Gopher's quality filter, unchanged, over a corpus of software "
            "documentation. 84% of the bytes are removed, and most documents fail the rule "
            "that at least 80% of words must contain a letter. What is the best reading?",
            [
                Option(
                    "The corpus is mostly junk, so the filter is doing exactly its job here.",
                    False,
                    "The removed documents are the manuals themselves. They fail because code "
                    "samples are full of brackets, operators and numbers, which count as tokens "
                    "without a letter, not because the text is low quality.",
                ),
                Option(
                    "The rule was tuned for web pages; on code-heavy text it drops good data.",
                    True,
                    "Gopher applied these rules to MassiveWeb only. A threshold encodes a "
                    "target domain: on documentation it drops most of the useful text, so it "
                    "should be re-tuned or skipped for such a source, as MassiveText did for "
                    "its GitHub subset.",
                ),
                Option(
                    "The word splitter is buggy, since real text never fails this rule.",
                    False,
                    "The splitter is close to datatrove's spaCy splitting, and datatrove's own "
                    "Gopher filter drops most of the same documents. Code-like text fails the "
                    "rule under any reasonable way of splitting words.",
                ),
                Option(
                    "Raising the threshold to 95% would keep more of the documentation.",
                    False,
                    "A higher minimum share of alphabetic words is a stricter rule: even more "
                    "documents would fall below it. Keeping them needs a lower threshold.",
                ),
                Option(
                    "Deduplicating first would stop the rule from removing these documents.",
                    False,
                    "The quality rules judge each document on its own text; removing other "
                    "documents first cannot change whether this one has enough alphabetic "
                    "words. The order of the stages does not matter here.",
                ),
            ],
        ),
        Question(
            "A web crawl contains the same press release on 500 sites, each copy with a "
            "different header and footer. Why did MassiveText remove such near duplicates "
            "before training?",
            [
                Option(
                    "Repeated copies make the tokenizer's vocabulary too large to train.",
                    False,
                    "The tokenizer sees the same pieces over and over; duplicates skew its "
                    "statistics a little but do not grow the vocabulary, whose size is fixed.",
                ),
                Option(
                    "Duplicates cannot be packed into fixed windows with separators.",
                    False,
                    "Packing concatenates any documents with a separator between them; "
                    "identical documents pack like any others.",
                ),
                Option(
                    "Gradient updates on identical text cancel each other and stall training.",
                    False,
                    "Updates on the same text point the same way; they add up rather than "
                    "cancel. The problem is over-weighting that text, not stalled training.",
                ),
                Option(
                    "Copies waste compute, invite memorisation and can leak evaluation text.",
                    True,
                    "500 copies spend 500 times the tokens on one text, raise the chance the "
                    "model memorises and repeats it verbatim (Lee et al. 2021 measured this), "
                    "and a copied passage may also appear in an evaluation set.",
                ),
                Option(
                    "The stop-word rule fails on documents that appear more than once.",
                    False,
                    "Quality rules look at one document at a time; whether a copy exists "
                    "elsewhere is invisible to them. That is why deduplication is its own stage.",
                ),
            ],
        ),
        Question(
            "You compute MinHash signatures of two documents with k = 64 hash functions, and "
            "40 of the 64 minima are equal. What does this tell you?",
            [
                Option(
                    "The documents share exactly 40 of their 13-word shingles.",
                    False,
                    "Each matching minimum is one random trial, not one shingle. Two documents "
                    "of thousands of shingles can match on 40 of 64 minima.",
                ),
                Option(
                    "Their Jaccard similarity is about 0.63, give or take about 0.06.",
                    True,
                    "Each hash function's minima agree with probability equal to the Jaccard "
                    "similarity, so 40/64 ≈ 0.63 estimates it, with standard error "
                    "√(J(1−J)/k) ≈ 0.06 for k = 64.",
                ),
                Option(
                    "The documents are near duplicates, since more than half of the minima agree.",
                    False,
                    "Gopher's threshold is a Jaccard similarity of 0.8, not 0.5. An estimate of "
                    "0.63 is below it: these two are related but would both be kept.",
                ),
                Option(
                    "Nothing yet: MinHash only works after the documents are sorted by length.",
                    False,
                    "MinHash needs no ordering; each signature is computed from one document's "
                    "shingles alone, which is what lets it scale to billions of documents.",
                ),
                Option(
                    "63% of the words of one document appear somewhere in the other.",
                    False,
                    "The sets compared are 13-word shingles, not single words, and Jaccard "
                    "similarity divides the shared shingles by all shingles of both documents.",
                ),
            ],
        ),
        Question(
            "A pipeline must find near-duplicate pairs among a billion documents. It already "
            "has a MinHash signature for each. Why add locality-sensitive hashing (LSH)?",
            [
                Option(
                    "LSH makes each similarity estimate exact instead of approximate.",
                    False,
                    "LSH does not change the estimates; it only decides which pairs get "
                    "compared. Candidates are then confirmed by their MinHash similarity.",
                ),
                Option(
                    "Signatures are too long to store; LSH compresses them further.",
                    False,
                    "A signature of 128 numbers per document is small. LSH's bands index the "
                    "signatures, they are not a way to store less of them.",
                ),
                Option(
                    "All pairs are about 5e17 comparisons; LSH compares only likely pairs.",
                    True,
                    "Documents are bucketed by bands of their signature; only documents that "
                    "agree on a whole band become candidates, so similar pairs meet and the "
                    "rest are almost never compared.",
                ),
                Option(
                    "LSH removes the need for shingles by hashing whole documents at once.",
                    False,
                    "Hashing whole documents finds exact copies only. LSH works on the MinHash "
                    "signatures, which are built from the shingles.",
                ),
                Option(
                    "LSH is needed so that the first document of each group is the one kept.",
                    False,
                    "Which member of a group is kept is a separate choice (gopherlite keeps the "
                    "first, Gopher removed one at random); LSH only finds the candidates.",
                ),
            ],
        ),
        Question(
            "A new model scores far better on a reading benchmark than models of its size "
            "usually do. Its training crawl was never checked against the benchmark. What "
            "check fits MassiveText's practice?",
            [
                Option(
                    "Retrain with a larger tokenizer vocabulary and compare the scores.",
                    False,
                    "The vocabulary changes how text is cut into tokens, not whether the test "
                    "passages were in the training data.",
                ),
                Option(
                    "Look for training documents that share 13-grams with the test set.",
                    True,
                    "Shared long n-grams reveal test passages copied into the training data. "
                    "MassiveText removed training documents too similar, by 13-gram overlap, "
                    "to several test sets before training Gopher.",
                ),
                Option(
                    "Apply the quality rules to the benchmark's test passages.",
                    False,
                    "Well-written test passages pass the quality rules; the rules say nothing "
                    "about whether the same passages were also in the training data.",
                ),
                Option(
                    "Deduplicate the benchmark's own test set against itself.",
                    False,
                    "Repeated test items would distort the score a little, but they cannot "
                    "explain a model knowing the answers; the leak is between the two sets.",
                ),
                Option(
                    "Evaluate at a lower temperature, so that lucky samples stop counting.",
                    False,
                    "Benchmark scores from log-likelihoods involve no sampling at all, and a "
                    "temperature change cannot tell memorisation from understanding.",
                ),
            ],
        ),
        Question(
            "Gopher drew 2% of its 300B training tokens from Wikipedia, a subset of about 4B "
            "tokens, and 48% from MassiveWeb, about 506B tokens. What does that imply?",
            [
                Option(
                    "Wikipedia was never fully read: 2% is too small a share to cover it.",
                    False,
                    "2% of 300B is 6B tokens, more than the 4B in the subset; a small share of "
                    "a large run can exceed a small subset.",
                ),
                Option(
                    "Each subset was read exactly once, so proportions follow from sizes.",
                    False,
                    "Proportions equal to sizes would give Wikipedia under 0.2% and News the "
                    "largest share; Gopher's proportions differ from the sizes by design.",
                ),
                Option(
                    "MassiveWeb was repeated about twice, as it holds the largest share.",
                    False,
                    "48% of 300B is 144B tokens, about 0.28 of MassiveWeb's 506B: under a "
                    "third of one pass, not two.",
                ),
                Option(
                    "The proportions were chosen to match the share of each subset on disk.",
                    False,
                    "GitHub is the largest subset on disk (3.1 TB) and gets 3%; the proportions "
                    "were tuned on downstream performance (G Sec. A.3.1), not disk size.",
                ),
                Option(
                    "Wikipedia was seen about 1.5 times and MassiveWeb about 0.28 times.",
                    True,
                    "Epochs are share × tokens trained / subset tokens: 0.02 × 300B / 4B = 1.5 "
                    "and 0.48 × 300B / 506B ≈ 0.28. A small, valuable subset is repeated while "
                    "most of the large one is never seen.",
                ),
            ],
        ),
        Question(
            "A spam page repeats 'cheap shoes online' fifty times after two normal sentences. "
            "It has enough words, a normal mean word length and several stop words. Which "
            "Gopher rule removes it?",
            [
                Option(
                    "None: it passes the quality rules, so it goes into training.",
                    False,
                    "Passing the quality rules is only the first stage; MassiveWeb pages then "
                    "went through the repetition rules, which this page fails.",
                ),
                Option(
                    "The symbol-to-word ratio, since the repeated phrase adds hash marks.",
                    False,
                    "The phrase has no hash symbols or ellipses, so the symbol ratio stays "
                    "near zero; that rule catches hashtag spam, not keyword stuffing.",
                ),
                Option(
                    "A repetition rule: its top 3-gram covers over 18% of the characters.",
                    True,
                    "G Table A1 limits the characters covered by the most frequent 3-gram to "
                    "18%; here one 3-gram covers most of the page, so the top n-gram and "
                    "duplicate n-gram rules all fail.",
                ),
                Option(
                    "Near-duplicate removal, since the phrase is a duplicate of itself.",
                    False,
                    "Near-duplicate removal compares different documents with each other; "
                    "repetition inside one document is what the repetition rules measure.",
                ),
                Option(
                    "The bullet rule, since each repeat counts as a line of a list.",
                    False,
                    "The phrase repeats within a single line and no line starts with a bullet "
                    "glyph, so the bullet-line share is zero.",
                ),
            ],
        ),
        Question(
            "You compare a model trained on a raw corpus with one trained on its curated "
            "version, both for the same steps, and score held-out bits per byte. Which choice "
            "keeps the comparison about the data alone?",
            [
                Option(
                    "Train each run's own tokenizer on its own training corpus.",
                    False,
                    "Then the runs differ in two ways, data and tokenization; a tokenizer fitted "
                    "to junk spends pieces on it. One shared tokenizer removes that difference.",
                ),
                Option(
                    "Score each model on held-out text filtered by its own pipeline.",
                    False,
                    "The two models would then be scored on different text, and the numbers "
                    "could not be compared. Both must read the same held-out text.",
                ),
                Option(
                    "Give the curated run fewer steps, since its corpus is smaller.",
                    False,
                    "Equal steps means equal compute; changing the steps would mix the effect "
                    "of the data with the effect of training longer or shorter.",
                ),
                Option(
                    "One tokenizer for both, and the same held-out text for both models.",
                    True,
                    "With tokenizer, model, seed, steps and held-out text shared, the "
                    "training documents are the only difference, so a gap in bits per byte is "
                    "the data's doing (up to run-to-run noise).",
                ),
                Option(
                    "Report the training loss instead, since it is measured on more tokens.",
                    False,
                    "Training loss is measured on different text for the two runs, and junk "
                    "that is easy to predict (repeated menus) lowers it without helping on "
                    "held-out text.",
                ),
            ],
        ),
    ],
)
