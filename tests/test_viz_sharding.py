"""Chapter 07's drawings: device grids from the package's real shardings, the mesh builder,
the layouts compared and the will-it-fit explorer.

The grids are computed on abstract meshes, so they run in this single-device process; the
comparison with ``NamedSharding.devices_indices_map`` on 8 simulated devices is in
``tests/multidevice/test_viz_sharding_devices.py``.
"""

import numpy as np
import pytest
from jax.sharding import PartitionSpec

from gopherlite import PRESETS
from gopherlite.costs import memory_per_device
from gopherlite.sharding import mesh_degrees
from gopherlite.workbook.experiments import mesh_blocks as mb
from gopherlite.workbook.viz import common
from gopherlite.workbook.viz import memory as vm
from gopherlite.workbook.viz import sharding as vs

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MESH_241 = {"data": 2, "fsdp": 4, "tensor": 1}


def test_a_dimension_split_over_fsdp_4_gives_4_shards_each_held_twice():
    blocks = mb.device_blocks(PartitionSpec("fsdp", None), (128, 512), MESH_241)
    ids = mb.shard_ids(blocks)
    assert ids.shape == (2, 4, 1)
    values, counts = np.unique(ids, return_counts=True)
    assert values.tolist() == [0, 1, 2, 3] and counts.tolist() == [2, 2, 2, 2]
    # the two data rows hold the same blocks: copies across `data`
    assert (ids[0] == ids[1]).all()
    assert blocks[1, 2, 0] == ((64, 96), (0, 512))


def test_two_mesh_axes_on_one_dimension_are_major_first():
    mesh = {"data": 2, "fsdp": 2, "tensor": 2}
    blocks = mb.device_blocks(PartitionSpec(("data", "fsdp"), "tensor"), (8, 4), mesh)
    assert blocks[1, 0, 1] == ((4, 6), (2, 4))  # data 1 × fsdp 0 → row block 2 of 4
    assert mb.shard_ids(blocks).max() == 7  # every device a different block


def test_grids_come_from_the_package_shardings():
    arrays = {a.label: a for a in mb.array_layouts(MESH_241, "fsdp")}
    up = arrays["MLP in"]
    assert up.spec == PartitionSpec("fsdp", None)
    assert up.num_shards == 4 and up.shard_shape == (32, 512)
    # zero keeps parameters whole but shards the Adam moments over data × fsdp
    zero = {a.label: a for a in mb.array_layouts(MESH_241, "zero")}
    assert zero["MLP in"].num_shards == 1
    assert zero["Adam moment of MLP in"].num_shards == 8
    assert zero["residual stream x"].spec == PartitionSpec(("data", "fsdp"), None, None)


def test_tensor_layout_splits_heads_and_vocabulary():
    arrays = {a.label: a for a in mb.array_layouts({"data": 1, "fsdp": 1, "tensor": 8}, "tensor")}
    assert arrays["attention W_q (W_k, W_v alike)"].shard_shape == (128, 1, 16)
    assert arrays["logits"].shard_shape == (8, 32, 512)
    assert arrays["norm scale"].num_shards == 1


def test_grid_figure_has_one_cell_per_device():
    arrays = mb.array_layouts({"data": 2, "fsdp": 2, "tensor": 2}, "2d")
    fig = vs.mesh_grid_figure(arrays)
    assert len(fig.data) == len(arrays)
    z = np.array(fig.data[0].z)
    assert z.shape == (2, 4)  # rows data, columns fsdp × tensor


@pytest.fixture
def shown(monkeypatch):
    displayed = []
    monkeypatch.setattr(common, "display", displayed.append)
    return displayed


def test_mesh_builder_rejects_a_bad_product_with_the_package_message():
    builder = vs.MeshBuilder(8)
    before = [list(map(list, t.z)) for t in builder.figure.data]
    builder.degrees["data"].value = 4  # 4 × 2 × 2 = 16 ≠ 8
    with pytest.raises(ValueError) as error:
        mesh_degrees({"data": 4, "fsdp": 2, "tensor": 2}, 8)
    expected = str(error.value)
    assert "Not a valid mesh" in builder.message.value
    assert expected.split(";")[0] in builder.message.value
    assert [list(map(list, t.z)) for t in builder.figure.data] == before


def test_mesh_builder_redraws_when_a_control_changes(shown):
    builder = vs.MeshBuilder(8)
    before = [list(map(list, t.z)) for t in builder.figure.data]
    builder.layout.value = "dp"
    after = [list(map(list, t.z)) for t in builder.figure.data]
    assert after != before
    assert all(np.array(z).max() == 0 for z in after[:6])  # dp: every parameter replicated
    builder.degrees["fsdp"].value = 1
    builder.degrees["data"].value = 4
    assert np.array(builder.figure.data[0].z).shape == (4, 2)
    assert "data=4" in builder.figure.layout.title.text
    builder.show()
    bundle = shown[0]._repr_mimebundle_()
    assert WIDGET_MIME in bundle and "plotly" in bundle["text/html"]


def test_layout_memory_orders_the_layouts():
    config = PRESETS["1.4b"]
    estimates = mb.layout_memory(config, mb.natural_meshes(16), chip="v3", remat=True)
    total = {name: e.total for name, e in estimates.items()}
    assert total["zero"] < total["dp"]  # same mesh, sharded optimizer state
    assert total["fsdp"] < total["zero"]
    # Adam moments split 16 ways (the u, v biases, with no embed axis, stay whole)
    assert estimates["dp"].optimizer / estimates["zero"].optimizer == pytest.approx(16, rel=1e-2)
    fig = vm.layout_memory_figure(estimates)
    assert [t.name for t in fig.data] == ["params", "optimizer", "gradients", "activations"]
    table = vm.layout_table_html(estimates)
    assert "reduce-scatter grads" in table and "all-reduce grads" in table


def test_fit_explorer_readout_follows_chip_and_mesh():
    explorer = vm.FitExplorer("1.4b", "v3", mesh={"fsdp": 8, "tensor": 1}, layout="fsdp")
    expected = memory_per_device(
        PRESETS["1.4b"], chip="v3", mesh={"fsdp": 8}, layout="fsdp", precision="bf16_sr",
        remat=True,
    )  # fmt: skip
    assert common.format_bytes(expected.total) in explorer.readout.value
    assert "fits" in explorer.readout.value
    before_readout, before_x = explorer.readout.value, explorer.figure.data[0].x
    explorer.controls["chip"].value = "v5p"
    assert explorer.readout.value != before_readout and "95 GiB" in explorer.readout.value
    explorer.controls["fsdp"].value = 1
    explorer.controls["chip"].value = "v5e"
    assert "does NOT fit" in explorer.readout.value
    assert explorer.figure.data[0].x != before_x
    assert "smallest fit" in explorer.readout.value


def test_fit_explorer_shows_an_indivisible_mesh_as_an_error():
    explorer = vm.FitExplorer("44m", "v3", mesh={"fsdp": 1, "tensor": 1}, layout="tensor")
    explorer.controls["tensor"].value = 4096  # more ways than heads
    assert "Cannot lay out" in explorer.readout.value and "not divisible" in explorer.readout.value
    assert explorer.static()
