"""Observation wrappers.

:class:`MiniGridCategorical` turns MiniGrid's observation (``image``: the
agent's view, each cell (object, color, state) indices; ``direction``;
``mission``) into categorical features as the GBRL paper did: each visible
cell one text feature ``"object,color,state"`` (e.g. ``"door,yellow,locked"``),
plus the direction and the mission text. It needs neither minigrid nor its
constants at import time (the index tables are MiniGrid's, copied here).

The algorithms pass each text feature (and the direction) as a categorical
column, a stable hash code (see :mod:`boostrl.spaces`): the agent's trees
split on them one category against the rest (``n_cat_obs`` = 51 with the
default 7x7 view).
"""

from __future__ import annotations

import string

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError:  # pragma: no cover
    gym = None

# minigrid.core.constants
IDX_TO_OBJECT = ["unseen", "empty", "wall", "floor", "door", "key", "ball", "box", "goal", "lava", "agent"]
IDX_TO_COLOR = ["red", "green", "blue", "purple", "yellow", "grey"]
IDX_TO_STATE = ["open", "closed", "locked"]

CHARSET = string.ascii_letters + string.digits + " ,_-'."


def _name(table, i) -> str:
    i = int(i)
    return table[i] if 0 <= i < len(table) else str(i)


def cell_text(obj: int, color: int, state: int) -> str:
    """The categorical value of one cell: "object,color,state"."""
    return f"{_name(IDX_TO_OBJECT, obj)},{_name(IDX_TO_COLOR, color)},{_name(IDX_TO_STATE, state)}"


def _cell_table():
    t = np.empty((len(IDX_TO_OBJECT), len(IDX_TO_COLOR), len(IDX_TO_STATE)), dtype=object)
    for o in range(t.shape[0]):
        for c in range(t.shape[1]):
            for st in range(t.shape[2]):
                t[o, c, st] = cell_text(o, c, st)
    return t


_CELLS = _cell_table()


class MiniGridCategorical(gym.ObservationWrapper if gym else object):  # type: ignore[misc]
    """MiniGrid observations as categorical features: a Dict of ``cells``
    (a Tuple of one Text per cell of the view, row-major over (x, y)),
    ``direction`` (Discrete(4)) and ``mission`` (Text)."""

    def __init__(self, env) -> None:
        super().__init__(env)
        img = env.observation_space["image"]
        self.view_shape = img.shape[:2]
        n = int(np.prod(self.view_shape))
        cell = spaces.Text(max_length=32, min_length=1, charset=CHARSET)
        self.observation_space = spaces.Dict(
            {
                "cells": spaces.Tuple([cell] * n),
                "direction": spaces.Discrete(4),
                "mission": spaces.Text(max_length=512, min_length=0, charset=CHARSET),
            }
        )

    def observation(self, obs):
        img = np.asarray(obs["image"])
        ids = img[:, :, :3].reshape(-1, 3).astype(np.intp)
        if (ids < _CELLS.shape).all():
            cells = tuple(_CELLS[ids[:, 0], ids[:, 1], ids[:, 2]].tolist())
        else:
            cells = tuple(cell_text(*r) for r in ids)
        mission = str(obs.get("mission", ""))
        mission = "".join(ch for ch in mission if ch in CHARSET)
        return {"cells": cells, "direction": int(obs["direction"]), "mission": mission}


class AtariRam(gym.ObservationWrapper if gym else object):  # type: ignore[misc]
    """Atari RAM observations (``obs_type="ram"``: 128 bytes) with the
    bytes' bits or values as extra features, for trees.

    The bytes stay numeric features (``ram``: positions, counters and
    timers split by thresholds). ``extra="bits"`` adds their 1,024 bits
    (``bits``, MultiBinary: numeric 0/1 columns), so that one split can
    test one flag of a byte that packs several; ``extra="categorical"``
    adds each byte as a categorical code (``codes``, MultiDiscrete(256):
    split one value against the rest, for bytes that name a mode or an
    object rather than measure something). ``extra="none"`` keeps the
    bytes alone (the same features as the unwrapped env)."""

    EXTRAS = ("none", "bits", "categorical")

    def __init__(self, env, extra: str = "bits") -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or space.shape != (128,) or space.dtype != np.uint8:
            raise ValueError(f"AtariRam needs RAM observations (Box of 128 uint8, obs_type='ram'), got {space}")
        if extra not in self.EXTRAS:
            raise ValueError(f"AtariRam: extra={extra!r}, use one of {', '.join(self.EXTRAS)}")
        self.extra = extra
        parts = {"ram": space}
        if extra == "bits":
            parts["bits"] = spaces.MultiBinary(128 * 8)
        elif extra == "categorical":
            parts["codes"] = spaces.MultiDiscrete(np.full(128, 256, dtype=np.int64))
        self.observation_space = spaces.Dict(parts)

    def observation(self, obs):
        ram = np.asarray(obs, dtype=np.uint8)
        out = {"ram": ram}
        if self.extra == "bits":
            out["bits"] = np.unpackbits(ram).astype(np.int8)
        elif self.extra == "categorical":
            out["codes"] = ram.astype(np.int64)
        return out
