"""The command line is generated from the configs: every field is a flag with the field's default,
documentation and choices, so a setting has one definition and a new field needs no CLI edit."""

import dataclasses
import re

import pytest

from rnnlab.cells import CELLS
from rnnlab.cli import CONFIGS, build_parser, field_docs
from rnnlab.models.seq2seq import ATTENTION_KINDS


def _help(*command: str) -> str:
    parser = build_parser()
    for name in command:
        parser = next(a for a in parser._actions if a.dest in ("command", "model")).choices[name]
    options = parser.format_help().split("\noptions:", 1)[1]  # past the usage line, which names every flag too
    return " ".join(options.split())  # argparse wraps lines; compare words


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_every_config_field_is_a_flag_with_its_default_and_doc(kind):
    text = _help("train", kind)
    (model_cls, exclude), train_cls = CONFIGS[kind]
    for cls, skip in ((model_cls, exclude), (train_cls, ())):
        docs = field_docs(cls)
        for field in dataclasses.fields(cls):
            if field.name in skip:
                assert f"--{field.name.replace('_', '-')} " not in text
                continue
            flag = "--" + field.name.replace("_", "-")
            entry = re.search(re.escape(flag) + r" (?:[A-Z_]+|\{[^}]*\})(?: |,).*?\(default: ([^)]*)\)", text)
            assert entry, (
                f"{cls.__name__}.{field.name} has no flag {flag} with a default in `rnnlab train {kind} --help`"
            )
            assert entry.group(1) == str(field.default), (
                f"{flag} defaults to {entry.group(1)} in --help but {cls.__name__}.{field.name} = {field.default!r}"
            )
            assert field.name in docs, f"{cls.__name__}.{field.name} needs a comment: it is the flag's help"
            assert " ".join(docs[field.name].split()) in text, f"{flag}'s help is not {cls.__name__}'s comment"


def test_choices_come_from_the_registries():
    assert "--cell {" + ",".join(CELLS) + "}" in _help("train", "charlm")
    assert "--attention {" + ",".join(ATTENTION_KINDS) + "}" in _help("train", "seq2seq")


def test_the_cli_builds_the_same_configs_as_the_library(tmp_path, fixtures_dir):
    """A run with no model or training flag uses exactly the dataclasses' defaults."""
    from rnnlab.checkpoint import read_checkpoint
    from rnnlab.cli import main
    from rnnlab.models.charlm import CharLMConfig
    from rnnlab.training import TrainConfig

    out = tmp_path / "lm.pt"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text((fixtures_dir / "tiny_corpus.txt").read_text() * 8)  # enough for the default batch
    assert main(["train", "charlm", "--corpus", str(corpus), "--steps", "1", "--out", str(out)]) == 0
    payload = read_checkpoint(out)
    defaults = dataclasses.asdict(CharLMConfig(len(payload["vocab"])))
    assert payload["config"] == defaults
    assert payload["train_config"] == dataclasses.asdict(TrainConfig(steps=1))
