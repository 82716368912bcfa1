"""boostrl: reinforcement learning with gradient-boosted decision trees.

The engine is a C library; this package binds it. :class:`Ensemble` grows one
tree per :meth:`Ensemble.step` from gradients you compute (any loss, any
framework), predicts, and saves models in the same file format as the C API.
:class:`PPO`, :class:`A2C`, :class:`AWR` and :class:`DQN` train tree agents on
Gymnasium environments with stable-baselines3's interface.
"""

from ._core import Batch, FormatError, c_version
from .algorithms import A2C, AWR, DQN, PPO, BaseAlgorithm, env_share
from .ensemble import CAT_UNSEEN, Ensemble, Group
from .evaluation import evaluate_policy

__version__ = "0.1.0"

__all__ = [
    "A2C",
    "AWR",
    "BaseAlgorithm",
    "Batch",
    "CAT_UNSEEN",
    "DQN",
    "Ensemble",
    "FormatError",
    "Group",
    "PPO",
    "c_version",
    "env_share",
    "evaluate_policy",
    "__version__",
]
