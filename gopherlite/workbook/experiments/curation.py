"""Planted junk and the with/without-junk training experiment (ch. 01, MassiveText).

Gopher's quality and repetition rules (G App. A.1.1, Table A1) were written against the junk
of the web: snippets too short to be documents, navigation boilerplate, bullet lists, ellipsis
teasers, hashtag spam, number tables, keyword stuffing, repeated paragraphs, unbroken strings
and near copies of other pages. The embedded corpus has none of that, so this module plants it:

* `junk_documents(seed, per_kind)`: deterministic junk of nine kinds, each made to trip one
  rule (the tests check which).
* `near_copy(text, rng, every)`: a document with one word in ``every`` replaced.
* `junk_mix(documents, share, seed)`: real documents with junk and near copies added until
  the junk holds ``share`` of the UTF-8 bytes, shuffled deterministically.
* `filter_outcome(documents, rules)`: what the quality rules at given thresholds (and the
  repetition rules) keep and remove, in bytes per group of documents (the threshold explorer
  draws it).
* `MASSIVETEXT`, `epochs`: MassiveText's subsets (G Table 2, C Table A1) and how many passes a
  run's tokens make over each at given sampling proportions.
* `train_and_score(corpora, heldout, ...)`: the same tiny model trained for the same steps on
  each corpus and scored in bits per byte on the same held-out texts.
"""

from __future__ import annotations

import collections
import dataclasses
import random
from collections.abc import Mapping, Sequence

from gopherlite.config import ModelConfig
from gopherlite.data.batches import pack, pack_documents, tokenize_documents
from gopherlite.data.corpus import Document
from gopherlite.data.filters import QualityRules, quality_failures
from gopherlite.data.pipeline import TextData
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.evaluate import evaluate
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.variants import train_variants

SENTENCES: tuple[str, ...] = (
    "The committee met on Tuesday to discuss the budget for the coming year.",
    "Several members argued that the library should open longer in the evening.",
    "A local bakery has won a prize for the bread it makes with rye from nearby farms.",
    "Rain is expected over the weekend, with strong winds along the coast.",
    "The museum will show a collection of maps that have never been displayed.",
    "Students who want to take part should write to the school office by Friday.",
    "Engineers found that the bridge needs new cables before the winter.",
    "The orchestra played a programme of music by composers from three countries.",
)
JUNK_KINDS: tuple[str, ...] = (
    "short snippet",
    "navigation boilerplate",
    "bullet list",
    "ellipsis teasers",
    "hashtag spam",
    "number table",
    "keyword stuffing",
    "repeated paragraphs",
    "unbroken strings",
)
NEAR_COPY = "near copy"
JUNK_PREFIX = "junk:"


def _prose(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(n))


