"""Documents for the curation tests: the embedded corpus (real text), planted junk and clean
prose.

The junk generator lives in the workbook (`gopherlite.workbook.experiments.curation`, which
chapter 01 uses); it is re-exported here so the tests and the chapter share one copy. It makes
junk deterministically in the shapes Gopher's rules were written against: snippets too short to
be documents, navigation boilerplate, bullet lists, ellipsis teasers, hashtag spam, number
tables, keyword stuffing, repeated paragraphs and unbroken strings.
"""

from gopherlite.data.corpus import default_documents
from gopherlite.workbook.experiments.curation import junk_documents, near_copy

__all__ = ["clean_prose", "junk_documents", "near_copy", "real_documents"]


def real_documents() -> list[str]:
    """The embedded corpus, both splits: real (if code-heavy) text."""
    return [doc.text for doc in default_documents("train") + default_documents("heldout")]


PROSE = (
    "The old mill by the river stopped turning in the spring of 1931, when the last family "
    "that owned it sold the land to the county. For a decade the wheel rusted in place. Then a "
    "group of volunteers, most of them retired teachers, cleared the channel, rebuilt the "
    "gears from drawings found in a cellar, and opened the mill to visitors on weekends.",
    "Bees do not see red, but they see ultraviolet light, which many flowers use to draw "
    "patterns that are invisible to us. A petal that looks plain yellow to a gardener may carry "
    "dark stripes for a bee, pointing towards the nectar. Researchers photograph flowers through "
    "special filters to reveal these guides and to compare them across related species.",
    "Our recipe for a simple loaf needs only flour, water, salt and a little yeast. Mix them "
    "into a rough dough, leave it covered overnight in a cool kitchen, and fold it gently the "
    "next morning. Bake it in a very hot oven inside a heavy pot with a lid, and remove the lid "
    "for the last twenty minutes so that the crust can darken.",
    "The council has approved a plan to widen the cycle lanes on the main road through the town "
    "centre. Shop owners were divided at the public meeting: some feared that fewer parking "
    "spaces would keep customers away, while others pointed to a survey showing that most of "
    "their trade comes from people who walk or ride to the high street.",
    "Glaciers move because ice, under its own weight, slowly deforms like a very thick liquid. "
    "Near the surface it is brittle and cracks into crevasses, but deeper down it flows. A "
    "glacier also slides over its bed when meltwater collects beneath it, which is why some "
    "glaciers speed up during warm summers and slow down again in the winter.",
    "When the orchestra toured the northern provinces, the musicians travelled by train with "
    "their instruments in the luggage car. The cellists refused to be parted from theirs and "
    "bought extra seats. In every town the hall was full, and in one small city the mayor asked "
    "for a second concert that was played the next afternoon in a school gymnasium.",
    "A good map tells you what it leaves out. Road atlases drop footpaths, walking maps drop "
    "most buildings, and subway diagrams bend the real geography so that lines and stations can "
    "be read at a glance. The trick of the designer is to decide which truths the reader needs "
    "and to sacrifice the rest without hiding that choice.",
    "Volunteers counted two hundred and forty species of birds in the wetland over the year, "
    "more than in any survey since records began. The reed beds planted five years ago now "
    "shelter warblers in the summer, and the deeper pools that were dug last autumn have "
    "attracted ducks and herons that had not been seen there for a generation.",
)


def clean_prose(n: int = len(PROSE)) -> list[str]:
    """Ordinary, hand-written paragraphs on unrelated topics that every rule should keep."""
    if n > len(PROSE):
        raise ValueError(f"only {len(PROSE)} prose documents")
    return list(PROSE[:n])
