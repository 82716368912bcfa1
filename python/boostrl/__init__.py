"""boostrl: reinforcement learning with gradient-boosted decision trees.

The engine is a C library; this package binds it. :class:`Ensemble` grows one
tree per :meth:`Ensemble.step` from gradients you compute (any loss, any
framework), predicts, and saves models in the same file format as the C API.
"""

from ._core import Batch, FormatError, c_version
from .ensemble import CAT_UNSEEN, Ensemble, Group

__version__ = "0.1.0"

__all__ = ["Batch", "CAT_UNSEEN", "Ensemble", "FormatError", "Group", "c_version", "__version__"]
