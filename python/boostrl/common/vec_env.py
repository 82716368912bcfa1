"""Vector environments with stable-baselines3's VecEnv interface, on
Gymnasium's own vector environments.

``reset() -> obs``; ``step(actions) -> obs, rewards, dones, infos`` (or
``step_async`` / ``step_wait``), with same-step autoreset: an env whose
episode ended is reset in the same step, ``infos[i]`` holding the last
step's info plus ``terminal_observation`` and ``TimeLimit.truncated``. Also
``seed``, ``get_attr``, ``set_attr``, ``env_method``, ``env_is_wrapped``,
``render``, ``get_images``, ``close``: enough for SB3's own wrappers
(``VecNormalize``, ``VecFrameStack``, ...) to wrap them when SB3 is
installed, and for every boostrl algorithm to take them.

With Gymnasium >= 1.1, :class:`DummyVecEnv` is Gymnasium's
``SyncVectorEnv`` and :class:`SubprocVecEnv` its ``AsyncVectorEnv``, both
with ``autoreset_mode=SAME_STEP``. Gymnasium 1.0 has only next-step
autoreset, which cannot give SB3's results (the reset observation in the
step that ended the episode): there :class:`DummyVecEnv` steps the envs in a
loop and :class:`SubprocVecEnv` is not available.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np


def same_step_mode():
    """Gymnasium's ``AutoresetMode.SAME_STEP``, or None before Gymnasium
    1.1 (which has no autoreset modes)."""
    try:
        from gymnasium.vector import AutoresetMode
    except ImportError:
        return None
    return AutoresetMode.SAME_STEP


def autoreset_mode(venv) -> str:
    """``"same_step"``, ``"next_step"`` or ``"disabled"``: the autoreset mode
    of a Gymnasium vector env (Gymnasium 1.0's are all next-step)."""
    mode = str(getattr(venv, "metadata", {}).get("autoreset_mode", "NEXT_STEP")).upper()
    if "SAME" in mode:
        return "same_step"
    if "DISABLED" in mode:
        return "disabled"
    return "next_step"


def unbatch_info(infos: dict, i: int) -> dict:
    """Env i's entries of a Gymnasium vector env's info dict (values
    batched, with a ``_key`` mask per key) as one env's dict."""
    out: dict = {}
    for k, v in infos.items():
        if isinstance(k, str) and k.startswith("_"):
            continue
        mask = infos.get(f"_{k}")
        if mask is not None and not bool(mask[i]):
            continue
        if isinstance(v, dict):
            out[k] = unbatch_info(v, i)
        else:
            try:
                x = v[i]
            except (TypeError, IndexError, KeyError):
                continue
            out[k] = x.item() if isinstance(x, np.generic) else x
    return out


def _stack(space, items: list):
    """One batch of observations of ``space`` from a list of them, as SB3
    batches them (Dict: a dict of arrays, Tuple: a tuple of arrays)."""
    name = type(space).__name__
    if name == "Dict":
        return {k: _stack(s, [o[k] for o in items]) for k, s in space.spaces.items()}
    if name == "Tuple":
        return tuple(_stack(s, [o[j] for o in items]) for j, s in enumerate(space.spaces))
    if name == "Text":
        return np.array(items, dtype=object)
    return np.stack([np.asarray(o) for o in items])


def _indices(n: int, indices) -> list[int]:
    if indices is None:
        return list(range(n))
    if isinstance(indices, (int, np.integer)):
        return [int(indices)]
    return [int(i) for i in indices]


def _unwrap_to(env, wrapper_class) -> bool:
    e = env
    while e is not None:
        if isinstance(e, wrapper_class):
            return True
        e = getattr(e, "env", None)
    return False


class VecEnv:
    """The part of SB3's VecEnv interface shared by the classes here."""

    metadata: dict = {"render_modes": ["human", "rgb_array"]}

    def __init__(self, num_envs: int, observation_space, action_space, render_mode=None) -> None:
        self.num_envs = num_envs
        self.observation_space = observation_space
        self.action_space = action_space
        self.render_mode = render_mode
        self.reset_infos: list[dict] = [{} for _ in range(num_envs)]
        self._seeds: list = [None] * num_envs
        self._options: list = [{} for _ in range(num_envs)]
        self._actions = None

    def step(self, actions):
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions) -> None:
        self._actions = actions

    def seed(self, seed: int | None = None) -> list:
        """Seeds the next reset: env i gets ``seed + i`` (SB3's rule)."""
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self._seeds = [seed + i for i in range(self.num_envs)]
        return list(self._seeds)

    def set_options(self, options: dict | list | None = None) -> None:
        if options is None:
            options = {}
        self._options = list(options) if isinstance(options, list) else [dict(options) for _ in range(self.num_envs)]

    def render(self, mode: str | None = None):
        """The first env's frame (``rgb_array``) or its own rendering."""
        imgs = self.get_images()
        return imgs[0] if imgs else None

    def getattr_depth_check(self, name: str, already_found: bool):
        # SB3's VecEnvWrapper asks its venv this while looking up attributes.
        if hasattr(self, name) and already_found:
            return f"{type(self).__module__}.{type(self).__name__}"
        return None

    @property
    def unwrapped(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DummyVecEnv(VecEnv):
    """SB3's DummyVecEnv: ``env_fns`` (functions returning Gymnasium envs)
    stepped in this process. Gymnasium's ``SyncVectorEnv`` with same-step
    autoreset where it exists (Gymnasium >= 1.1), else a loop."""

    def __init__(self, env_fns: Sequence[Callable[[], Any]]) -> None:
        fns = list(env_fns)
        if not fns:
            raise ValueError("DummyVecEnv needs at least one env function")
        mode = same_step_mode()
        self.venv = None
        if mode is not None:
            from gymnasium.vector import SyncVectorEnv

            self.venv = SyncVectorEnv(fns, copy=True, autoreset_mode=mode)
            self.envs = self.venv.envs
        else:
            self.envs = [fn() for fn in fns]
        e0 = self.envs[0]
        super().__init__(len(self.envs), e0.observation_space, e0.action_space, getattr(e0, "render_mode", None))

    @property
    def env_id(self) -> str | None:
        """The first env's id (its spec), for the algorithms' presets."""
        return getattr(getattr(self.envs[0], "spec", None), "id", None) if self.envs else None

    @classmethod
    def from_envs(cls, envs: Iterable) -> "DummyVecEnv":
        """A DummyVecEnv over existing env objects (not copied)."""
        return cls([(lambda e=e: e) for e in envs])

    def _reset_args(self):
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        opts = self._options
        self._seeds = [None] * self.num_envs
        return seeds, opts

    def reset(self):
        seeds, opts = self._reset_args()
        if self.venv is not None:
            options = opts[0] if opts and all(o == opts[0] for o in opts) and opts[0] else None
            obs, infos = self.venv.reset(seed=seeds, options=options)
            self.reset_infos = [unbatch_info(infos, i) for i in range(self.num_envs)]
            return obs
        raw = []
        for i, e in enumerate(self.envs):
            o, info = e.reset(seed=None if seeds is None else seeds[i], options=opts[i] or None)
            raw.append(o)
            self.reset_infos[i] = info
        return _stack(self.observation_space, raw)

    def step_wait(self):
        actions = self._actions
        if self.venv is not None:
            obs, r, te, tr, infos = self.venv.step(actions)
            te = np.asarray(te, bool)
            tr = np.asarray(tr, bool)
            dones = te | tr
            out = []
            final_obs = infos.get("final_obs")
            final_info = infos.get("final_info", {})
            for i in range(self.num_envs):
                if dones[i]:
                    info = unbatch_info(final_info, i)
                    info["terminal_observation"] = final_obs[i]
                    info["TimeLimit.truncated"] = bool(tr[i] and not te[i])
                    self.reset_infos[i] = unbatch_info(infos, i)
                else:
                    info = unbatch_info(infos, i)
                out.append(info)
            return obs, np.asarray(r, np.float32), dones, out
        raw, rews, dones, out = [], np.zeros(self.num_envs, np.float32), np.zeros(self.num_envs, bool), []
        for i, e in enumerate(self.envs):
            o, r, te, tr, info = e.step(actions[i])
            rews[i] = r
            dones[i] = te or tr
            if te or tr:
                info = dict(info)
                info["terminal_observation"] = o
                info["TimeLimit.truncated"] = bool(tr and not te)
                o, self.reset_infos[i] = e.reset()
            raw.append(o)
            out.append(info)
        return _stack(self.observation_space, raw), rews, dones, out

    def close(self) -> None:
        if self.venv is not None:
            self.venv.close()
        else:
            for e in self.envs:
                e.close()

    def get_images(self) -> list:
        return [e.render() for e in self.envs]

    def get_attr(self, attr_name: str, indices=None) -> list:
        out = []
        for i in _indices(self.num_envs, indices):
            e = self.envs[i]
            try:
                out.append(e.get_wrapper_attr(attr_name))
            except AttributeError:
                out.append(getattr(e.unwrapped, attr_name))
        return out

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for i in _indices(self.num_envs, indices):
            setattr(self.envs[i].unwrapped, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        out = []
        for i in _indices(self.num_envs, indices):
            e = self.envs[i]
            try:
                fn = e.get_wrapper_attr(method_name)
            except AttributeError:
                fn = getattr(e.unwrapped, method_name)
            out.append(fn(*method_args, **method_kwargs))
        return out

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [_unwrap_to(self.envs[i], wrapper_class) for i in _indices(self.num_envs, indices)]


class SubprocVecEnv(DummyVecEnv):
    """SB3's SubprocVecEnv: one process per env, Gymnasium's
    ``AsyncVectorEnv`` with same-step autoreset (Gymnasium >= 1.1)."""

    def __init__(self, env_fns: Sequence[Callable[[], Any]], start_method: str | None = None) -> None:
        mode = same_step_mode()
        if mode is None:
            import gymnasium

            raise NotImplementedError(
                f"SubprocVecEnv needs Gymnasium >= 1.1 (same-step autoreset); this is {gymnasium.__version__}: "
                "use DummyVecEnv, or upgrade Gymnasium"
            )
        from gymnasium.vector import AsyncVectorEnv

        fns = list(env_fns)
        self.venv = AsyncVectorEnv(fns, copy=True, context=start_method, autoreset_mode=mode)
        self.envs = []
        VecEnv.__init__(
            self,
            len(fns),
            self.venv.single_observation_space,
            self.venv.single_action_space,
            self.venv.render_mode,
        )

    def get_images(self) -> list:
        return list(self.venv.call("render"))

    def get_attr(self, attr_name: str, indices=None) -> list:
        self._check_attr(attr_name)
        vals = self.venv.get_attr(attr_name)
        return [vals[i] for i in _indices(self.num_envs, indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        if indices is not None:
            raise NotImplementedError("SubprocVecEnv.set_attr sets every env (indices=None)")
        self.venv.set_attr(attr_name, value)

    def _check_attr(self, name: str) -> None:
        # An error inside a worker shuts the worker down: ask first.
        if not all(self.venv.call("has_wrapper_attr", name)):
            raise AttributeError(f"the envs of this SubprocVecEnv have no attribute {name!r}")

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        self._check_attr(method_name)
        vals = self.venv.call(method_name, *method_args, **method_kwargs)
        return [vals[i] for i in _indices(self.num_envs, indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        raise NotImplementedError("SubprocVecEnv cannot inspect the wrappers of envs in other processes")


def wrap_gym_vector(venv) -> DummyVecEnv:
    """SB3's VecEnv interface over an existing Gymnasium vector env with
    same-step autoreset (``ValueError`` for other modes)."""
    mode = autoreset_mode(venv)
    if mode != "same_step":
        raise ValueError(
            f"the Gymnasium vector env resets {mode.replace('_', '-')}: SB3's VecEnv interface needs "
            "autoreset_mode=AutoresetMode.SAME_STEP (Gymnasium >= 1.1)"
        )
    self = DummyVecEnv.__new__(DummyVecEnv)
    self.venv = venv
    self.envs = list(getattr(venv, "envs", []))
    VecEnv.__init__(
        self, venv.num_envs, venv.single_observation_space, venv.single_action_space, getattr(venv, "render_mode", None)
    )
    return self


def same_step_from_disabled(venv):
    """A Gymnasium vector env with ``autoreset_mode=DISABLED`` as one with
    same-step autoreset: after a step that ends episodes, those envs are
    reset at once (``reset(options={"reset_mask": ...})``), the step returns
    their first observations, and ``infos`` holds ``final_obs`` and
    ``final_info`` (the ended steps' observations and infos), as Gymnasium's
    SAME_STEP mode does."""
    import copy

    from gymnasium.vector import AutoresetMode, VectorWrapper
    from gymnasium.vector.utils import iterate

    class SameStepFromDisabled(VectorWrapper):
        def __init__(self, env) -> None:
            super().__init__(env)
            self.metadata = {**env.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}

        def step(self, actions):
            obs, rew, term, trunc, infos = self.env.step(actions)
            done = np.logical_or(term, trunc)
            if done.any():
                final = np.empty(self.num_envs, dtype=object)
                for i, o in enumerate(iterate(self.single_observation_space, obs)):
                    if done[i]:
                        final[i] = copy.deepcopy(o)
                infos = {
                    **infos,
                    "final_obs": final,
                    "_final_obs": done.copy(),
                    "final_info": dict(infos),
                    "_final_info": done.copy(),
                }
                obs, _ = self.env.reset(options={"reset_mask": done.copy()})
            return obs, rew, term, trunc, infos

    return SameStepFromDisabled(venv)


def as_vec_env(adapter):
    """The SB3-style VecEnv of one of the algorithms' env adapters
    (``boostrl.vec_env``): the user's VecEnv, a DummyVecEnv over the env
    copies (the same objects), or a Gymnasium vector env (wrapped when it
    resets in the same step, else as it is)."""
    from ..vec_env import GymVectorAdapter, ListVecEnv, SB3VecAdapter

    if isinstance(adapter, SB3VecAdapter):
        return adapter.venv
    if isinstance(adapter, ListVecEnv):
        return DummyVecEnv.from_envs(adapter.envs)
    if isinstance(adapter, GymVectorAdapter):
        return wrap_gym_vector(adapter.venv) if autoreset_mode(adapter.venv) == "same_step" else adapter.venv
    return adapter


def is_vec_env(env) -> bool:
    """Whether env has SB3's VecEnv interface (a VecEnv of this module, of
    SB3, or any object with ``num_envs``, ``reset`` and ``step`` /
    ``step_wait``) and is not a Gymnasium env or vector env."""
    try:
        import gymnasium

        if isinstance(env, (gymnasium.Env, gymnasium.vector.VectorEnv)):
            return False
    except ImportError:  # pragma: no cover
        pass
    return hasattr(env, "num_envs") and hasattr(env, "reset") and (hasattr(env, "step_wait") or hasattr(env, "step"))


__all__ = [
    "DummyVecEnv",
    "SubprocVecEnv",
    "VecEnv",
    "as_vec_env",
    "autoreset_mode",
    "is_vec_env",
    "same_step_from_disabled",
    "same_step_mode",
    "unbatch_info",
    "wrap_gym_vector",
]
