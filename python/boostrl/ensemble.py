"""The low-level ensemble: one boosting step from gradients you compute.

:class:`Ensemble` is the C model (``boostrl._core.Model``) with named
parameters, a supervised :meth:`Ensemble.fit`, and pickling. Everything that
runs per sample (``predict``, ``step``, batches) is the C extension's, called
directly: no Python in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Union

import numpy as np

from . import _core

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._core import _Array

__all__ = ["Ensemble", "Group"]

GROW_POLICIES = {"oblivious": 0, "greedy": 1}
SPLIT_SCORES = {"cosine": 0, "l2": 1}
BIN_METHODS = {"quantile": 0, "uniform": 1}
SCHEDULES = {"constant": 0, "linear_trees": 1, "linear_progress": 2}

_NO_CAT = (
    "categorical features are not supported yet: the C engine of this build "
    "has numeric features only (categorical columns arrive with the engine's "
    "categorical API); encode categories as numeric columns for now"
)

_E = TypeVar("_E", bound="Ensemble")


class _GroupRequired(TypedDict):
    n_outputs: int


class Group(_GroupRequired, total=False):
    """One group of consecutive output columns with its own learning rate.

    ``n_outputs`` is required; ``lr`` defaults to 0.1, ``lr_end`` to ``lr``,
    ``schedule`` to ``"constant"`` (or ``"linear_trees"``: lr goes linearly to
    lr_end over ``schedule_trees`` trees; ``"linear_progress"``: by the
    ``progress`` passed to ``step``), ``score_weight`` (weight of the group's
    columns in split scores) to 1.
    """

    lr: float
    lr_end: float
    schedule: str
    schedule_trees: int
    score_weight: float


def _enum(name: str, value: Union[str, int], table: Mapping[str, int]) -> int:
    if isinstance(value, str):
        key = value.lower()
        if key in table:
            return table[key]
    elif isinstance(value, (int, np.integer)) and int(value) in table.values():
        return int(value)
    choices = ", ".join(repr(k) for k in table)
    raise ValueError(f"{name} is {value!r}: use one of {choices}")


def _name(value: int, table: Mapping[str, int]) -> Union[str, int]:
    for k, v in table.items():
        if v == value:
            return k
    return value


_GROUP_KEYS = {"n_outputs", "lr", "lr_end", "schedule", "schedule_trees", "score_weight"}


def _group_tuple(i: int, g: Mapping[str, Any]) -> tuple[int, float, float, int, int, float]:
    if not isinstance(g, Mapping):
        raise TypeError(f"groups[{i}] must be a dict (see boostrl.Group), got {type(g).__name__}")
    unknown = set(g) - _GROUP_KEYS
    if unknown:
        raise TypeError(
            f"groups[{i}] has unknown keys {sorted(unknown)}: use {sorted(_GROUP_KEYS)}"
        )
    if "n_outputs" not in g:
        raise TypeError(f"groups[{i}] needs 'n_outputs'")
    lr = float(g.get("lr", 0.1))
    return (
        int(g["n_outputs"]),
        lr,
        float(g.get("lr_end", lr)),
        _enum(f"groups[{i}].schedule", g.get("schedule", "constant"), SCHEDULES),
        int(g.get("schedule_trees", 0)),
        float(g.get("score_weight", 1.0)),
    )


def _restore(cls: type[_E], data: bytes, state: Any = None) -> _E:
    obj = cls.from_bytes(data)
    if state:
        obj.__dict__.update(state)
    return obj


class Ensemble(_core.Model):
    """A gradient-boosted tree ensemble grown one tree per step.

    Parameters
    ----------
    n_features:
        Numeric features per sample (columns of ``X``).
    outputs:
        Output columns of a model with one group (default 1); or give
        ``groups``.
    groups:
        Output groups, each a dict with ``n_outputs`` and optionally ``lr``,
        ``lr_end``, ``schedule``, ``schedule_trees``, ``score_weight`` (see
        :class:`Group`), e.g. policy logits and a value head with their own
        rates in one tree.
    lr:
        Learning rate of the single group when ``groups`` is not given
        (default 0.1).
    max_depth:
        1 to 12 (default 4).
    n_bins:
        Value bins per feature, 2 to 256 (256 means 255; one code is kept for
        missing values).
    grow_policy:
        ``"oblivious"`` (one split per level) or ``"greedy"`` (each node its
        own best split).
    split_score:
        ``"cosine"`` (raw gradients) or ``"l2"`` (variance reduction on
        z-scored gradients).
    bin_method:
        ``"quantile"`` or ``"uniform"`` bin edges, computed from each batch.
    min_data_in_leaf:
        Splits leaving fewer samples in a child are rejected.
    n_threads:
        0 for all cores, else exactly this many.
    clip_nonfinite:
        False rejects NaN/inf gradients with ValueError; True replaces NaN by 0
        and +-inf by +-FLT_MAX.
    n_cat_features:
        Categorical columns (``X_cat``); must be 0 until the C engine has
        categorical features.

    ``predict``, ``step``, ``batch``, ``save``, ``load``, ``to_bytes``,
    ``from_bytes``, ``truncate``, ``bias``, ``n_trees``, ``model_bytes`` come
    from the C extension (see ``boostrl._core.Model``). C errors raise
    ValueError (bad arguments, non-finite numbers), OSError (files),
    :class:`boostrl.FormatError` (corrupt models), MemoryError; the message
    is the C library's and the exception's ``status`` names the C code.
    """

    def __init__(
        self,
        n_features: int,
        outputs: int | None = None,
        groups: Sequence[Group] | None = None,
        *,
        lr: float | None = None,
        max_depth: int = 4,
        n_bins: int = 256,
        grow_policy: str | int = "oblivious",
        split_score: str | int = "cosine",
        bin_method: str | int = "quantile",
        min_data_in_leaf: int = 0,
        n_threads: int = 0,
        clip_nonfinite: bool = False,
        n_cat_features: int = 0,
    ) -> None:
        if n_cat_features:
            raise NotImplementedError(_NO_CAT)
        if groups is None:
            k = 1 if outputs is None else int(outputs)
            tuples = [_group_tuple(0, {"n_outputs": k, "lr": 0.1 if lr is None else lr})]
        else:
            if lr is not None:
                raise TypeError("give the learning rates in groups, not lr, when groups is given")
            if isinstance(groups, Mapping):
                groups = [groups]  # type: ignore[list-item]
            tuples = [_group_tuple(i, g) for i, g in enumerate(groups)]
            total = sum(t[0] for t in tuples)
            if outputs is not None and int(outputs) != total:
                raise ValueError(f"outputs is {outputs} but the groups have {total} columns")
        super().__init__(
            int(n_features),
            tuples,
            max_depth=int(max_depth),
            min_data_in_leaf=int(min_data_in_leaf),
            n_bins=int(n_bins),
            grow_policy=_enum("grow_policy", grow_policy, GROW_POLICIES),
            split_score=_enum("split_score", split_score, SPLIT_SCORES),
            bin_method=_enum("bin_method", bin_method, BIN_METHODS),
            n_threads=int(n_threads),
            clip_nonfinite=bool(clip_nonfinite),
        )

    # ------------------------------------------------------------ parameters

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, as the constructor takes them (enums by name)."""
        p = self._params()
        p["grow_policy"] = _name(p["grow_policy"], GROW_POLICIES)
        p["split_score"] = _name(p["split_score"], SPLIT_SCORES)
        p["bin_method"] = _name(p["bin_method"], BIN_METHODS)
        for g in p["groups"]:
            g["schedule"] = _name(g["schedule"], SCHEDULES)
        return p

    def __repr__(self) -> str:
        try:
            p = self.params
        except ValueError:
            return f"<{type(self).__name__} (not initialized)>"
        return (
            f"{type(self).__name__}(n_features={p['n_features']}, "
            f"outputs={self.n_outputs}, n_trees={self.n_trees}, "
            f"max_depth={p['max_depth']}, grow_policy={p['grow_policy']!r}, "
            f"split_score={p['split_score']!r})"
        )

    # Pickling and copy go through the model file format.
    def __reduce__(self) -> tuple[Any, ...]:
        state = getattr(self, "__dict__", None) or None
        return (_restore, (type(self), self.to_bytes(), state))

    # --------------------------------------------------------------- fitting

    def fit(
        self: _E,
        X: _Array,
        y: ArrayLike,
        *,
        X_cat: _Array | None = None,
        iterations: int = 100,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        init_bias: bool = True,
    ) -> _E:
        """Supervised boosting with the squared error 0.5 * (pred - y)^2.

        Grows ``iterations`` trees; each from the gradients ``pred - y`` of
        all rows (``batch_size`` None) or of the next ``batch_size`` rows of
        a permutation of the rows (reshuffled each pass when ``shuffle``,
        from ``seed``). ``init_bias`` sets the bias to the mean of ``y`` when
        the model has no trees yet; a model that has trees keeps its bias and
        predictions include all its trees, so ``fit`` continues training.
        ``progress`` runs from 0 towards 1 over the iterations. Returns self.

        y is (n_rows,) or (n_rows, n_outputs).
        """
        if X_cat is not None:
            raise NotImplementedError(_NO_CAT)
        iterations = int(iterations)
        if iterations < 0:
            raise ValueError(f"iterations is {iterations}: use 0 or more")
        K = self.n_outputs
        with self.batch(X) as batch:
            n = batch.n_rows
            yv = np.asarray(y, dtype=np.float32)
            if yv.ndim == 1 and K == 1:
                yv = yv.reshape(-1, 1)
            if yv.shape != (n, K):
                raise ValueError(f"y has shape {np.shape(y)}: expected ({n},) or ({n}, {K})")
            if init_bias and self.n_trees == 0:
                self.bias = yv.mean(axis=0, dtype=np.float64)
            full = batch_size is None or int(batch_size) >= n
            if not full and int(batch_size) < 1:  # type: ignore[arg-type]
                raise ValueError(f"batch_size is {batch_size}: use 1 or more (or None)")
            bs = n if full else int(batch_size)  # type: ignore[arg-type]
            rng = np.random.default_rng(seed)
            order = np.arange(n, dtype=np.int32)
            pos = n  # forces a (re)shuffle before the first minibatch
            pred = np.empty((n, K), dtype=np.float32)
            for it in range(iterations):
                progress = it / iterations
                batch.predictions(out=pred)
                if full:
                    batch.step(pred - yv, progress=progress)
                    continue
                if pos + bs > n:
                    if shuffle:
                        order = rng.permutation(n).astype(np.int32)
                    pos = 0
                rows = order[pos : pos + bs]
                pos += bs
                batch.step(pred[rows] - yv[rows], rows=rows, progress=progress)
        return self

    # -------------------------------------------------------- introspection

    def feature_importances(self, kind: str = "gain") -> np.ndarray:
        """Per-feature importance: ``"gain"`` (total split gain) or
        ``"split"`` (split count).

        Not available yet: it needs the C engine's feature importances.
        """
        if kind not in ("gain", "split"):
            raise ValueError(f"kind is {kind!r}: use 'gain' or 'split'")
        raise NotImplementedError(
            "feature importances are not available yet: this build's C engine "
            "has no feature-importance call"
        )
