"""Chapter 08 quiz: bits per byte, resuming, sampling temperature and top-p, scaling laws,
pre-training against fine-tuning, few-shot prompting, and the risks Gopher's paper measures."""

from gopherlite.workbook.quiz import Option, Question, Quiz


def _right_at(index: int, right: Option, *wrong: Option) -> list[Option]:
    """The options with the right one (written first below) moved to position ``index``."""
    options = list(wrong)
    options.insert(index, right)
    return options


QUIZ = Quiz(
    "Check your understanding: training a tiny Gopher",
    [
        Question(
            "Two models use different tokenizers. Model A reaches 3.1 nats per token, model B "
            "4.0 nats per token on the same held-out text. Which comparison is fair?",
            _right_at(
                2,
                Option(
                    "Convert both to bits per byte and compare those.",
                    True,
                    "Bits per byte divides the total information by the text's UTF-8 bytes, "
                    "which do not depend on the tokenizer; Gopher reports bpb on The Pile for "
                    "exactly this reason (Rae et al. 2021, Sec. 4).",
                ),
                Option(
                    "Model A is better: its loss per token is lower.",
                    False,
                    "A tokenizer with shorter pieces makes each token easier to predict and "
                    "the loss per token lower, without the model being any better per byte.",
                ),
                Option(
                    "Compare perplexities, exp(loss), since they do not depend on the tokenizer.",
                    False,
                    "Perplexity is just the exponential of the per-token loss, so it is per "
                    "token too and inherits the same problem.",
                ),
                Option(
                    "Compare each model's loss with its unigram baseline in nats per token.",
                    False,
                    "The baseline helps to read one model's number, but the two baselines are "
                    "per token of different tokenizers and so not comparable either.",
                ),
            ),
        ),
        Question(
            "A run is killed at step 130; its last checkpoint is from step 100. What does "
            "calling `train_run` again with the same folder and settings do?",
            _right_at(
                0,
                Option(
                    "It restores model, optimizer and data position from step 100 and redoes "
                    "steps 101 to 130 with the same batches.",
                    True,
                    "The checkpoint holds Adam's moments and the batch iterator's position as "
                    "well as the weights, so the resumed run sees the same batches and ends "
                    "identical to an uninterrupted one.",
                ),
                Option(
                    "It starts again from step 0, because the run did not finish.",
                    False,
                    "`train` looks for the latest checkpoint in the folder first; only a folder "
                    "without one starts from scratch.",
                ),
                Option(
                    "It resumes at step 130 from the metrics file.",
                    False,
                    "Metrics are a log, not a state: the weights after step 130 were never "
                    "saved. The records past step 100 are dropped and written again.",
                ),
                Option(
                    "It restores the weights but restarts Adam from zero moments.",
                    False,
                    "That would change the run (Adam's first steps after a reset are large); "
                    "the optimizer state is part of the checkpoint.",
                ),
            ),
        ),
        Question(
            "In the sampling playground you set temperature to 0.8 and top-p to 0.8, as "
            "Gopher's dialogue agent did. What does top-p = 0.8 do?",
            _right_at(
                1,
                Option(
                    "Samples only from the smallest set of most likely tokens whose "
                    "probabilities add up to at least 0.8, renormalised.",
                    True,
                    "Nucleus sampling (Holtzman et al. 2020) cuts off the long tail of unlikely "
                    "tokens, where most incoherent continuations come from, while keeping "
                    "variety when many tokens are plausible.",
                ),
                Option(
                    "Keeps the 80% most frequent tokens of the vocabulary.",
                    False,
                    "The cut depends on the model's distribution at each step, not on corpus "
                    "frequencies: one step may keep 2 tokens, the next 200.",
                ),
                Option(
                    "Divides the logits by 0.8 before the softmax.",
                    False,
                    "That is a temperature of 0.8; temperature reshapes the whole distribution, "
                    "top-p truncates it.",
                ),
                Option(
                    "Picks the most likely token 80% of the time and a random one otherwise.",
                    False,
                    "That is an ε-greedy rule; top-p always samples, but from the nucleus only.",
                ),
            ),
        ),
        Question(
            "Your three model sizes give held-out losses that fall on a straight line in a "
            "log-log plot of loss against parameters. What may you conclude?",
            _right_at(
                3,
                Option(
                    "Within this range and budget, loss falls roughly as a power of size; "
                    "extrapolating far beyond it is a guess.",
                    True,
                    "Three points fit many curves. Real scaling laws (Kaplan et al. 2020, "
                    "Hoffmann et al. 2022) also hold data and compute fixed or optimal and "
                    "flatten towards an irreducible loss c that a short range does not show.",
                ),
                Option(
                    "A 100× larger model will have the loss the line predicts.",
                    False,
                    "At a fixed number of steps bigger models are under-trained, and the curve "
                    "bends towards the irreducible loss: a straight line overshoots.",
                ),
                Option(
                    "Model size is the only thing that matters for loss.",
                    False,
                    "Steps, data and the learning rate were held fixed here; Chinchilla showed "
                    "that Gopher itself would have been better smaller and trained on more tokens.",
                ),
                Option(
                    "The exponent α is the same as Gopher's.",
                    False,
                    "An exponent measured on a few tiny models over a few hundred steps says "
                    "little about 280B-parameter models trained on 300B tokens.",
                ),
            ),
        ),
        Question(
            "What separates Gopher's pre-training from fine-tuning?",
            _right_at(
                1,
                Option(
                    "Pre-training learns next-token prediction on a huge general corpus "
                    "(MassiveText); fine-tuning continues training on a small task-specific set.",
                    True,
                    "Both minimise a loss by gradient descent; they differ in data and purpose. "
                    "Gopher's evaluations are mostly without any fine-tuning, and the paper "
                    "fine-tunes separately, e.g. for dialogue and toxicity experiments.",
                ),
                Option(
                    "Fine-tuning changes the architecture, pre-training only the weights.",
                    False,
                    "Fine-tuning usually keeps the architecture and updates the same weights "
                    "(all of them, or a few added ones), starting from the pre-trained values.",
                ),
                Option(
                    "Pre-training needs labelled data; fine-tuning does not.",
                    False,
                    "It is the reverse: pre-training is self-supervised, the next token is the "
                    "label, while fine-tuning usually uses curated or labelled examples.",
                ),
                Option(
                    "They are the same thing at different learning rates.",
                    False,
                    "The learning rate is usually smaller when fine-tuning, but the defining "
                    "difference is the data: general text against a target task.",
                ),
            ),
        ),
        Question(
            "Gopher answers many benchmarks 'few-shot'. What does that mean?",
            _right_at(
                0,
                Option(
                    "A few solved examples are placed in the prompt before the question; no "
                    "weights change.",
                    True,
                    "The model infers the task from the examples in its context (in-context "
                    "learning, Brown et al. 2020). Only the input changes, which is why "
                    "context length matters.",
                ),
                Option(
                    "The model is fine-tuned for a few steps on the benchmark.",
                    False,
                    "That would be fine-tuning; few-shot evaluation keeps the weights frozen.",
                ),
                Option(
                    "The model is given a few attempts and the best answer counts.",
                    False,
                    "That is pass@k or best-of-n sampling, a different evaluation protocol.",
                ),
                Option(
                    "The benchmark has only a few questions.",
                    False,
                    "'Shots' are the worked examples in the prompt, not the size of the test set.",
                ),
            ),
        ),
        Question(
            "Gopher's paper analyses toxicity and bias (Sec. 5). Which finding does it report?",
            _right_at(
                2,
                Option(
                    "Larger models continue toxic prompts more toxically, tracking the prompt, "
                    "while with non-toxic prompts toxicity stays low at every size.",
                    True,
                    "Scale makes the model a better imitator of its prompt, toxic ones "
                    "included; the paper also finds distributional biases (e.g. gender and "
                    "occupation) that scale alone does not remove.",
                ),
                Option(
                    "Filtering the training data removed bias, so it was not measured.",
                    False,
                    "MassiveText was quality-filtered, but the paper measures bias and finds "
                    "it: filtering reduces some harms and cannot remove all of them.",
                ),
                Option(
                    "Toxicity falls steadily as models grow, so scale solves it.",
                    False,
                    "The paper reports the opposite for toxic prompts; mitigation needs more "
                    "than scale (data, fine-tuning, filtering at inference).",
                ),
                Option(
                    "Bias only matters for models fine-tuned on dialogue.",
                    False,
                    "Bias is already in the pre-trained model, learnt from its data; Gopher's "
                    "paper measures it on the pre-trained models.",
                ),
            ),
        ),
    ],
)
