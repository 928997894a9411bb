"""The report's lab sections: one module per lab, each ``write(recorder, result)``."""

from acceptance.sections import bridge, lab01, lab02, lab03, recall

__all__ = ["bridge", "lab01", "lab02", "lab03", "recall"]
