"""Training loops and their parts: clipping, truncated BPTT."""

from rnnlab.training.clipping import clip_grad_norm
from rnnlab.training.lm import History, TrainConfig, lr_at, seed_everything, train_lm
from rnnlab.training.tbptt import StreamBatcher

__all__ = ["History", "StreamBatcher", "TrainConfig", "clip_grad_norm", "lr_at", "seed_everything", "train_lm"]
