"""The command line: help everywhere, a train → resume → eval → sample round trip, and
one-line errors (exit status 2, no traceback) for bad input."""

import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from gopherlite.cli import build_parser, main, train_config_from_args
from gopherlite.data.pipeline import load_documents
from gopherlite.train import TrainConfig

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOKENIZER = str(ROOT / "data" / "tokenizer_4k.model")
FAST = ["--seq-len", "32", "--batch-size", "4", "--log-every", "2", "--no-progress"]


@pytest.mark.parametrize(
    "command",
    [[], ["train"], ["eval"], ["sample"], ["memory"], ["tokenizer"], ["tokenizer", "train"],
     ["tokenizer", "encode"], ["tokenizer", "decode"], ["tokenizer", "stats"], ["bench"]],
)  # fmt: skip
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m gopherlite" in capsys.readouterr().out


def _train_args(*flags):
    return build_parser().parse_args(["train", "--preset", "tiny", "--out", "x", *flags])


def test_train_flag_defaults_are_the_train_config_defaults():
    assert train_config_from_args(_train_args()) == TrainConfig.for_preset("tiny")
    assert train_config_from_args(_train_args("--seq-len", "64")) == TrainConfig.for_preset(
        "tiny", seq_len=64
    )


def test_every_train_config_field_is_a_flag():
    changed = {"steps": 7, "batch_size": 3, "seq_len": 64, "learning_rate": 0.01,
               "warmup_steps": 2, "init_learning_rate": 1e-6, "final_lr_fraction": 0.2,
               "optimizer": "adamw", "b1": 0.8, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.01,
               "grad_clip": 0.25, "label_smoothing": 0.1, "log_every": 3, "eval_every": 5,
               "checkpoint_every": 4, "keep_checkpoints": 2, "async_checkpoints": False,
               "seed": 9, "precision": "bf16_sr", "loss_chunk": 32}  # fmt: skip
    assert set(changed) == {f.name for f in dataclasses.fields(TrainConfig)}

    def flag(name, value):  # a boolean field is a --name / --no-name pair
        dashed = name.replace("_", "-")
        if isinstance(value, bool):
            return [f"--{dashed}" if value else f"--no-{dashed}"]
        return [f"--{dashed}", str(value)]

    flags = [x for k, v in changed.items() for x in flag(k, v)]
    config = train_config_from_args(_train_args(*flags))
    assert config == TrainConfig(**changed)
    assert default_fields_differ(config)
    assert train_config_from_args(_train_args("--keep", "5")).keep_checkpoints == 5
    assert train_config_from_args(_train_args("--async-checkpoints")).async_checkpoints is True


def default_fields_differ(config):
    """Every field the test set differs from its default, so each flag really was applied."""
    defaults = TrainConfig.for_preset("tiny")
    return all(getattr(config, f.name) != getattr(defaults, f.name)
               for f in dataclasses.fields(TrainConfig))  # fmt: skip


def test_train_help_states_the_dataclass_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {TrainConfig().steps})" in text and "(default: 0.95)" in text
    assert "Adam β2" in text and "the preset's Table 1 rate" in text


def test_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "gopherlite", "--help"], capture_output=True, text=True, check=True
    )
    assert "{train,eval,sample,memory,tokenizer,curate,bench}" in out.stdout


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    args = ["train", "--preset", "tiny", "--out", str(out), "--steps", "4"]
    assert main([*args, *FAST, "--checkpoint-every", "2", "--tokenizer", TOKENIZER]) == 0
    return out


def test_train_writes_a_complete_run_folder(run_dir, capsys):
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert {"step", "loss", "bits_per_byte", "tokens_per_second", "mfu"} <= set(records[0])
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["2", "4"]
    assert (run_dir / "tokenizer.model").read_bytes() == pathlib.Path(TOKENIZER).read_bytes()


