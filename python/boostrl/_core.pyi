"""Type stubs of boostrl._core, the C extension over the C API."""

from os import PathLike
from typing import Any, Protocol, TypeVar, Union, final

import numpy as np
from numpy.typing import ArrayLike, NDArray

class _SupportsDLPack(Protocol):
    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any: ...

# numpy arrays (no copy when C-contiguous float32), anything with __array__,
# nested sequences, DLPack producers such as CPU torch tensors.
_Array = Union[ArrayLike, _SupportsDLPack]
# Categorical columns: int32 codes (no copy when C-contiguous int32; negative
# = missing), other integer arrays, or strings (str / bytes / object arrays,
# nested lists; None and NaN = missing).
_CatArray = Union[ArrayLike, _SupportsDLPack]
_I32 = NDArray[np.int32]
_Path = Union[str, bytes, PathLike[str], PathLike[bytes]]
_F32 = NDArray[np.float32]
_M = TypeVar("_M", bound="Model")

MAX_GROUPS: int
MAX_DEPTH: int
MAX_BINS: int
CAT_UNSEEN: int
VERSION_NUMBER: int

class FormatError(ValueError):
    """A model file or buffer is corrupt, truncated or not a boostrl model."""

    status: str

def c_version() -> str: ...
def backend_available(kind: int) -> bool: ...
def _time_predict(model: Model, X: _Array, repeats: int) -> float: ...
def _as_float32(X: _Array, n_features: int) -> _F32: ...

class Model:
    def __init__(
        self,
        n_features: int,
        groups: int | list[tuple[int, float, float, int, int, float]] | None = ...,
        max_depth: int = ...,
        min_data_in_leaf: int = ...,
        n_bins: int = ...,
        grow_policy: int = ...,
        split_score: int = ...,
        bin_method: int = ...,
        n_threads: int = ...,
        clip_nonfinite: bool = ...,
        n_cat_features: int = ...,
        optimizer: int = ...,
        adam_beta1: float = ...,
        adam_beta2: float = ...,
        adam_eps: float = ...,
        control_variates: bool = ...,
        cv_decay: float = ...,
    ) -> None: ...
    def predict(
        self,
        X: _Array,
        X_cat: _CatArray | None = None,
        start: int | None = 0,
        stop: int | None = None,
        out: _F32 | None = None,
    ) -> _F32: ...
    def step(
        self,
        X: _Array,
        grads: _Array,
        X_cat: _CatArray | None = None,
        rows: ArrayLike | None = None,
        progress: float = 0.0,
    ) -> None: ...
    def batch(self, X: _Array, X_cat: _CatArray | None = None) -> Batch: ...
    def _fit(
        self,
        X: _Array,
        y: _Array,
        X_cat: _CatArray | None = None,
        iterations: int = 100,
        batch_size: int = 0,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None: ...
    def _feature_importance(self, kind: int) -> NDArray[np.float64]: ...
    def categories(self, j: int) -> list[str]: ...
    def encode_categories(self, X_cat: _CatArray, add: bool = False) -> _I32: ...
    def save(self, path: _Path) -> None: ...
    @classmethod
    def load(cls: type[_M], path: _Path) -> _M: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls: type[_M], data: bytes | bytearray | memoryview) -> _M: ...
    def truncate(self, n_keep: int) -> None: ...
    def set_group_lr(self, group: int, lr: float, lr_end: float | None = None) -> None: ...
    def group_lr(self, group: int, progress: float = 0.0) -> float: ...
    def set_feature_weights(self, weights: ArrayLike | None) -> None: ...
    def tree_info(self, tree: int) -> dict[str, Any]: ...
    def _params(self) -> dict[str, Any]: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_cat_features(self) -> int: ...
    @property
    def model_bytes(self) -> int: ...
    @property
    def bias(self) -> _F32: ...
    @bias.setter
    def bias(self, value: ArrayLike) -> None: ...
    @property
    def n_threads(self) -> int: ...
    @n_threads.setter
    def n_threads(self, value: int) -> None: ...

@final
class Batch:
    def step(
        self, grads: _Array, rows: ArrayLike | None = None, progress: float = 0.0
    ) -> None: ...
    def predictions(self, out: _F32 | None = None) -> _F32: ...
    def n_bins(self, feature: int) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Batch: ...
    def __exit__(self, *exc: object) -> None: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def model(self) -> Model: ...
    @property
    def closed(self) -> bool: ...
