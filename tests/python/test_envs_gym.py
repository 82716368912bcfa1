"""Compares boostrl's native environments with gymnasium 1.0.0.

The library is loaded through ctypes: libboostrl_testhooks.so, the library
with its test hooks (the envs' internal state) exported, built with the
tests next to libboostrl.so. Its path is $BRL_TESTHOOKS_LIB, else the
folder of $BRL_LIB (default: build/ under the repository root). Run with
    BRL_LIB=/path/to/libboostrl.so python -m pytest tests/python/test_envs_gym.py
"""

import ctypes
import zlib
import math
import os
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
gym = pytest.importorskip("gymnasium")

ROOT = Path(__file__).resolve().parents[2]
LIB_PATH = os.environ.get(
    "BRL_TESTHOOKS_LIB",
    str(
        Path(os.environ.get("BRL_LIB", str(ROOT / "build" / "libboostrl.so"))).parent
        / "libboostrl_testhooks.so"
    ),
)

ENV_IDS = [
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
]
# The C envs follow Gymnasium's float32 arithmetic as numpy >= 2 runs it
# (NEP 50). numpy 1.x promotes parts of it to float64, so there rewards and
# observations agree to float32 rounding, which adds up over an episode.
NUMPY2 = int(np.__version__.split(".")[0]) >= 2
OBS_ATOL = 1e-6 if NUMPY2 else 1e-4
EPISODE_ATOL = OBS_ATOL if NUMPY2 else 1e-3  # after up to 999 steps


def _same_reward(gym_reward, reward, rel: float = 1e-5) -> bool:
    if NUMPY2:
        return np.float32(gym_reward) == reward
    return abs(float(gym_reward) - float(reward)) <= rel * max(1.0, abs(float(gym_reward)))


def _bit_exact_expected():
    """The native dynamics replay Gymnasium's arithmetic with numpy 2's type
    rules (NEP 50) and libm's sin/cos/pow, so they agree bit for bit where
    numpy is 2.x and its float64 sin/cos are libm's; elsewhere only the
    1e-6 tolerance applies."""
    if int(np.__version__.split(".")[0]) < 2:
        return False
    x = np.random.default_rng(0).uniform(-20, 20, 4096)
    return all(
        np.array_equal(f(x), np.array([g(v) for v in x.tolist()]))
        for f, g in ((np.cos, math.cos), (np.sin, math.sin))
    )


BIT_EXACT = _bit_exact_expected()

c_float_p = ctypes.POINTER(ctypes.c_float)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)


class Spec(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_char_p),
        ("obs_dim", ctypes.c_int),
        ("action_kind", ctypes.c_int),
        ("action_dim", ctypes.c_int),
        ("n_actions", ctypes.c_int),
        ("max_episode_steps", ctypes.c_int),
        ("action_low", ctypes.c_float * 16),
        ("action_high", ctypes.c_float * 16),
    ]


@pytest.fixture(scope="module")
def lib():
    if not os.path.exists(LIB_PATH):
        pytest.skip(f"test library not found at {LIB_PATH} (set BRL_LIB)")
    lib = ctypes.CDLL(LIB_PATH)
    lib.brl_last_error.restype = ctypes.c_char_p
    lib.brl_env_ids.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.brl_env_make.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint64,
        ctypes.POINTER(ctypes.c_void_p),
    ]
    lib.brl_env_free.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.brl_env_free.restype = None
    lib.brl_env_get_spec.argtypes = [ctypes.c_void_p, ctypes.POINTER(Spec)]
    lib.brl_env_n_envs.argtypes = [ctypes.c_void_p]
    lib.brl_test_env_state_dim.argtypes = [ctypes.c_void_p]
    lib.brl_env_reset.argtypes = [ctypes.c_void_p, c_float_p]
    lib.brl_env_step.argtypes = [
        ctypes.c_void_p,
        c_float_p,
        c_float_p,
        c_float_p,
        c_uint8_p,
        c_uint8_p,
        c_float_p,
    ]
    lib.brl_test_env_get_state.argtypes = [ctypes.c_void_p, ctypes.c_int, c_double_p]
    lib.brl_test_env_set_state.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        c_double_p,
        ctypes.c_int,
    ]
    return lib


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


