"""Vector environments as the algorithms see them.

Every kind of environment the algorithms take is wrapped in an adapter with
one interface, in the C agent's convention (same-step autoreset, DESIGN §2):
``reset()`` gives the flattened observations, ``step(actions)`` the
flattened next observations, rewards, terminated, truncated, the final
observations of ended episodes, and ``valid``: whether each env's
transition is a real one.

- :class:`ListVecEnv`: copies of a Gymnasium env stepped in this process,
  reset in the same step (as stable-baselines3's DummyVecEnv; each ended
  episode's last observation is in ``infos[i]["terminal_observation"]``).
- :class:`GymVectorAdapter`: a ``gymnasium.vector.VectorEnv``. Gymnasium
  >= 1.0 resets an env in the step *after* the one that ended its episode
  (next-step autoreset): that step ignores the action and returns the first
  observation with reward 0. It is no transition: ``valid`` is False for
  it, and the agent records its row as such (``Agent.observe(...,
  valid)``, brl_agent_observe_valid): no gradient, no advantage, no
  episode. (Its reward, flags and final observation are not read.) Vector
  envs with ``metadata["autoreset_mode"]`` SAME_STEP (Gymnasium >= 1.1) are
  read with ``infos["final_obs"]`` instead.
- :class:`SB3VecAdapter`: any object with stable-baselines3's VecEnv
  interface (``num_envs``, ``reset() -> obs``, ``step_async`` /
  ``step_wait`` or ``step`` -> ``obs, rewards, dones, infos`` with
  ``terminal_observation`` and ``TimeLimit.truncated`` in the infos).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .spaces import Flattener


def _masks_from_envs(envs) -> np.ndarray | None:
    rows = []
    for e in envs:
        fn = None
        try:
            fn = e.get_wrapper_attr("action_masks")
        except AttributeError:
            fn = getattr(e, "action_masks", None)
        if fn is None:
            return None
        rows.append(np.asarray(fn(), dtype=np.uint8).ravel())
    return np.ascontiguousarray(np.stack(rows))


class ListVecEnv:
    """n copies of a Gymnasium env with same-step autoreset (also usable
    on its own, with SB3's VecEnv methods)."""

    def __init__(self, envs: list, flattener: Flattener | None = None) -> None:
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self.flat = flattener or Flattener(self.observation_space)
        self._seed = None
        self._raw = [None] * self.num_envs
        self._has_mask_method = None

    def seed(self, seed=None):
        self._seed = seed

    def _masks(self):
        if self.flat.has_mask:
            return np.stack([np.asarray(o["action_mask"], np.uint8).ravel() for o in self._raw])
        if self._has_mask_method is False:
            return None
        m = _masks_from_envs(self.envs)
        self._has_mask_method = m is not None
        return m

    def reset(self):
        for i, e in enumerate(self.envs):
            s = None if self._seed is None else self._seed + i
            self._raw[i], _ = e.reset(seed=s)
        self._seed = None
        return self.flat.many(self._raw), self._masks()

    def step(self, actions):
        n = self.num_envs
        rew = np.zeros(n, np.float32)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        final = None
        infos = []
        for i, e in enumerate(self.envs):
            o, r, te, tr, info = e.step(actions[i])
            rew[i], term[i], trunc[i] = r, te, tr
            if te or tr:
                if final is None:
                    final = np.zeros((n, self.flat.dim), np.float32)
                final[i] = self.flat.one(o)
                info = dict(info)
                info["terminal_observation"] = o
                info["TimeLimit.truncated"] = bool(tr and not te)
                o, _ = e.reset()
            self._raw[i] = o
            infos.append(info)
        obs = self.flat.many(self._raw)
        return obs, self._masks(), rew, term, trunc, final, np.ones(n, bool), infos

    def close(self):
        for e in self.envs:
            e.close()


class GymVectorAdapter:
    """A gymnasium.vector.VectorEnv (next-step or same-step autoreset)."""

    def __init__(self, venv, flattener: Flattener | None = None) -> None:
        self.venv = venv
        self.num_envs = venv.num_envs
        self.observation_space = venv.single_observation_space
        self.action_space = venv.single_action_space
        self.flat = flattener or Flattener(self.observation_space)
        mode = str(getattr(venv, "metadata", {}).get("autoreset_mode", "NEXT_STEP"))
        self.same_step = "SAME_STEP" in mode.upper()
        self._seed = None
        self._prev_done = np.zeros(self.num_envs, bool)
        self._last = None
        self._mask_call = None

    def seed(self, seed=None):
        self._seed = seed

    def _masks(self, obs, infos):
        if self.flat.has_mask:
            return self.flat.masks(obs, self.num_envs)
        if isinstance(infos, dict) and "action_mask" in infos:
            return np.ascontiguousarray(np.asarray(infos["action_mask"], np.uint8).reshape(self.num_envs, -1))
        if self._mask_call is False:
            return None
        try:
            m = self.venv.call("action_masks")
            self._mask_call = True
            return np.ascontiguousarray(np.stack([np.asarray(r, np.uint8).ravel() for r in m]))
        except Exception:
            self._mask_call = False
            return None

    def reset(self):
        obs, infos = self.venv.reset(seed=self._seed)
        self._seed = None
        self._prev_done[:] = False
        self._last = self.flat.batch(obs, self.num_envs)
        return self._last, self._masks(obs, infos)

    def step(self, actions):
        n = self.num_envs
        obs, r, te, tr, infos = self.venv.step(actions)
        f = self.flat.batch(obs, n)
        rew = np.asarray(r, np.float32).copy()
        term = np.asarray(te, bool).copy()
        trunc = np.asarray(tr, bool).copy()
        valid = np.ones(n, bool)
        final = None
        if self.same_step:
            if (term | trunc).any():
                final = np.zeros((n, self.flat.dim), np.float32)
                fo = infos.get("final_obs")
                for i in np.flatnonzero(term | trunc):
                    final[i] = self.flat.one(fo[i])
        else:
            if self._prev_done.any():
                valid = ~self._prev_done
                skip = self._prev_done
                rew[skip] = 0.0
                term[skip] = False
                trunc[skip] = True
                final = self._last.copy()
            done = term | trunc
            if done.any():
                # This step's obs are the episodes' last observations: the
                # agent bootstraps truncated ones from them (final_obs) and
                # sees them once more at the skipped step.
                if final is None:
                    final = np.zeros((n, self.flat.dim), np.float32)
                final[done & valid] = f[done & valid]
            self._prev_done = done & valid
        self._last = f
        info_list = [{} for _ in range(n)]
        return f, self._masks(obs, infos), rew, term, trunc, final, valid, info_list

    def close(self):
        self.venv.close()


class SB3VecAdapter:
    """An object with stable-baselines3's VecEnv interface (duck-typed)."""

    def __init__(self, venv, flattener: Flattener | None = None) -> None:
        self.venv = venv
        self.num_envs = venv.num_envs
        self.observation_space = venv.observation_space
        self.action_space = venv.action_space
        self.flat = flattener or Flattener(self.observation_space)
        self._mask_method = None

    def seed(self, seed=None):
        if seed is not None and hasattr(self.venv, "seed"):
            try:
                self.venv.seed(seed)
            except Exception:
                pass

    def _masks(self, obs):
        if self.flat.has_mask:
            return self.flat.masks(obs, self.num_envs)
        if self._mask_method is False or not hasattr(self.venv, "env_method"):
            return None
        try:
            m = self.venv.env_method("action_masks")
            self._mask_method = True
            return np.ascontiguousarray(np.stack([np.asarray(r, np.uint8).ravel() for r in m]))
        except Exception:
            self._mask_method = False
            return None

    def reset(self):
        from .common.vec_env import VecEnv

        obs = self.venv.reset()
        if not isinstance(self.venv, VecEnv) and isinstance(obs, tuple) and len(obs) == 2 and isinstance(obs[1], (dict, list)):
            obs = obs[0]
        return self.flat.batch(obs, self.num_envs), self._masks(obs)

    def step(self, actions):
        n = self.num_envs
        if hasattr(self.venv, "step_async") and hasattr(self.venv, "step_wait"):
            self.venv.step_async(actions)
            obs, r, dones, infos = self.venv.step_wait()
        else:
            obs, r, dones, infos = self.venv.step(actions)
        dones = np.asarray(dones, bool)
        trunc = np.array([bool(infos[i].get("TimeLimit.truncated", False)) for i in range(n)]) & dones
        term = dones & ~trunc
        final = None
        if dones.any():
            final = np.zeros((n, self.flat.dim), np.float32)
            for i in np.flatnonzero(dones):
                t = infos[i].get("terminal_observation")
                if t is not None:
                    final[i] = self.flat.one(t)
        f = self.flat.batch(obs, n)
        return f, self._masks(obs), np.asarray(r, np.float32), term, trunc, final, np.ones(n, bool), list(infos)

    def close(self):
        if hasattr(self.venv, "close"):
            self.venv.close()


def _is_gym_vector(env) -> bool:
    try:
        import gymnasium

        return isinstance(env, gymnasium.vector.VectorEnv)
    except ImportError:  # pragma: no cover
        return False


def _is_sb3_vec(env) -> bool:
    # SB3's VecEnvs (VecNormalize, ...) have `unwrapped` too: a Gymnasium
    # env is told apart by its class.
    from .common.vec_env import is_vec_env

    return is_vec_env(env)


def make_adapter(env: Any, n_envs: int, seed: int | None = None):
    """The adapter of env (an id, a Gymnasium env, a Gymnasium vector env or
    an SB3 VecEnv); n_envs copies for an id or a single env. Returns
    (adapter, env_id or None)."""
    if isinstance(env, str):
        import gymnasium

        from . import envs as _envs  # registers boostrl/... ids

        _envs.register_all()
        env_id = env
        envs = [gymnasium.make(env_id) for _ in range(n_envs)]
        return _same_step(envs), env_id
    if isinstance(env, (ListVecEnv, GymVectorAdapter, SB3VecAdapter)):
        return env, None
    if _is_gym_vector(env):
        from .common.vec_env import autoreset_mode, same_step_from_disabled

        spec = getattr(env, "spec", None)
        if autoreset_mode(env) == "disabled":
            env = same_step_from_disabled(env)
        return GymVectorAdapter(env), getattr(spec, "id", None)
    if _is_sb3_vec(env):
        return SB3VecAdapter(env), None
    # A single Gymnasium env: copies by deepcopy (the env's wrappers too).
    spec = getattr(env, "spec", None)
    envs = [env]
    for _ in range(n_envs - 1):
        try:
            envs.append(copy.deepcopy(env))
        except Exception:
            envs = [env]
            break
    return _same_step(envs), getattr(spec, "id", None)


def _same_step(envs: list):
    """Env copies stepped with same-step autoreset: Gymnasium's
    SyncVectorEnv in SAME_STEP mode where it exists (Gymnasium >= 1.1,
    behind boostrl.common.vec_env.DummyVecEnv), else a loop."""
    from .common.vec_env import DummyVecEnv

    return SB3VecAdapter(DummyVecEnv.from_envs(envs))
