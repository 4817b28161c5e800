"""Chapter 08's pieces: a live loss plot, a sampling playground and a small scaling law.

* `LiveLossPlot` is a plotly ``FigureWidget`` whose `LiveLossPlot.callback` goes into
  ``train(..., callbacks=...)``: every logged record appends a point while training runs. After
  the run, `LiveLossPlot.finish` refreshes the static fallback with the whole curve.
* `SamplingPlayground` continues a prompt with a trained model; a prompt box and sliders for
  temperature, top-p, length and seed redraw the continuation.
* `scaling_figure` draws losses of models of different sizes and the power law
  ``L(N) = a · N^(−α) + c`` fitted by `gopherlite.workbook.experiments.scaling.fit_power_law`
  on log axes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from IPython.display import display

from gopherlite.data.tokenizer import Tokenizer
from gopherlite.nn import GopherLM
from gopherlite.sample import generate
from gopherlite.workbook.experiments.scaling import PowerLawFit
from gopherlite.workbook.viz.common import (
    PALETTE,
    Explorer,
    WithFallback,
    format_count,
    static_html,
    style,
)


class LiveLossPlot(Explorer):
    """A loss curve that grows while a model trains.

    Pass `callback` to ``train``/``train_run`` (with ``progress=False``: the plot has its own
    progress bar, which unlike tqdm's has a static fallback); call :meth:`show` before training
    and :meth:`finish` after it. CSS classes: the figure ``gl-live-loss``, the progress bar
    ``gl-live-progress``.

    Attributes:
      figure: The ``FigureWidget``; trace 0 is the training loss, trace 1 the held-out loss.
      progress: Progress bar, from step 0 to ``total_steps``.
      status: The latest step, loss and bits per byte.
      widget: The progress bar, the status line and the figure.
    """

    def __init__(self, total_steps: int, title: str = "Training loss") -> None:
        """Build an empty plot.

        Args:
          total_steps: Steps of the whole run (the progress bar's end).
          title: The figure's title.
        """
        self.title = title
        self.figure = go.FigureWidget(self._empty_figure())
        self.figure.add_class("gl-live-loss")
        self.progress = widgets.IntProgress(value=0, min=0, max=total_steps, description="train")
        self.progress.add_class("gl-live-progress")
        self.status = widgets.HTML("waiting for the first logged step…")
        self.widget = widgets.VBox([widgets.HBox([self.progress, self.status]), self.figure])
        self._handle: Any = None

    def _empty_figure(self) -> go.Figure:
        fig = go.Figure(
            [
                go.Scatter(x=[], y=[], mode="lines+markers", name="training loss"),
                go.Scatter(x=[], y=[], mode="markers", name="held-out loss"),
            ]
        )
        return style(
            fig, title=self.title, xaxis_title="step", yaxis_title="loss (nats/token)", height=360
        )

    def callback(self, record: Mapping[str, Any]) -> None:
        """Append one logged record (``step``, ``loss``, optionally ``eval_loss``).

        Args:
          record: A metrics record from ``train``.
        """
        train_trace, eval_trace = self.figure.data
        with self.figure.batch_update():
            train_trace.x = (*train_trace.x, record["step"])
            train_trace.y = (*train_trace.y, record["loss"])
            if record.get("eval_loss") is not None:
                eval_trace.x = (*eval_trace.x, record["step"])
                eval_trace.y = (*eval_trace.y, record["eval_loss"])
        self.progress.value = record["step"]
        self.status.value = (
            f"step {record['step']} of {self.progress.max}: loss {record['loss']:.3f} nats/token, "
            f"{record.get('bits_per_byte', float('nan')):.3f} bits/byte"
        )

    def static(self) -> list[go.Figure | str]:
        """The status line and the curve so far."""
        return [f"<p>{self.status.value}</p>", go.Figure(self.figure)]

    def show(self) -> None:
        """Display the plot; :meth:`finish` later refreshes its static fallback."""
        self._handle = display(
            WithFallback(self.widget, static_html(self.static())), display_id=True
        )

    def finish(self) -> None:
        """Redraw the displayed output so its static fallback holds the whole curve."""
        if self._handle is not None:
            self._handle.update(WithFallback(self.widget, static_html(self.static())))


class SamplingPlayground(Explorer):
    """Continue a prompt with a trained model; widgets set the prompt and the sampling rule.

    CSS classes: the prompt ``gl-sample-prompt``, the temperature slider
    ``gl-sample-temperature``, the top-p slider ``gl-sample-top-p``, the output
    ``gl-sample-output``.

    Attributes:
      prompt: Text box.
      temperature: Softmax temperature slider (0 is greedy).
      top_p: Nucleus mass slider (1 turns it off; Gopher's dialogue agent used 0.8).
      max_new_tokens: Continuation length slider.
      seed: Sampling seed.
      output: The prompt and its continuation.
      widget: The whole playground.
    """

    def __init__(
        self,
        model: GopherLM,
        tokenizer: Tokenizer,
        prompt: str = "The",
        *,
        temperature: float = 0.8,
        top_p: float = 0.8,
        max_new_tokens: int = 24,
    ) -> None:
        """Build the playground and draw a first continuation.

        Args:
          model: The language model.
          tokenizer: Its tokenizer.
          prompt: Initial prompt.
          temperature: Initial temperature.
          top_p: Initial top-p.
          max_new_tokens: Initial continuation length.
        """
        self.model, self.tokenizer = model, tokenizer
        self.prompt = widgets.Text(value=prompt, description="prompt", continuous_update=False)
        self.prompt.add_class("gl-sample-prompt")
        self.temperature = widgets.FloatSlider(
            value=temperature,
            min=0.0,
            max=2.0,
            step=0.1,
            description="temperature",
            continuous_update=False,
        )
        self.temperature.add_class("gl-sample-temperature")
        self.top_p = widgets.FloatSlider(
            value=top_p, min=0.1, max=1.0, step=0.05, description="top-p", continuous_update=False
        )
        self.top_p.add_class("gl-sample-top-p")
        self.max_new_tokens = widgets.IntSlider(
            value=max_new_tokens, min=1, max=64, description="new tokens", continuous_update=False
        )
        self.seed = widgets.IntText(value=0, description="seed")
        self.output = widgets.HTML()
        self.output.add_class("gl-sample-output")
        controls = [self.prompt, self.temperature, self.top_p, self.max_new_tokens, self.seed]
        self.widget = widgets.VBox([*controls, self.output])
        for control in controls:
            control.observe(lambda _: self.update(), names="value")
        self.update()

    def continuation(self) -> str:
        """The continuation of the current prompt under the current settings.

        Returns:
          The decoded new tokens only (`generate` returns no prompt tokens).
        """
        prompt_ids = self.tokenizer.encode(self.prompt.value) or [self.tokenizer.bos_id]
        max_len = self.model.config.max_seq_len
        prompt_ids = prompt_ids[-(max_len - self.max_new_tokens.value) :]
        new_ids = generate(
            self.model,
            prompt_ids,
            self.max_new_tokens.value,
            temperature=self.temperature.value,
            top_p=self.top_p.value,
            seed=self.seed.value,
        )
        return self.tokenizer.decode(new_ids)

    def update(self) -> None:
        """Sample again and redraw the output."""
        self.output.value = sample_html(self.prompt.value, self.continuation())

    def static(self) -> list[go.Figure | str]:
        """The settings and the current continuation."""
        settings = (
            f"<p>temperature {self.temperature.value:.1f}, top-p {self.top_p.value:.2f}, "
            f"{self.max_new_tokens.value} new tokens, seed {self.seed.value}</p>"
        )
        return [settings, self.output.value]


def sample_html(prompt: str, continuation: str) -> str:
    """A prompt in bold followed by its continuation, whitespace kept.

    Args:
      prompt: The prompt text.
      continuation: The generated text.

    Returns:
      A ``<pre>`` element.
    """
    return (
        '<pre style="white-space: pre-wrap">'
        f"<b>{html.escape(prompt)}</b>{html.escape(continuation)}</pre>"
    )


def scaling_figure(
    n_N: Sequence[float] | np.ndarray,
    loss_N: Sequence[float] | np.ndarray,
    labels: Sequence[str],
    fit: PowerLawFit | None = None,
) -> go.Figure:
    """Loss against parameters on log axes, with an optional fitted power law.

    Args:
      n_N: Parameter counts.
      loss_N: Losses.
      labels: One label per model (e.g. ``"d_model 64"``).
      fit: A fit to draw as a line across the measured range.

    Returns:
      The figure.
    """
    n_N, loss_N = np.asarray(n_N, np.float64), np.asarray(loss_N, np.float64)
    fig = go.Figure(
        go.Scatter(
            x=n_N,
            y=loss_N,
            mode="markers+text",
            text=list(labels),
            textposition="top center",
            marker={"size": 11, "color": PALETTE[0]},
            name="measured",
            hovertemplate="%{text}<br>N = %{x:,.0f}<br>loss %{y:.3f}<extra></extra>",
        )
    )
    if fit is not None:
        grid_G = np.geomspace(n_N.min() / 1.5, n_N.max() * 1.5, 50)
        fig.add_trace(
            go.Scatter(
                x=grid_G,
                y=fit.predict(grid_G),
                mode="lines",
                line={"dash": "dash", "color": PALETTE[1]},
                name=str(fit),
            )
        )
    low, high = n_N.min(), n_N.max()
    return style(
        fig,
        title=f"Held-out loss against size ({format_count(low)} to {format_count(high)} params)",
        xaxis={"type": "log", "title": "parameters N (non-embedding)"},
        yaxis={"type": "log", "title": "held-out loss (nats/token)"},
        legend={"orientation": "h", "y": -0.25},
        height=420,
    )
