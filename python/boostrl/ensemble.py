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

    from ._core import _Array, _CatArray

__all__ = ["CAT_UNSEEN", "Ensemble", "Group"]

GROW_POLICIES = {"oblivious": 0, "greedy": 1}
SPLIT_SCORES = {"cosine": 0, "l2": 1}
BIN_METHODS = {"quantile": 0, "uniform": 1}
SCHEDULES = {"constant": 0, "linear_trees": 1, "linear_progress": 2}
OPTIMIZERS = {"sgd": 0, "adam": 1}
IMPORTANCES = {"splits": 0, "gain": 1}
DEVICES = {"cpu": 0, "cuda": 1}


def _device_kind(device: Any) -> int:
    """The backend of a device name: "cpu", "cuda" (or "cuda:0", a
    ``torch.device``), "auto" (cuda when available)."""
    name = str(device).lower()
    if name == "auto":
        return DEVICES["cuda"] if _core.cuda_available() else DEVICES["cpu"]
    if name == "cuda:0":
        name = "cuda"
    if name not in DEVICES:
        raise ValueError(f"device is {device!r}: use 'cpu', 'cuda' or 'auto'")
    return DEVICES[name]

#: The code of a string that is not in a column's dictionary at prediction
#: time (``BRL_CAT_UNSEEN``): it never equals a split value, so it takes the
#: "other" side of every categorical split.
CAT_UNSEEN: int = _core.CAT_UNSEEN

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
        and +-inf by +-(the largest finite magnitude of that output column in
        the step's gradients; 0 if it has none).
    n_cat_features:
        Categorical columns per sample (columns of ``X_cat``, default 0).
        ``X_cat`` is an (n_rows, n_cat_features) array of int32 codes
        (negative = missing; read in place when C-contiguous int32) or of
        strings (str, bytes or object arrays, nested lists; None and NaN are
        missing) mapped through the model's per-column dictionaries, which
        are saved with the model: ``step``, ``batch`` and ``fit`` add the
        strings they have not seen, ``predict`` maps them to
        :data:`CAT_UNSEEN` ("other"). Splits are one-vs-rest equalities.
        Categorical column j is feature ``n_features + j`` in feature weights
        and importances.
    optimizer:
        ``"sgd"`` (default; leaves hold ``-lr * mean gradient``, prediction
        is a sum) or ``"adam"`` (leaves hold the mean gradient; prediction
        runs Adam's moment recursion over the trees in order, so tree ranges
        of ``predict`` must start at 0).
    adam_beta1, adam_beta2, adam_eps:
        Adam's parameters (defaults 0.9, 0.999, 1e-8).
    control_variates:
        Before a step, each gradient column has its regression on a moving
        average of the sample's past leaf values subtracted (default False).
        The average is kept per row of a batch, so it acts on
        :meth:`batch` steps (a plain ``step`` builds a fresh batch).
    cv_decay:
        Decay of that moving average, in [0, 1) (default 0.9).
    device:
        Where trees grow and predict: ``"cpu"`` (default), ``"cuda"`` (the
        CUDA backend; NotImplementedError saying why when it is not
        available) or ``"auto"`` (cuda when available). See :attr:`device`
        and :meth:`to`. On cuda, ``predict`` of a CUDA tensor (any DLPack
        producer, e.g. torch) reads and writes device memory only.

    ``predict``, ``step``, ``batch``, ``save``, ``load``, ``to_bytes``,
    ``from_bytes``, ``truncate``, ``bias``, ``n_trees``, ``model_bytes``,
    ``categories``, ``encode_categories``, ``expected_value`` come from the C extension (see
    ``boostrl._core.Model``). C errors raise
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
        optimizer: str | int = "sgd",
        adam_beta1: float = 0.9,
        adam_beta2: float = 0.999,
        adam_eps: float = 1e-8,
        control_variates: bool = False,
        cv_decay: float = 0.9,
        device: str = "cpu",
    ) -> None:
        kind = _device_kind(device)
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
            n_cat_features=int(n_cat_features),
            optimizer=_enum("optimizer", optimizer, OPTIMIZERS),
            adam_beta1=float(adam_beta1),
            adam_beta2=float(adam_beta2),
            adam_eps=float(adam_eps),
            control_variates=bool(control_variates),
            cv_decay=float(cv_decay),
        )
        if kind != DEVICES["cpu"]:
            self._set_backend(kind)

    # ---------------------------------------------------------------- device

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``: where the trees grow and predict."""
        return str(_name(self._backend, DEVICES))

    def to(self: _E, device: str) -> _E:
        """Moves the ensemble to ``"cpu"``, ``"cuda"`` or ``"auto"`` (in
        place; the trees stay the same) and returns it."""
        self._set_backend(_device_kind(device))
        return self

    # ------------------------------------------------------------ parameters

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, as the constructor takes them (enums by name)."""
        p = self._params()
        p["grow_policy"] = _name(p["grow_policy"], GROW_POLICIES)
        p["split_score"] = _name(p["split_score"], SPLIT_SCORES)
        p["bin_method"] = _name(p["bin_method"], BIN_METHODS)
        p["optimizer"] = _name(p["optimizer"], OPTIMIZERS)
        for g in p["groups"]:
            g["schedule"] = _name(g["schedule"], SCHEDULES)
        return p

    def __repr__(self) -> str:
        try:
            p = self.params
        except ValueError:
            return f"<{type(self).__name__} (not initialized)>"
        cat = f"n_cat_features={p['n_cat_features']}, " if p["n_cat_features"] else ""
        opt = f", optimizer={p['optimizer']!r}" if p["optimizer"] != "sgd" else ""
        return (
            f"{type(self).__name__}(n_features={p['n_features']}, {cat}"
            f"outputs={self.n_outputs}, n_trees={self.n_trees}, "
            f"max_depth={p['max_depth']}, grow_policy={p['grow_policy']!r}, "
            f"split_score={p['split_score']!r}{opt}"
            f"{', device=' + repr(self.device) if self.device != 'cpu' else ''})"
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
        X_cat: _CatArray | None = None,
        *,
        iterations: int = 100,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
    ) -> _E:
        """Supervised boosting with the squared error 0.5 * (pred - y)^2.

        Runs the C library's ``brl_fit`` (GIL released): X (and X_cat) are
        quantized once, then ``iterations`` trees are grown, each from the
        gradients ``pred - y`` of all rows (``batch_size`` None) or of the
        next ``batch_size`` rows of a permutation of the rows (reshuffled
        each pass when ``shuffle``, from ``seed``). A model with no trees
        first sets its bias to the mean of ``y``; a model that has trees
        keeps its bias and predictions include all its trees, so ``fit``
        continues training. ``progress`` runs from 0 to 1 over the
        iterations. Strings of ``X_cat`` are added to the dictionaries.
        Returns self.

        y is (n_rows,) (one output) or (n_rows, n_outputs).
        """
        iterations = int(iterations)
        if iterations < 0:
            raise ValueError(f"iterations is {iterations}: use 0 or more")
        bs = 0
        if batch_size is not None:
            bs = int(batch_size)
            if bs < 1:
                raise ValueError(f"batch_size is {batch_size}: use 1 or more (or None)")
        seed = int(seed)
        if not 0 <= seed < 2**64:
            raise ValueError(f"seed is {seed}: use an integer in [0, 2**64)")
        self._fit(
            X,
            y,
            X_cat,
            iterations=iterations,
            batch_size=bs,
            shuffle=bool(shuffle),
            seed=seed,
        )
        return self

    # -------------------------------------------------------- introspection

    def shap(self, X: Any, X_cat: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """SHAP values (exact path-dependent TreeSHAP) of the predictions
        for X (n_rows, n_features) and X_cat (as :meth:`predict`).

        Returns ``(contributions, expected_value)``: ``contributions`` is a
        float32 array of shape ``(n_rows, n_features + n_cat_features,
        n_outputs)`` (numeric features first, then the categorical columns)
        and ``expected_value`` a float32 array of shape ``(n_outputs,)``
        (also :attr:`expected_value`), so that
        ``contributions.sum(axis=1) + expected_value`` equals
        ``predict(X, X_cat)`` up to float rounding. Adam ensembles are not
        a sum of trees: NotImplementedError.
        """
        out = self._shap(X, X_cat)
        return out[:, :-1, :], out[0, -1, :].copy() if len(out) else self.expected_value

    def feature_importances(self, kind: str = "gain") -> np.ndarray:
        """Per-feature importance over the trees' splits, as a float64 array
        of ``n_features + n_cat_features`` values (numeric features first,
        then the categorical columns): ``"gain"`` (total split-score gain)
        or ``"splits"`` (number of splits).
        """
        key = kind.lower() if isinstance(kind, str) else kind
        if key == "split":
            key = "splits"
        return self._feature_importance(_enum("kind", key, IMPORTANCES))
