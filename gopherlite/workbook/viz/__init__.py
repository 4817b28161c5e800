"""Plotly figure builders and ipywidgets explorers for the workbook's chapters.

One module per topic (``architecture``, ``tokenization``, ...), each loaded on first use, so
``from gopherlite import viz`` is cheap and ``viz.architecture.ArchitectureExplorer()`` works
without importing every chapter's code. ``viz.common`` holds the shared template, colours and
:func:`show`, which pairs a widget with a static fallback; ``show`` and ``style`` are also
available here directly.
"""

import importlib
from types import ModuleType

from gopherlite.workbook.viz.common import show, style

__all__ = ["show", "style"]


def __getattr__(name: str) -> ModuleType:
    """Import a topic module (``viz.architecture``, ``viz.tokenization``, ...) on first use."""
    if name.startswith("_"):
        raise AttributeError(f"module 'gopherlite.workbook.viz' has no attribute {name!r}")
    try:
        return importlib.import_module(f"gopherlite.workbook.viz.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"gopherlite.workbook.viz.{name}":
            raise
        raise AttributeError(
            f"module 'gopherlite.workbook.viz' has no attribute {name!r}"
        ) from None
