"""The one edit that points a fork's Colab badges and install cells at the fork."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gopherlite.workbook import colab

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def chapters(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


def _lines(path):
    return [line for cell in json.loads(path.read_text())["cells"] for line in cell["source"]]


def test_every_chapter_points_at_the_fork_and_nothing_else_changes(chapters):
    before = {p.name: _lines(p) for p in chapters.glob("*.ipynb")}
    assert (
        colab.main(["https://github.com/someone/gopher-fork.git", "--notebooks", str(chapters)])
        == 0
    )
    assert len(before) >= 11
    for path in sorted(chapters.glob("*.ipynb")):
        after = _lines(path)
        changed = [(a, b) for a, b in zip(before[path.name], after, strict=True) if a != b]
        assert len(changed) == 3, path.name  # badge, "On Colab" line, REPO_URL
        text = "".join(after)
        target = (
            "https://colab.research.google.com/github/someone/gopher-fork/blob/main/notebooks/"
            f"{path.name})"
        )
        assert target in text
        assert 'REPO_URL = "https://github.com/someone/gopher-fork.git@main"' in text
        nb = json.loads(path.read_text())
        assert all(c.get("outputs", []) == [] for c in nb["cells"])


def test_pointing_again_replaces_and_reset_restores_the_shipped_files(chapters):
    originals = {p.name: p.read_bytes() for p in chapters.glob("*.ipynb")}
    colab.main(["first/one", "--notebooks", str(chapters)])
    colab.main(["second/two", "--branch", "dev", "--notebooks", str(chapters)])
    text = (chapters / "07_mesh_sharding.ipynb").read_text()
    assert "first/one" not in text
    assert "github/second/two/blob/dev/notebooks/07_mesh_sharding.ipynb" in text
    assert colab.main(["--reset", "--notebooks", str(chapters)]) == 0
    assert {p.name: p.read_bytes() for p in chapters.glob("*.ipynb")} == originals


def test_the_shipped_notebooks_are_neutral():
    for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
        text = "".join(_lines(path))
        assert colab.NEUTRAL_BADGE in text, path.name
        assert 'REPO_URL = ""' in text, path.name


@pytest.mark.parametrize(
    "args",
    [["not a repo"], ["owner/name", "--branch", "../x"], ["owner/name", "--reset"], []],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(chapters, args):
    originals = {p.name: p.read_bytes() for p in chapters.glob("*.ipynb")}
    result = subprocess.run(
        [sys.executable, "-m", "gopherlite.workbook.colab", *args, "--notebooks", str(chapters)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert {p.name: p.read_bytes() for p in chapters.glob("*.ipynb")} == originals


def test_repository_forms():
    for text in (
        "me/gl",
        "github.com/me/gl",
        "https://github.com/me/gl.git",
        "https://github.com/me/gl/",
    ):
        assert colab.parse_repository(text) == "me/gl"
