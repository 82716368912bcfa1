"""boostrl.PPO / DQN with comm= (mpi4py): the agent trained on 2 ranks under
mpirun, each stepping its share of the Gymnasium envs, is byte-identical to
the agent of one process with the same n_envs and seed. Skipped without
mpi4py or mpirun."""

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")
pytest.importorskip("gymnasium")

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "mpi_train.py")


def _mpirun(np_, args, tmp_path):
    if not shutil.which("mpirun"):
        pytest.skip("mpirun not installed")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = ["mpirun", "-np", str(np_)]
    out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in out:
        cmd.append("--oversubscribe")
        if os.geteuid() == 0:
            env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run(cmd + [sys.executable, SCRIPT] + args, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_env_share():
    import boostrl

    shares = [boostrl.env_share(7, r, 3) for r in range(3)]
    assert shares == [(0, 3), (3, 2), (5, 2)]
    with pytest.raises(ValueError):
        boostrl.env_share(2, 0, 3)


@pytest.mark.parametrize(("algo", "local"), [("ppo", False), ("ppo", True), ("dqn", False)])
def test_two_ranks_equal_one_process(tmp_path, algo, local):
    one, two = str(tmp_path / "one.brl"), str(tmp_path / "two.brl")
    extra = ["--local"] if local else []
    _mpirun(1, [algo, "5", "480", one] + extra, tmp_path)
    _mpirun(2, [algo, "5", "480", two] + extra, tmp_path)
    a, b = open(one, "rb").read(), open(two, "rb").read()
    assert len(a) > 1000 and a == b
