"""Run under mpirun by test_mpi_comm.py: trains boostrl.PPO / DQN on
Gymnasium's CartPole-v1 with comm=MPI.COMM_WORLD (each rank its share of
the n_envs) and writes the agent file from rank 0.

    python mpi_train.py ALGO N_ENVS STEPS OUT [--local]

--local: each rank brings its own Gymnasium env share (a vector env of
boostrl.env_share(...) copies) instead of passing the env id."""

import sys

import gymnasium
from mpi4py import MPI

import boostrl

algo, n_envs, steps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
comm = MPI.COMM_WORLD
cls = {"ppo": boostrl.PPO, "dqn": boostrl.DQN}[algo]
kw = dict(seed=5, max_depth=3)
if algo == "ppo":
    kw.update(n_steps=16, batch_size=32, n_epochs=2)
else:
    kw.update(learning_starts=64, buffer_size=512, train_freq=4, gradient_steps=2, batch_size=32)
if "--local" in sys.argv:
    first, count = boostrl.env_share(n_envs, comm.Get_rank(), comm.Get_size())
    env = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * count)
    model = cls("MlpPolicy", env, comm=comm, **kw)
else:
    model = cls("MlpPolicy", "CartPole-v1", n_envs=n_envs, comm=comm, **kw)
model.learn(steps)
model.save(out)
