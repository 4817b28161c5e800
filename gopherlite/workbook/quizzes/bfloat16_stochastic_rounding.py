"""Chapter 06 quiz: bfloat16 against float16, why round-to-nearest loses small updates, what
stochastic rounding guarantees, the float32 master copy, and where its memory goes when the
optimizer state is sharded."""

from gopherlite.workbook.quiz import Option, Question, Quiz


def _right_at(index: int, right: Option, *wrong: Option) -> list[Option]:
    """The options with the right one (written first below) moved to position ``index``."""
    options = list(wrong)
    options.insert(index, right)
    return options


QUIZ = Quiz(
    "Check your understanding: bfloat16 and stochastic rounding",
    [
        Question(
            "bfloat16 and float16 both use 16 bits. Which statement about them is right?",
            _right_at(
                2,
                Option(
                    "bfloat16 covers float32's range but resolves fewer digits than float16.",
                    True,
                    "bfloat16 keeps float32's 8 exponent bits (largest value about 3.4e38) and "
                    "only 7 mantissa bits (epsilon 2⁻⁷); float16 has 5 exponent bits (largest "
                    "65,504) and 10 mantissa bits (epsilon 2⁻¹⁰). Range was the scarcer good "
                    "for training: gradients and activations overflow or underflow float16.",
                ),
                Option(
                    "They store the same values; only the byte order differs.",
                    False,
                    "The split of the 15 non-sign bits differs (8 + 7 against 5 + 10), so the "
                    "sets of representable values differ: 70,000 is finite in bfloat16 and "
                    "inf in float16, while 1 + 2⁻⁸ is exact in float16 and not in bfloat16.",
                ),
                Option(
                    "float16 has the wider range because it has more mantissa bits.",
                    False,
                    "Mantissa bits set the precision (the spacing between neighbours), not the "
                    "range; the range comes from the exponent, where float16 has fewer bits.",
                ),
                Option(
                    "bfloat16 is more precise near 1.0 because it was designed for deep learning.",
                    False,
                    "Near 1.0 bfloat16's neighbours are 2⁻⁷ ≈ 0.0078 apart, float16's 2⁻¹⁰ ≈ "
                    "0.001: bfloat16 is eight times coarser there. It trades precision for range.",
                ),
            ),
        ),
        Question(
            "A bfloat16 weight equals 1.0 and Adam keeps proposing updates of +0.001. After a "
            "thousand steps with round-to-nearest updates, what is the weight?",
            _right_at(
                0,
                Option(
                    "Still exactly 1.0.",
                    True,
                    "The next bfloat16 above 1.0 is 1 + 2⁻⁷ ≈ 1.0078, so 1.001 is nearer to 1.0 "
                    "and rounds back to it. The same happens at every step: each update is lost "
                    "on its own, however many there are: the accumulation experiment's flat "
                    "round-to-nearest line.",
                ),
                Option(
                    "About 2.0, only slightly off because of rounding errors.",
                    False,
                    "That is what float32 or stochastic rounding give (on average). With "
                    "round-to-nearest every single add returns 1.0, so nothing accumulates.",
                ),
                Option(
                    "Well above 2.0: each update is rounded up to a whole bfloat16 step.",
                    False,
                    "Rounding up to a whole step happens when the update is more than half a "
                    "step (here more than 2⁻⁸ ≈ 0.0039); 0.001 is less, so it rounds down.",
                ),
                Option(
                    "It becomes inf, because the errors build up until the weight overflows.",
                    False,
                    "Nothing builds up at all; and bfloat16's range reaches about 3.4e38, so "
                    "overflow is not the issue here, precision is.",
                ),
            ),
        ),
        Question(
            "What does stochastic rounding guarantee for a value x between neighbouring "
            "bfloat16 numbers lo < x < hi?",
            _right_at(
                3,
                Option(
                    "It returns hi with probability (x − lo)/(hi − lo) and lo otherwise, so "
                    "the expected result is exactly x.",
                    True,
                    "That makes the rounding unbiased: small updates survive on average, and a "
                    "sum of many of them tracks the exact sum with an error that grows like √N "
                    "instead of being thrown away every time (Gupta et al. 2015).",
                ),
                Option(
                    "Every rounded value is closer to x than round-to-nearest's.",
                    False,
                    "Round-to-nearest is by definition the closest; stochastic rounding "
                    "sometimes picks the farther neighbour. Its advantage is the *expected* "
                    "value, not any single result.",
                ),
                Option(
                    "It picks lo or hi with probability ½ each, like a coin flip.",
                    False,
                    "A fair coin would give the midpoint (lo + hi)/2 on average, a bias towards "
                    "the middle; the probabilities must follow the distance to make E = x.",
                ),
                Option(
                    "The rounded weights become identical to float32 training.",
                    False,
                    "Each run is noisy: in the experiment single seeds wander around the exact "
                    "sum. Gopher found that stochastic rounding did not fully recover float32 "
                    "training (G Sec. 3.2, App. C).",
                ),
            ),
        ),
        Question(
            "Gopher App. C found that bfloat16 parameters plus a float32 copy of them in the "
            "optimizer state trained as well as float32 everywhere. Why does the copy fix the "
            "lost updates?",
            _right_at(
                1,
                Option(
                    "Updates are added to the float32 copy, which resolves them; the bfloat16 "
                    "weights are re-rounded from it, so small updates add up until they move "
                    "the bfloat16 value.",
                    True,
                    "The accumulation happens where there is precision (24 significant bits). "
                    "The forward and backward passes still read bfloat16 weights, so compute "
                    "stays fast; only the optimizer touches the float32 copy.",
                ),
                Option(
                    "The copy lets the model run its matrix multiplies in float32.",
                    False,
                    "The forward and backward passes use the bfloat16 weights and activations; "
                    "the copy is read only by the optimizer's update.",
                ),
                Option(
                    "It halves the memory of the parameters.",
                    False,
                    "It adds 4 bytes per parameter (16 instead of 12 unsharded). What makes it "
                    "cheap is that the copy lives in the optimizer state, which is sharded.",
                ),
                Option(
                    "It replaces Adam's moments, so the optimizer state stays the same size.",
                    False,
                    "Adam still needs its two float32 moments; the master copy comes on top "
                    "of them.",
                ),
            ),
        ),
        Question(
            "A 280B model trains on 1,024 data-parallel replicas with ZeRO-style optimizer-state "
            "sharding. How much extra memory per device does the float32 master copy cost?",
            _right_at(
                2,
                Option(
                    "About 4 bytes × 280B / 1,024 ≈ 1 GiB: the copy is sharded with the rest of "
                    "the optimizer state.",
                    True,
                    "Parameters and gradients are replicated on every replica, but the "
                    "optimizer state is split evenly across them, so its 4 extra bytes per "
                    "parameter are divided by 1,024. Model parallelism (splitting each replica "
                    "over devices, as Gopher did) divides it further.",
                ),
                Option(
                    "4 bytes × 280B ≈ 1 TiB on every device.",
                    False,
                    "That would be the cost without sharding; ZeRO keeps only a 1/1,024 slice "
                    "of the optimizer state on each replica.",
                ),
                Option(
                    "Nothing, because the master copy is only kept on the host CPU.",
                    False,
                    "gopherlite, like Gopher, keeps it in the (device) optimizer state; moving "
                    "it to the host would cost transfers every step.",
                ),
                Option(
                    "Twice as much as without ZeRO, because every shard must be duplicated for "
                    "the all-gather.",
                    False,
                    "The all-gather moves the updated bfloat16 parameters between replicas; it "
                    "does not require each device to hold other replicas' optimizer shards.",
                ),
            ),
        ),
    ],
)
