"""Env-bound scaling of boostrl.PPO(comm=...) (docs/SCALING.md): steps/s
of PPO on MiniGrid (MiniGridCategorical, the MiniGrid preset: 16 envs x 256
steps) with the envs spread over the MPI ranks.

    mpirun -np N python scripts/bench_mpi_scaling.py [ENV] [STEPS] [N_ENVS]

Prints, from rank 0, one JSON line: ranks, steps, wall seconds of learn(),
steps/s, the share of rank 0's time in env.step / the agent calls / the
updates, and every rank's CPU seconds and env.step seconds."""

import json
import sys
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid ids)
from mpi4py import MPI

import boostrl
from boostrl.wrappers import MiniGridCategorical

env_id = sys.argv[1] if len(sys.argv) > 1 else "MiniGrid-DoorKey-5x5-v0"
n_envs = int(sys.argv[3]) if len(sys.argv) > 3 else 16
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3 * n_envs * 256
comm = MPI.COMM_WORLD
first, count = boostrl.env_share(n_envs, comm.Get_rank(), comm.Get_size())
venv = gym.vector.SyncVectorEnv([lambda: MiniGridCategorical(gym.make(env_id))] * count)
model = boostrl.PPO(venv, seed=0, comm=comm)
comm.Barrier()
t0, c0 = time.perf_counter(), time.process_time()
model.learn(steps)
cpu = time.process_time() - c0
env_s = comm.gather(model.timing["env_s"])
cpus = comm.gather(cpu)
comm.Barrier()
wall = time.perf_counter() - t0
t = model.timing
if comm.Get_rank() == 0:
    learn = t["learn_s"]
    row = {
        "env": env_id,
        "ranks": comm.Get_size(),
        "n_envs": n_envs,
        "steps": model.num_timesteps,
        "wall_s": round(wall, 2),
        "steps_per_s": round(model.num_timesteps / wall),
        "env_share": round(t["env_s"] / learn, 3),
        "agent_share": round(t["agent_s"] / learn, 3),
        "update_share": round(t["update_s"] / learn, 3),
        # Per rank: CPU seconds of learn() and wall seconds in env.step.
        "cpu_s": [round(c, 2) for c in cpus],
        "env_s": [round(e, 2) for e in env_s],
    }
    print(json.dumps(row), flush=True)
