"""Drawing tokenization: coloured pieces, a playground, vocabulary sweeps, normalisation (ch. 02).

The sweep and the normalisation come from `gopherlite.workbook.experiments.tokenization`,
piece statistics from `gopherlite.data.tokenizer.Tokenizer.stats`; this module draws them.

* :func:`pieces_html`: text as coloured token pieces, each with its id; byte-fallback pieces
  get a dashed red outline.
* :class:`TokenizerPlayground`: type text, pick a vocabulary, see the pieces and statistics.
* :func:`vocab_sweep_figure`: training time and held-out bytes per token against vocabulary
  size, from `experiments.tokenization.sweep_vocab_sizes`.
* :func:`changes_html` and :class:`NormalizationExplorer`: what SentencePiece's normalisation
  rules (`experiments.tokenization.normalize`) do to text before it is tokenized.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.data.tokenizer import Tokenizer
from gopherlite.workbook.experiments.tokenization import NORMALIZATIONS, VocabMeasurement, normalize
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style

_VISIBLE = {" ": "▁", "\n": "↵", "\t": "⇥"}
_PIECE_STYLE = (
    "display: inline-block; margin: 1px; padding: 0 3px; border-radius: 4px; "
    "font-family: monospace; line-height: 1.9; white-space: pre"
)


def token_color(token_id: int) -> str:
    """A light background colour that differs between neighbouring ids.

    Args:
      token_id: Token id.

    Returns:
      A CSS ``hsl(...)`` colour; the same id always gets the same colour.
    """
    return f"hsl({(token_id * 137) % 360}, 75%, 85%)"


def pieces_html(tokenizer: Tokenizer, text: str, *, max_tokens: int = 2000) -> str:
    """Render ``text`` as its token pieces, each coloured by id with the id underneath.

    Spaces are shown as ``▁``, newlines as ``↵`` (followed by a line break), tabs as ``⇥``.
    Byte-fallback pieces (``<0xE2>``) have a dashed red outline. Hover shows id and piece.

    Args:
      tokenizer: A trained tokenizer.
      text: Any text.
      max_tokens: Render at most this many tokens, then say how many were left out.

    Returns:
      An HTML fragment (CSS class ``gl-pieces``).
    """
    ids = tokenizer.encode(text)
    spans = []
    for token_id in ids[:max_tokens]:
        piece = tokenizer.id_to_piece(token_id)
        shown = "".join(_VISIBLE.get(ch, ch) for ch in piece)
        border = "1px dashed #b3261e" if tokenizer.is_byte(token_id) else "1px solid #0000"
        spans.append(
            f'<span title="id {token_id}: {html.escape(repr(piece))}" '
            f'style="{_PIECE_STYLE}; background: {token_color(token_id)}; border: {border}">'
            f"{html.escape(shown)}<sub style='color: #555; font-size: 0.7em'>{token_id}</sub>"
            f"</span>" + ("<br>" if piece == "\n" else "")
        )
    more = len(ids) - max_tokens
    if more > 0:
        spans.append(f"<i> … and {more:,} more tokens</i>")
    return f'<div class="gl-pieces" style="line-height: 2.2">{"".join(spans)}</div>'


def stats_html(tokenizer: Tokenizer, text: str) -> str:
    """One line of statistics: bytes, tokens, bytes per token, byte-fallback tokens.

    Args:
      tokenizer: A trained tokenizer.
      text: Any text.

    Returns:
      An HTML paragraph.
    """
    stats = tokenizer.stats(text)
    return (
        f"<p>{stats.bytes:,} UTF-8 bytes → <b>{stats.tokens:,} tokens</b> "
        f"({stats.bytes_per_token:.2f} bytes per token); "
        f"{stats.byte_fallback_tokens:,} byte-fallback tokens. "
        f"Round trip exact: {tokenizer.decode(tokenizer.encode(text)) == text}.</p>"
    )


class TokenizerPlayground(Explorer):
    """Type text, choose a tokenizer, and see the coloured pieces with their ids.

    Attributes:
      text: The text box (CSS class ``gl-playground-text``).
      choice: Which tokenizer to use (CSS class ``gl-vocab-choice``).
      pieces: HTML widget with :func:`pieces_html`.
      stats: HTML widget with :func:`stats_html`.
      widget: The whole playground (CSS class ``gl-playground``).
    """

    def __init__(self, tokenizers: Mapping[str, Tokenizer], text: str) -> None:
        """Build the playground.

        Args:
          tokenizers: Named tokenizers to choose from, e.g. ``{"4,096 pieces": tok}``.
          text: Initial text.
        """
        self.tokenizers = dict(tokenizers)
        self.text = widgets.Textarea(
            value=text, description="text", layout={"width": "95%", "height": "90px"}
        )
        self.text.add_class("gl-playground-text")
        self.choice = widgets.ToggleButtons(options=list(self.tokenizers), description="vocab")
        self.choice.add_class("gl-vocab-choice")
        self.pieces = widgets.HTML()
        self.stats = widgets.HTML()
        self.widget = widgets.VBox([self.text, self.choice, self.stats, self.pieces])
        self.widget.add_class("gl-playground")
        self.text.observe(lambda _: self.update(), names="value")
        self.choice.observe(lambda _: self.update(), names="value")
        self.update()

    @property
    def tokenizer(self) -> Tokenizer:
        """The selected tokenizer."""
        return self.tokenizers[self.choice.value]

    def update(self) -> None:
        """Re-tokenize the text with the selected tokenizer."""
        self.stats.value = stats_html(self.tokenizer, self.text.value)
        self.pieces.value = pieces_html(self.tokenizer, self.text.value)

    def static(self) -> list[go.Figure | str]:
        """Each tokenizer's pieces of the current text."""
        parts = []
        for name, tokenizer in self.tokenizers.items():
            parts.append(f"<h5>{html.escape(name)}</h5>")
            parts.append(stats_html(tokenizer, self.text.value))
            parts.append(pieces_html(tokenizer, self.text.value))
        return parts


