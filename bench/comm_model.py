#!/usr/bin/env python3
"""The efficiency model of docs/SCALING.md ("Efficiency model at 8, 64, 256
ranks on 25 Gbit/s"): parallel efficiency T_1 / (P T_P) of a distributed
PPO agent (acting and env steps split; the rollout's rows gathered once per
update - one allgatherv and one allreduce; the update split: each rank's
rows' caches, losses and gradients, every tree grown from the gathered
minibatch with its features split over the ranks, seven collectives a
tree) and of a sharded fit (trees grown from histograms summed over the
ranks), from the assumptions written below.

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


def agent(t_env, p, n_envs=1024, n_steps=128, obs_dim=64, outputs=8,
          batch=512, epochs=10, depth=4, t_act=2e-6, t_rows=1.0,
          t_tree=1.6e-3, t_rep_row=20e-9):
    """Seconds per update on one rank and on p; returns T_1 / (p T_p).

    t_rows: the update's per-row work on one process (caches, losses,
    gradients), split p ways; t_tree: growing one tree from a minibatch on
    one process (512 rows, 64 features), split p ways by features (at
    least one feature a rank); t_rep_row: per row and epoch, what every
    rank repeats (advantage normalisation, the statistics' sums)."""
    n = n_steps * n_envs
    trees = epochs * n // batch
    row = 4 * obs_dim + 52  # bytes a gathered env row (measured: 68 B at 4)
    t1 = n * (t_env + t_act) + t_rows + trees * t_tree + epochs * n * t_rep_row
    per_tree = (allgatherv(batch * (5 + 1) * 8, p)             # statistics
                + allgatherv(16 * p, p)                         # row counts
                + allgatherv(batch * (obs_dim + 4 * outputs), p)  # codes, grads
                + depth * allgatherv(40 * 2 ** (depth - 1) * p, p))  # splits
    tp = (n / p * (t_env + t_act) + allgatherv(n * row, p) + allreduce(8, p) +
          t_rows / p + trees * (t_tree / min(p, obs_dim) + per_tree) +
          epochs * n * t_rep_row)
    return t1 / (p * tp)


def agent_replicated(t_env, p, **kw):
    """The previous design: the whole update on every rank."""
    n = 128 * 1024
    trees = 10 * n // 512
    t_update = 1.0 + trees * 1.6e-3 + 10 * n * 20e-9
    t1 = n * (t_env + 2e-6) + t_update
    tp = (n / p * (t_env + 2e-6) + allgatherv(n * 308, p) + allreduce(8, p) +
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
                        for p in ranks) +
              "   (update replicated: " +
              "  ".join("%.0f%%" % (100 * agent_replicated(t_env, p))
                        for p in ranks) + ")")
    for rows in (1_000_000, 10_000_000):
        out = []
        for p in ranks:
            eff, grow, comm = fit(rows, p)
            out.append("%d ranks %.0f%% (%.1f ms/tree)" % (p, 100 * eff,
                                                         comm * 1e3))
        print("fit, %d rows (%.2f s/tree alone): " % (rows, grow) +
              "  ".join(out))
