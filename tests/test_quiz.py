"""`workbook.quiz`: validation, the click-to-explain widget, the static rendering, and the
chapter quizzes in `gopherlite.workbook.quizzes`."""

import pkgutil

import pytest

import gopherlite.workbook.quizzes
from gopherlite.workbook import quiz
from gopherlite.workbook.quiz import Option, Question, Quiz
from gopherlite.workbook.viz import common

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _question():
    return Question(
        "Which `norm` has no mean term?",
        [
            Option("LayerNorm", False, "It subtracts the mean."),
            Option("RMSNorm", True, "It divides by the root mean square only."),
            Option("x < y & z", False, "Markup must be escaped."),
        ],
    )


def test_option_needs_text_and_a_reason():
    with pytest.raises(ValueError, match="why"):
        Option("A", False, "  ")
    with pytest.raises(ValueError, match="text"):
        Option("", True, "reason")
    with pytest.raises(TypeError, match="bool"):
        Option("A", 1, "reason")


def test_question_validation():
    right, wrong = Option("a", True, "why a"), Option("b", False, "why b")
    with pytest.raises(ValueError, match="at least two"):
        Question("q", [right])
    with pytest.raises(ValueError, match="exactly one correct option, found 0"):
        Question("q", [wrong, Option("c", False, "why c")])
    with pytest.raises(ValueError, match="exactly one correct option, found 2"):
        Question("q", [right, Option("c", True, "why c")])
    with pytest.raises(ValueError, match="repeated"):
        Question("q", [right, Option("a", False, "again")])
    with pytest.raises(ValueError, match="prompt"):
        Question(" ", [right, wrong])
    question = Question("q", [wrong, right])
    assert question.options == (wrong, right) and question.answer == 1


def test_quiz_needs_questions():
    with pytest.raises(ValueError, match="at least one question"):
        Quiz("title", [])


def test_static_html_hides_the_answer_and_every_reason_in_details():
    html = Quiz("Norms", [_question()]).to_html()
    details = html[html.index("<details>") : html.index("</details>")]
    assert "Answer: <b>B</b>" in details
    for reason in ("It subtracts the mean.", "root mean square", "Markup must be escaped."):
        assert reason in details
        assert reason not in html.replace(details, "")
    assert "<code>norm</code>" in html
    assert "x &lt; y &amp; z" in html and "x < y" not in html


def test_clicks_show_the_reason_and_colour_the_button():
    widget = Quiz("Norms", [_question()]).widget()
    buttons = widget.buttons[0]
    assert [b.description for b in buttons] == ["A", "B", "C"]
    assert widget.feedback[0].value == ""
    buttons[0].click()
    assert "Not quite" in widget.feedback[0].value
    assert "It subtracts the mean." in widget.feedback[0].value
    assert [b.button_style for b in buttons] == ["danger", "", ""]
    buttons[1].click()
    assert "Correct" in widget.feedback[0].value and "root mean square" in widget.feedback[0].value
    assert [b.button_style for b in buttons] == ["", "success", ""]
    assert "0 of 1 answered" in widget.score.value  # only the first attempt counts


def test_score_counts_first_attempts():
    widget = Quiz("Two", [_question(), _question()]).widget()
    widget.buttons[0][1].click()
    widget.buttons[1][0].click()
    assert "1 of 2 answered" in widget.score.value


def test_show_sends_the_widget_with_the_static_html_as_fallback(monkeypatch):
    shown = []
    monkeypatch.setattr(common, "display", shown.append)
    chapter_quiz = Quiz("Norms", [_question()])
    chapter_quiz.show()
    bundle = shown[0]._repr_mimebundle_()
    assert WIDGET_MIME in bundle
    assert bundle["text/html"] == chapter_quiz.to_html()


def test_every_chapter_quiz_loads_with_at_least_four_questions():
    names = [m.name for m in pkgutil.iter_modules(gopherlite.workbook.quizzes.__path__)]
    assert {"welcome", "tokenization"} <= set(names)
    for name in names:
        chapter_quiz = quiz.load(name)
        assert isinstance(chapter_quiz, Quiz)
        assert len(chapter_quiz.questions) >= 4, name
        for question in chapter_quiz.questions:
            assert len(question.options) >= 3, question.prompt
        answers = {question.answer for question in chapter_quiz.questions}
        assert len(answers) > 1, f"{name}: the right answer is always option {answers.pop()}"


# Every chapter's quiz follows the sample question's form; a new quiz module is picked up here.
SAMPLE_FORM_QUIZZES = tuple(
    sorted(m.name for m in pkgutil.iter_modules(gopherlite.workbook.quizzes.__path__))
)


def test_every_chapter_has_a_sample_form_quiz():
    assert len(SAMPLE_FORM_QUIZZES) == 11 and "evaluation" in SAMPLE_FORM_QUIZZES


@pytest.mark.parametrize("name", SAMPLE_FORM_QUIZZES)
def test_quiz_follows_the_sample_questions_form(name):
    """A scenario, five options with a reason each, one right, and the right one not the longest
    in more than a third of the items."""
    chapter_quiz = quiz.load(name)
    assert len(chapter_quiz.questions) >= 6
    longest_is_right = 0
    for question in chapter_quiz.questions:
        assert len(question.options) == 5, question.prompt
        assert all(len(option.why) > 40 for option in question.options), question.prompt
        lengths = [len(option.text) for option in question.options]
        longest_is_right += lengths.index(max(lengths)) == question.answer
    assert longest_is_right <= len(chapter_quiz.questions) / 3, name