def vocab_sweep_figure(measurements: Sequence[VocabMeasurement]) -> go.Figure:
    """Held-out bytes per token and training time against vocabulary size (log axis).

    Args:
      measurements: From `gopherlite.workbook.experiments.tokenization.sweep_vocab_sizes`.

    Returns:
      A two-panel figure.
    """
    sizes = [m.vocab_size for m in measurements]
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("compression on held-out text", "training time"),
    )
    fig.add_trace(
        go.Scatter(
            x=sizes, y=[m.bytes_per_token for m in measurements], mode="lines+markers",
            name="bytes per token", marker={"color": PALETTE[0]},
            hovertemplate="vocab %{x:,}<br>%{y:.3f} bytes/token<extra></extra>",
        ),
        1, 1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=sizes, y=[m.train_seconds for m in measurements], mode="lines+markers",
            name="seconds", marker={"color": PALETTE[1]},
            hovertemplate="vocab %{x:,}<br>%{y:.2f} s<extra></extra>",
        ),
        1, 2,
    )  # fmt: skip
    fig.update_xaxes(type="log", title="vocabulary size")
    fig.update_yaxes(title="UTF-8 bytes per token", row=1, col=1)
    fig.update_yaxes(title="seconds", rangemode="tozero", row=1, col=2)
    return style(fig, height=380, showlegend=False, title="Bigger vocabularies, shorter sequences")


def changes_html(segments: Sequence[tuple[str, str]], *, max_rows: int = 40) -> str:
    """Show normalised text with every changed segment highlighted, and list the changes.

    Args:
      segments: ``(original, normalised)`` pairs from
        `gopherlite.workbook.experiments.tokenization.normalize`.
      max_rows: Longest list of changes to show.

    Returns:
      HTML: the new text (whitespace made visible, changes highlighted, hover shows the
      original) and a table of the changes with their code points.
    """
    shown, rows = [], []
    for old, new in segments:
        if old == new:
            shown.append(html.escape(_visible(new)))
            continue
        shown.append(
            f'<mark title="was {html.escape(repr(old))}" style="background: #ffe08a">'
            f"{html.escape(_visible(new)) or '∅'}</mark>"
        )
        rows.append(
            (_visible(old), _codepoints(old), _visible(new) or "(removed)", _codepoints(new))
        )
    text = f'<pre class="gl-normalized" style="white-space: pre-wrap">{"".join(shown)}</pre>'
    if not rows:
        return text + "<p>No change: the tokenizer sees exactly this text.</p>"
    note = (
        f"<p>{len(rows)} changed segments; the first {max_rows}:</p>"
        if len(rows) > max_rows
        else ""
    )
    table = html_table(("was", "code points", "became", "code points"), rows[:max_rows])
    return text + note + table


class NormalizationExplorer(Explorer):
    """Type text, pick a normalisation rule, see what would reach the tokenizer.

    Attributes:
      text: The text box.
      rule: Dropdown over ``NORMALIZATIONS`` (CSS class ``gl-normalization-rule``).
      output: HTML widget with :func:`changes_html`.
      widget: The whole explorer.
    """

    def __init__(self, text: str) -> None:
        """Build the explorer.

        Args:
          text: Initial text.
        """
        self.text = widgets.Textarea(
            value=text, description="text", layout={"width": "95%", "height": "80px"}
        )
        self.rule = widgets.Dropdown(
            options=list(NORMALIZATIONS),
            value="nmt_nfkc (SentencePiece's default)",
            description="rule",
            layout={"width": "480px"},
        )
        self.rule.add_class("gl-normalization-rule")
        self.output = widgets.HTML()
        self.widget = widgets.VBox([self.text, self.rule, self.output])
        self.text.observe(lambda _: self.update(), names="value")
        self.rule.observe(lambda _: self.update(), names="value")
        self.update()

    def update(self) -> None:
        """Normalise the text with the selected rule and show the changes."""
        _, segments = normalize(self.text.value, self.rule.value)
        self.output.value = changes_html(segments)

    def static(self) -> list[go.Figure | str]:
        """The changes under every rule, one after another."""
        parts = []
        for name in NORMALIZATIONS:
            parts.append(f"<h5>{html.escape(name)}</h5>")
            _, segments = normalize(self.text.value, name)
            parts.append(changes_html(segments))
        return parts


def _visible(text: str) -> str:
    """Make spaces, newlines and tabs visible."""
    return "".join(_VISIBLE.get(ch, ch) for ch in text)


def _codepoints(text: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in text)
