"""Drawing where a Gopher-family model's parameters, FLOPs and memory go (chapter 00).

The numbers come from the library and the chapter's experiments: `gopherlite.counts`
(parameters from the real model's shapes, FLOPs from the terms ``flops_per_token`` adds up)
and `gopherlite.workbook.experiments.architecture` (the family table, FLOP shares, memory
rows and the explorer's readouts). This module only draws them.

* :func:`breakdown_figure`, :func:`family_table_figure`, :func:`family_figure`,
  :func:`flops_share_figure`: static plotly figures.
* :class:`ArchitectureExplorer`: sliders for layers, d_model, heads, key/value size,
  vocabulary and context, redrawing the counts and the breakdown bars.
* :class:`FlopsShareExplorer`: a context-length slider over the family's FLOP shares.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.config import PRESETS, ModelConfig, table1_label
from gopherlite.counts import Part, flops_breakdown, param_breakdown
from gopherlite.workbook.experiments.architecture import cost_summary, family_rows, flops_shares
from gopherlite.workbook.viz.common import (
    COMPONENT_COLORS,
    Explorer,
    format_bytes,
    format_count,
    format_flops,
    html_table,
    style,
)


def breakdown_figure(config: ModelConfig, seq_len: int | None = None) -> go.Figure:
    """Two bar panels: parameters and training FLOPs per token, by component.

    Args:
      config: The model's shape.
      seq_len: Window length for the FLOPs; ``None`` means ``config.max_seq_len``.

    Returns:
      The figure; :class:`ArchitectureExplorer` updates its two traces in place.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.12,
        subplot_titles=("parameters", "training FLOPs per token"),
    )
    for row, parts in ((1, param_breakdown(config)), (2, flops_breakdown(config, seq_len))):
        fig.add_trace(go.Bar(orientation="h", showlegend=False, **_bar_data(parts)), row, 1)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(showticklabels=False)
    return style(fig, height=520, title=_breakdown_title(config), margin={"r": 110})


def family_table_figure(presets: Mapping[str, ModelConfig] = PRESETS) -> go.Figure:
    """A plotly table of :func:`family_rows`, with a ✓ where our count rounds to Table 1.

    Args:
      presets: Named configs.

    Returns:
      The table figure.
    """
    rows = family_rows(presets)
    header = [
        "preset",
        "layers",
        "heads",
        "key/value size",
        "d_model",
        "parameters (ours)",
        "as Table 1 rounds",
        "Table 1",
        "training FLOPs / token",
        "300B-token compute",
    ]
    columns = [
        [r["preset"] for r in rows],
        [r["n_layers"] for r in rows],
        [r["n_heads"] for r in rows],
        [r["d_head"] for r in rows],
        [f"{r['d_model']:,}" for r in rows],
        [f"{r['params']:,}" for r in rows],
        [r["label"] for r in rows],
        [r["table1"] + (" ✓" if r["table1"] == r["label"] else "") for r in rows],
        [f"{r['flops_per_token']:.3g}" for r in rows],
        [f"{r['training_flops']:.3g}" for r in rows],
    ]
    table = go.Table(
        columnwidth=[0.7, 0.6, 0.6, 0.8, 0.8, 1.6, 0.9, 0.9, 1.1, 1.1],
        header={"values": header, "fill_color": "#e8eef6", "align": "left"},
        cells={"values": columns, "align": "left", "height": 26},
    )
    return style(go.Figure(table), height=90 + 28 * len(rows), margin={"t": 30, "b": 10})


def family_figure(presets: Mapping[str, ModelConfig] = PRESETS) -> go.Figure:
    """Log-log scatter of training FLOPs per token against parameters, with the 6N line.

    Args:
      presets: Named configs.

    Returns:
      The figure.
    """
    rows = family_rows(presets)
    params = [r["params"] for r in rows]
    fig = go.Figure()
    line_x = [min(params) / 2, max(params) * 2]
    fig.add_trace(
        go.Scatter(
            x=line_x, y=[6 * x for x in line_x], mode="lines", name="6 × parameters",
            line={"dash": "dot", "color": "#888"},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=params,
            y=[r["flops_per_token"] for r in rows],
            mode="markers+text",
            text=[r["preset"] for r in rows],
            textposition="top left",
            name="presets (our count)",
            marker={"size": 10},
        )
    )
    fig.update_xaxes(type="log", title="parameters")
    fig.update_yaxes(type="log", title="training FLOPs per token")
    return style(fig, height=420, title="Training compute per token is about 6 × parameters")


