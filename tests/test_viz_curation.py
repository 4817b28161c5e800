"""Chapter 01's threshold explorer: its decisions are `quality_failures`' and
`repetition_failures`', and moving a slider redraws the bars, the title and the readout."""

from gopherlite.data.corpus import Document
from gopherlite.data.filters import QualityRules, quality_failures, repetition_failures
from gopherlite.workbook.experiments.curation import junk_mix
from gopherlite.workbook.viz import curation as cviz
from gopherlite.workbook.viz.common import static_html
from tests.curation_docs import clean_prose

# A letter-poor real-looking document: prose followed by a table of distinct numbers.
CODEY = clean_prose(1)[0] + " " + " ".join(str(n) for n in range(1000, 1060))


def _documents():
    real = [Document(f"topic:prose{i}", t) for i, t in enumerate(clean_prose(4))]
    real.append(Document("module:codey", CODEY))
    return junk_mix(real, share=0.9, seed=2)  # every kind of junk, one or two of each


def test_explorer_decisions_are_quality_failures():
    docs = _documents()
    explorer = cviz.ThresholdExplorer(docs)
    outcome = explorer.outcome()
    assert outcome.failures == [quality_failures(d.text) for d in docs]
    assert outcome.repetition == [repetition_failures(d.text) for d in docs]
    assert outcome.kept == [not quality_failures(d.text) and not repetition_failures(d.text)
                            for d in docs]  # fmt: skip
    assert outcome.kept_bytes["junk: repeated paragraphs"] == 0  # removed by repetition
    assert outcome.repetition_bytes["junk: repeated paragraphs"] > 0
    explorer.alpha.value = 0.3
    relaxed = QualityRules(min_alphabetic_words=0.3)
    assert explorer.outcome().failures == [quality_failures(d.text, relaxed) for d in docs]


def test_moving_a_slider_redraws_the_figure_and_the_readout():
    explorer = cviz.ThresholdExplorer(_documents())
    kept_before = list(explorer.figure.data[0].x)
    title_before = explorer.figure.layout.title.text
    readout_before = explorer.readout.value
    assert "alphabetic words ≥ 0.80" in title_before and "Kept" in readout_before
    kept = [d.name for d, k in zip(explorer.documents, explorer.outcome().kept, strict=True) if k]
    assert "module:codey" not in kept
    explorer.alpha.value = 0.3  # the letter-poor document comes back
    kept = [d.name for d, k in zip(explorer.documents, explorer.outcome().kept, strict=True) if k]
    assert "module:codey" in kept
    assert "alphabetic words ≥ 0.30" in explorer.figure.layout.title.text
    assert list(explorer.figure.data[0].x) != kept_before
    assert explorer.readout.value != readout_before
    assert sum(explorer.figure.data[0].x) == explorer.outcome().bytes_kept
    explorer.min_words.value = 300  # every short document goes
    assert sum(explorer.figure.data[0].x) == explorer.outcome().bytes_kept
    assert sum(explorer.figure.data[1].x) > 0 and len(explorer.figure.data) == 3
    assert "words ≥ 300" in explorer.figure.layout.title.text


def test_static_fallback_has_the_readout_and_the_figure():
    explorer = cviz.ThresholdExplorer(_documents())
    html = static_html(explorer.static())
    assert "Kept" in html and "plotly" in html.lower()
    assert {"gl-threshold-explorer"} <= set(explorer.widget._dom_classes)
    assert "gl-threshold-readout" in explorer.readout._dom_classes