class NativeEnv:
    """One native env (n_envs copies) driven through the C API."""

    def __init__(self, lib, env_id, n_envs=1, seed=0):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        rc = lib.brl_env_make(env_id.encode(), n_envs, seed, ctypes.byref(self.handle))
        assert rc == 0, lib.brl_last_error().decode()
        self.spec = Spec()
        assert lib.brl_env_get_spec(self.handle, ctypes.byref(self.spec)) == 0
        self.n = n_envs
        self.obs_dim = self.spec.obs_dim
        self.action_dim = self.spec.action_dim
        self.state_dim = lib.brl_test_env_state_dim(self.handle)

    def close(self):
        self.lib.brl_env_free(ctypes.byref(self.handle))
        assert not self.handle.value

    def reset(self):
        obs = np.zeros((self.n, self.obs_dim), np.float32)
        assert self.lib.brl_env_reset(self.handle, _ptr(obs, ctypes.c_float)) == 0
        return obs

    def step(self, actions):
        actions = np.ascontiguousarray(actions, np.float32).reshape(
            self.n, self.action_dim
        )
        obs = np.zeros((self.n, self.obs_dim), np.float32)
        final_obs = np.full((self.n, self.obs_dim), np.nan, np.float32)
        rew = np.zeros(self.n, np.float32)
        term = np.zeros(self.n, np.uint8)
        trunc = np.zeros(self.n, np.uint8)
        rc = self.lib.brl_env_step(
            self.handle,
            _ptr(actions, ctypes.c_float),
            _ptr(obs, ctypes.c_float),
            _ptr(rew, ctypes.c_float),
            _ptr(term, ctypes.c_uint8),
            _ptr(trunc, ctypes.c_uint8),
            _ptr(final_obs, ctypes.c_float),
        )
        assert rc == 0, self.lib.brl_last_error().decode()
        return obs, rew, term.astype(bool), trunc.astype(bool), final_obs

    def get_state(self, i=0):
        s = np.zeros(self.state_dim, np.float64)
        assert self.lib.brl_test_env_get_state(self.handle, i, _ptr(s, ctypes.c_double)) == 0
        return s

    def set_state(self, state, i=0, elapsed=0):
        s = np.ascontiguousarray(state, np.float64)
        assert s.shape == (self.state_dim,)
        rc = self.lib.brl_test_env_set_state(
            self.handle, i, _ptr(s, ctypes.c_double), elapsed
        )
        assert rc == 0, self.lib.brl_last_error().decode()


# --------------------------------------------------------------- sampling


def _random_state(env_id, rng):
    """A float64 state that Gymnasium's env accepts, from a wide range that
    reaches terminations, clipping and wrapping."""
    u = rng.uniform
    if env_id == "CartPole-v1":
        return np.array([u(-2.6, 2.6), u(-3, 3), u(-0.25, 0.25), u(-3.5, 3.5)])
    if env_id == "Acrobot-v1":
        return np.array(
            [
                u(-math.pi, math.pi),
                u(-math.pi, math.pi),
                u(-4.4 * math.pi, 4.4 * math.pi),
                u(-9.9 * math.pi, 9.9 * math.pi),
            ]
        )
    if env_id in ("MountainCar-v0", "MountainCarContinuous-v0"):
        k = rng.integers(10)
        if k == 0:  # at the left wall, moving left
            return np.array([-1.2 + u(0, 0.01), u(-0.07, -0.01)])
        if k == 1:  # next to the goal
            return np.array([u(0.4, 0.55), u(-0.07, 0.07)])
        if k == 2:  # at the speed limit
            return np.array([u(-1.2, 0.6), 0.07 * rng.choice([-1.0, 1.0])])
        return np.array([u(-1.2, 0.6), u(-0.07, 0.07)])
    if env_id == "Pendulum-v1":
        thdot = u(-8, 8) if rng.integers(4) else 8.0 * rng.choice([-1.0, 1.0])
        return np.array([u(-3 * math.pi, 3 * math.pi), thdot])
    raise AssertionError(env_id)


