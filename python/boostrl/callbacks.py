"""Callbacks in stable-baselines3's shape: on_training_start, on_rollout_start,
on_step (return False to stop), on_rollout_end, on_training_end."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np


class BaseCallback:
    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.model = None
        self.n_calls = 0
        self.num_timesteps = 0
        self.locals: dict = {}
        self.globals: dict = {}
        self.parent = None

    @property
    def training_env(self):
        return self.model.env if self.model is not None else None

    @property
    def logger(self):
        return self.model.logger

    def init_callback(self, model) -> None:
        self.model = model
        self._init_callback()

    def _init_callback(self) -> None:
        pass

    def on_training_start(self, locals_: dict, globals_: dict) -> None:
        self.locals, self.globals = locals_, globals_
        self.num_timesteps = self.model.num_timesteps
        self._on_training_start()

    def _on_training_start(self) -> None:
        pass

    def on_rollout_start(self) -> None:
        self._on_rollout_start()

    def _on_rollout_start(self) -> None:
        pass

    def on_step(self) -> bool:
        self.n_calls += 1
        self.num_timesteps = self.model.num_timesteps
        return self._on_step()

    def _on_step(self) -> bool:
        return True

    def on_rollout_end(self) -> None:
        self._on_rollout_end()

    def _on_rollout_end(self) -> None:
        pass

    def on_training_end(self) -> None:
        self._on_training_end()

    def _on_training_end(self) -> None:
        pass

    def update_locals(self, locals_: dict) -> None:
        self.locals.update(locals_)


class CallbackList(BaseCallback):
    def __init__(self, callbacks: list) -> None:
        super().__init__()
        self.callbacks = list(callbacks)

    def init_callback(self, model) -> None:
        super().init_callback(model)
        for c in self.callbacks:
            c.init_callback(model)

    def on_training_start(self, locals_, globals_) -> None:
        for c in self.callbacks:
            c.on_training_start(locals_, globals_)

    def on_rollout_start(self) -> None:
        for c in self.callbacks:
            c.on_rollout_start()

    def on_step(self) -> bool:
        ok = True
        for c in self.callbacks:
            ok = c.on_step() and ok
        return ok

    def on_rollout_end(self) -> None:
        for c in self.callbacks:
            c.on_rollout_end()

    def on_training_end(self) -> None:
        for c in self.callbacks:
            c.on_training_end()

    def update_locals(self, locals_) -> None:
        for c in self.callbacks:
            if hasattr(c, "update_locals"):
                c.update_locals(locals_)


class ConvertCallback(BaseCallback):
    """A function f(locals, globals) -> bool as a callback."""

    def __init__(self, fn: Callable, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.fn = fn

    def _on_step(self) -> bool:
        r = self.fn(self.locals, self.globals)
        return True if r is None else bool(r)


_HOOKS = ("init_callback", "on_training_start", "on_rollout_start", "on_step", "on_rollout_end", "on_training_end")


def _is_callback(cb) -> bool:
    """A boostrl callback, or one with the same methods (stable-baselines3's
    callback classes: boostrl does not import SB3 or torch)."""
    return isinstance(cb, BaseCallback) or all(callable(getattr(cb, h, None)) for h in _HOOKS)


def make_callback(cb) -> BaseCallback:
    if cb is None:
        return CallbackList([])
    if isinstance(cb, list):
        return CallbackList([make_callback(c) for c in cb])
    if _is_callback(cb):
        return cb
    if callable(cb):
        return ConvertCallback(cb)
    raise TypeError(
        "callback must be a callback (boostrl's or stable-baselines3's BaseCallback), a list of them, "
        f"or a function f(locals, globals); got {type(cb).__name__}"
    )


class CheckpointCallback(BaseCallback):
    """Saves the model every save_freq calls (vector steps) to
    save_path/{name_prefix}_{timesteps}_steps.brl. save_replay_buffer and
    save_vecnormalize (SB3's) are accepted: the agent file holds what the
    model needs (a replay buffer is not saved)."""

    def __init__(
        self,
        save_freq: int,
        save_path: str,
        name_prefix: str = "rl_model",
        save_replay_buffer: bool = False,
        save_vecnormalize: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.save_freq = save_freq
        self.save_path = save_path
        self.name_prefix = name_prefix

    def _init_callback(self) -> None:
        os.makedirs(self.save_path, exist_ok=True)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            p = os.path.join(self.save_path, f"{self.name_prefix}_{self.num_timesteps}_steps.brl")
            self.model.save(p)
            if self.verbose:
                print(f"Saving model checkpoint to {p}")
        return True


class StopTrainingOnRewardThreshold(BaseCallback):
    """For EvalCallback(callback_on_new_best=...): stops once the mean
    evaluation reward reaches reward_threshold."""

    def __init__(self, reward_threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.reward_threshold = reward_threshold

    def _on_step(self) -> bool:
        return not (self.parent is not None and self.parent.best_mean_reward >= self.reward_threshold)


class EvalCallback(BaseCallback):
    """Evaluates the deterministic policy every eval_freq calls on eval_env
    (anything the algorithms take), records eval/mean_reward, keeps the
    best model (best_model_save_path/best_model.brl) and the evaluations
    (log_path/evaluations.npz)."""

    def __init__(
        self,
        eval_env,
        callback_on_new_best: BaseCallback | None = None,
        callback_after_eval: BaseCallback | None = None,
        n_eval_episodes: int = 5,
        eval_freq: int = 10000,
        log_path: str | None = None,
        best_model_save_path: str | None = None,
        deterministic: bool = True,
        render: bool = False,
        verbose: int = 1,
        warn: bool = True,
    ) -> None:
        super().__init__(verbose)
        self.eval_env = eval_env
        self.callback_on_new_best = callback_on_new_best
        if callback_on_new_best is not None:
            callback_on_new_best.parent = self
        self.callback_after_eval = callback_after_eval
        if callback_after_eval is not None:
            callback_after_eval.parent = self
        self.render = render
        self.warn = warn
        self.n_eval_episodes = n_eval_episodes
        self.eval_freq = eval_freq
        self.log_path = log_path
        self.best_model_save_path = best_model_save_path
        self.deterministic = deterministic
        self.best_mean_reward = -np.inf
        self.last_mean_reward = -np.inf
        self.evaluations_timesteps: list = []
        self.evaluations_results: list = []
        self.evaluations_length: list = []

    def _init_callback(self) -> None:
        for c in (self.callback_on_new_best, self.callback_after_eval):
            if c is not None:
                c.init_callback(self.model)

    def _on_step(self) -> bool:
        if self.eval_freq <= 0 or self.n_calls % self.eval_freq != 0:
            return True
        from .evaluation import evaluate_policy

        rets, lens = evaluate_policy(
            self.model, self.eval_env, n_eval_episodes=self.n_eval_episodes,
            deterministic=self.deterministic, render=self.render, return_episode_rewards=True,
        )
        mean, std = float(np.mean(rets)), float(np.std(rets))
        self.last_mean_reward = mean
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append(rets)
        self.evaluations_length.append(lens)
        if self.log_path is not None:
            os.makedirs(self.log_path, exist_ok=True)
            np.savez(
                os.path.join(self.log_path, "evaluations.npz"),
                timesteps=self.evaluations_timesteps,
                results=self.evaluations_results,
                ep_lengths=self.evaluations_length,
            )
        if self.verbose:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean:.2f} +/- {std:.2f}")
        self.model.logger.record("eval/mean_reward", mean)
        self.model.logger.record("eval/mean_ep_length", float(np.mean(lens)))
        ok = True
        if mean > self.best_mean_reward:
            self.best_mean_reward = mean
            if self.best_model_save_path is not None:
                os.makedirs(self.best_model_save_path, exist_ok=True)
                self.model.save(os.path.join(self.best_model_save_path, "best_model.brl"))
            if self.callback_on_new_best is not None:
                ok = self.callback_on_new_best.on_step()
        if self.callback_after_eval is not None:
            ok = self.callback_after_eval.on_step() and ok
        return ok


class StopTrainingOnNoModelImprovement(BaseCallback):
    """For EvalCallback(callback_after_eval=...): stops when the best mean
    evaluation reward has not improved for max_no_improvement_evals
    evaluations in a row (after min_evals evaluations)."""

    def __init__(self, max_no_improvement_evals: int, min_evals: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.max_no_improvement_evals = max_no_improvement_evals
        self.min_evals = min_evals
        self.last_best_mean_reward = -np.inf
        self.no_improvement_evals = 0

    def _on_step(self) -> bool:
        if self.parent is None:
            raise ValueError("StopTrainingOnNoModelImprovement goes into EvalCallback(callback_after_eval=...)")
        if self.n_calls > self.min_evals:
            if self.parent.best_mean_reward > self.last_best_mean_reward:
                self.no_improvement_evals = 0
            else:
                self.no_improvement_evals += 1
        self.last_best_mean_reward = self.parent.best_mean_reward
        return self.no_improvement_evals <= self.max_no_improvement_evals


class StopTrainingOnMaxEpisodes(BaseCallback):
    """Stops after max_episodes episodes in each env copy (SB3's rule: the
    total is max_episodes * n_envs)."""

    def __init__(self, max_episodes: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.max_episodes = max_episodes
        self.n_episodes = 0

    def _init_callback(self) -> None:
        self._total_max_episodes = self.max_episodes * self.model.n_envs

    def _on_step(self) -> bool:
        self.n_episodes += int(np.sum(self.locals["dones"]))
        return self.n_episodes < self._total_max_episodes


class EveryNTimesteps(BaseCallback):
    """Calls callback (its on_step) every n_steps env steps."""

    def __init__(self, n_steps: int, callback: BaseCallback) -> None:
        super().__init__()
        self.n_steps = n_steps
        self.last_time_trigger = 0
        self.callback = callback
        callback.parent = self

    def _init_callback(self) -> None:
        self.callback.init_callback(self.model)

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last_time_trigger >= self.n_steps:
            self.last_time_trigger = self.num_timesteps
            return self.callback.on_step()
        return True


__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "ConvertCallback",
    "EvalCallback",
    "EveryNTimesteps",
    "StopTrainingOnMaxEpisodes",
    "StopTrainingOnNoModelImprovement",
    "StopTrainingOnRewardThreshold",
]
