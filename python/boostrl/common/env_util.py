"""make_vec_env, as stable-baselines3's: n copies of an env in an SB3-style
VecEnv (:class:`boostrl.common.vec_env.DummyVecEnv`, Gymnasium's own
``SyncVectorEnv`` with same-step autoreset where it exists)."""

from __future__ import annotations

from typing import Any, Callable

from .vec_env import DummyVecEnv


def make_vec_env(
    env_id: str | Callable[..., Any],
    n_envs: int = 1,
    seed: int | None = None,
    start_index: int = 0,
    monitor_dir: str | None = None,
    wrapper_class: Callable | None = None,
    env_kwargs: dict | None = None,
    vec_env_cls: type | None = None,
    vec_env_kwargs: dict | None = None,
    monitor_kwargs: dict | None = None,
    wrapper_kwargs: dict | None = None,
):
    """``n_envs`` copies of ``env_id`` (an id, ``boostrl/...`` for the native
    envs, or a function returning an env) in ``vec_env_cls`` (default
    :class:`DummyVecEnv`). Each copy is wrapped in Gymnasium's
    ``RecordEpisodeStatistics`` (SB3's ``Monitor``: ``info["episode"]`` at
    the end of an episode; ``monitor_dir`` is not supported), then in
    ``wrapper_class(env, **wrapper_kwargs)``. With ``seed``, env ``i`` is
    seeded with ``seed + start_index + i`` at the first reset and its action
    space likewise."""
    import gymnasium

    from .. import envs as _envs

    if monitor_dir is not None:
        raise ValueError(
            "make_vec_env: monitor_dir (SB3's Monitor CSV files) is not supported: episodes are in "
            "info['episode'] (RecordEpisodeStatistics) and in the model's logger (tensorboard_log=, csv)"
        )
    if isinstance(env_id, str):
        _envs.register_all()
    env_kwargs = dict(env_kwargs or {})
    wrapper_kwargs = dict(wrapper_kwargs or {})
    monitor_kwargs = dict(monitor_kwargs or {})

    def make_env(rank: int) -> Callable[[], Any]:
        def _init():
            if isinstance(env_id, str):
                env = gymnasium.make(env_id, **env_kwargs)
            else:
                env = env_id(**env_kwargs)
            if seed is not None:
                env.action_space.seed(seed + rank)
            env = gymnasium.wrappers.RecordEpisodeStatistics(env, **monitor_kwargs)
            if wrapper_class is not None:
                env = wrapper_class(env, **wrapper_kwargs)
            return env

        return _init

    cls = vec_env_cls or DummyVecEnv
    venv = cls([make_env(start_index + i) for i in range(n_envs)], **(vec_env_kwargs or {}))
    if seed is not None:
        venv.seed(seed + start_index)
    return venv


__all__ = ["make_vec_env"]