def _random_action(env_id, rng, wide=False):
    """An action for the native env (a float array); box actions may lie
    outside the box when wide is set (the native env clips them)."""
    if env_id in ("CartPole-v1",):
        return np.array([rng.integers(2)], np.float32)
    if env_id in ("Acrobot-v1", "MountainCar-v0"):
        return np.array([rng.integers(3)], np.float32)
    hi = 1.0 if env_id == "MountainCarContinuous-v0" else 2.0
    span = 1.5 * hi if wide else hi
    a = rng.uniform(-span, span)
    if rng.integers(8) == 0:
        a = hi * rng.choice([-1.0, 1.0])
    return np.array([a], np.float32)


def _gym_action(env_id, action):
    """What Gymnasium is given for the same action: the index of a discrete
    action, or the box action clipped to the box as a float32 array (the
    native env clips before use)."""
    if env_id in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        return int(action[0])
    hi = 1.0 if env_id == "MountainCarContinuous-v0" else 2.0
    return np.clip(action, -hi, hi).astype(np.float32)


def _set_gym_state(env_id, env, state):
    st = np.array(state, np.float64)
    if env_id == "MountainCarContinuous-v0" and np.all(
        st.astype(np.float32).astype(np.float64) == st
    ):
        # Gymnasium keeps this env's state in float32 after every step.
        st = st.astype(np.float32)
    env.unwrapped.state = st
    if hasattr(env.unwrapped, "steps_beyond_terminated"):
        env.unwrapped.steps_beyond_terminated = None  # CartPole: a fresh step


def _obs_of_state(env_id, s):
    """The observation of a native state, computed as Gymnasium does."""
    s = np.asarray(s, np.float64)
    if env_id == "Acrobot-v1":
        o = [np.cos(s[0]), np.sin(s[0]), np.cos(s[1]), np.sin(s[1]), s[2], s[3]]
    elif env_id == "Pendulum-v1":
        o = [np.cos(s[0]), np.sin(s[0]), s[1]]
    else:
        o = s
    return np.array(o, np.float32)


# ------------------------------------------------------------------ tests


def test_ids_and_specs(lib):
    ids = []
    p = lib.brl_env_ids()
    i = 0
    while p[i] is not None:
        ids.append(p[i].decode())
        i += 1
    assert ids == ENV_IDS
    for env_id in ENV_IDS:
        ne = NativeEnv(lib, env_id)
        genv = gym.make(env_id)
        assert ne.spec.id.decode() == env_id
        assert ne.obs_dim == genv.observation_space.shape[0]
        assert ne.spec.max_episode_steps == genv.spec.max_episode_steps
        if isinstance(genv.action_space, gym.spaces.Discrete):
            assert ne.spec.action_kind == 0
            assert ne.spec.n_actions == genv.action_space.n
        else:
            assert ne.spec.action_kind == 1
            assert ne.action_dim == genv.action_space.shape[0]
            for j in range(ne.action_dim):
                assert ne.spec.action_low[j] == genv.action_space.low[j]
                assert ne.spec.action_high[j] == genv.action_space.high[j]
        genv.close()
        ne.close()