def test_train_resumes_from_the_latest_checkpoint(run_dir, capsys):
    args = ["train", "--preset", "tiny", "--out", str(run_dir), "--steps", "6"]
    assert main([*args, *FAST, "--checkpoint-every", "2"]) == 0
    assert "step 6:" in capsys.readouterr().out
    steps = [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_eval_json_reports_every_field(run_dir, capsys):
    assert main(["eval", "--checkpoint", str(run_dir), "--json", "--seq-len", "32"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("loss", "bits_per_byte", "perplexity", "tokens", "bytes", "unigram_bits_per_byte"):
        assert key in report, key
    assert report["perplexity"] == pytest.approx(2.718281828 ** report["loss"], rel=1e-6)
    assert report["tokens"] > 0 and report["bytes"] > report["tokens"]


def test_eval_choices_scores_an_item_file(run_dir, tmp_path, capsys):
    from gopherlite.choices import choice_logprobs
    from gopherlite.runs import load_run

    items = tmp_path / "items.jsonl"
    lines = [{"context": "The cat sat on the", "choices": [" mat", " sky", " idea"], "answer": 0},
             {"context": "One, two,", "choices": [" three", " blue"], "answer": 1}]  # fmt: skip
    items.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["eval", "--checkpoint", str(run_dir), "--choices", str(items), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items"] == 2 and report["chance"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    run = load_run(run_dir)
    picks = [max(range(len(x["choices"])), key=choice_logprobs(run.model, run.tokenizer,
             x["context"], x["choices"]).__getitem__) for x in lines]  # fmt: skip
    assert (
        report["accuracy"] == sum(p == x["answer"] for p, x in zip(picks, lines, strict=True)) / 2
    )
    items.write_text("{broken\n")
    assert main(["eval", "--checkpoint", str(run_dir), "--choices", str(items)]) == 2
    err = capsys.readouterr().err
    assert "line 1: not a choice item" in err and err.count("\n") == 1


def test_eval_at_a_longer_context_than_training(run_dir, capsys):
    assert main(["eval", "--checkpoint", str(run_dir), "--json", "--seq-len", "256"]) == 0
    assert json.loads(capsys.readouterr().out)["seq_len"] == 256


def test_sample_continues_the_prompt(run_dir, capsys):
    args = ["sample", "--checkpoint", str(run_dir), "--prompt", "The list ", "--seed", "3"]
    assert main([*args, "--max-new-tokens", "5", "--temperature", "0"]) == 0
    assert capsys.readouterr().out.startswith("The list ")


def test_one_text_file_trains_evaluates_on_its_schedule_and_evals(tmp_path, capsys):
    from gopherlite.data import corpus

    book = tmp_path / "one_file.txt"
    book.write_text(corpus.default_text("train")[:300_000], encoding="utf-8")
    out = tmp_path / "run"
    argv = ["train", "--preset", "tiny", "--out", str(out), "--corpus", str(book)]
    fast = ["--seq-len", "32", "--batch-size", "4", "--no-progress", "--steps", "45"]
    assert main([*argv, *fast, "--log-every", "10", "--eval-every", "15"]) == 0
    assert "on the 5.0% of the corpus's bytes held out" in capsys.readouterr().out
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "eval_bits_per_byte" in r] == [15, 30, 45]
    assert [r["step"] for r in records] == [10, 15, 20, 30, 40, 45]  # either schedule due
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    tail_bytes = len(corpus.split_documents(corpus.load_text_files(book))[1][0].text.encode())
    assert report["bytes"] == tail_bytes and 0 < report["bits_per_byte"] < 10
    # A folder holding the file is the same corpus.
    assert main(["tokenizer", "stats", "--tokenizer", str(out / "tokenizer.model"), "--corpus",
                 str(tmp_path), "--json"]) == 0  # fmt: skip


def _fails_cleanly(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_preset(capsys, tmp_path):
    _fails_cleanly(
        ["train", "--preset", "70b", "--out", str(tmp_path)], capsys, "choose one of: tiny"
    )


def test_non_positive_steps_are_rejected_by_the_parser(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--preset", "tiny", "--out", str(tmp_path), "--steps", "0"])
    assert exit_info.value.code == 2
    assert "--steps: must be a positive integer, got 0" in capsys.readouterr().err


def test_missing_checkpoint(capsys, tmp_path):
    _fails_cleanly(["eval", "--checkpoint", str(tmp_path / "nope")], capsys, "does not exist")
    _fails_cleanly(["eval", "--checkpoint", str(tmp_path)], capsys, "No checkpoint in")


def test_prompt_too_long(run_dir, capsys):
    argv = ["sample", "--checkpoint", str(run_dir), "--prompt", "word " * 200]
    _fails_cleanly(argv, capsys, "Shorten the prompt or ask for fewer tokens")


def test_unreadable_corpus_file(capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    argv = ["train", "--preset", "tiny", "--out", str(tmp_path / "r"), "--corpus", str(bad)]
    _fails_cleanly(argv, capsys, "latin1.txt")


def test_tokenizer_of_another_vocabulary_or_not_the_runs(run_dir, capsys, tmp_path):
    small = tmp_path / "small.model"
    assert main(["tokenizer", "train", "--vocab-size", "512", "--out", str(small)]) == 0
    argv = ["train", "--preset", "tiny", "--out", str(tmp_path / "r"), "--tokenizer", str(small)]
    _fails_cleanly(argv, capsys, "4096")
    # Resuming a run with a tokenizer file that is not the run's own: refused, nothing changed.
    before = _snapshot(run_dir)
    argv = ["train", "--preset", "tiny", "--out", str(run_dir), "--tokenizer", str(small)]
    _fails_cleanly([*argv, *FAST, "--steps", "8"], capsys, "is not the one the run in")
    assert _snapshot(run_dir) == before
    _fails_cleanly(["tokenizer", "stats", "--tokenizer", str(tmp_path / "none.model")], capsys,
                   "Tokenizer model not found")  # fmt: skip


def _snapshot(folder):
    """Every file under ``folder`` with its bytes (to show a failed command changed nothing)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_truncated_checkpoint_is_refused_and_left_as_it_was(run_dir, capsys, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    latest = max((p for p in (copy / "checkpoints").iterdir() if p.name.isdigit()),
                 key=lambda p: int(p.name))  # fmt: skip
    biggest = max((p for p in (latest / "state").rglob("*") if p.is_file()),
                  key=lambda p: p.stat().st_size)  # fmt: skip
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 2])
    before = _snapshot(copy)
    argv = ["train", "--preset", "tiny", "--out", str(copy), *FAST, "--steps", "8"]
    _fails_cleanly(argv, capsys, "damaged or incomplete")
    _fails_cleanly(["eval", "--checkpoint", str(copy)], capsys, "damaged or incomplete")
    assert _snapshot(copy) == before


def test_sequence_too_long_for_memory(capsys, tmp_path):
    # Blockwise attention and the chunked loss make a step's memory linear in L (16,384 tokens
    # × 16 now trains on a 23 GiB machine), so "too long" takes the corpus's longest batch:
    # six windows of 131,072 tokens (four of them measured 34.9 GiB by XLA's analysis).
    argv = ["train", "--preset", "tiny", "--out", str(tmp_path / "r"), "--tokenizer", TOKENIZER,
            "--seq-len", "131072", "--batch-size", "6", "--steps", "1",
            "--no-progress"]  # fmt: skip
    _fails_cleanly(argv, capsys, "XLA's memory analysis")
    assert not (tmp_path / "r" / "checkpoints").exists() or not any(
        (tmp_path / "r" / "checkpoints").iterdir()
    )


def test_tokenizer_encode_decode_round_trip(capsys):
    assert main(["tokenizer", "encode", "--tokenizer", TOKENIZER, "tabs\tand\nnewlines"]) == 0
    ids = capsys.readouterr().out.split()
    assert main(["tokenizer", "decode", "--tokenizer", TOKENIZER, *ids]) == 0
    assert capsys.readouterr().out == "tabs\tand\nnewlines\n"


def test_mesh_that_does_not_divide_the_devices(capsys, tmp_path):
    argv = ["train", "--preset", "tiny", "--out", str(tmp_path), "--mesh", "data=3"]
    _fails_cleanly(argv, capsys, "needs 3 devices but 1 are available")


def test_unknown_layout_and_partial_multihost_flags(capsys, tmp_path):
    argv = ["train", "--preset", "tiny", "--out", str(tmp_path)]
    _fails_cleanly([*argv, "--layout", "pipe"], capsys, "choose one of: dp, zero")
    _fails_cleanly([*argv, "--num-processes", "2"], capsys, "--coordinator-address")


def test_eval_by_source_reports_each_group_of_the_heldout_text(run_dir, capsys):
    from gopherlite.evaluate import source_of
    from gopherlite.runs import load_run

    assert main(["eval", "--checkpoint", str(run_dir), "--by-source", "--json"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]
    _, heldout = load_documents(load_run(run_dir).meta.get("corpus_paths") or None)
    groups = {source_of(d.name) for d in heldout}
    assert set(sources) == groups and len(groups) >= 2
    for name, result in sources.items():
        texts = [d.text for d in heldout if source_of(d.name) == name]
        assert result["bytes"] == sum(len(t.encode("utf-8")) for t in texts)
        assert result["bits_per_byte"] > 0 and result["unigram_bits_per_byte"] > 0
    assert main(["eval", "--checkpoint", str(run_dir), "--by-source"]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in groups)
