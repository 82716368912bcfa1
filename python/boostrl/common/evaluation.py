"""``from boostrl.common.evaluation import evaluate_policy``, as SB3's."""

from ..evaluation import evaluate_policy

__all__ = ["evaluate_policy"]
