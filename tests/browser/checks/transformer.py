"""03: moving the attention explorer's query slider redraws the bars and the readout."""

from tests.browser.test_chapters_in_lab import TEXT_INCLUDES_JS, UI_TIMEOUT_MS

QUERY_STEPS = 5  # arrow-key presses to the left on the query slider


def check(page, shots):
    explorer = page.locator(".gl-attn-explorer")
    explorer.scroll_into_view_if_needed()
    title = ".gl-attn-figure .main-svg .gtitle"
    page.locator(title).first.wait_for(timeout=UI_TIMEOUT_MS)
    title_before = page.locator(title).first.text_content()
    readout_before = page.locator(".gl-attn-readout").inner_text()
    bars = ".gl-attn-figure .main-svg .bars path"
    heights_before = [page.locator(bars).nth(i).get_attribute("d") for i in range(3)]
    explorer.screenshot(path=shots / "3-attention-before.png")

    page.locator(".gl-attn-query .noUi-handle").focus()
    for _ in range(QUERY_STEPS):
        page.keyboard.press("ArrowLeft")
    # The slider starts at the last token; five presses later the readout names another query.
    page.wait_for_function(
        """([selector, before]) => {
          const node = document.querySelector(selector);
          return node !== null && node.textContent !== before;
        }""",
        arg=[title, title_before],
        timeout=UI_TIMEOUT_MS,
    )
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[".gl-attn-readout", "sees keys 0"],
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    explorer.screenshot(path=shots / "4-attention-after.png")
    assert page.locator(".gl-attn-readout").inner_text() != readout_before
    heights_after = [page.locator(bars).nth(i).get_attribute("d") for i in range(3)]
    assert heights_after != heights_before
