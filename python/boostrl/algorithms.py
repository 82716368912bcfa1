"""PPO, A2C, AWR and DQN in stable-baselines3's shape, on the C agent.

``Model(env, **hyperparameters)``: env is an env id, a Gymnasium env, a
Gymnasium vector env or an SB3-style VecEnv. Hyper-parameters are the C
agent's configuration keys (stable-baselines3's names: ``n_steps``,
``batch_size``, ``gamma``, ``policy_lr``, ...; ``learning_rate`` is an alias
of ``policy_lr``), applied over the library's preset for the env id (the
one table the command uses too), as ``boostrl train ENV --set k=v`` does.
Files are the C agent file of ``boostrl train`` (``brl_agent_save``).

Each vector step is one C call to act and store (``brl_agent_collect``),
one to record the outcome (``brl_agent_observe``), and each full rollout
one C call to train (``brl_agent_update``), all with the GIL released.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

import numpy as np

from . import _core, _sb3
from .callbacks import make_callback
from .logger import Logger, ProgressBar, configure
from .spaces import BOX, MASK_KEY, MULTI_DISCRETE, ActionSpec, Flattener
from .vec_env import GymVectorAdapter, make_adapter

_ALIASES = {"learning_rate": "policy_lr"}


def _config_keys() -> frozenset:
    """The C agent's configuration keys."""
    global _KEYS
    if _KEYS is None:
        _KEYS = frozenset(_core.agent_config("ppo", None, {})[0])
    return _KEYS


_KEYS: frozenset | None = None


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _device_name(device: Any) -> str:
    """The config's device of SB3's ``device`` argument: "cpu", "cuda" (or
    "cuda:0", a ``torch.device``), "auto"."""
    name = str(device).lower()
    return "cuda" if name == "cuda:0" else name


def env_share(n_envs: int, rank: int, size: int) -> tuple[int, int]:
    """(first, count): the envs [first, first + count) of n_envs that rank
    `rank` of `size` steps under comm= (contiguous, balanced: the first
    n_envs % size ranks take one more); seed env i with seed + i."""
    if not 0 <= rank < size <= n_envs:
        raise ValueError(f"{n_envs} envs over rank {rank} of {size}: need 0 <= rank < size <= n_envs")
    base, rem = divmod(n_envs, size)
    return rank * base + min(rank, rem), base + (rank < rem)


_share = env_share


def _mpi_lor():
    from mpi4py import MPI

    return MPI.LOR


def _preset_id(env_id: str | None) -> str | None:
    if not env_id:
        return None
    return env_id.split("/", 1)[1] if "/" in env_id else env_id


def _batch_len(obs) -> int:
    if isinstance(obs, dict):
        return _batch_len(next(iter(obs.values())))
    if isinstance(obs, tuple):
        return _batch_len(obs[0])
    return len(obs)


def _obs_names(flat: Flattener) -> list[str] | None:
    """Names of the flattened observation features where the space gives
    them (Dict keys, Tuple positions), else None."""
    space = flat.space
    if type(space).__name__ not in ("Dict", "Tuple"):
        return None
    names: list[str] = []

    def walk(s, prefix: str, top: bool = False) -> None:
        k = type(s).__name__
        if k == "Dict":
            for key, sub in s.spaces.items():
                if top and key == MASK_KEY:
                    continue
                walk(sub, f"{prefix}.{key}" if prefix else str(key))
        elif k == "Tuple":
            for j, sub in enumerate(s.spaces):
                walk(sub, f"{prefix}[{j}]")
        else:
            d = flat._dim(s)
            names.extend([prefix] if d == 1 else [f"{prefix}[{i}]" for i in range(d)])

    walk(space, "", top=True)
    return flat.order(names) if len(names) == flat.dim else None


def _flat_for(venv, n_cat_obs: int) -> None:
    """An agent without categorical columns (saved before them) reads every
    column as numeric in depth-first order: give the env that flattener."""
    if n_cat_obs == 0 and venv.flat.n_cat > 0:
        venv.flat = Flattener(venv.observation_space, categorical=False)


