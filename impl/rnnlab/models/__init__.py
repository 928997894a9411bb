"""Models built on the recurrent stack."""

from rnnlab.models.charlm import CharLM, CharLMConfig
from rnnlab.models.seq2seq import ATTENTION_KINDS, Seq2Seq, Seq2SeqConfig, translate

__all__ = ["ATTENTION_KINDS", "CharLM", "CharLMConfig", "Seq2Seq", "Seq2SeqConfig", "translate"]
