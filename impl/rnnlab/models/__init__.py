"""Models built on the recurrent stack."""
from rnnlab.models.charlm import CharLM, CharLMConfig

__all__ = ["CharLM", "CharLMConfig"]