def flops_share_figure(seq_len: int, presets: Mapping[str, ModelConfig] = PRESETS) -> go.Figure:
    """Stacked bars: each preset's training FLOPs per token split by component, in percent.

    Args:
      seq_len: The context length every preset is evaluated at.
      presets: Named configs.

    Returns:
      The figure, one trace per component label.
    """
    fig = go.Figure()
    for label, kind, shares in flops_shares(seq_len, presets):
        fig.add_trace(
            go.Bar(
                x=list(presets), y=shares, name=label,
                marker={"color": COMPONENT_COLORS[kind]},
            )
        )  # fmt: skip
    fig.update_yaxes(title="share of training FLOPs per token (%)", range=[0, 100])
    return style(
        fig, barmode="stack", height=420, title=f"Where the compute goes at context {seq_len:,}"
    )


class ArchitectureExplorer(Explorer):
    """Sliders for a model's shape, redrawing its parameter count, FLOPs, memory and breakdown.

    CSS classes (for tests and custom styling): the layer slider ``gl-layers-slider``, the
    parameter-count readout ``gl-param-count``, the other readouts ``gl-costs``, the figure
    ``gl-breakdown``, the whole explorer ``gl-architecture-explorer``.

    Attributes:
      sliders: ``n_layers``, ``d_model``, ``n_heads``, ``d_head``, ``vocab_size``,
        ``max_seq_len`` sliders.
      preset: Dropdown that loads a preset into the sliders.
      param_readout: HTML widget with the parameter count.
      cost_readout: HTML widget with FLOPs and memory.
      figure: The breakdown ``FigureWidget``.
      widget: The whole explorer.
    """

    D_MODELS = (64, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384,
                20480, 25600)  # fmt: skip
    D_HEADS = (16, 32, 64, 96, 128, 192, 256)
    VOCAB_SIZES = (256, 1024, 4096, 8192, 16000, 32000, 50257, 65536, 128000, 256000)
    CONTEXTS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)

    def __init__(self, preset: str = "44m") -> None:
        """Build the explorer starting from a preset.

        Args:
          preset: Key of ``PRESETS`` whose shape the sliders start at.
        """
        base = PRESETS[preset]
        wide = {"style": {"description_width": "130px"}, "layout": {"width": "430px"}}
        self.sliders: dict[str, widgets.ValueWidget] = {
            "n_layers": widgets.IntSlider(
                value=base.n_layers, min=1, max=128, description="layers (n_layers)", **wide
            ),
            "d_model": widgets.SelectionSlider(
                options=self.D_MODELS, value=base.d_model, description="width (d_model)", **wide
            ),
            "n_heads": widgets.IntSlider(
                value=base.n_heads, min=1, max=256, description="heads (n_heads)", **wide
            ),
            "d_head": widgets.SelectionSlider(
                options=self.D_HEADS, value=base.d_head, description="key/value size", **wide
            ),
            "vocab_size": widgets.SelectionSlider(
                options=self.VOCAB_SIZES, value=base.vocab_size, description="vocabulary", **wide
            ),
            "max_seq_len": widgets.SelectionSlider(
                options=self.CONTEXTS, value=base.max_seq_len, description="context", **wide
            ),
        }
        self.sliders["n_layers"].add_class("gl-layers-slider")
        self.preset = widgets.Dropdown(
            options=list(PRESETS), value=preset, description="start from preset", **wide
        )
        self.param_readout = widgets.HTML()
        self.param_readout.add_class("gl-param-count")
        self.cost_readout = widgets.HTML()
        self.cost_readout.add_class("gl-costs")
        self.figure = go.FigureWidget(breakdown_figure(base))
        self.figure.add_class("gl-breakdown")
        self._base = base
        self._loading_preset = False
        controls = widgets.VBox([self.preset, *self.sliders.values()], layout={"flex": "0 0 auto"})
        readouts = widgets.VBox(
            [self.param_readout, self.cost_readout], layout={"flex": "1 1 380px"}
        )
        top = widgets.HBox([controls, readouts], layout={"flex_flow": "row wrap"})
        self.widget = widgets.VBox([top, self.figure])
        self.widget.add_class("gl-architecture-explorer")
        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.update()

    @property
    def config(self) -> ModelConfig:
        """The config the sliders describe (other fields from the starting preset)."""
        values = {name: slider.value for name, slider in self.sliders.items()}
        return self._base.replace(**values, d_ff=4 * values["d_model"])

    def update(self) -> None:
        """Recompute the readouts and redraw the figure from the sliders."""
        config = self.config
        self.param_readout.value = _param_html(config)
        self.cost_readout.value = _costs_html(config)
        with self.figure.batch_update():
            for trace, parts in zip(
                self.figure.data,
                (param_breakdown(config), flops_breakdown(config)),
                strict=True,
            ):
                trace.update(_bar_data(parts))
            self.figure.layout.title.text = _breakdown_title(config)

    def static(self) -> list[go.Figure | str]:
        """The readouts and the breakdown figure for the current sliders, as static parts."""
        config = self.config
        return [_param_html(config) + _costs_html(config), breakdown_figure(config)]

    def _on_change(self, _change: object) -> None:
        if not self._loading_preset:
            self.update()

    def _on_preset(self, change: dict) -> None:
        self._base = PRESETS[change["new"]]
        self._loading_preset = True
        try:
            for name, slider in self.sliders.items():
                slider.value = getattr(self._base, name)
        finally:
            self._loading_preset = False
        self.update()


