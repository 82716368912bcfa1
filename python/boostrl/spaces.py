"""Gymnasium spaces to the C agent's float observations and action spaces.

The C agent reads observations as float vectors (``obs_dim`` floats) whose
last ``n_cat_obs`` columns are categorical codes (the agent's trees split on
them by equality, one category against the rest). Nested spaces (``Dict``,
``Tuple``) are flattened depth first, ``Dict`` keys in the space's order;
then the numeric columns come first and the categorical ones last, each in
that order. Integer and text sub-spaces are categorical:

- ``Discrete(n, start)``: one categorical code, ``value - start``;
- ``MultiDiscrete``: one categorical code per entry, ``value - start``;
- ``Text`` (or any string leaf): one categorical code, a stable 24-bit hash
  (CRC-32) of the UTF-8 text, the same in every process and after loading
  (equal texts, equal codes; ``None`` is missing);
- ``MultiBinary``: one numeric float per bit;
- ``Box``: its values, flattened, numeric.

``Flattener(space, categorical=False)`` keeps the depth-first order with
every column numeric (agents saved before categorical observations).

A ``Dict`` key named ``"action_mask"`` is not a feature: it is the action
mask (see :func:`ActionSpec`).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

MASK_KEY = "action_mask"

# Action kinds (brl_space_kind).
DISCRETE, BOX, MULTI_DISCRETE = 0, 1, 2


_CODES: dict = {}


def text_code(s: Any) -> float:
    """The float code of a text value (a stable hash, exact in float32)."""
    c = _CODES.get(s) if isinstance(s, str) else None
    if c is not None:
        return c
    if s is None:
        return -1.0
    if isinstance(s, bytes):
        b = s
    else:
        b = str(s).encode("utf-8")
    c = float(zlib.crc32(b) & 0xFFFFFF)
    if isinstance(s, str) and len(_CODES) < 100_000:
        _CODES[s] = c
    return c


def _name(space) -> str:
    return type(space).__name__


_CATEGORICAL = ("Discrete", "MultiDiscrete", "Text")


class Flattener:
    """Maps observations of a space (one, or a batch of n) to float32 rows:
    numeric columns first, then the ``n_cat`` categorical ones."""

    def __init__(self, space, categorical: bool = True) -> None:
        self.space = space
        self.has_mask = _name(space) == "Dict" and MASK_KEY in space.spaces
        self.dim = self._dim(space, top=True)
        flags: list[bool] = []
        self._flags(space, flags, top=True)
        if not categorical:
            flags = [False] * self.dim
        num = [i for i, f in enumerate(flags) if not f]
        cat = [i for i, f in enumerate(flags) if f]
        self.n_cat = len(cat)
        perm = num + cat
        # Column j of a row is column perm[j] of the depth-first order.
        self.perm = perm
        self._perm = None if perm == list(range(self.dim)) else np.asarray(perm, np.intp)

    def _flags(self, s, out: list, top=False) -> None:
        k = _name(s)
        if k == "Dict":
            for key, v in s.spaces.items():
                if not (top and key == MASK_KEY):
                    self._flags(v, out)
        elif k == "Tuple":
            for v in s.spaces:
                self._flags(v, out)
        else:
            out.extend([k in _CATEGORICAL] * self._dim(s))

    def order(self, names: list) -> list:
        """Per-column items of the depth-first order in the rows' order."""
        return [names[i] for i in self.perm]

    def _out(self, a: np.ndarray) -> np.ndarray:
        return a if self._perm is None else np.ascontiguousarray(a[:, self._perm])

    def _dim(self, s, top=False) -> int:
        k = _name(s)
        if k == "Box":
            return int(np.prod(s.shape)) if s.shape else 1
        if k == "Discrete":
            return 1
        if k in ("MultiDiscrete", "MultiBinary"):
            return int(np.prod(s.shape))
        if k == "Text":
            return 1
        if k == "Dict":
            return sum(self._dim(v) for key, v in s.spaces.items() if not (top and key == MASK_KEY))
        if k == "Tuple":
            return sum(self._dim(v) for v in s.spaces)
        raise NotImplementedError(f"boostrl does not take {k} observation spaces")

    # --- single observations and batches ---------------------------------

    def is_single(self, obs) -> bool:
        """Whether obs is one observation (not a batch)."""
        return self._single(self.space, obs)

    def _single(self, s, obs) -> bool:
        k = _name(s)
        if k == "Dict":
            key = next(iter(s.spaces))
            return self._single(s.spaces[key], obs[key])
        if k == "Tuple":
            return self._single(s.spaces[0], obs[0])
        if k == "Text":
            return isinstance(obs, (str, bytes))
        if k == "Discrete":
            return np.ndim(obs) == 0
        return np.ndim(obs) == len(s.shape)

    def batch(self, obs, n: int) -> np.ndarray:
        """A batch of n observations (batched as Gymnasium vector envs and
        SB3 VecEnvs do: arrays with a leading axis, dicts / tuples of them)
        as an (n, dim) float32 array."""
        out = np.empty((n, self.dim), dtype=np.float32)
        self._fill(self.space, obs, n, out, 0, top=True)
        return self._out(out)

    def one(self, obs) -> np.ndarray:
        """One observation as a (dim,) float32 vector."""
        out = np.empty((1, self.dim), dtype=np.float32)
        self._fill(self.space, obs, 1, out, 0, top=True, single=True)
        return self._out(out)[0]

    def many(self, obs_list) -> np.ndarray:
        """A list of single observations as (n, dim) float32."""
        out = np.empty((len(obs_list), self.dim), dtype=np.float32)
        for i, o in enumerate(obs_list):
            self._fill(self.space, o, 1, out[i : i + 1], 0, top=True, single=True)
        return self._out(out)

    def _fill(self, s, obs, n, out, col, top=False, single=False) -> int:
        k = _name(s)
        if k == "Dict":
            for key, sub in s.spaces.items():
                if top and key == MASK_KEY:
                    continue
                col = self._fill(sub, obs[key], n, out, col, single=single)
            return col
        if k == "Tuple":
            if single and all(_name(sub) == "Text" for sub in s.spaces):
                m = len(s.spaces)
                out[0, col : col + m] = [text_code(v) for v in obs]
                return col + m
            for j, sub in enumerate(s.spaces):
                col = self._fill(sub, obs[j], n, out, col, single=single)
            return col
        if k == "Text":
            vals = [obs] if single else list(obs)
            out[:, col] = [text_code(v) for v in vals]
            return col + 1
        d = self._dim(s)
        a = np.asarray(obs)
        if k == "Discrete":
            a = a.astype(np.float64) - float(s.start)
        elif k == "MultiDiscrete":
            a = a.astype(np.float64) - np.asarray(s.start, dtype=np.float64)
        out[:, col : col + d] = a.reshape(n, d)
        return col + d

    def masks(self, obs, n: int, single=False):
        """The action masks carried in the observation (uint8), or None."""
        if not self.has_mask:
            return None
        m = np.asarray(obs[MASK_KEY])
        return np.ascontiguousarray(m.reshape(n, -1), dtype=np.uint8)


