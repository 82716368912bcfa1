#!/usr/bin/env python3
"""One tuning run of a benchmark task (any of scripts/benchmark.py's):
boostrl.PPO with the library's preset of the task plus hyper-parameter
overrides, trained and evaluated through the benchmark runner's own code
path (brlbench.agents.run_python: MiniGrid's MiniGridCategorical wrapper,
Atari's RAM observations and episode cap, a curve point every 1/10 of the
budget, the final deterministic evaluation on 16 copies seeded
seed + 10^9 + i). Appends one JSON line to results/tuning/SUITE.jsonl.

With --quick, no evaluation: the score is the mean return of the last
100 training episodes (the stochastic policy) at the end, and the curve is
that and the policy's entropy after every rollout; a screening run costs
the training alone (~1 minute for 150k steps). Appends to
results/tuning/SUITE-quick.jsonl.

Tune on seeds >= 100 only: seeds 0-2 are the reported ones.

    .venv-bench/bin/python scripts/tune_task.py RedBlueDoors-6x6 100 ent_coef=0.01
    .venv-bench/bin/python scripts/tune_task.py Unlock 101            # the preset as is
    .venv-bench/bin/python scripts/tune_task.py --quick --steps 150000 Unlock 101 ent_coef=0.05
    .venv-bench/bin/python scripts/tune_task.py LunarLander-v3 100 normalize_reward=true

MiniGrid tasks may be named without prefix and suffix (Unlock).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from brlbench import agents  # noqa: E402
from brlbench import evaluation as ev  # noqa: E402
from brlbench.tasks import BY_NAME, budget_steps  # noqa: E402
from boostrl.tune import parse_kv  # noqa: E402

OUT_DIR = HERE.parent / "results" / "tuning"


def train_only(model, steps: int) -> dict:
    """--quick: train, recording after every rollout the mean return of
    the last 100 training episodes and the policy's entropy."""
    from boostrl.callbacks import BaseCallback

    curve = []

    class Record(BaseCallback):
        def _on_step(self):
            return True

        def _on_rollout_end(self):
            s = model._agent.stats()  # the last update's statistics
            curve.append({"steps": int(model.num_timesteps), "ep_rew_mean": round(model.ep_rew_mean(), 3),
                          "entropy": round(s["entropy"], 3)})  # fmt: skip

    t0 = ev.timer()
    model.learn(steps, callback=Record())
    pt, vt = model.n_trees
    return {"env_steps": int(model.num_timesteps), "train_rew_mean": round(model.ep_rew_mean(), 3),
            "train_s": round(ev.timer() - t0, 3), "trees": int(pt), "curve": curve}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", help="a benchmark task (LunarLander-v3, Breakout-ram) or a MiniGrid task without prefix/suffix (Unlock)")
    p.add_argument("seed", type=int, help="training seed (>= 100: tuning seeds)")
    p.add_argument("overrides", nargs="*", help="KEY=VALUE hyper-parameters over the preset (ent_coef=0.01)")
    p.add_argument("--steps", default="reduced", help="env steps: reduced (300k), paper or a number")
    p.add_argument("--atari-ram", choices=("none", "bits", "categorical"), default=None,
                   help="Atari tasks: extra RAM features (boostrl.wrappers.AtariRam); default the raw bytes")
    p.add_argument("--quick", action="store_true", help="no evaluation: score by the training episodes' returns")
    p.add_argument("--out", default=None, help="JSON lines file (default results/tuning/SUITE[-quick].jsonl)")
    a = p.parse_args(argv)
    if a.seed < 100:
        raise SystemExit(f"seed {a.seed}: tune on seeds >= 100 (0-2 are the reported seeds)")
    name = a.task if a.task in BY_NAME else f"MiniGrid-{a.task}-v0"
    if name not in BY_NAME:
        raise SystemExit(f"unknown task {a.task!r}: one of {', '.join(BY_NAME)}")
    task = BY_NAME[name]
    steps = budget_steps(task, a.steps)
    overrides = parse_kv(a.overrides, "override")

    # The runner's model with the overrides passed to boostrl.PPO as
    # keyword hyper-parameters (they replace the preset's values).
    import boostrl

    def model_with_overrides(task_, seed_):
        return agents.python_model(task_, seed_, atari_ram=a.atari_ram, **overrides)

    cmd = " ".join(["scripts/tune_task.py", *(["--quick"] if a.quick else []), a.task, str(a.seed), *a.overrides])
    if a.steps != "reduced":
        cmd += f" --steps {a.steps}"
    if a.atari_ram is not None:
        if task.kind != "atari":
            raise SystemExit(f"--atari-ram is for Atari tasks, not {task.name}")
        cmd += f" --atari-ram {a.atari_ram}"
    if a.quick:
        res = train_only(model_with_overrides(task, a.seed)[0], steps)
        keys = ("env_steps", "train_rew_mean", "train_s", "trees", "curve")
    else:
        with tempfile.TemporaryDirectory() as work:
            res = agents.run_python(task, a.seed, steps, Path(work), make_model=model_with_overrides)
        keys = ("env_steps", "eval_mean", "eval_std", "eval_episodes", "wall_s", "train_s", "trees", "curve")
    line = {
        "task": task.name,
        "seed": a.seed,
        "overrides": overrides,
        **({"atari_ram": a.atari_ram} if a.atari_ram is not None else {}),
        **{("steps" if k == "env_steps" else k): res[k] for k in keys},
        "command": cmd,
        "boostrl": getattr(boostrl, "__version__", "?"),
        "python": platform.python_version(),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(a.out or OUT_DIR / f"{task.suite}{'-quick' if a.quick else ''}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(json.dumps(line) + "\n")
    score = ("train_rew_mean", "train_s") if a.quick else ("eval_mean", "eval_std", "wall_s")
    print(json.dumps({k: line[k] for k in ("task", "seed", "overrides", *score)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
