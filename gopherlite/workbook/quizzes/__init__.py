"""Chapter quizzes, one module per chapter, each defining ``QUIZ`` (a `workbook.quiz.Quiz`).

Kept out of the notebooks so that the cell showing a quiz does not give the answers away;
load one with ``gopherlite.workbook.quiz.load("welcome")``.
"""