class FlopsShareExplorer(Explorer):
    """A context-length slider over the Gopher family's split of training FLOPs per token.

    Attributes:
      context: The context-length slider (CSS class ``gl-context-slider``).
      figure: The stacked-bar ``FigureWidget`` (CSS class ``gl-flops-share``).
      widget: The whole explorer.
    """

    def __init__(self, seq_len: int = 2048) -> None:
        """Build the explorer.

        Args:
          seq_len: Initial context length; one of ``ArchitectureExplorer.CONTEXTS``.
        """
        self.context = widgets.SelectionSlider(
            options=ArchitectureExplorer.CONTEXTS,
            value=seq_len,
            description="context length",
            style={"description_width": "120px"},
            layout={"width": "520px"},
        )
        self.context.add_class("gl-context-slider")
        self.figure = go.FigureWidget(flops_share_figure(seq_len))
        self.figure.add_class("gl-flops-share")
        self.widget = widgets.VBox([self.context, self.figure])
        self.context.observe(lambda _: self.update(), names="value")

    def update(self) -> None:
        """Redraw the bars for the slider's context length."""
        seq_len = self.context.value
        with self.figure.batch_update():
            for trace, (_, _, shares) in zip(
                self.figure.data, flops_shares(seq_len, PRESETS), strict=True
            ):
                trace.y = shares
            self.figure.layout.title.text = f"Where the compute goes at context {seq_len:,}"

    def static(self) -> list[go.Figure | str]:
        """The figure for the current context length."""
        return [flops_share_figure(self.context.value)]


def _bar_data(parts: list[Part]) -> dict[str, object]:
    """Bar trace fields for parts: values, labels, "12.3M (28%)" texts, component colours."""
    total = sum(part.value for part in parts)
    return {
        "x": [part.value for part in parts],
        "y": [part.label for part in parts],
        "text": [f"{format_count(part.value)} ({100 * part.value / total:.2g}%)" for part in parts],
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": [COMPONENT_COLORS[part.kind] for part in parts]},
    }


def _breakdown_title(config: ModelConfig) -> str:
    costs = cost_summary(config)
    return (
        f"{format_count(costs.params)} parameters · "
        f"{format_flops(costs.flops_per_token)} per training token"
    )


def _param_html(config: ModelConfig) -> str:
    n = cost_summary(config).params
    return (
        f'<div style="font-size: 1.3em"><b>Parameters:</b> '
        f'<span class="gl-param-value">{n:,}</span> (≈ {table1_label(n)})</div>'
    )


def _costs_html(config: ModelConfig) -> str:
    costs = cost_summary(config)
    rows = [
        ("non-embedding parameters", f"{costs.non_embedding_params:,}"),
        ("training FLOPs per token", f"{costs.flops_per_token:.3g}"),
        ("6 × parameters (rule of thumb)", f"{costs.six_n:.3g}"),
        ("FLOPs for 300B training tokens", f"{costs.training_flops:.3g}"),
        *((part.label, format_bytes(part.value)) for part in costs.memory),
        ("TPUv3 cores (16 GiB) for Gopher's state", f"{costs.tpu_v3_cores:,}"),
        (
            "n_heads × key/value size : d_model",
            f"{costs.attention_width:,} : {config.d_model:,}",
        ),
    ]
    return html_table(("quantity", "value"), rows)
