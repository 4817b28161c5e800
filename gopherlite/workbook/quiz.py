"""Multiple-choice "check your understanding" quizzes with a reason for every option.

A :class:`Quiz` is a title and some :class:`Question` s; each question has options, exactly one
of them correct, and every option says *why* it is right or wrong: a wrong answer teaches as
much as a right one. :meth:`Quiz.show` displays one output with two renderings (see
``gopherlite.workbook.viz.common.show``):

* in a live notebook, a widget: one button per option; a click marks the option right or
  wrong and shows that option's reason, and a score line counts first attempts;
* where widgets cannot be drawn (an HTML export, a notebook run headless), :meth:`Quiz.to_html`:
  the questions with the answer and all reasons inside a collapsed ``<details>`` block.

Chapter quizzes live in ``gopherlite.workbook.quizzes`` (one module per chapter, each defining
``QUIZ``), so the notebook cell that shows a quiz does not spoil its answers. In option and
prompt text, spans in backticks are shown as code.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import re
import string

import ipywidgets as widgets

from gopherlite.workbook.viz import common

_LETTERS = string.ascii_uppercase
_CODE_SPAN = re.compile(r"`([^`]+)`")


@dataclasses.dataclass(frozen=True)
class Option:
    """One answer to a question.

    Attributes:
      text: The answer as the learner sees it.
      correct: Whether it is the right answer.
      why: Why it is right or wrong; shown after the learner picks it.
    """

    text: str
    correct: bool
    why: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("Option.text must not be empty.")
        if not isinstance(self.correct, bool):
            raise TypeError(f"Option.correct must be a bool, got {self.correct!r}.")
        if not self.why.strip():
            raise ValueError(f"Option {self.text!r} needs a non-empty `why`.")


@dataclasses.dataclass(frozen=True)
class Question:
    """A prompt and its options, exactly one of them correct.

    Attributes:
      prompt: The question.
      options: At least two options (a list or tuple) with distinct texts, exactly one
        correct. Construction raises ValueError otherwise.
    """

    prompt: str
    options: tuple[Option, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))  # accept a list, store a tuple
        if not self.prompt.strip():
            raise ValueError("Question.prompt must not be empty.")
        if len(self.options) < 2:
            raise ValueError(f"Question {self.prompt!r} needs at least two options.")
        if not all(isinstance(option, Option) for option in self.options):
            raise TypeError(f"Question {self.prompt!r}: every option must be an Option.")
        if len({option.text for option in self.options}) != len(self.options):
            raise ValueError(f"Question {self.prompt!r} has repeated option texts.")
        n_correct = sum(option.correct for option in self.options)
        if n_correct != 1:
            raise ValueError(
                f"Question {self.prompt!r} must have exactly one correct option, found {n_correct}."
            )

    @property
    def answer(self) -> int:
        """Index of the correct option."""
        return next(i for i, option in enumerate(self.options) if option.correct)


class Quiz:
    """A titled list of questions that renders as a widget or as static HTML."""

    def __init__(self, title: str, questions: list[Question]) -> None:
        """Store a quiz.

        Args:
          title: Shown above the questions.
          questions: At least one question.

        Raises:
          ValueError: No questions or an empty title.
        """
        if not title.strip():
            raise ValueError("Quiz.title must not be empty.")
        if not questions:
            raise ValueError(f"Quiz {title!r} needs at least one question.")
        self.title = title
        self.questions = tuple(questions)

    def widget(self) -> QuizWidget:
        """A fresh interactive widget for this quiz (see :class:`QuizWidget`)."""
        return QuizWidget(self)

    def to_html(self) -> str:
        """Static rendering: each question, its options, and a collapsed answer block.

        Returns:
          An HTML fragment; the answer and every option's reason sit inside ``<details>``.
        """
        items = []
        for question in self.questions:
            options = "".join(f"<li>{_inline(option.text)}</li>" for option in question.options)
            reasons = "".join(
                f"<li><b>{_LETTERS[i]}</b> — {'Correct' if option.correct else 'Wrong'}: "
                f"{_inline(option.why)}</li>"
                for i, option in enumerate(question.options)
            )
            items.append(
                f"<li><p>{_inline(question.prompt)}</p>"
                f'<ol type="A">{options}</ol>'
                f"<details><summary>Show the answer</summary>"
                f"<p>Answer: <b>{_LETTERS[question.answer]}</b></p><ul>{reasons}</ul>"
                f"</details></li>"
            )
        return (
            f'<div class="gl-quiz"><h4>{html.escape(self.title)}</h4>'
            f"<ol>{''.join(items)}</ol></div>"
        )

    def show(self) -> None:
        """Display the quiz: the widget where a frontend draws widgets, else :meth:`to_html`."""
        common.show(self.widget().box, self.to_html())


class QuizWidget:
    """The interactive form of a :class:`Quiz`.

    Attributes:
      box: The top-level widget (CSS class ``gl-quiz``).
      buttons: Per question, one button per option (labelled A, B, C...).
      feedback: Per question, the HTML widget that shows the reason for the last click.
      score: The HTML widget with the running score of first attempts.
    """

    def __init__(self, quiz: Quiz) -> None:
        """Build the widgets.

        Args:
          quiz: The quiz to show.
        """
        self.quiz = quiz
        self.first_attempt: list[bool | None] = [None] * len(quiz.questions)
        self.buttons: list[list[widgets.Button]] = []
        self.feedback: list[widgets.HTML] = []
        self.score = widgets.HTML()
        rows: list[widgets.Widget] = [widgets.HTML(f"<h4>{html.escape(quiz.title)}</h4>")]
        for q_index, question in enumerate(quiz.questions):
            rows.append(widgets.HTML(f"<p><b>{q_index + 1}.</b> {_inline(question.prompt)}</p>"))
            buttons = []
            for o_index, option in enumerate(question.options):
                button = widgets.Button(
                    description=_LETTERS[o_index],
                    tooltip=f"Choose {_LETTERS[o_index]}",
                    layout=widgets.Layout(width="3em", min_width="3em"),
                )
                button.on_click(lambda _, q=q_index, o=o_index: self.choose(q, o))
                buttons.append(button)
                label = widgets.HTML(_inline(option.text), layout=widgets.Layout(width="auto"))
                rows.append(widgets.HBox([button, label]))
            feedback = widgets.HTML()
            rows.append(feedback)
            self.buttons.append(buttons)
            self.feedback.append(feedback)
        rows.append(self.score)
        self.box = widgets.VBox(rows)
        self.box.add_class("gl-quiz")
        self._update_score()

    def choose(self, q_index: int, o_index: int) -> None:
        """React to a click: colour the button and show the option's reason.

        Args:
          q_index: Question index.
          o_index: Option index within the question.
        """
        option = self.quiz.questions[q_index].options[o_index]
        if self.first_attempt[q_index] is None:
            self.first_attempt[q_index] = option.correct
        for i, button in enumerate(self.buttons[q_index]):
            button.button_style = (
                ("success" if option.correct else "danger") if i == o_index else ""
            )
        verdict = "✓ Correct." if option.correct else "✗ Not quite."
        color = "#1b7a3d" if option.correct else "#b3261e"
        self.feedback[q_index].value = (
            f'<div style="border-left: 4px solid {color}; padding-left: 8px; margin: 4px 0 12px">'
            f"<b>{_LETTERS[o_index]}: {verdict}</b> {_inline(option.why)}</div>"
        )
        self._update_score()

    def _update_score(self) -> None:
        answered = [a for a in self.first_attempt if a is not None]
        self.score.value = (
            f"<p><i>Right on the first try: {sum(answered)} of {len(answered)} answered "
            f"({len(self.quiz.questions)} questions).</i></p>"
        )


def load(name: str) -> Quiz:
    """Load a chapter's quiz from ``gopherlite.workbook.quizzes``.

    Args:
      name: Module name inside ``gopherlite.workbook.quizzes``, e.g. ``"welcome"``.

    Returns:
      The module's ``QUIZ``.
    """
    return importlib.import_module(f"gopherlite.workbook.quizzes.{name}").QUIZ


def _inline(text: str) -> str:
    """Escape text for HTML and show `backticked` spans as code."""
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))
