"""Every bad input gets one line that names the problem and the fix; arbitrary input (texts,
primes, temperatures, dates) gets an answer or a clear refusal, never a traceback."""

import math
import re
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.checkpoint import save
from rnnlab.cli import main
from rnnlab.data.dates import INPUT_ALPHABET
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from spec.helpers import LM_ARGS

pytestmark = pytest.mark.reliability


# --- every bad input: one line, naming the problem and the fix -------------------------------


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One char-LM and one seq2seq checkpoint, trained once for every case below that needs one."""
    folder = tmp_path_factory.mktemp("trained")
    lm, s2s = folder / "lm.pt", folder / "s2s.pt"
    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "tiny_corpus.txt"
    assert main(["train", "charlm", "--corpus", str(corpus), *LM_ARGS, "--steps", "2", "--out", str(lm)]) == 0
    assert (
        main(
            [
                "train",
                "seq2seq",
                "--hidden-size",
                "8",
                "--embedding-dim",
                "4",
                "--steps",
                "2",
                "--batch-size",
                "4",
                "--train-examples",
                "16",
                "--val-examples",
                "4",
                "--out",
                str(s2s),
            ]
        )
        == 0
    )
    return {"lm": str(lm), "s2s": str(s2s)}


def _bare_checkpoint(tmp_path) -> str:
    from rnnlab.data import Vocab
    from rnnlab.models import CharLM

    return str(save(tmp_path / "bare.pt", CharLM(5, hidden_size=4, embedding_dim=2), Vocab(tuple("abcde"))))


# each case: argv built from (tmp_path, fixtures_dir, trained checkpoints), and what the message must say
BAD_INPUTS = [
    pytest.param(
        lambda t, f, c: ["train", "charlm", "--corpus", _write(t, "e.txt", b""), "--out", str(t / "x.pt")],
        "is empty",
        id="empty corpus",
    ),
    pytest.param(
        lambda t, f, c: ["train", "charlm", "--corpus", _write(t, "s.txt", b"abc"), "--out", str(t / "x.pt")],
        "too short",
        id="corpus shorter than one window",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "b.bin", bytes(range(256))),
            "--out",
            str(t / "x.pt"),
        ],
        "not UTF-8|NUL",
        id="binary corpus",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "l.txt", "café".encode("latin-1") * 50),
            "--out",
            str(t / "x.pt"),
        ],
        "not UTF-8",
        id="non-UTF-8 corpus",
    ),
    pytest.param(
        lambda t, f, c: ["eval", c["lm"], "--corpus", _write(t, "u.txt", "Ωmega ∆elta ".encode() * 40)],
        "never saw",
        id="eval corpus with unseen characters",
    ),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--temperature", "-1"], "temperature", id="negative temperature"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--temperature", "nan"], "temperature", id="NaN temperature"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--length", "0"], "length", id="sample length 0"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--prime", "Ωmega"], "Ω", id="prime with unknown characters"),
    pytest.param(lambda t, f, c: ["sample", str(t / "nope.pt")], "does not exist", id="missing checkpoint"),
    pytest.param(
        lambda t, f, c: ["sample", _write(t, "cut.pt", Path(c["lm"]).read_bytes()[:500])],
        "truncated, corrupted",
        id="truncated checkpoint",
    ),
    pytest.param(
        lambda t, f, c: ["sample", _write(t, "junk.pt", b"PK\x03\x04 not really a zip")],
        "truncated, corrupted",
        id="corrupted checkpoint",
    ),
    pytest.param(lambda t, f, c: ["sample", c["s2s"]], "needs a charlm", id="seq2seq checkpoint given to sample"),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--hidden-size",
            "0",
            "--out",
            str(t / "x.pt"),
        ],
        "--hidden-size: must be a width from 1 to",
        id="hidden size 0",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--seq-len",
            "5000",
            "--out",
            str(t / "x.pt"),
        ],
        "too short",
        id="sequence longer than the corpus",
    ),
    pytest.param(
        lambda t, f, c: ["translate", c["s2s"], "14 März 2024"],
        "outside the date model's vocabulary",
        id="date with characters outside the vocabulary",
    ),
    pytest.param(
        lambda t, f, c: ["translate", c["s2s"], "14/03/2024", "--beam", "0"],
        "--beam: must be a number of prefixes from 1 to",
        id="beam of no prefixes",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--device",
            "mps" if torch.cuda.is_available() else "cuda",
            "--out",
            str(t / "x.pt"),
        ],
        "sees no",
        id="device that is not there",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "other.txt", (f / "tiny_corpus.txt").read_bytes()[::-1]),
            "--resume",
            c["lm"],
            "--out",
            str(t / "x.pt"),
        ],
        "not the one the run started on",
        id="resume on a different corpus",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--resume",
            _bare_checkpoint(t),
            "--out",
            str(t / "x.pt"),
        ],
        "no training state",
        id="resume from a checkpoint with no training state",
    ),
]


@pytest.mark.parametrize("make_argv, expected", BAD_INPUTS)
def test_bad_input_is_one_clear_line(make_argv, expected, trained, tmp_path, fixtures_dir, capsys):
    argv = make_argv(tmp_path, fixtures_dir, trained)
    capsys.readouterr()
    before = {p.name for p in tmp_path.iterdir()}
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"expected exit status 2, got {code}"
    assert err.startswith("rnnlab: error:") and err.count("\n") == 1, f"expected one error line, got {err!r}"
    assert re.search(expected, err), f"the message should say {expected!r}; it says {err.strip()!r}"
    after = {p.name for p in tmp_path.iterdir()}
    assert not {n for n in after - before if n.endswith(".tmp") or n == "x.pt"}, (
        f"a failed command must not leave a file behind ({sorted(after - before)})"
    )


@pytest.mark.parametrize("bug", [ValueError("x must be positive"), RuntimeError("shape mismatch"), KeyError("h")])
def test_a_bug_in_rnnlab_is_never_passed_off_as_the_users_mistake(bug, trained, monkeypatch, capsys):
    """Only rnnlab's own refusals (rnnlab.errors.RnnlabError) read as "fix your input": a
    ValueError or RuntimeError raised by rnnlab's code or by torch is a bug, and says so."""
    import rnnlab.cli.commands as commands

    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(commands, "evaluate_lm", broken)
    monkeypatch.delenv("RNNLAB_DEBUG", raising=False)
    code = main(["eval", trained["lm"], "--corpus", str(Path(__file__).parents[2] / "fixtures" / "tiny_corpus.txt")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, f"one line, exit status 2; got {code}, {err!r}"
    assert f"unexpected {type(bug).__name__}" in err and "bug in rnnlab" in err, (
        f"an exception rnnlab did not raise on purpose must be reported as a bug, not as bad input: {err.strip()!r}"
    )


# --- robustness over arbitrary input ----------------------------------------------------------

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@given(any_text)
def test_vocab_round_trips_or_names_the_unknown_characters(text):
    from rnnlab.data import Vocab

    vocab = Vocab.from_text("abcdefghijklmnopqrstuvwxyz ,.")
    try:
        ids = vocab.encode(text)
    except ValueError as exc:
        unknown = [ch for ch in text if ch not in "abcdefghijklmnopqrstuvwxyz ,."]
        assert unknown and repr(unknown[0]) in str(exc), f"the error must name the first unknown character: {exc}"
    else:
        assert vocab.decode(ids.tolist()) == text


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from rnnlab.data import Vocab
    from rnnlab.models import CharLM

    torch.manual_seed(0)
    vocab = Vocab.from_text("abcdefghij \n")
    seq2seq = Seq2Seq.from_config(
        Seq2SeqConfig(INPUT_ALPHABET, attention="bahdanau", hidden_size=12, embedding_dim=6, attention_dim=6)
    )
    return CharLM(len(vocab), hidden_size=8, embedding_dim=4), vocab, seq2seq


@given(prime=any_text, temperature=st.floats(allow_nan=True, allow_infinity=True), length=st.integers(-3, 20))
def test_sampler_answers_or_refuses_clearly(tiny_models, prime, temperature, length):
    from rnnlab.sampling import sample

    model, vocab, _ = tiny_models
    try:
        text = sample(model, vocab, length, temperature, prime, seed=0)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert len(text) == length and all(ch in vocab for ch in text)
        assert 0 <= temperature < math.inf and length > 0 and prime


@given(text=st.lists(any_text, min_size=1, max_size=3))
def test_translate_answers_or_names_the_bad_characters(tiny_models, text):
    _, _, model = tiny_models
    try:
        out = model.translate(text)
    except ValueError as exc:
        assert "outside the date model's vocabulary" in str(exc)
        assert any(ch not in INPUT_ALPHABET for s in text for ch in s)
    else:
        assert len(out) == len(text) and all(isinstance(o, str) and len(o) <= 12 for o in out)
