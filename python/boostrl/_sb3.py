"""stable-baselines3's constructor forms and keyword names for the
algorithms: ``PPO("MlpPolicy", env, ...)``, ``PPO(policy=..., env=...)``
and the older ``PPO(env, ...)``; SB3's keywords translated to the C agent's
configuration keys, or dropped with a warning where they describe a neural
network (docs/FROM_SB3.md lists them)."""

from __future__ import annotations

import warnings
from typing import Any

# SB3's policy names. For boostrl they all mean the same thing: the policy
# and value function are boosted-tree ensembles over the flattened
# observation (the tree shape comes from max_depth, grow_policy,
# shared_tree, ...). "MultiInputPolicy" is SB3's name for Dict observations,
# "CnnPolicy" for images (trees split on the flattened pixels).
POLICIES = ("MlpPolicy", "MultiInputPolicy", "CnnPolicy")

# Keywords of SB3's network, optimizer or buffers: no meaning for trees.
# Each maps to the value that is SB3's default (passing it is silent).
_NN_ONLY = {
    "max_grad_norm": None,  # a global clip of the network's gradient
    "use_sde": False,
    "sde_sample_freq": -1,
    "use_rms_prop": True,
    "rms_prop_eps": 1e-5,
    "optimize_memory_usage": False,
    "rollout_buffer_class": None,
    "rollout_buffer_kwargs": None,
    "replay_buffer_class": None,
    "replay_buffer_kwargs": None,
    "monitor_wrapper": True,
    "create_eval_env": False,
    "_init_setup_model": True,
}
_NONE_MEANS_OFF = ("clip_range_vf", "target_kl")


def is_policy(x: Any) -> bool:
    """SB3's policy argument: a policy name or a policy class."""
    if isinstance(x, str):
        return x.endswith("Policy")
    return isinstance(x, type)


def policy_and_env(policy: Any, env: Any) -> tuple[str | None, Any]:
    """(policy name, env) from the positional / keyword forms. A first
    argument that is no policy is the env (``PPO(env)``,
    ``PPO("CartPole-v1")``)."""
    if env is None and policy is not None and not is_policy(policy):
        return None, policy
    if policy is None:
        name = None
    elif isinstance(policy, str):
        if policy not in POLICIES:
            raise ValueError(
                f"policy {policy!r} is not one of {', '.join(POLICIES)}: boostrl's policy is boosted trees "
                "whatever the name (choose their shape with max_depth, grow_policy, shared_tree)"
            )
        name = policy
    elif isinstance(policy, type):
        name = policy.__name__
    else:
        raise ValueError(f"policy is a {type(policy).__name__}: pass a policy name such as 'MlpPolicy'")
    if env is None:
        raise ValueError(
            f"no env: pass one after the policy, e.g. PPO({name or 'MlpPolicy'!r}, 'CartPole-v1') "
            "(an env id, a Gymnasium env or vector env, or an SB3 VecEnv)"
        )
    return name, env


def env_id_of(env: Any) -> str | None:
    """The env id behind env (for its preset): the id itself, a Gymnasium
    env's or vector env's spec, an ``env_id`` attribute, or the spec of the
    first env of an SB3-style VecEnv."""
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    found = getattr(spec, "id", None) or getattr(env, "env_id", None)
    if found is None and callable(getattr(env, "get_attr", None)):
        try:
            found = getattr(env.get_attr("spec", indices=0)[0], "id", None)
        except Exception:
            found = None
    return found


def _at(schedule, progress_remaining: float) -> float:
    return float(schedule(progress_remaining))


def translate(algo: str, hp: dict, config_keys: frozenset) -> tuple[dict, dict]:
    """SB3's keywords in hp as configuration keys. Returns (settings,
    extras): extras holds what the Python side keeps (stats_window_size)."""
    out: dict = {}
    extras: dict = {}
    ignored = []
    for k, v in hp.items():
        if k in _NN_ONLY:
            if v is not None and v != _NN_ONLY[k] and k not in ("monitor_wrapper", "create_eval_env"):
                if k == "use_sde":
                    raise ValueError("use_sde=True (state-dependent exploration) is a network feature: not available")
                if k in ("rollout_buffer_class", "replay_buffer_class"):
                    raise ValueError(f"{k}: the rollout and replay buffers are the C agent's; custom classes do not apply")
                ignored.append(k)
            continue
        if k == "policy_kwargs":
            for pk, pv in (v or {}).items():
                if pk in config_keys:
                    out[pk] = pv
                else:
                    ignored.append(f"policy_kwargs[{pk!r}]")
            continue
        if k == "stats_window_size":
            extras["stats_window_size"] = int(v)
            continue
        if k == "learning_rate" and callable(v):
            # SB3's schedules take the remaining progress (1 -> 0); the C
            # agent decays linearly from policy_lr to policy_lr_end.
            start, end = _at(v, 1.0), _at(v, 0.0)
            out["policy_lr"] = start
            if end != start:
                out["policy_lr_end"] = end if end > 0 else start * 1e-6
            continue
        if callable(v) and k in ("clip_range", "clip_range_vf", "ent_coef"):
            warnings.warn(f"{k}: a schedule is taken at its start value {_at(v, 1.0)} (only rates decay)", stacklevel=3)
            v = _at(v, 1.0)
        if k == "train_freq" and not isinstance(v, (int, float, str)):
            freq, unit = (v.frequency, str(getattr(v.unit, "value", v.unit))) if hasattr(v, "frequency") else v
            if str(unit) != "step":
                raise ValueError(f"train_freq={v!r}: only steps are supported (train_freq=(n, 'step') or n)")
            v = int(freq)
        if k == "gradient_steps" and int(v) < 0:
            raise ValueError("gradient_steps=-1 is not supported: give the number of trees per training call")
        if k == "tau":
            if float(v) != 1.0:
                raise ValueError(
                    f"tau={v}: DQN's target network is a prefix of the Q ensemble, updated every "
                    "target_update_interval steps (hard updates, tau=1); soft updates do not apply"
                )
            continue
        if v is None:
            if k in _NONE_MEANS_OFF:
                out[k] = "none"
            continue
        out[k] = v
    if ignored:
        warnings.warn(
            f"{', '.join(ignored)}: stable-baselines3 settings of a neural network, ignored by boostrl's trees "
            "(docs/FROM_SB3.md)",
            stacklevel=3,
        )
    return out, extras


__all__ = ["POLICIES", "env_id_of", "is_policy", "policy_and_env", "translate"]
