"""boostrl's native C environments as Gymnasium environments.

``boostrl.envs.make("CartPole-v1")`` is ``gymnasium.make("boostrl/CartPole-v1")``:
the C dynamics (brl_env) behind Gymnasium's API, with Gymnasium's spaces
and time limits (the C env truncates at its own ``max_episode_steps``).
:class:`NativeVecEnv` is n copies stepped by one C call, with
stable-baselines3's VecEnv interface (same-step autoreset).
"""

from __future__ import annotations

import numpy as np

from . import _core

NAMESPACE = "boostrl"


def ids() -> list:
    """Ids of the native environments (without the namespace)."""
    return list(_core.env_ids())


def _spaces(env_id: str):
    import gymnasium

    ref = gymnasium.make(env_id)
    try:
        return ref.observation_space, ref.action_space
    finally:
        ref.close()


try:
    import gymnasium as _gym

    _EnvBase = _gym.Env
except ImportError:  # pragma: no cover
    _gym = None
    _EnvBase = object


class NativeGymEnv(_EnvBase):  # type: ignore[misc, valid-type]
    """One native environment behind gymnasium.Env."""

    metadata = {"render_modes": []}

    def __init__(self, env_id: str = "CartPole-v1", render_mode=None) -> None:
        self.env_id = env_id
        self.render_mode = render_mode
        self.observation_space, self.action_space = _spaces(env_id)
        self._env = None
        spec = _core.NativeEnv(env_id, 1, 0).spec
        self._discrete = spec["action_kind"] == 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None or self._env is None:
            s = int(self.np_random.integers(0, 2**63 - 1))
            self._env = _core.NativeEnv(self.env_id, 1, s)
        obs = self._env.reset()[0]
        return obs.astype(self.observation_space.dtype), {}

    def step(self, action):
        if self._env is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, dtype=np.float32).reshape(1, -1)
        obs, r, te, tr, fin = self._env.step(a)
        done = bool(te[0] or tr[0])
        o = fin[0] if done else obs[0]
        return o.astype(self.observation_space.dtype), float(r[0]), bool(te[0]), bool(tr[0]), {}

    def close(self) -> None:
        self._env = None


_registered = False


def register_all() -> None:
    """Registers every native env as boostrl/ID with Gymnasium (idempotent)."""
    global _registered
    if _registered or _gym is None:
        return
    for i in ids():
        rid = f"{NAMESPACE}/{i}"
        if rid not in _gym.registry:
            _gym.register(id=rid, entry_point="boostrl.envs:NativeGymEnv", kwargs={"env_id": i}, disable_env_checker=True)
    _registered = True


def make(env_id: str, **kwargs):
    """gymnasium.make of the native env env_id ("CartPole-v1" or
    "boostrl/CartPole-v1")."""
    register_all()
    if not env_id.startswith(NAMESPACE + "/"):
        env_id = f"{NAMESPACE}/{env_id}"
    return _gym.make(env_id, **kwargs)


class NativeVecEnv:
    """n_envs native copies stepped by one C call (SB3 VecEnv interface)."""

    def __init__(self, env_id: str, n_envs: int = 1, seed: int = 0) -> None:
        self.env_id = env_id
        self.num_envs = n_envs
        self._seed = seed
        self._env = _core.NativeEnv(env_id, n_envs, seed)
        self.observation_space, self.action_space = _spaces(env_id)
        self._actions = None

    def seed(self, seed=None):
        if seed is not None:
            self._env = _core.NativeEnv(self.env_id, self.num_envs, int(seed))

    def reset(self):
        return self._env.reset()

    def step_async(self, actions) -> None:
        self._actions = np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1)

    def step_wait(self):
        obs, r, te, tr, fin = self._env.step(self._actions)
        dones = te | tr
        infos = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = {"terminal_observation": fin[i], "TimeLimit.truncated": bool(tr[i] and not te[i])}
        return obs, r, dones, infos

    def step(self, actions):
        self.step_async(actions)
        return self.step_wait()

    def close(self) -> None:
        self._env = None
