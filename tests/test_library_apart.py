"""The library stands apart from the workbook: no notebook package is needed to train.

`gopherlite/` (outside `gopherlite/workbook/`) never imports ipywidgets, plotly, anywidget or
IPython, and no module of the package is over 500 lines. The strongest check runs the CLI in a
fresh interpreter where importing those packages fails, as after `pip install gopherlite`
without the ``[notebook]`` extra.
"""

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gopherlite"
NOTEBOOK_PACKAGES = ("ipywidgets", "plotly", "anywidget", "IPython")
MAX_LINES = 500

# A meta-path finder that makes the notebook packages unimportable in the child interpreter.
_BLOCKER = textwrap.dedent(
    f"""
    import sys

    class _NoNotebookPackages:
        BLOCKED = {NOTEBOOK_PACKAGES!r}

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.BLOCKED:
                raise ImportError(f"{{name}} is blocked: the library must not need it")
            return None

    sys.meta_path.insert(0, _NoNotebookPackages())
    """
)


def _library_modules() -> list[pathlib.Path]:
    return [p for p in PACKAGE.rglob("*.py") if "workbook" not in p.relative_to(PACKAGE).parts]


def _imported_roots(path: pathlib.Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_library_module_imports_a_notebook_package():
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_roots(p) & set(NOTEBOOK_PACKAGES))
        for p in _library_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_library_module_imports_the_workbook():
    offenders = []
    for path in _library_modules():
        text = path.read_text()
        if "gopherlite.workbook" in text and "import" in text:
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "gopherlite.workbook"
                ):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_module_of_the_package_is_over_500_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def _run_blocked(code: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(_BLOCKER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )


def test_the_blocker_really_blocks(tmp_path):
    """The check below means something only if the notebook packages are unimportable."""
    result = _run_blocked("import plotly", tmp_path)
    assert result.returncode != 0 and "blocked" in result.stderr


@pytest.mark.slow
def test_train_eval_sample_and_memory_run_without_notebook_packages(tmp_path):
    out = tmp_path / "run"
    code = textwrap.dedent(
        f"""
        import sys
        from gopherlite.cli import main
        assert main(["train", "--preset", "tiny", "--steps", "2", "--log-every", "1",
                     "--out", {str(out)!r}]) == 0
        assert main(["eval", "--checkpoint", {str(out)!r}, "--json"]) == 0
        assert main(["sample", "--checkpoint", {str(out)!r}, "--prompt", "The",
                     "--max-new-tokens", "4"]) == 0
        assert main(["memory", "--preset", "280b", "--chip", "v3"]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {NOTEBOOK_PACKAGES!r})
        assert loaded == [], loaded
        print("LIBRARY-OK")
        """
    )
    result = _run_blocked(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LIBRARY-OK" in result.stdout
    assert (out / "metrics.jsonl").exists()
