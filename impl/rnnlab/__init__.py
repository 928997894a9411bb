"""rnnlab: recurrent sequence models from scratch, with executable specifications.

``rnnlab.load(path)`` returns a trained model, ready to use, with its vocabulary.
"""
from rnnlab.checkpoint import load

__version__ = "0.1.0"
__all__ = ["load", "__version__"]