def test_unknown_id_lists_valid_ids(lib):
    h = ctypes.c_void_p()
    assert lib.brl_env_make(b"CartPole-v0", 1, 0, ctypes.byref(h)) == -1
    msg = lib.brl_last_error().decode()
    assert "CartPole-v0" in msg
    for env_id in ENV_IDS:
        assert env_id in msg


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_one_step_from_random_states(lib, env_id):
    rng = np.random.default_rng(zlib.crc32(env_id.encode()))
    ne = NativeEnv(lib, env_id, n_envs=1, seed=1)
    ne.reset()
    genv = gym.make(env_id).unwrapped
    genv.reset(seed=0)
    n_term = 0
    n_exact = 0
    n_state_exact = 0
    n = 3000
    for k in range(n):
        state = _random_state(env_id, rng)
        if env_id == "MountainCarContinuous-v0" and k % 2 == 1:
            # half of the states as Gymnasium has them after a step (float32)
            state = state.astype(np.float32).astype(np.float64)
        action = _random_action(env_id, rng, wide=True)
        ne.set_state(state)
        obs, rew, term, trunc, final_obs = ne.step(action)
        _set_gym_state(env_id, genv, state)
        gobs, grew, gterm, gtrunc, _ = genv.step(_gym_action(env_id, action))
        got = final_obs[0] if term[0] else obs[0]
        ctx = f"{env_id} state={state.tolist()} action={action.tolist()}"
        assert bool(term[0]) == gterm, ctx
        assert not trunc[0], ctx
        assert _same_reward(grew, rew[0]), f"{ctx}: reward {rew[0]} vs {grew}"
        np.testing.assert_allclose(got, gobs, rtol=0, atol=OBS_ATOL, err_msg=ctx)
        if not term[0]:
            # the state the native env reached is the one Gymnasium reached
            n_state_exact += bool(
                np.array_equal(ne.get_state(), np.asarray(genv.state, np.float64))
            )
        else:
            # auto-reset: obs is the first observation of a fresh episode
            np.testing.assert_allclose(
                obs[0], _obs_of_state(env_id, ne.get_state()), rtol=0, atol=1e-7
            )
        n_term += bool(term[0])
        n_exact += bool(np.array_equal(got, gobs))
    genv.close()
    ne.close()
    if env_id != "Pendulum-v1":
        assert n_term > 0, f"{env_id}: no terminal transition was sampled"
    if not BIT_EXACT:
        return
    # The dynamics are written to agree bit for bit with Gymnasium.
    assert n_exact == n, f"{env_id}: {n - n_exact} of {n} steps not bit-exact"
    n_live = n - n_term
    assert (
        n_state_exact == n_live
    ), f"{env_id}: {n_live - n_state_exact} of {n_live} float64 states differ"


def _policy(env_id, obs, rng):
    """Actions that reach the interesting ends of an episode: the goal of the
    mountain cars, long balancing runs of CartPole."""
    if env_id == "CartPole-v1":
        if rng.uniform() < 0.2:
            return np.array([rng.integers(2)], np.float32)
        push = 0.1 * obs[0] + 0.5 * obs[1] + 10 * obs[2] + 2 * obs[3]
        return np.array([1.0 if push > 0 else 0.0], np.float32)
    if env_id == "MountainCar-v0":
        if rng.uniform() < 0.2:
            return np.array([rng.integers(3)], np.float32)
        return np.array([2.0 if obs[1] >= 0 else 0.0], np.float32)
    if env_id == "MountainCarContinuous-v0":
        a = (1.0 if obs[1] >= 0 else -1.0) + rng.normal(0, 0.6)
        return np.array([a], np.float32)
    return _random_action(env_id, rng, wide=True)


