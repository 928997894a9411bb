"""A character-level GRU encoder-decoder for date normalisation, with or without attention.

Encoder: embedding -> bidirectional GRU (from ``rnnlab.cells.GRUCell``) over the source
characters -> states h_j (B, S, 2H). A bridge maps the two final states to the decoder's
first state s_0 = tanh(W_b [h_fwd_last; h_bwd_first]).

Decoder: a GRU cell reading [embedding(y_{t-1}); c_t] with state s_{t-1}; logits from
[s_t; c_t; embedding(y_{t-1})]. The context c_t is

* ``attention="none"`` (the baseline): the fixed vector [h_fwd_last; h_bwd_first] at every
  step — the whole input squeezed into one vector (the bottleneck);
* ``"bahdanau"``: additive attention over h_1..h_S queried with s_{t-1};
* ``"luong"``: general (bilinear) attention, queried with s_{t-1} as well, so the two attention
  models differ only in the score function;
* ``"luong_dot"``: Luong's parameter-free dot score. Keys are 2H wide (two directions) and the
  query H, so it scores s^T (h_fwd_j + h_bwd_j) — the directions summed, as PyTorch's chatbot
  tutorial does — and reads the full [h_fwd_j; h_bwd_j] as the context.

Everything else — sizes, data, optimiser, schedule — is the same for every variant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.attention import AdditiveAttention, DotAttention, GeneralAttention, _Attention
from rnnlab.cells import GRUCell
from rnnlab.checks import MAX_WIDTH, require_positive_ints
from rnnlab.data.text import Vocab
from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.padding import by_length
from rnnlab.recurrent import Recurrent

TARGET_CHARS = "0123456789-"
DATE_LENGTH = len("YYYY-MM-DD")  # what every translation emits; decoding needs at least this many steps
MAX_OUTPUT_LEN = 1_000  # decoding steps; a date needs 10 and one end-of-sequence
# The widest beam ``translate`` takes: far wider than a 10-character date has use for (Lab 03's report measures a
# beam of 4), and a cap turns a typo (4000) into an error instead of 4,000 decoder rows for every source.
MAX_BEAM = 100
# the decoder's vocabulary: three special tokens, then the characters of YYYY-MM-DD
TARGET_TOKENS = ("<pad>", "<sos>", "<eos>", *TARGET_CHARS)
TARGET_INDEX = {token: i for i, token in enumerate(TARGET_TOKENS)}
PAD, SOS, EOS = TARGET_INDEX["<pad>"], TARGET_INDEX["<sos>"], TARGET_INDEX["<eos>"]


class SummedDirectionsDot(DotAttention):
    """Luong dot over a bidirectional encoder: score(s, h_j) = s^T (h_fwd_j + h_bwd_j)."""

    def precompute(self, keys: Tensor) -> Tensor:
        half = keys.shape[-1] // 2
        return keys[..., :half] + keys[..., half:]  # (B, S, H)

    def score(self, query: Tensor, keys: Tensor, precomputed: Tensor | None = None) -> Tensor:
        return super().score(query, self.precompute(keys) if precomputed is None else precomputed)


# attention kind -> the module scoring decoder state s (H wide) against encoder states h_j (2H wide);
# "none" is the baseline's fixed context
ATTENTIONS: dict[str, Callable[[int, int], _Attention | None]] = {
    "none": lambda H, A: None,
    "bahdanau": lambda H, A: AdditiveAttention(H, 2 * H, A),
    "luong": lambda H, A: GeneralAttention(H, 2 * H),
    "luong_dot": lambda H, A: SummedDirectionsDot(),
}
ATTENTION_KINDS = tuple(ATTENTIONS)


@dataclass
class Seq2SeqConfig:
    source_chars: str  # the input alphabet (ids 1.. ; 0 is padding)
    attention: str = "bahdanau"  # the context: fixed (none), or attention with this score
    hidden_size: int = 128  # H: encoder per direction and decoder
    embedding_dim: int = 48  # E, for source and target characters
    attention_dim: int = 128  # A, Bahdanau's hidden layer
    max_output_len: int = 12  # decoding stops here if no end-of-sequence came

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ConfigError(f"Seq2Seq: attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")
        if not isinstance(self.source_chars, str) or not self.source_chars:
            raise ConfigError(f"Seq2Seq: source_chars must be a string of characters, got {self.source_chars!r}")
        require_positive_ints(
            "Seq2Seq",
            MAX_WIDTH,
            hidden_size=self.hidden_size,
            embedding_dim=self.embedding_dim,
            attention_dim=self.attention_dim,
        )
        value = self.max_output_len
        if not isinstance(value, int) or isinstance(value, bool) or not DATE_LENGTH <= value <= MAX_OUTPUT_LEN:
            raise ConfigError(
                f"Seq2Seq: max_output_len must be a number of characters from {DATE_LENGTH} (a date is "
                f"YYYY-MM-DD) to {MAX_OUTPUT_LEN:,}, got {value!r}"
            )


class Seq2Seq(nn.Module):
    """``Seq2Seq(source_chars, attention=..., hidden_size=..., ...)`` or ``Seq2Seq.from_config(config)``:
    the same model, its defaults defined once, in ``Seq2SeqConfig``."""

    def __init__(
        self,
        source_chars: str,
        attention: str = Seq2SeqConfig.attention,
        hidden_size: int = Seq2SeqConfig.hidden_size,
        embedding_dim: int = Seq2SeqConfig.embedding_dim,
        attention_dim: int = Seq2SeqConfig.attention_dim,
        max_output_len: int = Seq2SeqConfig.max_output_len,
    ) -> None:
        super().__init__()
        config = Seq2SeqConfig(source_chars, attention, hidden_size, embedding_dim, attention_dim, max_output_len)
        self.config = config
        H, E = config.hidden_size, config.embedding_dim
        self.source_vocab = Vocab(tuple(config.source_chars))
        self.target_vocab_size = len(TARGET_TOKENS)
        self.src_embedding = nn.Embedding(1 + len(config.source_chars), E, padding_idx=0)
        self.encoder = Recurrent("gru", E, H, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)
        self.tgt_embedding = nn.Embedding(self.target_vocab_size, E)
        self.decoder = GRUCell(E + 2 * H, H)
        self.attention = ATTENTIONS[config.attention](H, config.attention_dim)
        self.out = nn.Linear(H + 2 * H + E, self.target_vocab_size)
        self.checkpoint_step = 0  # set by rnnlab.load: the training step the weights come from

    @classmethod
    def from_config(cls, config: Seq2SeqConfig) -> Seq2Seq:
        return cls(**asdict(config))

    # --- text <-> ids ---------------------------------------------------------------------
    def encode_sources(self, sources: list[str]) -> tuple[Tensor, Tensor]:
        """Right-padded source ids (B, S) and lengths (B,); unknown characters are a ValueError."""
        if isinstance(sources, str):
            raise TypeError("translate takes a list of strings; wrap a single string in a list")
        missing = list(dict.fromkeys(ch for s in sources for ch in s if ch not in self.source_vocab))
        if missing:
            raise ConfigError(
                f"{len(missing)} character(s) outside the date model's vocabulary: "
                f"{', '.join(map(repr, missing[:10]))}. Use letters, digits, spaces and , . - / ' ( )"
            )
        texts = [s if s else " " for s in sources]  # an empty string still gets an answer
        lengths = torch.tensor([len(s) for s in texts])
        ids = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)
        for b, s in enumerate(texts):
            ids[b, : len(s)] = self.source_vocab.encode(s) + 1
        return ids, lengths

    @staticmethod
    def encode_targets(targets: list[str]) -> Tensor:
        """[chars..., EOS] ids (B, T_out); targets are YYYY-MM-DD, all of one length."""
        return torch.tensor([[TARGET_INDEX[ch] for ch in t] + [EOS] for t in targets])

    @staticmethod
    def decode_targets(ids: Tensor) -> list[str]:
        out = []
        for row in ids.tolist():
            chars = []
            for i in row:
                if i == EOS:
                    break
                if i > EOS:  # past the special tokens
                    chars.append(TARGET_TOKENS[i])
            out.append("".join(chars))
        return out

    # --- the network -----------------------------------------------------------------------
    def encode(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Encoder states (B, S, 2H), their summary (B, 2H), the padding mask (B, S), and s_0 (B, H)."""
        H = self.config.hidden_size
        states, final = self.encoder(self.src_embedding(src), lengths=lengths)  # (B, S, 2H)
        summary = torch.cat([final[0], final[1]], dim=1)  # (B, 2H): forward last, backward first
        mask = src != PAD  # (B, S)
        s0 = torch.tanh(self.bridge(summary))  # (B, H)
        assert summary.shape[1] == 2 * H
        return states, summary, mask, s0

    def decode_step(
        self, y_prev: Tensor, s: Tensor, states: Tensor, summary: Tensor, mask: Tensor, precomputed: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One decoder step: the context (fixed, or attention over the encoder states), the GRU
        update of the decoder state, and the output logits.

        Args: ``y_prev`` previous token ids (B,); ``s`` = s_{t-1} (B, H); ``states`` the encoder's
        (B, S, 2H); ``summary`` its fixed context (B, 2H); ``mask`` (B, S) True at real source
        characters; ``precomputed``: ``self.attention.precompute(states)`` or None.
        Returns: ``(logits (B, V_out), s_t (B, H), weights (B, S) or None)``, where the context is
        ``summary`` without attention (weights None) or ``self.attention(s, states, mask,
        precomputed)``; s_t = ``self.decoder``([embed(y_prev); context], s); logits =
        ``self.out``([s_t; context; embed(y_prev)]).
        """
        # region exercise lab03.seq2seq
        emb = self.tgt_embedding(y_prev)  # (B, E)
        if self.attention is None:
            context, weights = summary, None  # the fixed context: the bottleneck
        else:
            context, weights = self.attention(s, states, mask, precomputed)  # (B, 2H), (B, S)
        s, _ = self.decoder(torch.cat([emb, context], dim=1), s)  # (B, H)
        logits = self.out(torch.cat([s, context, emb], dim=1))  # (B, V_out)
        return logits, s, weights
        # endregion

    def forward(
        self,
        src: Tensor,
        lengths: Tensor,
        targets: Tensor | None = None,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
        max_len: int | None = None,
    ) -> Tensor:
        """Logits (B, T_out, V); ``decode`` takes the same arguments and also returns the
        attention weights."""
        return self.decode(src, lengths, targets, teacher_forcing, generator, max_len)[0]

    def decode(
        self,
        src: Tensor,
        lengths: Tensor,
        targets: Tensor | None = None,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
        max_len: int | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Encode, then decode step by step, each step's input the gold token with probability
        ``teacher_forcing`` (scheduled sampling), else the model's own previous argmax.

        Returns logits (B, T_out, V) and attention weights (B, T_out, S), or None for the baseline.
        With ``targets`` (B, T_out), each step feeds the gold previous token with probability
        ``teacher_forcing`` and the model's own argmax otherwise (scheduled sampling); without,
        it decodes greedily for ``max_len`` steps. The exercise is the choice of ``y_prev``: a
        ratio >= 1 always feeds ``targets[:, t]`` and one <= 0 always ``predicted``, drawing
        nothing; in between, draw u ~ U[0, 1) per row with ``torch.rand(B, generator=generator)``
        (on the CPU, then moved) and feed ``targets[:, t]`` where u < ``teacher_forcing``."""
        states, summary, mask, s = self.encode(src, lengths)
        precomputed = self.attention.precompute(states) if self.attention is not None else None
        B = src.shape[0]
        steps = targets.shape[1] if targets is not None else (max_len or self.config.max_output_len)
        y_prev = torch.full((B,), SOS, dtype=torch.long, device=src.device)
        all_logits, all_weights = [], []
        for t in range(steps):
            logits, s, weights = self.decode_step(y_prev, s, states, summary, mask, precomputed)
            all_logits.append(logits)
            if weights is not None:
                all_weights.append(weights)
            predicted = logits.argmax(dim=1).detach()
            if targets is None:
                y_prev = predicted
            else:
                # region exercise lab03.seq2seq
                if teacher_forcing >= 1.0:
                    y_prev = targets[:, t]
                elif teacher_forcing <= 0.0:
                    y_prev = predicted
                else:
                    use_gold = torch.rand(B, generator=generator) < teacher_forcing
                    y_prev = torch.where(use_gold.to(src.device), targets[:, t], predicted)
                # endregion
        attention = torch.stack(all_weights, dim=1).detach() if all_weights else None  # (B, T_out, S)
        return torch.stack(all_logits, dim=1), attention

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    @torch.no_grad()
    def beam_search(self, src: Tensor, lengths: Tensor, beam: int, max_len: int | None = None) -> tuple[Tensor, Tensor]:
        """Beam search: keep the ``beam`` most probable prefixes of every row at each step, and return each
        row's most probable sequence found, as token ids (B, T), with its score (B,): the sum of its tokens'
        log-probabilities up to and including the end mark. A prefix that has ended carries its score unchanged
        (and pads with end marks); the search stops when every kept prefix has ended, or after ``max_len``
        steps (the config's ``max_output_len`` by default). No length penalty: every translation is a date of one
        length. A beam of 1 is greedy decoding."""
        _check_beam(beam)
        states, summary, mask, s = self.encode(src, lengths)
        B, k, V = src.shape[0], beam, self.target_vocab_size
        states, summary, mask, s = (t.repeat_interleave(k, dim=0) for t in (states, summary, mask, s))  # (B*k, ...)
        precomputed = self.attention.precompute(states) if self.attention is not None else None
        device = src.device
        scores = torch.full((B, k), -math.inf, device=device)
        scores[:, 0] = 0.0  # one live prefix to start: the others would repeat it
        history = torch.zeros(B, k, 0, dtype=torch.long, device=device)
        ended = torch.zeros(B, k, dtype=torch.bool, device=device)
        y_prev = torch.full((B * k,), SOS, dtype=torch.long, device=device)
        first_row = (torch.arange(B, device=device) * k).unsqueeze(1)  # (B, 1): each row's first prefix
        for t in range(max_len or self.config.max_output_len):
            logits, s, _ = self.decode_step(y_prev, s, states, summary, mask, precomputed)
            logp = torch.log_softmax(logits, dim=-1).view(B, k, V)
            scores = scores.to(logp.dtype)
            only_end = torch.full((V,), -math.inf, dtype=logp.dtype, device=device)
            only_end[EOS] = 0.0  # an ended prefix goes on with end marks, at no cost
            logp = torch.where(ended.unsqueeze(-1), only_end, logp)
            scores, best = (scores.unsqueeze(-1) + logp).view(B, k * V).topk(k, dim=1)  # (B, k)
            origin, token = best // V, best % V  # which prefix each survivor extends, and with what
            history = torch.cat([history.gather(1, origin.unsqueeze(-1).expand(-1, -1, t)), token.unsqueeze(-1)], 2)
            ended = ended.gather(1, origin) | (token == EOS)
            s = s[(first_row + origin).view(-1)]
            y_prev = token.view(-1)
            if bool(ended.all()):
                break
        pick = scores.argmax(dim=1)  # (B,)
        rows = torch.arange(B, device=device)
        return history[rows, pick], scores[rows, pick]

    @torch.no_grad()
    def translate(self, sources: list[str], batch_size: int = 256, beam: int = 1) -> list[str]:
        """Greedy decoding (``beam`` 1), or beam search keeping ``beam`` prefixes (``beam_search``; ``batch_size``
        rows of decoder state at a time, so ``batch_size // beam`` sources); stops each row at end-of-sequence or
        ``max_output_len``."""
        if isinstance(sources, str):
            raise TypeError("translate takes a list of strings; wrap a single string in a list")
        _check_beam(beam)
        was_training = self.training
        self.eval()
        device = model_device(self)
        out: list[str] = [""] * len(sources)
        for batch in by_length(sources, max(1, batch_size // beam)):
            src, lengths = self.encode_sources([sources[i] for i in batch])
            src = src.to(device)
            ids = self(src, lengths).argmax(-1) if beam == 1 else self.beam_search(src, lengths, beam)[0]
            for i, line in zip(batch, self.decode_targets(ids.cpu()), strict=True):
                out[i] = line
        self.train(was_training)
        return out

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def translate(model: Seq2Seq, sources: list[str] | str, beam: int = 1) -> list[str] | str:
    """Normalise dates with a trained ``Seq2Seq``: a list of strings gives a list of
    ``YYYY-MM-DD`` strings, one string gives one (greedy decoding, or beam search with ``beam`` > 1)."""
    if isinstance(sources, str):
        return model.translate([sources], beam=beam)[0]
    return model.translate(list(sources), beam=beam)


def _check_beam(beam: int) -> None:
    if not isinstance(beam, int) or isinstance(beam, bool) or not 1 <= beam <= MAX_BEAM:
        raise ConfigError(
            f"beam must be a whole number of prefixes from 1 (greedy decoding) to {MAX_BEAM}, got {beam!r}"
        )
