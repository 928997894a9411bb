"""A character-level language model: embedding -> recurrent stack -> linear head."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells import CELLS
from rnnlab.checks import MAX_LAYERS, MAX_WIDTH, require_finite_or_none, require_fraction, require_positive_ints
from rnnlab.data.text import Vocab
from rnnlab.errors import ConfigError
from rnnlab.recurrent import Recurrent, StackState


@dataclass
class CharLMConfig:
    vocab_size: int  # number of distinct characters
    cell: str = "rnn"  # the recurrent cell, from rnnlab.cells.CELLS
    hidden_size: int = 128  # H, per layer
    num_layers: int = 1  # stacked recurrent layers
    embedding_dim: int = 64  # E, the width of each character's embedding
    dropout: float = 0.0  # on the embedding's output, between layers and before the head; never on h_{t-1} -> h_t
    forget_bias: float | None = None  # LSTM only: initial forget-gate bias (None = torch's init)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"CharLM: unknown cell {self.cell!r}; choose one of {sorted(CELLS)}")
        require_positive_ints("CharLM", vocab_size=self.vocab_size)
        require_positive_ints("CharLM", MAX_WIDTH, hidden_size=self.hidden_size, embedding_dim=self.embedding_dim)
        require_positive_ints("CharLM", MAX_LAYERS, num_layers=self.num_layers)
        require_fraction("CharLM", "dropout", self.dropout)
        require_finite_or_none("CharLM", "forget_bias", self.forget_bias)


class CharLM(nn.Module):
    """``model(idx (B, T), state=None) -> (logits (B, T, V), state)``.

    ``CharLM(vocab_size, cell=..., hidden_size=...)`` or ``CharLM.from_config(config)``: the
    same model, its defaults defined once, in ``CharLMConfig``.

    The state is the recurrent stack's (one entry per layer); pass it back in to continue
    a text where the last call stopped.
    """

    def __init__(
        self,
        vocab_size: int,
        cell: str = CharLMConfig.cell,
        hidden_size: int = CharLMConfig.hidden_size,
        num_layers: int = CharLMConfig.num_layers,
        embedding_dim: int = CharLMConfig.embedding_dim,
        dropout: float = CharLMConfig.dropout,
        forget_bias: float | None = CharLMConfig.forget_bias,
    ) -> None:
        super().__init__()
        self.config = CharLMConfig(vocab_size, cell, hidden_size, num_layers, embedding_dim, dropout, forget_bias)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = Recurrent(cell, embedding_dim, hidden_size, num_layers, dropout, forget_bias=forget_bias)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.vocab: Vocab | None = None  # set by rnnlab.load: the characters the ids stand for
        self.checkpoint_step = 0  # set by rnnlab.load: the training step the weights come from

    @classmethod
    def from_config(cls, config: CharLMConfig) -> CharLM:
        return cls(**asdict(config))

    def forward(self, idx: Tensor, state: StackState | None = None) -> tuple[Tensor, StackState]:
        if idx.dim() != 2:
            raise ConfigError(f"CharLM: expected token ids of shape (batch, time), got {tuple(idx.shape)}")
        x = self._drop(self.embedding(idx))  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, H); dropout between layers is the stack's
        return self.head(self._drop(h)), state  # (B, T, V)

    def _drop(self, x: Tensor) -> Tensor:
        # skipped at p = 0, so a model without dropout draws no random numbers
        return F.dropout(x, self.config.dropout, self.training) if self.config.dropout else x

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
