"""Chapter 07 quiz: meshes, logical axis names and layouts; what `zero`, `fsdp` and `tensor`
split and which collectives they need; why sharding the state does not shrink one sequence's
activations; Megatron-style (intra-layer) model parallelism against pipelining, and how Gopher
split its work inside and between TPUv3 pods; divisibility; why sharded losses must match; why
the column-then-row MLP of section 4 needs one all-reduce; what XLA's `memory_analysis()`
arguments count (section 7); and section 9's tensor-parallel traffic over ICI and DCN.

Every item follows the project's sample question: a scenario, five options, exactly one correct,
a reason for each, and the right option not given away by its length."""

from gopherlite.workbook.quiz import Option, Question, Quiz

QUIZ = Quiz(
    "Check your understanding: meshes and sharding",
    [
        Question(
            "An engineer moves a gopherlite run from the `dp` layout to `2d` on a new mesh. "
            "Parameters carry names like `[embed, heads, kv]` and activations "
            "`[batch, length, embed]`. What must change in the model code?",
            [
                Option(
                    "Every layer must name the mesh axes it is split over.",
                    False,
                    "Model code never names mesh axes; that is exactly what logical names avoid.",
                ),
                Option(
                    "The attention code must be rewritten to exchange partial results.",
                    False,
                    "The collectives are inserted by XLA's partitioner from the shardings; "
                    "the layer code stays the same.",
                ),
                Option(
                    "Nothing: the layout maps logical names to mesh axes, and the compiler "
                    "inserts the communication.",
                    True,
                    "`sharding.logical_spec` turns each array's logical names into a "
                    "PartitionSpec for the chosen layout and mesh; the same model runs under "
                    "every layout, which the chapter's runs check.",
                ),
                Option(
                    "The parameters must be renamed, since `embed` cannot be split in `2d`.",
                    False,
                    "`2d` splits `embed` over `fsdp` and heads, MLP units and vocabulary over "
                    "`tensor`; the names are the same.",
                ),
                Option(
                    "The model must be rebuilt with `pmap` over the new mesh, since only "
                    "`pmap` can express both data and model parallelism in JAX.",
                    False,
                    "Gopher used `pmap`, but gopherlite annotates shardings and lets GSPMD "
                    "partition a `jit`-compiled step.",
                ),
            ],
        ),
        Question(
            "You try to fit Gopher 280B with the `zero` layout (data=512) in the will-it-fit "
            "explorer. It does not fit, and adding replicas barely helps. Why?",
            [
                Option(
                    "`zero` shards the parameters, but not the optimizer state.",
                    False,
                    "The other way round: `zero` splits the optimizer state over the data "
                    "axes and keeps the parameters whole.",
                ),
                Option(
                    "More replicas mean a bigger global batch, and activations grow with it.",
                    False,
                    "Each device keeps its own share of the batch; the per-device activations "
                    "do not grow with the number of replicas.",
                ),
                Option(
                    "The explorer caps data parallelism at one TPUv3 pod of 1,024 chips, so "
                    "replicas beyond that are ignored in its estimate.",
                    False,
                    "The estimate takes the mesh as given; the trouble is that the "
                    "replicated parameters do not shrink as the data degree grows.",
                ),
                Option(
                    "`zero` needs twice the communication of `dp`, which costs memory.",
                    False,
                    "A reduce-scatter plus an all-gather moves about as much data as one "
                    "all-reduce, and communication volume is not memory.",
                ),
                Option(
                    "Every device still holds all parameters and gradients, about 1 TiB of "
                    "bfloat16 for 280B.",
                    True,
                    "`zero` divides only the Adam moments. Full bfloat16 weights and "
                    "gradients are 4 bytes per parameter on every device, far over 16 GiB; "
                    "only splitting the parameters (fsdp, tensor) brings that down.",
                ),
            ],
        ),
        Question(
            "Under the `fsdp` layout each weight matrix is split along `embed` over the "
            "`fsdp` axis. A device is about to run a block's feed-forward. What must happen "
            "first, and what happens to the gradients afterwards?",
            [
                Option(
                    "Nothing: each device multiplies with its slice and keeps the result.",
                    False,
                    "fsdp splits the batch too; a device needs the whole weight to process "
                    "its own rows, so its slice is not enough.",
                ),
                Option(
                    "The weights are all-gathered for this layer; gradients are "
                    "reduce-scattered back.",
                    True,
                    "Each layer's weight is gathered just before it is used, and "
                    "each device keeps only its slice of the summed gradient, so memory "
                    "for weights and gradients is divided by the fsdp degree.",
                ),
                Option(
                    "The batch is all-gathered so that one device runs the feed-forward for "
                    "every row, then scatters the results back to the others.",
                    False,
                    "That would serialise the work on one device; fsdp moves the weights, "
                    "not the batch.",
                ),
                Option(
                    "The activations are all-reduced after every matrix multiply.",
                    False,
                    "That is the `tensor` layout's pattern, where each device computes a "
                    "partial output of a split layer.",
                ),
                Option(
                    "The weights are pipelined from the next stage of the model.",
                    False,
                    "gopherlite has no pipeline axis; fsdp gathers slices of the same layer "
                    "from the devices of its own axis.",
                ),
            ],
        ),
        Question(
            "On 16 TPUv3 cores, Gopher 1.4B with `fsdp` (16-way) divides weights, gradients "
            "and optimizer state by 16, yet still does not fit, while `tensor` and `2d` do. "
            "What is `fsdp` failing to shrink?",
            [
                Option(
                    "The optimizer state, which fsdp leaves replicated.",
                    False,
                    "fsdp splits the optimizer state along with the parameters; both are "
                    "divided by 16.",
                ),
                Option(
                    "The tokenizer's vocabulary, which every core must hold in full.",
                    False,
                    "The tokenizer runs on the host and takes no accelerator memory; the "
                    "embedding table is split like any other parameter.",
                ),
                Option(
                    "The gradients, which are all-reduced and so kept in full.",
                    False,
                    "Under fsdp gradients are reduce-scattered and laid out like the "
                    "parameters, so they are divided too.",
                ),
                Option(
                    "The activations of the one sequence each core processes, which a batch "
                    "split cannot divide any further.",
                    True,
                    "Splitting the batch stops helping once each core has one sequence. Only "
                    "splitting inside the layers (tensor, 2d) divides its activations, or "
                    "rematerialisation recomputes them instead of storing them.",
                ),
                Option(
                    "The compiled program, which grows with the number of cores.",
                    False,
                    "One SPMD program runs on every core; its size does not grow with the "
                    "mesh, and it is small next to the model state.",
                ),
            ],
        ),
        Question(
            "A design document says Gopher used 'Megatron-style model parallelism, placing "
            "whole layers on different chips'. How should the sentence be corrected?",
            [
                Option(
                    "It is right as written; Megatron assigns layers to chips.",
                    False,
                    "Megatron-LM splits the matrix multiplies inside each layer; assigning "
                    "whole layers to chips is pipeline parallelism.",
                ),
                Option(
                    "Megatron-style splits each layer's heads and MLP units over chips; whole "
                    "layers per chip is pipelining.",
                    True,
                    "Intra-layer splitting needs an all-reduce of activations in every block. "
                    "Pipelining (GPipe) sends activations only at stage boundaries, which is "
                    "how Gopher worked between pods.",
                ),
                Option(
                    "Megatron-style means sharding the optimizer state across replicas, so "
                    "the sentence confuses it with ZeRO.",
                    False,
                    "That is ZeRO, which Gopher also used; Megatron is model parallelism "
                    "inside layers.",
                ),
                Option(
                    "Megatron-style splits the batch; it is data parallelism.",
                    False,
                    "Data parallelism splits the batch and replicates the model; Megatron "
                    "splits the model itself.",
                ),
                Option(
                    "Gopher did not use model parallelism at all, only pipelining.",
                    False,
                    "Gopher's paper lists Megatron-style model parallelism among its "
                    "techniques, together with ZeRO and rematerialisation.",
                ),
            ],
        ),
        Question(
            "Gopher 280B used model and data parallelism inside each 1,024-chip TPUv3 pod, and "
            "pipelining only between pods (Gopher Sec. 3.3). Which reasoning supports that "
            "split?",
            [
                Option(
                    "Pipelining is faster than tensor parallelism on any network.",
                    False,
                    "Pipelining brings bubbles of idle time; it wins only where the network is "
                    "too slow for the frequent collectives of model parallelism.",
                ),
                Option(
                    "TPUv3 pods cannot run data parallelism across pods, so another method was "
                    "required for any training beyond a single pod.",
                    False,
                    "Nothing forbids data parallelism across pods; it is a question of how "
                    "much traffic the slower link can carry.",
                ),
                Option(
                    "Pipelining saves memory, and memory only ran out across pods.",
                    False,
                    "Memory per core is the same in every pod; the choice follows the speed "
                    "of the links, not where memory ran out.",
                ),
                Option(
                    "Haiku only supported pipelining between separate processes.",
                    False,
                    "The paper explains the split by communication cost, not by a limit of "
                    "Haiku or JAX.",
                ),
                Option(
                    "Model parallelism all-reduces activations in every block, which needs the "
                    "fast links inside a pod.",
                    True,
                    "Within a pod those collectives cost Gopher about 10% overhead. Pipelining "
                    "only passes activations between stages, little enough for the slower "
                    "network between pods.",
                ),
            ],
        ),
        Question(
            "A tiny model with 4 attention heads trains under the `tensor` layout on a mesh "
            "with `tensor=8`. The trainer raises a ValueError before the first step. What is "
            "wrong?",
            [
                Option(
                    "The simulated CPU devices cannot run tensor parallelism.",
                    False,
                    "The chapter runs `tensor` on the same simulated devices; it works when "
                    "the sizes divide.",
                ),
                Option(
                    "`tensor` needs at least as many layers as devices.",
                    False,
                    "That would be a pipeline's constraint; tensor parallelism splits inside "
                    "every layer, whatever the depth.",
                ),
                Option(
                    "The batch size is not a multiple of 8, so the batch cannot be split.",
                    False,
                    "The batch is split over `data` and `fsdp`, not over `tensor`; the error "
                    "names the heads dimension.",
                ),
                Option(
                    "The `heads` dimension, of size 4, cannot be split 8 ways.",
                    True,
                    "Each split dimension must divide by its mesh degree. With 8 heads (and "
                    "MLP units and vocabulary divisible by 8) the same mesh trains and matches "
                    "the single-device losses (exercise 4).",
                ),
                Option(
                    "The mesh is too large for the model, so XLA falls back to a single "
                    "device and the trainer refuses to run without sharding.",
                    False,
                    "XLA does not fall back silently; gopherlite checks divisibility itself "
                    "and names the dimension that cannot be split.",
                ),
            ],
        ),
        Question(
            "You train the same tiny model from the same seed on the same batches, once on one "
            "device and once with `2d` on a 2 × 2 × 2 mesh. The losses agree to about six "
            "significant figures, not exactly. What does this tell you?",
            [
                Option(
                    "Sharding changed the model slightly, as expected of `2d`.",
                    False,
                    "A layout only decides where numbers are computed; the model and its "
                    "mathematics are the same.",
                ),
                Option(
                    "One run has a bug, since correct sharding gives bit-identical losses.",
                    False,
                    "Floating-point addition is not associative; partial sums reduced across "
                    "devices come out in a different order.",
                ),
                Option(
                    "The runs match up to the order of floating-point sums, as they should.",
                    True,
                    "Collectives add partial results in another order than one device does, "
                    "which changes the last digits. Differences of about 1e-6 relative are "
                    "rounding; a real bug would show up in the first digits.",
                ),
                Option(
                    "The sharded run trained on different batches, since each device draws "
                    "its own random rows from the training set at every step.",
                    False,
                    "The batches are identical: each device gets its block of the same global "
                    "batch.",
                ),
                Option(
                    "The sharded run used bfloat16 on some devices.",
                    False,
                    "Every device runs the same program with the same precision policy.",
                ),
            ],
        ),
        Question(
            "Section 4's `tp_mlp` runs on 8 devices: each holds some columns of the MLP's "
            "first matrix and the matching rows of the second, and one `psum` over `tensor` "
            "at the end gives the single-device result. Why is one all-reduce enough for the "
            "forward pass?",
            [
                Option(
                    "Each device gets whole hidden units, so its GELU is local; the row split "
                    "leaves one partial sum.",
                    True,
                    "The column split gives each device complete hidden values for its own "
                    "units, and the element-wise GELU needs nothing from the others. Its rows "
                    "of the second matrix then give a partial sum of the output, which the one "
                    "`psum` completes. With gradients the compiled program shows a second "
                    "all-reduce, for `x`'s gradient; two blocks per layer give Megatron's four.",
                ),
                Option(
                    "Any split of the two matrices would do; one suffices because the block "
                    "has a single nonlinearity.",
                    False,
                    "Split the first matrix by rows instead and each device's `x @ w1` is only "
                    "a partial sum. GELU of partial sums is not GELU of their sum, so another "
                    "all-reduce would be needed before the GELU: the order of the splits is "
                    "what Megatron chose to avoid it.",
                ),
                Option(
                    "The GELU is applied after the `psum`, to the summed output, so no hidden "
                    "values need to be exchanged.",
                    False,
                    "In `tp_mlp` each device applies the GELU to its own hidden units before "
                    "its second matrix multiply; the `psum` comes last, on the `[batch, "
                    "d_model]` partial outputs.",
                ),
                Option(
                    "The `psum` adds up the weight shards, so every device ends up holding "
                    "the whole MLP.",
                    False,
                    "The weights stay split; the all-reduce carries activations, the partial "
                    "sums of the block's output, which is why tensor parallelism needs one in "
                    "every block.",
                ),
                Option(
                    "XLA merges the all-reduces the two split matrices need into one instruction.",
                    False,
                    "The single `psum` is in our shard_map code, not a compiler merge, and the "
                    "column-split matrix needs no communication at all; the shard_map column "
                    "of the HLO table holds exactly the collectives we wrote.",
                ),
            ],
        ),
        Question(
            "Section 7 trains the small model with `fsdp` on data=2, fsdp=4, and "
            "`memory_comparison` sets XLA's `memory_analysis()` of the compiled step beside "
            "`costs.memory_per_device` for the same mesh and layout. What does "
            "`argument_size_in_bytes` equal?",
            [
                Option(
                    "The whole train state and batch, summed over the 8 devices of the mesh.",
                    False,
                    "The analysis is per device. Summed over eight devices it would be far "
                    "larger for every array that is replicated, and it would not match one "
                    "device's estimate, which it does.",
                ),
                Option(
                    "One device's shards of the parameters and optimizer state, plus its "
                    "batch rows.",
                    True,
                    "The chapter asserts it to the byte for every run: the estimate adds up "
                    "the same shardings. The donated state is also what the outputs alias, so "
                    "no second copy of it is needed.",
                ),
                Option(
                    "The estimate's whole total for one device: its state, gradients and "
                    "activations.",
                    False,
                    "Gradients and activations are allocated inside the step, so they fall "
                    "under the temporaries, and those differ from the estimate (fusion, "
                    "fsdp's gathered weights, full-size gradients on XLA:CPU).",
                ),
                Option(
                    "One device's parameter and optimizer shards alone; the batch is not an input.",
                    False,
                    "The batch is an argument of the compiled step like the state; the "
                    "device's rows of it are counted, and the assertion adds their bytes.",
                ),
                Option(
                    "Roughly the estimate's state, within a margin for fusion and for the gathered "
                    "weights.",
                    False,
                    "The match is exact. Fusion and fsdp's gathered full weights change the "
                    "temporaries, which is where XLA and the estimate part ways.",
                ),
            ],
        ),
        Question(
            "Section 9's problem 1: a 16-chip tensor group of Gopher 280B (`d_model` 16,384, "
            "80 layers) processes one 2,048-token sequence with bfloat16 activations and "
            "Megatron's four all-reduces per layer and step. A ring all-reduce of V bytes "
            "takes 2 (n - 1)/n · V / W, with W = 2 × 10¹¹ bytes/s on an ICI link and about "
            "2.5 × 10¹⁰ over DCN; the step's compute takes 1.75 s at peak. What follows?",
            [
                Option(
                    "Each device sends only its 1/16 share, 4 MiB, so even DCN needs about "
                    "0.1 s a step.",
                    False,
                    "Every device holds a partial sum of the whole `[1, 2,048, 16,384]` block, "
                    "so V is 2,048 × 16,384 × 2 bytes = 64 MiB. Dividing it by 16 first is "
                    "what turns DCN's 1.6 s into 0.1 s.",
                ),
                Option(
                    "At 256 MiB per layer the traffic swamps any link, so 280B cannot use "
                    "tensor parallelism.",
                    False,
                    "On ICI the 320 all-reduces of a step take 0.20 s against 1.75 s of "
                    "compute, about 12 %, the same order as the ~10 % overhead Gopher reports "
                    "for model and data parallelism inside a pod.",
                ),
                Option(
                    "DCN is eight times slower, but each all-reduce hides behind the next "
                    "matrix multiply.",
                    False,
                    "Each all-reduce sits between matrix multiplies that need its result, so "
                    "it is hard to hide behind compute; the slower link shows up in the step "
                    "time.",
                ),
                Option(
                    "About 0.2 s a step on ICI, 12 % of the compute; over DCN 1.6 s, close to the "
                    "compute.",
                    True,
                    "One all-reduce is 64 MiB: 2 × 15/16 × 64 MiB / W is 0.63 ms on ICI and "
                    "5.0 ms over DCN. Times 320 per step: 0.20 s and 1.6 s, and DCN is "
                    "optimistic, since a host shares it among its chips. Hence tensor "
                    "parallelism inside a pod, pipelining between pods.",
                ),
                Option(
                    "The all-reduces add under 1 % of the 1.75 s compute on either link, so "
                    "placement is free.",
                    False,
                    "The ring formula gives 0.63 ms per all-reduce on ICI, 0.20 s for a step's "
                    "320 (12 %), and 1.6 s over DCN: far from negligible on either, and "
                    "prohibitive on the slower one.",
                ),
            ],
        ),
    ],
)
