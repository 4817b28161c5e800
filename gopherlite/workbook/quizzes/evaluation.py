"""Chapter 09 quiz: bits per byte, log-likelihood scoring, reading small accuracies, few-shot
prompting and scale, dialogue by prompting, toxicity, bias probes and memorisation.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: evaluation and behaviour",
    [
        Question(
            "Two teams report held-out perplexity on the same books: team A 18.0 with a "
            "32,000-piece tokenizer, team B 9.5 with a 1,000-piece one. Team B claims the "
            "better model. What should you ask for before agreeing?",
            [
                Option(
                    "Nothing: lower perplexity on the same text always means a better model.",
                    False,
                    "Perplexity is per token. A small vocabulary cuts the text into more, easier "
                    "tokens, so its per-token perplexity is lower even for a worse model.",
                ),
                Option(
                    "Bits per byte, which divides the total loss by the text's bytes.",
                    True,
                    "The total bits a model needs to encode the text do not depend on how it is "
                    "cut; per byte, models with different tokenizers compare fairly (The Pile's "
                    "measure, used by Gopher).",
                ),
                Option(
                    "The accuracy of each model on the next token, which ignores the tokenizer "
                    "entirely.",
                    False,
                    "Next-token accuracy is per token too: predicting one of 1,000 pieces is "
                    "easier than one of 32,000, so it favours the small vocabulary the same way.",
                ),
                Option(
                    "Perplexity measured at a longer context, where the tokenizers stop mattering.",
                    False,
                    "A longer context changes how much each token can see, not how the text is "
                    "cut; the per-token unit still differs between the two tokenizers.",
                ),
                Option(
                    "The training loss of both models, since held-out numbers are noisy.",
                    False,
                    "Training loss has the same per-token unit and also rewards memorisation; it "
                    "answers neither problem.",
                ),
            ],
        ),
        Question(
            "You score a four-way question by summing each answer's token log-probabilities. "
            "The right answer is ' the Treaty of Westphalia', the distractors are single short "
            "words. An untrained model picks a distractor almost every time. Why?",
            [
                Option(
                    "An untrained model prefers common words, and the distractors are common ones.",
                    False,
                    "An untrained model has no idea which words are common: its distribution is "
                    "close to uniform over the vocabulary.",
                ),
                Option(
                    "Each token lowers the summed log-probability, so the fewest tokens win.",
                    True,
                    "Each token adds about −ln V nats under a near-uniform model; the answer "
                    "with fewest tokens has the highest sum. Comparing against chance needs "
                    "items whose choices have similar lengths, or a length normalisation.",
                ),
                Option(
                    "The context and answer were tokenised together, which breaks long answers.",
                    False,
                    "Tokenising them together is right: it scores the tokens the model would "
                    "see in running text. It does not favour short answers.",
                ),
                Option(
                    "The model needs a few examples in its prompt before it can score anything.",
                    False,
                    "Any model assigns log-probabilities to any text; examples change which "
                    "answer is preferred, not whether scoring works.",
                ),
                Option(
                    "Log-likelihood scoring is only defined for answers of exactly one token.",
                    False,
                    "The chain rule makes a sequence's log-probability the sum over its tokens, "
                    "for any length; that is how Gopher scored multi-token answers.",
                ),
            ],
        ),
        Question(
            "A tiny model scores 29% on 200 four-choice items (chance 25%). A colleague writes "
            "'the model has learned the task'. What do the numbers support?",
            [
                Option(
                    "Yes: 29% is 4 points above chance, a 16% relative gain.",
                    False,
                    "A gain must be read against the measurement's noise; a relative gain says "
                    "nothing about whether it is real.",
                ),
                Option(
                    "Not yet: at 200 items, 29% is within about one standard error of chance.",
                    True,
                    "sqrt(0.29 · 0.71 / 200) ≈ 0.032: chance lies within about 1.3 standard "
                    "errors. More items, or a repeated run, would be needed to tell.",
                ),
                Option(
                    "No: any accuracy under 50% means the model guesses, whatever the chance.",
                    False,
                    "Chance is 25% with four choices; 50% would be well above it. The "
                    "threshold is the chance rate plus the noise, not a fixed 50%.",
                ),
                Option(
                    "Yes, since 200 items are enough for any difference to be significant.",
                    False,
                    "With 200 items the standard error is about 3 points; differences of that "
                    "size are exactly the ones 200 items cannot resolve.",
                ),
                Option(
                    "It depends only on how many parameters the model has, not on the items.",
                    False,
                    "The model's size does not change the sampling noise of a 200-item test; "
                    "the item count does.",
                ),
            ],
        ),
        Question(
            "Gopher's TriviaQA accuracy rose from 52.8% zero-shot to 63.6% with five examples in "
            "the prompt; a 1M-parameter model you train shows no change with examples. What is "
            "the best reading?",
            [
                Option(
                    "Your prompt format must be wrong, because few-shot prompting helps every "
                    "language model by about ten points.",
                    False,
                    "Few-shot gains are not a constant of prompting; small models often gain "
                    "nothing, which is what you measured.",
                ),
                Option(
                    "Few-shot examples fine-tune the weights; a tiny model has too few to tune.",
                    False,
                    "Nothing is fine-tuned: the weights stay fixed and the examples are only "
                    "context the model conditions on.",
                ),
                Option(
                    "Using examples in context is an ability that grows with scale.",
                    True,
                    "In-context learning has to be learned from data, and GPT-3 and Gopher show "
                    "it strengthening with model size; a tiny model cannot yet use the examples.",
                ),
                Option(
                    "The examples crowd the question out of a tiny model's context window.",
                    False,
                    "A few short examples fit easily in a few hundred tokens; and with relative "
                    "positions a longer prompt is still read.",
                ),
                Option(
                    "TriviaQA is memorised by Gopher, so its few-shot numbers mean nothing.",
                    False,
                    "Contamination would inflate both the zero- and five-shot numbers; it does "
                    "not explain a gain from examples.",
                ),
            ],
        ),
        Question(
            "Gopher's dialogue agent (DPG) was the pretrained model with a prompt in front. A "
            "user asks how it was made to act as a polite assistant. Which is accurate?",
            [
                Option(
                    "It was fine-tuned on dialogue transcripts first, "
                    "and then prompted with a persona.",
                    False,
                    "DPG had no dialogue fine-tuning: its weights were the pretrained model's, "
                    "and the persona came from the prompt alone.",
                ),
                Option(
                    "A prompt described the assistant and showed example turns; "
                    "replies were sampled.",
                    True,
                    "A written preamble and a few exchanges set the behaviour; each reply is the "
                    "continuation up to the next user turn, drawn by nucleus sampling (p = 0.8 "
                    "as reported by Perez et al. 2022).",
                ),
                Option(
                    "It sampled greedily, since greedy decoding is the most polite setting.",
                    False,
                    "Greedy decoding tends to repeat itself and has nothing to do with "
                    "politeness; DPG sampled with a nucleus.",
                ),
                Option(
                    "A filter rewrote every reply after generation to remove impolite words.",
                    False,
                    "The behaviour came from the prompt; filtering outputs is a separate "
                    "safety tool, not how DPG was made.",
                ),
                Option(
                    "Reinforcement learning from human feedback trained the 280B model first.",
                    False,
                    "That is a later technique; Gopher's paper prompts the pretrained model "
                    "and does not train it with human feedback.",
                ),
            ],
        ),
        Question(
            "Gopher's analysis of toxicity compared models of 44M to 280B parameters. Which "
            "summary matches what it found?",
            [
                Option(
                    "Larger models were less toxic in every setting, "
                    "because scale improves behaviour.",
                    False,
                    "Given toxic prompts, larger models continued with more toxic text; scale "
                    "made them better imitators of their prompt.",
                ),
                Option(
                    "Toxicity did not depend on size at all, so it is purely a data property.",
                    False,
                    "Prompted toxicity did depend on size: it rose with size for toxic prompts.",
                ),
                Option(
                    "Larger models were more toxic given toxic prompts, and better at "
                    "classifying it.",
                    True,
                    "Both trends grow with scale: a stronger model follows a toxic prompt more "
                    "faithfully and also recognises toxicity better when asked to classify it.",
                ),
                Option(
                    "Only the fine-tuned models became toxic; the pretrained ones never were.",
                    False,
                    "The analysis studies the pretrained models; Gopher did not fine-tune for "
                    "its toxicity experiments.",
                ),
                Option(
                    "Toxicity fell to zero once MassiveText's quality filters were applied.",
                    False,
                    "Quality filters remove low-quality text, not all toxic text, and the "
                    "models trained on the filtered data still produced toxic continuations.",
                ),
            ],
        ),
        Question(
            "You probe a model with 'The {occupation} said that' and compare p(' he') with "
            "p(' she') for 20 occupations. What can the probe tell you on its own?",
            [
                Option(
                    "Which occupations the model associates with which pronoun in that template.",
                    True,
                    "It measures an association, in one wording; other templates can move it, "
                    "and it says nothing directly about harm in use, which is why such studies "
                    "average over many templates.",
                ),
                Option(
                    "Whether the model will treat real people unfairly when deployed in a product.",
                    False,
                    "A template probe is a narrow measurement; harms in use depend on the "
                    "application and need their own evaluation.",
                ),
                Option(
                    "Each occupation's real gender split in the world, as the model learned it.",
                    False,
                    "The model learns how text talks about occupations, which can differ from "
                    "the world's statistics, and the probe adds its template's own effect.",
                ),
                Option(
                    "Nothing, because pronoun probabilities are too small to compare reliably.",
                    False,
                    "Log-probabilities compare fine even when small; the difference of two is "
                    "exactly what the probe reads.",
                ),
                Option(
                    "Whether the training data had more text by men or by women overall.",
                    False,
                    "The probe conditions on occupation words; it cannot recover who wrote the "
                    "training text.",
                ),
            ],
        ),
        Question(
            "Prompted with the first 32 tokens of training documents, your model's greedy "
            "continuations share 40% of their 13-grams with the training text; from held-out "
            "prompts, 8%. What does the gap indicate?",
            [
                Option(
                    "The held-out set leaked into training, which inflates the held-out number.",
                    False,
                    "Leakage would raise the held-out rate towards the training one; the gap "
                    "points the other way.",
                ),
                Option(
                    "13-grams are too short to tell copying from common phrases, so nothing.",
                    False,
                    "Some 13-grams are stock phrases, which is why the held-out rate is the "
                    "baseline; the excess over it is what the model copies.",
                ),
                Option(
                    "The model reproduces training text verbatim when prompted with its start.",
                    True,
                    "Beyond the phrases any text shares (the held-out rate), the training "
                    "prompts pull out memorised sequences: the privacy risk Gopher names, and the "
                    "reason deduplication helps.",
                ),
                Option(
                    "Greedy decoding always copies, so the same check sampled would show no gap.",
                    False,
                    "Sampling lowers both rates, but memorised sequences are often the model's "
                    "most likely continuation and survive sampling too.",
                ),
                Option(
                    "The model generalises poorly, which a lower learning rate would fix.",
                    False,
                    "Memorisation is measured here, not generalisation; and a lower rate does "
                    "not address repeated data, which deduplication does.",
                ),
            ],
        ),
    ],
)
