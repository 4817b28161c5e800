"""Chapter 08 quiz: packing documents into training windows, the training step's gradient
clipping and Gopher's learning-rate schedule, what a checkpoint must hold and how a run resumes,
reading a loss against a unigram baseline, temperature and top-p sampling, and what a
fixed-budget scaling run can and cannot show.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: training a tiny Gopher",
    [
        Question(
            "Your corpus has documents from 40 to 20,000 tokens long, and you train on "
            "windows of L = 128. gopherlite tokenizes the documents, joins them with a "
            "separator and cuts the stream into windows. What does this packing give you?",
            [
                Option(
                    "One window per document, padded up to L, so no document is split.",
                    False,
                    "That is padding, not packing: short documents would waste most of their "
                    "window, and long ones would not fit.",
                ),
                Option(
                    "Windows of exactly L predictions each, with no tokens spent on padding.",
                    True,
                    "Inputs are tokens 0 … L−1 of a window and targets are tokens 1 … L, so "
                    "every position is a real prediction; a window may span the end of one "
                    "document and the start of the next, marked by the separator.",
                ),
                Option(
                    "Windows that never cross a document boundary, because the separator "
                    "forces each document to start a new window of its own.",
                    False,
                    "The separator marks the boundary inside the stream; windows are cut at "
                    "fixed lengths wherever the boundaries fall.",
                ),
                Option(
                    "Shorter training time, as packed windows skip attention altogether.",
                    False,
                    "Each window runs through the full model; packing only removes wasted "
                    "padding positions.",
                ),
                Option(
                    "Targets equal to the inputs, since the model learns to copy its window.",
                    False,
                    "Targets are the inputs shifted by one token: the model predicts the next "
                    "token, not the current one.",
                ),
            ],
        ),
        Question(
            "During training one unusual batch produces a gradient with global norm 40. "
            "gopherlite clips the global norm at 1.0, as Gopher did for its smaller models. "
            "What does clipping do to this step?",
            [
                Option(
                    "It skips the step, so the batch has no effect on the weights.",
                    False,
                    "Clipping never drops a step; it shrinks the gradient and applies it.",
                ),
                Option(
                    "It caps every gradient entry at ±1, changing the update's direction.",
                    False,
                    "That is clipping by value. Global-norm clipping rescales the whole "
                    "gradient, keeping its direction.",
                ),
                Option(
                    "It scales the whole gradient by 1/40, so its norm is 1 and its "
                    "direction is kept.",
                    True,
                    "All parameters' gradients are treated as one vector; if its norm exceeds "
                    "the threshold it is scaled down to the threshold before Adam sees it. "
                    "Gopher lowered the threshold to 0.25 for 7.1B and 280B for stability.",
                ),
                Option(
                    "It lowers the learning rate for the rest of the run, by a factor of 40, "
                    "so that later steps are as small as this one.",
                    False,
                    "Clipping acts on one step's gradient; the learning-rate schedule is not "
                    "touched.",
                ),
                Option(
                    "Nothing, because Adam already normalises every update.",
                    False,
                    "Adam divides by a running estimate of the gradient's size, which one "
                    "spike does not fully cancel; Gopher clipped as well.",
                ),
            ],
        ),
        Question(
            "You plot gopherlite's learning rate over a run that follows Gopher's schedule "
            "with a peak of 3e-3. Which shape should you see?",
            [
                Option(
                    "A constant 3e-3 from the first step to the last.",
                    False,
                    "Gopher's schedule changes over the run: a warm-up, then a decay.",
                ),
                Option(
                    "A linear rise from about 1e-7 to 3e-3, then a cosine fall to 3e-4.",
                    True,
                    "Gopher warms up linearly from 1e-7 (over 1,500 steps at its scale) and "
                    "then decays by a cosine to 10% of the peak; gopherlite shortens the "
                    "warm-up for short runs and stretches the cosine over the run.",
                ),
                Option(
                    "A cosine fall from 3e-3 straight to zero, with no warm-up at all.",
                    False,
                    "Gopher's schedule starts with a warm-up and ends at 10% of the peak, "
                    "not at zero.",
                ),
                Option(
                    "A step schedule that halves the rate every time the held-out loss stops "
                    "improving, down to a floor of 3e-4.",
                    False,
                    "The schedule is fixed in advance by the step number; it never looks at "
                    "the held-out loss.",
                ),
                Option(
                    "A linear rise to 3e-3 that stays there until the end.",
                    False,
                    "The warm-up is followed by a cosine decay to a tenth of the peak, not a "
                    "plateau.",
                ),
            ],
        ),
        Question(
            "A run is killed at step 130; its last checkpoint is from step 100. You call "
            "`train_run` again with the same folder and settings. What happens, and how does "
            "the result compare with a run that was never interrupted?",
            [
                Option(
                    "It starts from step 0, since an interrupted run cannot be trusted.",
                    False,
                    "`train_run` looks for the latest checkpoint in the folder and resumes "
                    "from it.",
                ),
                Option(
                    "It resumes at 131 with the weights from step 100.",
                    False,
                    "Steps 101 to 130 were never saved; starting at 131 from the weights of "
                    "step 100 would skip thirty updates.",
                ),
                Option(
                    "It resumes at 101 with fresh batches, so its result is close to but not "
                    "the same as the uninterrupted run, as the data order differs.",
                    False,
                    "The data position is part of the checkpoint, so the same batches follow; "
                    "nothing about the order changes.",
                ),
                Option(
                    "It refuses to run, because the metrics file has records after 100.",
                    False,
                    "It drops those records and carries on; a crash between checkpoints is "
                    "the case resuming exists for.",
                ),
                Option(
                    "It restores weights, Adam state and data position from 100 and ends "
                    "identical to the uninterrupted run.",
                    True,
                    "Steps 101 to 130 are redone on the very same batches, and the metric "
                    "records written after the checkpoint are dropped, so the end state is "
                    "the one an uninterrupted run reaches.",
                ),
            ],
        ),
        Question(
            "To save disk, a teammate's checkpoints keep only the model weights. After a crash "
            "they resume from one. Compared with gopherlite's full checkpoint, what goes wrong?",
            [
                Option(
                    "Nothing: the weights are the whole state of a training run.",
                    False,
                    "Adam's moments, the step count (which drives the schedule) and the data "
                    "position are state too.",
                ),
                Option(
                    "The model forgets what it learned, as the weights are reset.",
                    False,
                    "The weights are saved and restored; what is lost is everything else the "
                    "run needs to continue.",
                ),
                Option(
                    "The loss becomes NaN, because Adam divides by a zero second moment.",
                    False,
                    "Adam adds eps to the denominator and fresh moments start at zero by "
                    "design; the run goes on, just not the same run.",
                ),
                Option(
                    "Adam's moments restart, the schedule restarts, and the data repeats "
                    "from the beginning.",
                    True,
                    "Fresh moments make the first updates behave differently, a step counter "
                    "at zero brings back the warm-up, and without the data position the run "
                    "sees the first batches again.",
                ),
                Option(
                    "The tokenizer no longer matches the weights, since checkpoints hold the "
                    "vocabulary and it would be retrained from scratch.",
                    False,
                    "The run folder keeps the tokenizer next to the checkpoints; it is not "
                    "part of the weights' checkpoint and is not retrained.",
                ),
            ],
        ),
        Question(
            "Your tiny model reaches a held-out loss clearly below the unigram baseline, a "
            "model that knows only how often each token occurs. What may you conclude?",
            [
                Option(
                    "The model writes fluent text, as it beats a frequency model.",
                    False,
                    "Beating word frequencies is a low bar; the chapter's model is still far "
                    "from fluent.",
                ),
                Option(
                    "It has learned something about context beyond token frequencies.",
                    True,
                    "The unigram model assigns every position the same distribution. Doing "
                    "better means the model uses the preceding tokens, even if only a little; "
                    "a model that did not beat it would have learned frequencies at most.",
                ),
                Option(
                    "The model is overfitting the training set.",
                    False,
                    "The comparison is on held-out text; overfitting would show as training "
                    "loss falling while held-out loss rises.",
                ),
                Option(
                    "The unigram baseline was computed wrongly, since any trained model must "
                    "be far better than it from the first step onwards.",
                    False,
                    "An untrained model is worse than the baseline; in smoke mode the model "
                    "may not beat it at all. Beating it is evidence, not a given.",
                ),
                Option(
                    "The model has memorised the held-out documents.",
                    False,
                    "It never trained on them; a lower held-out loss comes from patterns that "
                    "carry over from the training text.",
                ),
            ],
        ),
        Question(
            "In the sampling playground, greedy decoding (temperature 0) of your tiny model "
            "soon repeats one phrase over and over. You then try temperature 1.0 with top-p "
            "0.8. What does top-p = 0.8 do at each step?",
            [
                Option(
                    "It keeps the 80% of the vocabulary with the highest probabilities.",
                    False,
                    "top-p counts probability mass, not tokens: 80% of a 4,096-piece "
                    "vocabulary would keep thousands of unlikely tokens.",
                ),
                Option(
                    "It divides the logits by 0.8, sharpening the distribution.",
                    False,
                    "That is temperature 0.8; top-p truncates the distribution instead of "
                    "reshaping it.",
                ),
                Option(
                    "It keeps the most likely tokens whose probabilities add up to 0.8, then "
                    "renormalises and samples.",
                    True,
                    "Nucleus sampling cuts off the long tail of unlikely tokens while keeping "
                    "the randomness that breaks greedy loops. Gopher's dialogue agent sampled "
                    "with nucleus p = 0.8, as reported by work that red-teamed it.",
                ),
                Option(
                    "It samples greedily 80% of the time and uniformly at random otherwise, "
                    "which mixes the two decoding modes.",
                    False,
                    "That is not nucleus sampling; top-p samples from a truncated, "
                    "renormalised distribution at every step.",
                ),
                Option(
                    "It stops generation once the text's probability falls below 0.8.",
                    False,
                    "top-p applies to the next-token distribution at every step; it is not a "
                    "stopping rule.",
                ),
            ],
        ),
        Question(
            "Three widths trained for the same 150 steps give held-out losses on a straight "
            "line in a log-log plot of loss against non-embedding parameters. A teammate "
            "wants to extrapolate the fitted exponent to Gopher's sizes. What is the flaw?",
            [
                Option(
                    "None: three points on a line establish a power law.",
                    False,
                    "Three points also fit many gentle curves; and the budget, not only the "
                    "model size, shaped these losses.",
                ),
                Option(
                    "The fit should include embedding parameters, or it is meaningless.",
                    False,
                    "Kaplan et al. fit against non-embedding parameters on purpose; that "
                    "choice is not the flaw here.",
                ),
                Option(
                    "Kaplan's law has a constant term, and a fit without one is wrong, since "
                    "every power law of loss must include an irreducible loss.",
                    False,
                    "Kaplan's L(N) = (N_c / N)^α has no constant term; the irreducible term "
                    "belongs to Chinchilla's later fit.",
                ),
                Option(
                    "Log-log plots exaggerate small differences in loss.",
                    False,
                    "A log scale compresses large values rather than inflating small ones; "
                    "the problem is what the points measure, not how they are drawn.",
                ),
                Option(
                    "A fixed short budget leaves the largest model least trained, so the "
                    "exponent belongs to this budget.",
                    True,
                    "At equal steps the big model has barely started, which flattens the "
                    "line. The chapter's exponent (about 0.03) says more about 150 steps than "
                    "about Gopher; compute-optimal runs grow data with parameters (chapter 10).",
                ),
            ],
        ),
    ],
)
