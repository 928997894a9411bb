"""Lab 01 results written by hand, for the specs of Lab 01's report section."""

from dataclasses import replace
from pathlib import Path

from acceptance.profiles import Lab01
from acceptance.trained import Lab01Result
from rnnlab.training import TrainConfig
from rnnlab.training.lm import History


def lab01_config() -> Lab01:
    """A Lab 01 profile small enough to build results from by hand (training windows of 8, 2 evaluation rows)."""
    return replace(Lab01(), train=TrainConfig(steps=40, batch_size=2, seq_len=8, eval_rows=2, eval_points=2))


def lab01_result(reset_loss: dict[int, float], ngram: dict[int, float] | None = None) -> Lab01Result:
    """A Lab 01 result written by hand (validation loss 1.9, then 1.5 at the end), for the section's specs."""
    cfg = lab01_config()
    history = History(
        train_loss=[2.0 - 0.01 * i for i in range(40)],
        grad_norm=[0.5] * 40,
        eval_step=[20, 40],
        val_loss=[1.9, 1.5],
        eval_seconds=[0.1, 0.2],
        train_seconds=0.2,
    )
    return Lab01Result(
        cfg,
        history,
        Path("rnn.pt"),
        1000,
        {t: "to be or not" for t in cfg.temperatures},
        0.1,
        0.5,
        "zq",
        {t: 0.5 for t in cfg.temperatures},
        9000.0,
        400,
        reset_loss,
        ngram={} if ngram is None else ngram,
        vocab_size=65,
        profile="quick",
    )
