"""`workbook.viz.float_bits`: the bit figure, the ranges table and the bit explorer."""

import ml_dtypes
import numpy as np

from gopherlite.workbook.experiments.float_bits import bit_fields
from gopherlite.workbook.viz import float_bits as bv


def test_ranges_table_uses_finfo():
    table = bv.ranges_html()
    assert f"{float(ml_dtypes.finfo(np.float16).max):.4g}" in table  # 6.55e+04
    assert "0.007812" in table  # bfloat16 epsilon 2^-7
    assert table.count("<tr>") == 4


def test_bits_figure_encodes_the_bits():
    fig = bv.bits_figure(1 + 2**-8)
    z_FxB = fig.data[0].z
    text_FxB = fig.data[0].text
    assert "".join(text_FxB[0]) == bit_fields(1 + 2**-8, "float32").bits
    assert all(z is None for z in z_FxB[1][16:])  # bfloat16 has 16 bits
    assert z_FxB[0][0] in (0, 1) and z_FxB[0][1] in (2, 3) and z_FxB[0][9] in (4, 5)


def test_bit_explorer_readout_and_figure_follow_the_value():
    explorer = bv.BitExplorer(0.1)
    readout, z = explorer.readout.value, explorer.figure.data[0].z
    explorer.text.value = "1e-40"
    assert explorer.readout.value != readout and "subnormal" in explorer.readout.value
    assert explorer.figure.data[0].z != z
    explorer.slider.value = 2.5
    assert explorer.x == 2.5 and "2.5" in explorer.figure.layout.title.text
    before = explorer.readout.value
    explorer.text.value = "not a number"
    assert "Not a number" in explorer.readout.value and explorer.x == 2.5
    assert before != explorer.readout.value
    assert len(explorer.static()) == 8