def _unbroken(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    strings = (
        "".join(rng.choices(letters, k=rng.randint(14, 30))) for _ in range(rng.randint(60, 120))
    )
    return " ".join(strings) + " the and of to"


def junk_documents(seed: int = 0, per_kind: int = 8) -> dict[str, list[str]]:
    """Planted junk by kind (`JUNK_KINDS`), ``per_kind`` documents each.

    Each kind is shaped to fail one of Gopher's rules (G App. A.1.1 and Table A1): short
    snippets the word count, boilerplate and repeated paragraphs the repetition rules, bullet
    lists, ellipsis teasers and hashtag spam their line and symbol rules, number tables the
    alphabetic-word rule, keyword stuffing the top n-gram rule, unbroken strings the mean word
    length.

    Args:
      seed: Seed of the random choices.
      per_kind: Documents per kind.

    Returns:
      Kind → documents.
    """
    rng = random.Random(seed)
    kinds: dict[str, list[str]] = {kind: [] for kind in JUNK_KINDS}
    tags = [f"#{w}" for w in ("deal", "sale", "win", "free", "now", "love", "best", "new")]
    for _ in range(per_kind):
        kinds["short snippet"].append(_prose(rng, rng.randint(1, 3)))
        menu = " | ".join(rng.sample(["Home", "About", "Contact", "Shop", "Blog", "Login"], 5))
        kinds["navigation boilerplate"].append(
            "\n".join([menu] * rng.randint(20, 40) + [_prose(rng, 3)])
        )
        kinds["bullet list"].append(
            "\n".join(f"- {rng.choice(SENTENCES)}" for _ in range(rng.randint(30, 60)))
        )
        kinds["ellipsis teasers"].append(
            "\n".join(f"{rng.choice(SENTENCES)[:-1]} ..." for _ in range(rng.randint(20, 40)))
        )
        kinds["hashtag spam"].append(
            _prose(rng, 4) + " " + " ".join(rng.choice(tags) for _ in range(rng.randint(40, 80)))
        )
        kinds["number table"].append(
            "\n".join(
                " ".join(str(rng.randint(0, 9999)) for _ in range(8))
                for _ in range(rng.randint(15, 30))
            )
        )
        phrase = rng.choice(["cheap shoes online", "best price deal", "buy now and save"])
        kinds["keyword stuffing"].append(
            _prose(rng, 2) + " " + " ".join([phrase] * rng.randint(30, 60))
        )
        paragraph = _prose(rng, 4)
        kinds["repeated paragraphs"].append(
            "\n\n".join([paragraph] * rng.randint(4, 8) + [_prose(rng, 4)])
        )
        kinds["unbroken strings"].append(_unbroken(rng))
    return kinds


def near_copy(text: str, rng: random.Random, every: int = 400) -> str:
    """The text with one space-separated word in every ``every`` replaced by ``"REPLACED"``.

    Args:
      text: A document.
      rng: Chooses the positions.
      every: Words per replacement (at least one replacement).

    Returns:
      The edited copy: for a long document its 13-gram Jaccard similarity with the original
      stays far above the 0.8 threshold (RETRO's; Gopher's own is unverified), since each
      replaced word breaks at most 13 shingles.
    """
    tokens = text.split(" ")
    for _ in range(max(1, len(tokens) // every)):
        tokens[rng.randrange(len(tokens))] = "REPLACED"
    return " ".join(tokens)


def nbytes(documents: Sequence[Document]) -> int:
    """UTF-8 bytes of the documents' texts.

    Args:
      documents: Documents.

    Returns:
      The total.
    """
    return sum(len(doc.text.encode("utf-8")) for doc in documents)


def is_junk(document: Document) -> bool:
    """Whether a document was planted by `junk_mix` (its name starts with ``"junk:"``).

    Args:
      document: A document.

    Returns:
      True for planted junk and near copies.
    """
    return document.name.startswith(JUNK_PREFIX)


def junk_mix(
    documents: Sequence[Document],
    share: float,
    *,
    seed: int = 0,
    copy_sources: Sequence[Document] = (),
    copies: int = 0,
) -> list[Document]:
    """Real documents with planted junk added until it holds ``share`` of the bytes.

    First ``copies`` near copies (`near_copy`, one word in 400) of ``copy_sources`` are added,
    cycling through them; then junk documents, one of every kind in turn, until the
    planted documents hold at least ``share`` of the UTF-8 bytes. Planted documents are named
    ``junk:<kind>:<i>``; the result is shuffled with ``seed``, except that every near copy is
    placed after its original, so that `near_duplicates` (which keeps the first of a group)
    removes the copy. (Gopher removed one of each pair at random; either way one copy of the
    text stays.)

    Args:
      documents: The real documents.
      share: The junk's target share of all bytes, in [0, 1).
      seed: Seed of the junk, the copies and the shuffle.
      copy_sources: Documents to near-copy (e.g. those that pass every rule, so that the
        near-duplicate stage has something to find).
      copies: How many near copies to plant.

    Returns:
      The mixed documents.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1), got {share}.")
    rng = random.Random(seed)
    real_bytes = nbytes(documents)
    planted: list[Document] = []
    original_of: dict[str, str] = {}
    for i in range(copies if copy_sources else 0):
        source = copy_sources[i % len(copy_sources)]
        planted.append(Document(f"{JUNK_PREFIX}{NEAR_COPY}:{i}", near_copy(source.text, rng)))
        original_of[planted[-1].name] = source.name
    planted_bytes, batch = nbytes(planted), 0
    while planted_bytes < share * (real_bytes + planted_bytes):
        kinds = junk_documents(seed + batch, per_kind=4)
        for j in range(4):  # one document of every kind in turn, until the share is reached
            for kind, texts in kinds.items():
                if planted_bytes >= share * (real_bytes + planted_bytes):
                    break
                planted.append(Document(f"{JUNK_PREFIX}{kind}:{batch}.{j}", texts[j]))
                planted_bytes += len(texts[j].encode("utf-8"))
        batch += 1
    mixed = list(documents) + planted
    rng.shuffle(mixed)
    position = {doc.name: i for i, doc in enumerate(mixed)}
    for copy, original in original_of.items():  # each copy after its original
        i, j = position[copy], position[original]
        if i < j:
            mixed[i], mixed[j] = mixed[j], mixed[i]
            position[copy], position[original] = j, i
    return mixed


def group_of(document: Document) -> str:
    """A label for the kind of document, for tables and figures.

    Args:
      document: A document of the embedded corpus (``topic:…``, ``module:…``) or of `junk_mix`.

    Returns:
      ``"junk: <kind>"`` for planted documents, else ``"real: topic"``, ``"real: module"`` or
      ``"real: other"``.
    """
    if is_junk(document):
        return "junk: " + document.name[len(JUNK_PREFIX) :].split(":")[0]
    prefix = document.name.split(":")[0]
    return f"real: {prefix}" if prefix in ("topic", "module") else "real: other"


@dataclasses.dataclass(frozen=True)
class FilterOutcome:
    """What the quality rules at some thresholds, then the repetition rules, do to documents.

    Attributes:
      failures: Per document, the quality rules it fails (`quality_failures`).
      repetition: Per document, the repetition rules it fails (empty where not applied).
      kept_bytes: Group (`group_of`) → UTF-8 bytes kept.
      removed_bytes: Group → bytes removed by the quality rules.
      repetition_bytes: Group → bytes that pass the quality rules but fail a repetition rule.
      rule_counts: Rule → documents failing it (a document may fail several; repetition rules
        are counted only for documents that pass the quality rules, as in `curate`).
      group_rules: Group → rule → documents of the group failing it (counted the same way).
    """

    failures: list[list[str]]
    repetition: list[list[str]]
    kept_bytes: dict[str, int]
    removed_bytes: dict[str, int]
    repetition_bytes: dict[str, int]
    rule_counts: collections.Counter
    group_rules: dict[str, collections.Counter]

    @property
    def kept(self) -> list[bool]:
        """Per document, whether it passes every rule applied."""
        return [not q and not r for q, r in zip(self.failures, self.repetition, strict=True)]

    @property
    def bytes_kept(self) -> int:
        """Bytes of the kept documents."""
        return sum(self.kept_bytes.values())

    @property
    def bytes_in(self) -> int:
        """Bytes of all documents."""
        removed = sum(self.removed_bytes.values()) + sum(self.repetition_bytes.values())
        return self.bytes_kept + removed


def filter_outcome(
    documents: Sequence[Document],
    rules: QualityRules,
    tokens: Sequence[Sequence[str]] | None = None,
    repetition: Sequence[Sequence[str]] | None = None,
) -> FilterOutcome:
    """Apply `quality_failures` at the given thresholds and total the bytes by group.

    Args:
      documents: The documents.
      rules: The quality thresholds.
      tokens: Each document's ``filters.words``, split once by a caller that tries many
        thresholds (None: split here).
      repetition: Each document's `repetition_failures`, computed once by the caller (they do
        not depend on ``rules``); None applies no repetition rules.

    Returns:
      The outcome; groups appear in the order they are first met.
    """
    failures: list[list[str]] = []
    kept: dict[str, int] = {}
    removed: dict[str, int] = {}
    repeated: dict[str, int] = {}
    counts: collections.Counter = collections.Counter()
    by_group: dict[str, collections.Counter] = {}
    repetition = [[] for _ in documents] if repetition is None else [list(r) for r in repetition]
    for i, doc in enumerate(documents):
        failed = quality_failures(doc.text, rules, tokens=None if tokens is None else tokens[i])
        failures.append(failed)
        counted = failed or repetition[i]  # the first stage that removes it, as in `curate`
        counts.update(counted)
        group, size = group_of(doc), len(doc.text.encode("utf-8"))
        for table in (kept, removed, repeated):
            table.setdefault(group, 0)
        (removed if failed else repeated if repetition[i] else kept)[group] += size
        by_group.setdefault(group, collections.Counter()).update(counted)
    return FilterOutcome(failures, repetition, kept, removed, repeated, counts, by_group)


@dataclasses.dataclass(frozen=True)
class Subset:
    """One subset of MassiveText (G Table 2; C Table A1).

    Attributes:
      name: The subset.
      disk_tb: Size on disk, terabytes (C Table A1).
      documents: Documents (C Table A1).
      tokens: Tokens (secondary notes matching G Table 2 as remembered; not verified).
      gopher_share: Gopher's sampling proportion (C Table A1 caption; verified).
      chinchilla_share: Chinchilla's sampling proportion (C Table A1).
      chinchilla_epochs: Passes over the subset in Chinchilla's 1.4T tokens (C Table A1).
    """

    name: str
    disk_tb: float
    documents: float
    tokens: float
    gopher_share: float
    chinchilla_share: float
    chinchilla_epochs: float


MASSIVETEXT: tuple[Subset, ...] = (
    Subset("MassiveWeb", 1.9, 604e6, 506e9, 0.48, 0.45, 1.24),
    Subset("Books", 2.1, 4e6, 560e9, 0.27, 0.30, 0.75),
    Subset("C4", 0.75, 361e6, 182e9, 0.10, 0.10, 0.77),
    Subset("News", 2.7, 1.1e9, 676e9, 0.10, 0.10, 0.21),
    Subset("GitHub", 3.1, 142e6, 422e9, 0.03, 0.04, 0.13),
    Subset("Wikipedia", 0.001, 6e6, 4e9, 0.02, 0.01, 3.40),
)
GOPHER_TRAIN_TOKENS = 300e9  # G Sec. 3.2
CHINCHILLA_TRAIN_TOKENS = 1.4e12  # C Sec. 4


def epochs(subset: Subset, train_tokens: float, share: float) -> float:
    """Passes a run makes over a subset: the tokens it draws from it over the subset's size.

    Args:
      subset: The subset.
      train_tokens: The run's training tokens (Gopher: 300B).
      share: The subset's sampling proportion.

    Returns:
      ``share · train_tokens / subset.tokens``; above 1 the subset is repeated.
    """
    return share * train_tokens / subset.tokens


@dataclasses.dataclass(frozen=True)
class CorpusRun:
    """One model trained on one corpus of the experiment.

    Attributes:
      name: The corpus's label.
      documents: Training documents.
      train_bytes: Their UTF-8 bytes.
      train_tokens: Their tokens (separators included).
      junk_token_share: Share of those tokens in planted documents.
      epochs: Training tokens seen / tokens in the corpus.
      bits_per_byte: Held-out set name → bits per byte.
      seconds: Wall-clock training time, compilation included.
    """

    name: str
    documents: int
    train_bytes: int
    train_tokens: int
    junk_token_share: float
    epochs: float
    bits_per_byte: dict[str, float]
    seconds: float


def train_and_score(
    corpora: Mapping[str, Sequence[Document]],
    heldout: Mapping[str, Sequence[Document]],
    tokenizer: Tokenizer,
    config: ModelConfig,
    train_config: TrainConfig,
) -> list[CorpusRun]:
    """Train the same model for the same steps on each corpus; score it on every held-out set.

    Everything but the training documents is shared: tokenizer, model shape, seed, steps,
    batch size and window, so every run spends the same compute (G Sec. A.3.2 compares
    pipeline stages the same way, by training models on each stage's output).

    Args:
      corpora: Name → training documents.
      heldout: Name → held-out documents, scored by every model.
      tokenizer: The one tokenizer of every run.
      config: The model (its ``vocab_size`` must match the tokenizer).
      train_config: Steps, batch, window (``seq_len``), seed, learning rate.

    Returns:
      One `CorpusRun` per corpus, in order.
    """
    window = train_config.seq_len or config.max_seq_len
    scored = {name: pack_documents(tokenizer, docs, window) for name, docs in heldout.items()}
    runs = []
    for name, docs in corpora.items():
        token_docs = tokenize_documents(tokenizer, docs)
        train = pack(token_docs, window, tokenizer.eos_id, tokenizer.pad_id, nbytes(docs))
        junk_tokens = sum(len(t) + 1 for t, d in zip(token_docs, docs, strict=True) if is_junk(d))
        data = TextData(tokenizer, train, scored[next(iter(scored))],
                        bytes_per_token=train.num_bytes / train.num_tokens)  # fmt: skip
        trained = train_variants({name: config}, train_config, data)[name]
        seen = train_config.steps * train_config.batch_size * window
        runs.append(
            CorpusRun(
                name=name,
                documents=len(docs),
                train_bytes=train.num_bytes,
                train_tokens=train.num_tokens,
                junk_token_share=junk_tokens / train.num_tokens,
                epochs=seen / train.num_tokens,
                bits_per_byte={
                    held: float(evaluate(trained.model, windows).bits_per_byte)
                    for held, windows in scored.items()
                },
                seconds=trained.seconds,
            )
        )
    return runs