@pytest.mark.parametrize(
    "env_id",
    ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"],
)
def test_whole_episodes(lib, env_id):
    """Same start state, same actions: every step agrees until the episode
    ends, for several consecutive episodes of one native env (auto-reset)."""
    rng = np.random.default_rng(7)
    ne = NativeEnv(lib, env_id, n_envs=1, seed=123)
    obs = ne.reset()[0]
    genv = gym.make(env_id)
    max_steps = genv.spec.max_episode_steps
    lengths, n_term, n_trunc = [], 0, 0
    for episode in range(12):
        genv.reset(seed=episode)
        start = ne.get_state()
        _set_gym_state(env_id, genv, start)
        np.testing.assert_allclose(obs, _obs_of_state(env_id, start), rtol=0, atol=1e-7)
        steps = 0
        while True:
            wide = episode % 2 == 1
            action = (
                _random_action(env_id, rng, wide=wide)
                if episode % 3 == 2
                else _policy(env_id, obs, rng)
            )
            o, r, te, tr, fo = ne.step(action)
            go, gr, gte, gtr, _ = genv.step(_gym_action(env_id, action))
            steps += 1
            ctx = f"{env_id} episode {episode} step {steps}"
            assert bool(te[0]) == gte, ctx
            assert bool(tr[0]) == gtr, ctx  # TimeLimit: both on the last step
            assert _same_reward(gr, r[0], EPISODE_ATOL), ctx
            done = bool(te[0] or tr[0])
            got = fo[0] if done else o[0]
            np.testing.assert_allclose(got, go, rtol=0, atol=EPISODE_ATOL, err_msg=ctx)
            if not done:
                assert np.all(np.isnan(fo[0])), "final_obs written on a live step"
            obs = o[0]
            if done:
                break
        assert steps <= max_steps
        lengths.append(steps)
        n_term += bool(te[0])
        n_trunc += bool(tr[0])
        if tr[0]:
            assert steps == max_steps
    genv.close()
    ne.close()
    if env_id == "Pendulum-v1":
        assert lengths == [200] * len(lengths)
    else:
        # the episodes end both ways
        assert n_term > 0, f"{env_id}: no episode terminated ({lengths})"
    assert n_trunc > 0, f"{env_id}: no episode was truncated ({lengths})"


def test_acrobot_short_rollouts(lib):
    """Acrobot is chaotic, so whole episodes are not compared; 20 steps from
    random states are (bit-exact dynamics keep them together)."""
    env_id = "Acrobot-v1"
    rng = np.random.default_rng(3)
    ne = NativeEnv(lib, env_id)
    ne.reset()
    genv = gym.make(env_id).unwrapped
    genv.reset(seed=0)
    for _ in range(50):
        state = _random_state(env_id, rng)
        ne.set_state(state)
        _set_gym_state(env_id, genv, state)
        for _ in range(20):
            action = _random_action(env_id, rng)
            o, r, te, tr, fo = ne.step(action)
            go, gr, gte, _, _ = genv.step(_gym_action(env_id, action))
            assert bool(te[0]) == gte
            assert _same_reward(gr, r[0])
            np.testing.assert_allclose(
                fo[0] if te[0] else o[0], go, rtol=0, atol=OBS_ATOL
            )
            if te[0]:
                break
    genv.close()
    ne.close()


def test_vector_copies_match_single_envs(lib):
    """Copy i of a vector env behaves like copy i stepped alone: each copy
    owns its rng, so n_envs does not change the episodes."""
    env_id = "CartPole-v1"
    rng = np.random.default_rng(11)
    vec = NativeEnv(lib, env_id, n_envs=4, seed=99)
    one = NativeEnv(lib, env_id, n_envs=1, seed=99)
    ov = vec.reset()
    o1 = one.reset()
    assert np.array_equal(ov[0], o1[0])
    assert not np.array_equal(ov[0], ov[1])
    for _ in range(300):
        acts = rng.integers(2, size=4).astype(np.float32)
        ov, rv, tv, trv, fv = vec.step(acts)
        o1, r1, t1, tr1, f1 = one.step(acts[:1])
        assert np.array_equal(ov[0], o1[0])
        assert rv[0] == r1[0] and tv[0] == t1[0] and trv[0] == tr1[0]
        if t1[0]:
            assert np.array_equal(fv[0], f1[0])
    vec.close()
    one.close()
