"""On 8 devices, a batch or a model dimension that does not divide the mesh is one line from the
command line, exit status 2, before anything trains (issue 14, item 5).

Runs only through tests/test_sharding.py::test_multidevice_tier (8 fake CPU devices).
"""

import pathlib

import pytest

from gopherlite.cli import main

TOKENIZER = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "tokenizer_4k.model")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--mesh", "data=8", "--batch-size", "6"], "Batch size 6 is not divisible"),
        (["--mesh", "data=1,tensor=8", "--layout", "tensor"], "is not divisible by"),
    ],
)
def test_what_does_not_divide_the_mesh_is_one_line(flags, message, capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--preset", "tiny", "--out", str(out), "--tokenizer", TOKENIZER,
            "--seq-len", "32", "--steps", "2", "--no-progress", *flags]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())