class Explanation(dict):
    """The result of :meth:`BaseAlgorithm.explain`, a dict whose keys are
    also attributes: ``actions``, ``outputs``, ``contributions``,
    ``expected_value``, ``feature_names`` (see ``explain``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_SHAP_CLASS = None


def _shap_explanation(shap, res: Explanation, x: np.ndarray, single: bool):
    """res as a ``shap.Explanation`` (``values`` (n, F) for one action
    dimension, (n, F, A) for several; ``base_values``; ``data`` the
    flattened observations) that also keeps explain()'s fields as
    attributes and string keys (``ex.contributions``, ``ex["actions"]``)."""
    global _SHAP_CLASS
    if _SHAP_CLASS is None or not issubclass(_SHAP_CLASS, shap.Explanation):

        class ShapExplanation(shap.Explanation):
            """A ``shap.Explanation`` of ``explain()`` (``shap.plots.*`` work)
            that also has the fields of :class:`Explanation`. Slices are plain
            ``shap.Explanation`` objects."""

            def __getitem__(self, item):
                if isinstance(item, str):
                    return self.__dict__["_boostrl"][item]
                return super().__getitem__(item)

            def __getattr__(self, name: str) -> Any:
                fields = self.__dict__.get("_boostrl")
                if fields is not None and name in fields:
                    return fields[name]
                raise AttributeError(name)

        _SHAP_CLASS = ShapExplanation
    contrib = np.asarray(res["contributions"])  # (n, A, F) or (A, F)
    expected = np.asarray(res["expected_value"])  # (n, A) or (A,)
    A = contrib.shape[-2]
    if A == 1:
        values, base = contrib[..., 0, :], expected[..., 0]
        output_names = None
        if base.ndim == 0:  # one observation: shap wants a plain number
            base = float(base)
    else:
        values, base = np.swapaxes(contrib, -1, -2), expected
        output_names = [f"action dimension {a}" for a in range(A)]
    ex = _SHAP_CLASS(
        values=values,
        base_values=base,
        data=x[0] if single else x,
        feature_names=res["feature_names"],
        output_names=output_names,
    )
    ex.__dict__["_boostrl"] = dict(res)
    return ex


class BaseAlgorithm:
    """The shared machinery; use PPO, A2C, AWR or DQN."""

    algo = "ppo"
    # comm= (set by _attach): the communicator, this rank's first env and
    # the envs of all ranks (0: this process's n_envs).
    _comm: Any = None
    _first = 0
    _n_global = 0

    def __init__(
        self,
        policy=None,
        env=None,
        *,
        seed: int | None = None,
        verbose: int = 0,
        tensorboard_log: str | None = None,
        preset: str | None = None,
        n_envs: int | None = None,
        comm: Any = None,
        **hyperparameters: Any,
    ) -> None:
        # SB3's forms: PPO("MlpPolicy", env), PPO(policy=..., env=...); and
        # PPO(env) where the first argument is no policy.
        self.policy_name, env = _sb3.policy_and_env(policy, env)
        hyperparameters, extras = _sb3.translate(self.algo, hyperparameters, _config_keys())
        # SB3's device: where the trees grow ("cpu" default, "cuda", "auto").
        if "device" in hyperparameters:
            hyperparameters["device"] = _device_name(hyperparameters["device"])
        settings = {_ALIASES.get(k, k): _text(v) for k, v in hyperparameters.items()}
        if n_envs is not None:
            settings["n_envs"] = str(int(n_envs))
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = int(seed)
        self.verbose = verbose
        self.tensorboard_log = tensorboard_log
        # The preset: the env id (namespace dropped), else the spec's id.
        env_id = _sb3.env_id_of(env)
        self.preset = preset if preset is not None else _preset_id(env_id)
        cfg, found = _core.agent_config(self.algo, self.preset, settings)
        self.preset_found = found
        want = int(cfg["n_envs"])
        # comm (an mpi4py communicator): n_envs is the number of envs over
        # all ranks; this rank makes (env id) or brings (an env) its share.
        size = comm.Get_size() if comm is not None else 1
        if size > 1 and isinstance(env, str):
            venv, _ = make_adapter(env, _share(want, comm.Get_rank(), size)[1])
        elif size > 1:
            venv, _ = make_adapter(env, want)
            settings["n_envs"] = str(comm.allreduce(venv.num_envs))
        else:
            venv, _ = make_adapter(env, want)
            if venv.num_envs != want:
                settings["n_envs"] = str(venv.num_envs)
        # Integer and text sub-spaces are the last, categorical, columns
        # (an explicit n_cat_obs stays where the space has none).
        if venv.flat.n_cat > 0 or "n_cat_obs" not in settings:
            settings["n_cat_obs"] = str(venv.flat.n_cat)
        self._settings = settings
        self._setup(venv)
        sp = self._action
        self._agent = _core.Agent(
            self.algo, self.preset, self._flat.dim, sp.kind, sp.nvec, sp.low, sp.high, settings, self.seed
        )
        self._comm, self._first, self._n_global = None, 0, venv.num_envs
        if size > 1:
            self._attach(comm)
        self._init_state(extras.get("stats_window_size", 100))

    # --- setup -------------------------------------------------------------

    def _attach(self, comm) -> None:
        # Every collective call (observe, update) then exchanges the ranks'
        # rows; the agent stays identical on every rank (docs/SCALING.md).
        first, count = self._agent.set_comm(comm)
        if count != self.env.num_envs:
            raise ValueError(
                f"rank {comm.Get_rank()} of {comm.Get_size()} has {self.env.num_envs} envs but its share of "
                f"n_envs = {self._agent.n_envs} is {count} (envs {first} to {first + count - 1}): give each rank "
                f"boostrl.env_share(n_envs, rank, size) envs"
            )
        self._comm, self._first, self._n_global = comm, first, self._agent.n_envs

    def _setup(self, venv) -> None:
        self.env = venv
        self.n_envs = venv.num_envs
        self.observation_space = venv.observation_space
        self.action_space = venv.action_space
        self._flat = venv.flat
        self._action = ActionSpec(self.action_space)
        self._last_obs = None
        self._last_masks = None
        self.feature_names = _obs_names(self._flat)

    def _init_state(self, stats_window_size: int = 100) -> None:
        self.num_timesteps = 0
        self._episode_num = 0
        self._ep_ret = np.zeros(self.n_envs)
        self._ep_len = np.zeros(self.n_envs, np.int64)
        self.ep_info_buffer: deque = deque(maxlen=stats_window_size)
        self._rollout_steps = 0
        self._n_updates = 0
        self.logger: Logger = configure(None, ["stdout"] if self.verbose >= 1 else [])
        self._custom_logger = False
        self._tb_dir = None
        self.timing = {"env_s": 0.0, "agent_s": 0.0, "update_s": 0.0, "learn_s": 0.0, "steps": 0}
        if self.verbose >= 1 and not self.preset_found:
            print(f"boostrl: no {self.algo} preset for {self.preset!r}: library defaults")

    def set_logger(self, logger: Logger) -> None:
        self.logger = logger
        self._custom_logger = True

    def get_env(self):
        """The training env with stable-baselines3's VecEnv interface
        (``reset() -> obs``, ``step(actions) -> obs, rewards, dones,
        infos``): the VecEnv given to the model, else one over the model's
        env copies (a Gymnasium vector env with next-step autoreset is
        returned as it is). None when the model has no env."""
        if self.env is None:
            return None
        view = getattr(self, "_env_view", None)
        if view is None or view[0] is not self.env:
            from .common.vec_env import as_vec_env

            view = (self.env, as_vec_env(self.env))
            self._env_view = view
        return view[1]

    def get_vec_normalize_env(self):
        """The ``VecNormalize`` wrapper (SB3's) around the training env, or
        None (SB3's callbacks ask for it)."""
        env = self.get_env()
        while env is not None and hasattr(env, "num_envs"):
            if type(env).__name__ == "VecNormalize":
                return env
            env = getattr(env, "venv", None)
        return None

    def set_env(self, env, force_reset: bool = True) -> None:
        """Trains on env from now on (the same number of copies and
        observation layout); the next learn() starts new episodes."""
        venv, _ = make_adapter(env, self._agent.n_envs)
        if venv.num_envs != self._agent.n_envs:
            raise ValueError(f"the env has {venv.num_envs} copies, the model {self._agent.n_envs}")
        _flat_for(venv, int(self._agent.config().get("n_cat_obs", "0")))
        flat = venv.flat
        if flat.dim != self._agent.obs_dim:
            raise ValueError(f"the env's observations flatten to {flat.dim} floats, the model takes {self._agent.obs_dim}")
        self._setup(venv)
        self.n_envs = venv.num_envs

    @property
    def config(self) -> dict:
        """The agent's configuration (text values, as the command's --set)."""
        return self._agent.config()

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``: where the trees grow and predict (the
        ``device`` argument, ``"auto"`` resolved)."""
        return self._agent.device

    def set_device(self, device: str) -> None:
        """Moves the agent's ensembles to ``"cpu"``, ``"cuda"`` or
        ``"auto"``."""
        self._agent.set_device(_device_name(device))

    @property
    def n_trees(self):
        """Trees of the (policy, value) ensembles."""
        return self._agent.n_trees

    # --- training ----------------------------------------------------------

    def _drop_partial_rollout(self) -> None:
        # Saving drops a partial rollout: round-trip the agent in memory.
        if self._rollout_steps:
            th = self._agent.config().get("n_threads", "1")
            dev = self._agent.config().get("device", "cpu")
            self._agent = _core.Agent.from_bytes(self._agent.to_bytes())
            self._agent.set_threads(int(th))
            self._agent.set_device(dev)
            if self._comm is not None:
                self._attach(self._comm)
            self._rollout_steps = 0

    def learn(
        self,
        total_timesteps: int,
        callback=None,
        log_interval: int = 1,
        tb_log_name: str = "run",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ):
        """Trains for total_timesteps env steps (in whole rollouts; with
        reset_num_timesteps=False, continues the count and the episodes)."""
        if self.env is None:
            raise ValueError("no env: pass env= to load() or call set_env()")
        t_learn = time.perf_counter()
        agent, venv, act_spec = self._agent, self.env, self._action
        if reset_num_timesteps or self._last_obs is None:
            self._drop_partial_rollout()
            agent = self._agent
            if reset_num_timesteps:
                self.num_timesteps = 0
            venv.seed(self.seed + self._first)  # env i: seed + i on any rank
            self._last_obs, self._last_masks = venv.reset()
            agent.reset_episodes()
            self._ep_ret[:] = 0.0
            self._ep_len[:] = 0
        total = self.num_timesteps + int(total_timesteps) if not reset_num_timesteps else int(total_timesteps)
        c_ts = agent.stats()["timesteps"]
        agent.set_total_timesteps(c_ts + (total - self.num_timesteps))
        if self.tensorboard_log and not self._custom_logger and (reset_num_timesteps or not self._tb_dir):
            i = 1
            while os.path.exists(os.path.join(self.tensorboard_log, f"{tb_log_name}_{i}")):
                i += 1
            fmts = (["stdout"] if self.verbose >= 1 else []) + ["csv", "tensorboard"]
            self._tb_dir = os.path.join(self.tensorboard_log, f"{tb_log_name}_{i}")
            self.logger = configure(self._tb_dir, fmts)
        cb = make_callback(callback)
        cb.init_callback(self)
        cb.on_training_start(locals(), globals())
        bar = ProgressBar(total - self.num_timesteps) if progress_bar else None
        t0 = time.time()
        start_ts = self.num_timesteps
        n = self._n_global or self.n_envs  # env steps of all ranks
        comm = self._comm
        timing = self.timing
        perf = time.perf_counter
        obs, masks = self._last_obs, self._last_masks
        stop = False
        try:
            while self.num_timesteps < total and not stop:
                cb.on_rollout_start()
                while True:
                    ta = perf()
                    acts = agent.collect(obs, masks)
                    env_acts = act_spec.to_env(acts)
                    tb = perf()
                    new_obs, masks, rew, term, trunc, final, valid, infos = venv.step(env_acts)
                    tc = perf()
                    agent.observe(rew, term, trunc, final, valid)
                    td = perf()
                    timing["agent_s"] += (tb - ta) + (td - tc)
                    timing["env_s"] += tc - tb
                    timing["steps"] += 1
                    obs = new_obs
                    self._rollout_steps += 1
                    self.num_timesteps += n
                    self._track_episodes(rew, term, trunc, valid)
                    if bar is not None:
                        bar.update(n)
                    cb.update_locals({"infos": infos, "rewards": rew, "dones": term | trunc, "new_obs": obs})
                    halt = not cb.on_step()
                    if comm is not None and callback is not None:
                        halt = comm.allreduce(halt, op=_mpi_lor())  # every rank stops alike
                    if halt:
                        stop = True
                        break
                    if agent.rollout_full():
                        break
                self._last_obs, self._last_masks = obs, masks
                if stop:
                    break
                cb.on_rollout_end()
                tu = perf()
                agent.update(obs)
                timing["update_s"] += perf() - tu
                self._rollout_steps = 0
                self._n_updates += 1
                if log_interval and self._n_updates % log_interval == 0:
                    self._log(t0, start_ts)
        except BaseException:
            if comm is not None:
                # The other ranks wait in a collective: end the job (MPI
                # prints which rank) rather than leave them hanging.
                import traceback

                traceback.print_exc()
                comm.Abort(1)
            raise
        finally:
            self._last_obs, self._last_masks = obs, masks
            if bar is not None:
                bar.close()
            timing["learn_s"] += perf() - t_learn
        cb.on_training_end()
        return self

    def _track_episodes(self, rew, term, trunc, valid) -> None:
        self._ep_ret += np.where(valid, rew, 0.0)
        self._ep_len += valid
        done = (term | trunc) & valid
        if done.any():
            for i in np.flatnonzero(done):
                self.ep_info_buffer.append({"r": float(self._ep_ret[i]), "l": int(self._ep_len[i])})
                self._ep_ret[i] = 0.0
                self._ep_len[i] = 0
                self._episode_num += 1

    def ep_rew_mean(self) -> float:
        """Mean return of the last <= 100 finished training episodes."""
        if not self.ep_info_buffer:
            return float("nan")
        return float(np.mean([e["r"] for e in self.ep_info_buffer]))

    def _log(self, t0: float, start_ts: int) -> None:
        lg = self.logger
        s = self._agent.stats()
        if self.ep_info_buffer:
            lg.record("rollout/ep_rew_mean", self.ep_rew_mean())
            lg.record("rollout/ep_len_mean", float(np.mean([e["l"] for e in self.ep_info_buffer])))
        el = max(time.time() - t0, 1e-9)
        lg.record("time/fps", int((self.num_timesteps - start_ts) / el))
        lg.record("time/iterations", self._n_updates)
        lg.record("time/time_elapsed", int(el))
        lg.record("time/total_timesteps", self.num_timesteps)
        lg.record("train/policy_gradient_loss", s["policy_loss"])
        lg.record("train/value_loss", s["value_loss"])
        lg.record("train/entropy_loss", -s["entropy"])
        if self.algo == "ppo":
            lg.record("train/approx_kl", s["approx_kl"])
            lg.record("train/clip_fraction", s["clip_fraction"])
            lg.record("train/n_epochs", s["epochs_done"])
        lg.record("train/explained_variance", s["explained_variance"])
        lg.record("train/learning_rate", s["policy_lr"])
        lg.record("train/n_updates", s["updates"])
        lg.record("train/policy_trees", s["policy_trees"])
        lg.record("train/value_trees", s["value_trees"])
        if s["log_std_mean"] == s["log_std_mean"]:
            lg.record("train/log_std", s["log_std_mean"])
        lg.dump(self.num_timesteps)

    # --- inference ---------------------------------------------------------

    def _rows(self, observation, action_masks):
        """(single, x, masks): one observation or a batch as the agent's
        flat rows, and the action masks (given, or read from the
        observation) as uint8 rows or None."""
        flat = self._flat
        single = flat.is_single(observation)
        if single:
            x = flat.one(observation)[None, :]
            n = 1
        else:
            n = _batch_len(observation)
            x = flat.batch(observation, n)
        if action_masks is None and flat.has_mask:
            action_masks = flat.masks(observation, n)
        if action_masks is not None:
            action_masks = np.ascontiguousarray(np.asarray(action_masks, np.uint8).reshape(n, -1))
        return single, x, action_masks

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False, action_masks=None):
        """Actions for one observation or a batch (SB3's signature; state is
        passed through: the policies have no memory)."""
        single, x, action_masks = self._rows(observation, action_masks)
        # No padding here: the C prediction pads a tail of fewer than 16 rows
        # to its vector block itself, where that pays off.
        raw = self._agent.act(x, masks=action_masks, deterministic=deterministic)
        acts = self._action.to_env(raw)
        if single:
            acts = acts[0]
        return acts, state

    def explain(self, observation, action_masks=None, as_shap: bool | None = None):
        """SHAP values (exact TreeSHAP of the policy ensemble, or the Q
        ensemble of DQN) of the deterministic action's output for one
        observation or a batch.

        The explained output of each action dimension is the logit of the
        chosen (argmax) action for Discrete and MultiDiscrete spaces (DQN:
        its Q-value), the Gaussian mean for Box (before clipping to the
        box). With n observations, F flattened observation features and
        A = action dimensions (1 for Discrete), returns an
        :class:`Explanation` with ``actions`` (n, A) float32 (as the agent
        takes them: discrete indices from 0), ``outputs`` (n, A),
        ``contributions`` (n, A, F), ``expected_value`` (n, A) and
        ``feature_names`` (F names, or None when the observation space does
        not name them; set ``model.feature_names`` to give them), where
        ``contributions.sum(-1) + expected_value == outputs``. For a single
        observation the leading n axis is dropped.

        ``as_shap``: None (default) returns a ``shap.Explanation`` when the
        shap package can be imported (so ``shap.plots.bar`` / ``beeswarm``
        work; ``values`` (n, F) for one action dimension, (n, F, A) for
        several, ``base_values``, ``data`` the flattened observations,
        ``feature_names``) that also keeps the fields above as attributes
        and string keys; False always returns the plain
        :class:`Explanation`; True requires shap (ImportError without it).
        """
        single, x, action_masks = self._rows(observation, action_masks)
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = x.shape[0]
        acts = self._agent.act(x, masks=action_masks, deterministic=True)
        phi = self._agent._shap(x)  # (n, F + 1, K)
        kind, nvec, _, _ = self._agent.action_space
        A = acts.shape[1]
        if kind == BOX:
            cols = np.broadcast_to(np.arange(A), (n, A))
        else:
            offs = np.concatenate([[0], np.cumsum(nvec)[:-1]]) if kind == MULTI_DISCRETE else np.zeros(1)
            cols = acts.astype(np.int64) + offs.astype(np.int64)[None, :]
        rows = np.arange(n)[:, None]
        sel = phi[rows, :, cols]  # (n, A, F + 1)
        contrib = np.ascontiguousarray(sel[:, :, :-1])
        expected = np.ascontiguousarray(sel[:, :, -1])
        outputs = contrib.sum(axis=-1, dtype=np.float64).astype(np.float32) + expected
        names = getattr(self, "feature_names", None)
        res = Explanation(
            actions=acts,
            outputs=outputs,
            contributions=contrib,
            expected_value=expected,
            feature_names=list(names) if names is not None else None,
        )
        if single:
            for k in ("actions", "outputs", "contributions", "expected_value"):
                res[k] = res[k][0]
        if as_shap is None or as_shap:
            try:
                import shap
            except ImportError:
                if as_shap:
                    raise ImportError("explain(as_shap=True) needs the shap package: pip install shap") from None
                return res
            return _shap_explanation(shap, res, x, single)
        return res

    # --- compression -------------------------------------------------------

    def compress(
        self,
        trees: int,
        steps: int = 20000,
        holdout_steps: int = 5000,
        depth: int | None = None,
        grow: str | None = None,
        lr: float = 1.0,
        value_weight: float = 1.0,
        stochastic_frac: float = 0.5,
        seed: int = 0,
        env=None,
        eval_episodes: int = 0,
    ) -> dict:
        """Distils the agent's ensembles into at most ``trees`` trees in all,
        in place (``boostrl compress``; PPO and A2C).

        Records ``steps`` observations of the model's own policy acting on
        ``env`` (default: the model's env; an env id, Gymnasium env or vector
        env, or SB3 VecEnv, as ``learn`` takes), then ``holdout_steps`` more
        from later episodes for the report. Each episode of each env copy
        follows the deterministic policy or, with probability
        ``stochastic_frac``, samples from it (a numpy generator seeded by
        ``seed``; the agent's own generator is not used). The new trees fit
        the teacher's outputs (centred logits or means, and the value) over
        the recorded states; ``depth`` and ``grow`` ("oblivious" or
        "greedy") give them another shape (default: the agent's), and
        training continues with it. ``lr``: each distilled tree's leaves take
        ``lr`` x the residual it fits; ``value_weight``: weight of the value
        against the policy in the split scores of a shared ensemble.

        Returns the report: ``trees_before``, ``trees_after``,
        ``train_rows``, ``holdout_rows``, and on the held-out states
        ``agreement`` (fraction of equal deterministic actions; NaN for Box
        actions), ``policy_rmse``, ``value_rmse``, ``prob_tv`` (mean total
        variation of the action probabilities; NaN for Box),
        ``train_policy_rmse`` (on the fitted states) and ``fit_s``; with
        ``eval_episodes`` > 0, ``student_mean_return`` and
        ``student_std_return`` (deterministic returns of the compressed
        model, as :func:`boostrl.evaluate_policy`). On error (bad arguments,
        an AWR or DQN model) the model is unchanged.
        """
        agent = self._agent
        grow_arg = None if grow is None else str(grow)
        depth_arg = 0 if depth is None else int(depth)
        kw = dict(trees=int(trees), lr=float(lr), value_weight=float(value_weight), depth=depth_arg, grow=grow_arg)
        steps, holdout_steps, eval_episodes = int(steps), int(holdout_steps), int(eval_episodes)
        frac = float(stochastic_frac)
        # The library checks the algorithm and the parameters of the fit
        # before any recording (its error for an empty set of rows means
        # they are fine).
        try:
            agent.compress_obs(np.zeros((0, agent.obs_dim), np.float32), **kw)
        except ValueError as e:
            if not str(e).startswith("n_rows is 0"):
                raise
        if not 1 <= steps <= 2**31:
            raise ValueError(f"steps is {steps}: record 1 to 2^31 env steps")
        if not 0 <= holdout_steps <= 2**31:
            raise ValueError(f"holdout_steps is {holdout_steps}: use 0 to 2^31 env steps")
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"stochastic_frac is {stochastic_frac}: use 0 to 1")
        if eval_episodes < 0:
            raise ValueError(f"eval_episodes is {eval_episodes}: use 0 or more")
        own_env = env is None
        if own_env:
            if self.env is None:
                raise ValueError("no env: pass env= to compress() (or to load(), or call set_env())")
            venv = self.env
        else:
            venv, _ = make_adapter(env, agent.n_envs)
            _flat_for(venv, int(agent.config().get("n_cat_obs", "0")))
            if venv.flat.dim != agent.obs_dim:
                raise ValueError(f"the env's observations flatten to {venv.flat.dim} floats, the model takes {agent.obs_dim}")
        rng = np.random.default_rng(seed)
        if own_env:
            # The training env is reset: the next learn() starts new
            # episodes (dropping a partial rollout).
            self._last_obs = None
            self._last_masks = None
        sampler = _Sampler(agent, rng)
        venv.seed(int(rng.integers(2**31 - 1)))
        X = _Recording(venv, frac, rng).record(self, sampler, steps)
        # Held-out states: later episodes, after a reset.
        H = _Recording(venv, frac, rng).record(self, sampler, holdout_steps) if holdout_steps > 0 else None
        report = agent.compress_obs(X, H, **kw)
        if eval_episodes > 0:
            from .evaluation import evaluate_policy

            venv.seed(int(rng.integers(2**31 - 1)))
            mean, std = evaluate_policy(self, venv, n_eval_episodes=eval_episodes, deterministic=True)
            report["student_mean_return"] = mean
            report["student_std_return"] = std
        return report

    # --- files -------------------------------------------------------------

    def save(self, path) -> None:
        """The C agent file (the format of `boostrl train --out`). With
        comm=, rank 0 writes it (the agent is the same on every rank)."""
        if self._comm is None or self._comm.Get_rank() == 0:
            self._agent.save(os.fspath(path))

    @classmethod
    def load(cls, path, env=None, **kwargs):
        """A model from an agent file (of Python or the command). Without env,
        predict takes flat float observations of the agent's obs_dim (pass
        env for Dict, Tuple and other non-Box observation spaces)."""
        agent = _core.Agent.load(os.fspath(path))
        algo = agent.config()["algo"]
        klass = cls
        if cls is BaseAlgorithm or cls.algo != algo:
            if cls is not BaseAlgorithm and cls.algo != algo:
                raise ValueError(f"{path} holds a {algo} agent, not {cls.algo}")
            klass = _BY_ALGO[algo]
        self = klass.__new__(klass)
        if "device" in kwargs:
            agent.set_device(_device_name(kwargs.pop("device")))
        self._agent = agent
        self.seed = kwargs.pop("seed", 0)
        self.verbose = kwargs.pop("verbose", 0)
        self.tensorboard_log = kwargs.pop("tensorboard_log", None)
        self.preset = None
        self.preset_found = True
        self._settings = {}
        if env is not None:
            venv, _ = make_adapter(env, agent.n_envs)
            _flat_for(venv, int(agent.config().get("n_cat_obs", "0")))
            self._setup(venv)
            if self._flat.dim != agent.obs_dim:
                raise ValueError(f"the env's observations flatten to {self._flat.dim} floats, the agent takes {agent.obs_dim}")
        else:
            from gymnasium import spaces

            self.env = None
            self.n_envs = agent.n_envs
            self.observation_space = spaces.Box(-np.inf, np.inf, (agent.obs_dim,), np.float32)
            self.action_space = ActionSpec.from_agent(*agent.action_space)
            self._flat = Flattener(self.observation_space)
            self._action = ActionSpec(self.action_space)
            self._last_obs = None
            self._last_masks = None
            self.feature_names = None
        self._init_state()
        return self


class _Sampler:
    """Actions of an agent for a batch of observations: the deterministic
    ones from the agent, sampled ones drawn with a numpy generator from the
    policy ensemble's outputs (the agent's own generator is not used)."""

    def __init__(self, agent, rng: np.random.Generator) -> None:
        from .ensemble import Ensemble

        self.agent = agent
        self.rng = rng
        cfg = agent.config()
        self.kind, self.nvec, self.low, self.high = agent.action_space
        self.n_cat = int(cfg.get("n_cat_obs", "0"))
        self.tree_log_std = self.kind == BOX and cfg.get("log_std_mode", "param") == "tree"
        self.log_std_min = float(cfg.get("log_std_min", "-20"))
        self.log_std_max = float(cfg.get("log_std_max", "2"))
        self.copy = None
        self.policy = None
        if self.kind == BOX and not self.tree_log_std:
            # A state-independent log_std lives in the agent's training
            # state: sample on a copy (its generator, not this one's).
            self.copy = _core.Agent.from_bytes(agent.to_bytes())
        else:
            self.policy = Ensemble.from_bytes(agent.model_bytes(0))

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        if self.n_cat == 0:
            return self.policy.predict(x)
        nd = x.shape[1] - self.n_cat
        c = x[:, nd:]
        codes = np.where(np.isnan(c) | (c < 0) | (c > 16777216.0), -1, np.nan_to_num(c)).astype(np.int32)
        return self.policy.predict(np.ascontiguousarray(x[:, :nd]), np.ascontiguousarray(codes))

    def act(self, x: np.ndarray, masks, stoch: np.ndarray) -> np.ndarray:
        acts = self.agent.act(x, masks=masks, deterministic=True)
        if not stoch.any():
            return acts
        rows = np.flatnonzero(stoch)
        xs = np.ascontiguousarray(x[rows])
        ms = None if masks is None else np.ascontiguousarray(np.asarray(masks, np.uint8).reshape(len(x), -1)[rows])
        if self.copy is not None:
            acts[rows] = self.copy.act(xs, masks=ms, deterministic=False)
            return acts
        out = self._outputs(xs)
        if self.kind == BOX:
            d = len(self.low)
            mean = out[:, :d].astype(np.float64)
            ls = np.clip(out[:, d : 2 * d], self.log_std_min, self.log_std_max)
            a = mean + np.exp(ls) * self.rng.standard_normal(mean.shape)
            acts[rows] = np.clip(a, self.low, self.high).astype(np.float32)
            return acts
        off = 0
        for k, m in enumerate(self.nvec):
            logits = out[:, off : off + m].astype(np.float64)
            if ms is not None:
                logits = np.where(ms[:, off : off + m] != 0, logits, -np.inf)
            g = self.rng.gumbel(size=logits.shape)
            acts[rows, k] = np.argmax(logits + g, axis=1).astype(np.float32)
            off += m
        return acts


class _Recording:
    """Observations of a model acting on a vector env adapter, as the rows
    learn() gives the agent; each episode of each copy deterministic or, with
    probability frac, sampled."""

    def __init__(self, venv, frac: float, rng: np.random.Generator) -> None:
        self.venv = venv
        self.frac = frac
        self.rng = rng
        self.obs, self.masks = venv.reset()
        n = venv.num_envs
        self.stoch = rng.random(n) < frac
        # Next-step autoreset (Gymnasium vector envs): the step after an
        # episode ends shows its last observation, on which nobody acts.
        self.next_step = isinstance(venv, GymVectorAdapter) and not venv.same_step
        self.skip = np.zeros(n, bool)

    def record(self, model, sampler: _Sampler, count: int) -> np.ndarray:
        venv, n = self.venv, self.venv.num_envs
        X = np.empty((count, self.obs.shape[1]), np.float32)
        got = 0
        while True:
            keep = np.flatnonzero(~self.skip)[: count - got]
            X[got : got + len(keep)] = self.obs[keep]
            got += len(keep)
            if got >= count:
                return X
            acts = sampler.act(self.obs, self.masks, self.stoch)
            self.obs, self.masks, _, term, trunc, _, valid, _ = venv.step(model._action.to_env(acts))
            ended = (term | trunc) & valid
            if ended.any():
                self.stoch[ended] = self.rng.random(int(ended.sum())) < self.frac
            self.skip = ended if self.next_step else np.zeros(n, bool)


class PPO(BaseAlgorithm):
    """Proximal policy optimization with boosted-tree policy and value."""

    algo = "ppo"


class A2C(BaseAlgorithm):
    """Advantage actor-critic (one tree per rollout)."""

    algo = "a2c"


class AWR(BaseAlgorithm):
    """Advantage-weighted regression on a replay buffer (off-policy)."""

    algo = "awr"


class DQN(BaseAlgorithm):
    """Deep Q-learning with the Q-values on the trees (discrete actions)."""

    algo = "dqn"


_BY_ALGO = {"ppo": PPO, "a2c": A2C, "awr": AWR, "dqn": DQN}

__all__ = ["A2C", "AWR", "BaseAlgorithm", "DQN", "Explanation", "PPO"]
