"""A model kind is one cell class plus one registry record: registered inside this spec, a toy
gated cell trains through the CLI's model, the plain loop (it has no kernel), Lab 02's comparison
and the report's tables, with nothing else edited."""

from dataclasses import replace

import pytest
import torch
from torch import Tensor

from acceptance import runs, sections
from acceptance.profiles import PROFILES
from acceptance.record import Recorder
from rnnlab.cells import CELLS, ModelKind, _Cell, register_kind, unregister_kind
from rnnlab.data import Vocab
from rnnlab.fast import has_fast_path
from rnnlab.models import CharLM


class MinimalGatedCell(_Cell[Tensor]):
    """A minimal gated unit (Zhou et al., 2016, simplified): one gate f decides how much of the
    candidate n replaces the state. Gate order: f, n."""

    gates = 2

    def step(self, x_proj: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        x_f, x_n = x_proj.chunk(2, dim=1)
        h_f, h_n = self.hh(h).chunk(2, dim=1)
        f = torch.sigmoid(x_f + h_f)
        h_new = (1 - f) * h + f * torch.tanh(x_n + h_n)
        return h_new, h_new


@pytest.fixture
def mgu():
    register_kind(ModelKind("mgu", MinimalGatedCell, "MGU", sigmoid_gates=("f",), layout=("f", "n")))
    yield "mgu"
    unregister_kind("mgu")


def test_a_registered_kind_trains_and_appears_in_lab02s_comparison_and_report(mgu, tmp_path, fixtures_dir, monkeypatch):
    assert mgu in CELLS, "registering a kind makes it a cell everywhere (the CLI's --cell choices read CELLS)"
    model = CharLM(10, cell=mgu, hidden_size=8, embedding_dim=4)
    assert not has_fast_path(model.rnn.cell_at(0)), "a kind without a kernel runs the plain loop"

    text = (fixtures_dir / "tiny_corpus.txt").read_text(encoding="utf-8") * 40
    vocab = Vocab.from_text(text)
    cut = int(0.9 * len(text))
    corpus = {
        "text": text,
        "train": text[:cut],
        "val": text[cut:],
        "vocab": vocab,
        "train_ids": vocab.encode(text[:cut]),
        "val_ids": vocab.encode(text[cut:]),
    }
    smoke = PROFILES["smoke"]
    lab02 = replace(
        smoke.lab02,
        train=replace(smoke.lab02.train, steps=6, eval_points=2),
        context_lengths=(1, 4, 16),
        context_positions=200,
        gate_chars=400,
        grad_batch_size=4,
        bench_rounds=1,
        bench_sizes=(16,),
    )
    monkeypatch.setattr(runs, "peak_rss_mib", lambda fn: 0.0)  # about 3 s a call in a large process; not at stake
    result = runs.lab02(replace(smoke, lab02=lab02), corpus, tmp_path, torch.device("cpu"))
    assert mgu in result.runs and result.runs[mgu].history.val_loss, "the new kind trained in Lab 02"
    gates = result.runs[mgu].gates
    assert gates is not None and set(gates.saturation) == {"f"}, "its gate is traced on real text from the registry"
    assert result.ngram == runs.counting_losses(corpus, lab02.train), (
        "the counting baselines the Perplexity table ends with score Lab 02's own validation targets"
    )

    recorder = Recorder()
    sections.lab02.write(recorder, result)
    tables = {t.title: t for t in recorder.section("lab02").tables}
    assert any(row[0] == "MGU" for row in tables["Perplexity"].rows), "it is in the perplexity table"
    assert tables["Perplexity"].rows[-1][0].startswith("Kneser-Ney"), "the table ends with the counting baseline"
    compared = next(t for title, t in tables.items() if title.endswith("Two comparisons"))
    assert {row[0] for row in compared.rows if row[1].startswith("MGU")} == {"equal compute", "equal width"}, (
        "a gated kind is compared with the RNN both ways: at equal compute and against an RNN of its width"
    )
    timing = next(t for title, t in tables.items() if title.startswith("From scratch vs torch's fused kernels"))
    mine = [row for row in timing.rows if row[0] == "MGU"]
    assert mine and mine[0][4] == "—", "it is timed, without a fused baseline it does not have"
