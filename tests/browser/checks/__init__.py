"""Per-chapter widget checks for the browser tier: ``<name>.py`` holds ``check(page, shots)``
for chapter ``NN_<name>`` (see `tests.browser.test_chapters_in_lab.chapter_check`). Shared
JavaScript predicates and timeouts live in `tests.browser.test_chapters_in_lab`.
"""
