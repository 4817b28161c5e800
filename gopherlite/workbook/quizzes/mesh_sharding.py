"""Chapter 07 quiz: data, tensor and pipeline parallelism, ZeRO, the collectives each layout
needs, what sparse attention does and does not save, and mesh shapes."""

from gopherlite.workbook.quiz import Option, Question, Quiz


def _right_at(index: int, right: Option, *wrong: Option) -> list[Option]:
    """The options with the right one (written first below) moved to position ``index``."""
    options = list(wrong)
    options.insert(index, right)
    return options


QUIZ = Quiz(
    "Check your understanding: meshes and sharding",
    [
        Question(
            "Gopher 280B used model and data parallelism inside each TPUv3 pod and pipelining "
            "only between pods. What makes that split sensible?",
            _right_at(
                2,
                Option(
                    "Tensor and data parallelism exchange data at every layer or every step and "
                    "need the pod's fast chip-to-chip links; a pipeline only passes activations "
                    "across stage boundaries, so it tolerates the slower network between pods.",
                    True,
                    "That is the paper's reasoning (Sec. 3.3): within a pod the overhead of "
                    "model + data parallelism was about 10 %, and pipelining, which "
                    "communicates little, is only needed beyond one 1,024-chip pod.",
                ),
                Option(
                    "Pipelining cannot be used inside a pod because all chips of a pod must run "
                    "the same layer.",
                    False,
                    "Nothing forces that: a pipeline could assign layers to chips of one pod. "
                    "It was not needed there, because the fast links made tensor and data "
                    "parallelism cheap.",
                ),
                Option(
                    "Pipelining removes the need for an optimizer state, so it is used where "
                    "memory is tightest.",
                    False,
                    "Every stage still keeps Adam moments for its own layers. Memory was "
                    "handled by ZeRO-style optimizer-state sharding and rematerialisation.",
                ),
                Option(
                    "Data parallelism does not work across pods, because each pod must see "
                    "the same batch.",
                    False,
                    "Data parallelism across pods is possible (each replica sees different "
                    "rows and gradients are averaged); its gradient all-reduce over the slow "
                    "network is the cost, not a rule against it.",
                ),
            ),
        ),
        Question(
            "On 16 devices with the `zero` layout (mesh data=16), how do parameters and Adam "
            "moments compare with plain data parallelism (`dp`)?",
            _right_at(
                0,
                Option(
                    "Parameters and gradients are the same per device; the Adam moments (and "
                    "any fp32 master copy) are split 16 ways.",
                    True,
                    "ZeRO's first stage partitions only the optimizer state over the "
                    "data-parallel devices. Each device updates its slice and the updated "
                    "parameters are gathered back, so every device still holds full weights.",
                ),
                Option(
                    "Everything is split 16 ways, parameters included, so `zero` equals `fsdp`.",
                    False,
                    "Splitting the parameters too is what `fsdp` does (ZeRO's third stage); "
                    "`zero` here keeps the parameters replicated. Compare the two in the mesh "
                    "builder.",
                ),
                Option(
                    "Nothing changes in memory; `zero` only changes how gradients are averaged.",
                    False,
                    "The optimizer state is the largest part of the training state (8 of 12 "
                    "bytes per parameter with bf16 weights), and `zero` divides it by the "
                    "data-parallel degree.",
                ),
                Option(
                    "Each device keeps a different 1/16 of the layers, as in a pipeline.",
                    False,
                    "ZeRO splits every tensor of the optimizer state, not whole layers; every "
                    "device runs every layer.",
                ),
            ),
        ),
        Question(
            "Under the `fsdp` layout each weight matrix is split over the `fsdp` axis. What "
            "must happen before a layer can multiply its input by such a weight?",
            _right_at(
                1,
                Option(
                    "The weight's shards are all-gathered so each device briefly holds the "
                    "whole matrix; after the backward pass the gradients are reduce-scattered "
                    "back into shards.",
                    True,
                    "FSDP trades memory for communication: weights live sharded, are gathered "
                    "layer by layer when needed, and each device keeps only its slice of the "
                    "gradient. `Layout.collectives` lists exactly this.",
                ),
                Option(
                    "Nothing: each device multiplies its rows of the batch by its shard of the "
                    "weight and the results are already correct.",
                    False,
                    "A device's batch rows need every input feature, but its shard holds only "
                    "some of the weight's rows; without a gather (or a reduction of partial "
                    "sums) the product would be incomplete.",
                ),
                Option(
                    "The activations are all-reduced after every layer, as in Megatron.",
                    False,
                    "That is the `tensor` layout's pattern: weights split on heads or hidden "
                    "units, partial outputs summed by an all-reduce. FSDP gathers weights "
                    "instead.",
                ),
                Option(
                    "The optimizer state is gathered to every device before each forward pass.",
                    False,
                    "The optimizer state is only needed in the update, where each device "
                    "updates its own shard; it is never gathered.",
                ),
            ),
        ),
        Question(
            "Gopher computes dense (full causal) attention over its 2,048-token context. What "
            "would a local or block-sparse attention pattern change?",
            _right_at(
                3,
                Option(
                    "Score computation and score memory would grow roughly with L·w (w the "
                    "window) instead of L², but a token could no longer attend directly to "
                    "positions outside its pattern; distant information must hop across layers.",
                    True,
                    "Sparse patterns cut the quadratic attention term at the price of what a "
                    "single layer can see. GPT-3 alternated dense and locally banded sparse "
                    "layers; Gopher kept dense attention.",
                ),
                Option(
                    "The 280B model would fit on one TPUv3 core, because attention is most of "
                    "the memory.",
                    False,
                    "The 2.5 TiB of parameters and Adam state belong to the weight matrices, "
                    "which a sparsity pattern does not touch. Parameters and optimizer state, "
                    "not attention scores, are why the model is split over chips.",
                ),
                Option(
                    "Tensor parallelism would no longer be possible, because heads would need "
                    "different key sets.",
                    False,
                    "Heads stay independent under a sparse pattern, so splitting heads over "
                    "`tensor` works exactly as before.",
                ),
                Option(
                    "Nothing at 2,048 tokens: the attention pattern only matters for models "
                    "with more than 2,048 heads.",
                    False,
                    "The pattern governs the L×L score matrices of every head, whatever the "
                    "number of heads; its saving grows with the context length L.",
                ),
            ),
        ),
        Question(
            "Training a model with 4 attention heads under the `tensor` layout on a mesh with "
            "`tensor=8` fails before the first step. Why?",
            _right_at(
                2,
                Option(
                    "The `tensor` layout splits the heads dimension over the `tensor` axis, and "
                    "4 heads cannot be cut into 8 equal parts.",
                    True,
                    "Sharded dimensions must divide their mesh axes evenly; the package checks "
                    "this and names the dimension. Use a tensor degree that divides the heads "
                    "(and the MLP width and vocabulary), or another layout.",
                ),
                Option(
                    "Tensor parallelism needs at least 16 devices.",
                    False,
                    "Any degree works as long as the split dimensions divide it; the tests run "
                    "`tensor=8` on 8 simulated devices with an 8-head model.",
                ),
                Option(
                    "The product of the degrees is not the device count.",
                    False,
                    "That is a different error (the mesh itself is invalid). Here the mesh is "
                    "valid; the model's shapes do not fit it.",
                ),
                Option(
                    "Heads can only be split over the `data` axis.",
                    False,
                    "Splitting heads is the Megatron scheme and uses the `tensor` axis; `data` "
                    "splits batch rows.",
                ),
            ),
        ),
        Question(
            "Two runs train the same tiny model from the same seed on the same batches: one on "
            "a single device, one with the `2d` layout on a 2×2×2 mesh. What should their "
            "losses look like?",
            _right_at(
                0,
                Option(
                    "Equal up to floating-point rounding (relative differences around 1e-6), "
                    "because sharding changes where numbers are computed, not what is computed.",
                    True,
                    "XLA's partitioner inserts collectives so the sharded program computes the "
                    "same function; only the order of some sums changes. The chapter checks "
                    "this with `np.testing.assert_allclose(..., rtol=1e-5)`.",
                ),
                Option(
                    "The sharded loss is lower, because 8 devices see 8 times more data per step.",
                    False,
                    "The global batch is the same; it is only divided among the devices. More "
                    "data per step would need a larger `batch_size`.",
                ),
                Option(
                    "The sharded loss is noisier, because each device averages only its own "
                    "rows' gradients.",
                    False,
                    "Gradients are reduced across the data axes before the update, so every "
                    "device applies the gradient of the whole batch.",
                ),
                Option(
                    "They differ by a constant offset that depends on the tensor degree.",
                    False,
                    "Splitting heads or MLP units over `tensor` changes no formula; partial "
                    "results are summed back by all-reduces.",
                ),
            ),
        ),
    ],
)
