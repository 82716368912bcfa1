#!/usr/bin/env python3
"""The efficiency model of docs/SCALING.md ("Efficiency model at 8, 64, 256
ranks on 25 Gbit/s"): parallel efficiency T_1 / (P T_P) of a distributed
agent (acting and env steps split, the rollout's rows gathered once per
update - one allgatherv and one allreduce - the update replicated) and of a sharded fit (trees grown from histograms summed over
the ranks), from the assumptions written below.

Usage: bench/comm_model.py
"""
import math

ALPHA = 10e-6          # seconds per message step
BANDWIDTH = 25e9 / 8   # bytes per second per link (25 Gbit/s)


def steps(p):
    return math.ceil(math.log2(p)) if p > 1 else 0


def allgatherv(size, p):
    """Recursive doubling: size bytes gathered in all."""
    return 0.0 if p == 1 else steps(p) * ALPHA + size * (p - 1) / p / BANDWIDTH


def allreduce(size, p):
    """Reduce-scatter + allgather (Rabenseifner)."""
    return 0.0 if p == 1 else 2 * (steps(p) * ALPHA +
                                   size * (p - 1) / p / BANDWIDTH)


def agent(t_env, p, n_envs=1024, n_steps=128, obs_dim=64, t_act=2e-6,
          t_update=1.0):
    row = 4 * obs_dim + 52  # bytes a gathered env row (measured: 68 B at 4)
    t1 = n_steps * n_envs * (t_env + t_act) + t_update
    tp = (n_steps * n_envs / p * (t_env + t_act) +
          allgatherv(n_steps * n_envs * row, p) + allreduce(8, p) +
          t_update)
    return t1 / (p * tp)


def fit(rows, p, features=51, tree_bytes=1671956, calls=17, ns=11.4e-9):
    grow = ns * rows * features  # one process, seconds a tree
    comm = (0.0 if p == 1 else calls * 2 * steps(p) * ALPHA +
            2 * tree_bytes * (p - 1) / p / BANDWIDTH)
    return (grow / p) / (grow / p + comm), grow, comm


if __name__ == "__main__":
    ranks = (8, 64, 256)
    for t_env in (1e-3, 5e-3):
        print("agent, t_env %g ms: " % (t_env * 1e3) +
              "  ".join("%d ranks %.0f%%" % (p, 100 * agent(t_env, p))
                        for p in ranks))
    for rows in (1_000_000, 10_000_000):
        out = []
        for p in ranks:
            eff, grow, comm = fit(rows, p)
            out.append("%d ranks %.0f%% (%.1f ms/tree)" % (p, 100 * eff,
                                                         comm * 1e3))
        print("fit, %d rows (%.2f s/tree alone): " % (rows, grow) +
              "  ".join(out))