class ActionSpec:
    """A Gymnasium action space as the C agent's (kind, nvec, low, high),
    and the conversion of the agent's float actions back to the space."""

    def __init__(self, space) -> None:
        self.space = space
        k = _name(space)
        if k == "Discrete":
            self.kind, self.nvec, self.start = DISCRETE, [int(space.n)], int(space.start)
            self.low = self.high = [0.0]
        elif k == "MultiDiscrete":
            if len(space.shape) != 1:
                raise NotImplementedError("MultiDiscrete action spaces must be 1-D")
            self.kind = MULTI_DISCRETE
            self.nvec = [int(v) for v in space.nvec]
            self.start = np.asarray(space.start, dtype=np.int64)
            self.low = self.high = [0.0] * len(self.nvec)
        elif k == "Box":
            self.kind = BOX
            self.shape = space.shape
            self.low = [float(v) for v in np.asarray(space.low, dtype=np.float64).ravel()]
            self.high = [float(v) for v in np.asarray(space.high, dtype=np.float64).ravel()]
            self.nvec = [0] * len(self.low)
            self._lo = np.asarray(space.low, dtype=np.float32).ravel()
            self._hi = np.asarray(space.high, dtype=np.float32).ravel()
        else:
            raise NotImplementedError(f"boostrl does not take {k} action spaces")

    @classmethod
    def from_agent(cls, kind, nvec, low, high):
        """The Gymnasium space of an agent's action space (needs gymnasium)."""
        from gymnasium import spaces

        if kind == DISCRETE:
            return spaces.Discrete(nvec[0])
        if kind == MULTI_DISCRETE:
            return spaces.MultiDiscrete(nvec)
        return spaces.Box(np.array(low, np.float32), np.array(high, np.float32))

    @property
    def mask_dim(self) -> int:
        return sum(self.nvec) if self.kind != BOX else 0

    def to_env(self, acts: np.ndarray) -> np.ndarray:
        """(n, act_dim) float32 agent actions to a batch of env actions."""
        if self.kind == DISCRETE:
            return acts[:, 0].astype(np.int64) + self.start
        if self.kind == MULTI_DISCRETE:
            return acts.astype(np.int64) + self.start
        a = np.clip(acts, self._lo, self._hi)
        return a.reshape((acts.shape[0],) + tuple(self.shape)).astype(self.space.dtype)

    def to_agent(self, env_acts) -> np.ndarray:
        """A batch of env actions to (n, act_dim) float32 (for masks, tests)."""
        a = np.asarray(env_acts)
        if self.kind == DISCRETE:
            return (a.reshape(-1, 1) - self.start).astype(np.float32)
        n = a.shape[0]
        return a.reshape(n, -1).astype(np.float32)
