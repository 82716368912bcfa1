#!/usr/bin/env python3
"""One MiniGrid tuning run: boostrl.PPO with the library's MiniGrid preset
plus hyper-parameter overrides, trained and evaluated through the
benchmark runner's own code path (brlbench.agents.run_python: the
MiniGridCategorical wrapper, a 20-episode curve point every 1/10 of the
budget, the final 100-episode deterministic evaluation on 16 copies
seeded seed + 10^9 + i). Appends one JSON line to
results/tuning/minigrid.jsonl.

Tune on seeds >= 100 only: seeds 0-2 are the reported ones.

    .venv-bench/bin/python scripts/tune_minigrid.py RedBlueDoors-6x6 100 ent_coef=0.01
    .venv-bench/bin/python scripts/tune_minigrid.py Unlock 101            # the preset as is
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

OUT = HERE.parent / "results" / "tuning" / "minigrid.jsonl"


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for it in items:
        key, sep, val = it.partition("=")
        if not sep or not key:
            raise SystemExit(f"override {it!r}: write KEY=VALUE, e.g. ent_coef=0.01")
        out[key] = val
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", help="MiniGrid task without prefix/suffix, e.g. Unlock, RedBlueDoors-6x6")
    p.add_argument("seed", type=int, help="training seed (>= 100: tuning seeds)")
    p.add_argument("overrides", nargs="*", help="KEY=VALUE hyper-parameters over the preset (ent_coef=0.01)")
    p.add_argument("--steps", default="reduced", help="env steps: reduced (300k), paper or a number")
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    if a.seed < 100:
        raise SystemExit(f"seed {a.seed}: tune on seeds >= 100 (0-2 are the reported seeds)")
    name = a.task if a.task.startswith("MiniGrid-") else f"MiniGrid-{a.task}-v0"
    if name not in BY_NAME:
        raise SystemExit(f"unknown task {a.task!r}: one of {', '.join(n for n in BY_NAME if 'MiniGrid' in n)}")
    task = BY_NAME[name]
    steps = budget_steps(task, a.steps)
    overrides = parse_overrides(a.overrides)

    # The runner's model with the overrides passed to boostrl.PPO as
    # keyword hyper-parameters (they replace the preset's values).
    import boostrl
    from boostrl.wrappers import MiniGridCategorical

    def model_with_overrides(task_, seed_):
        return boostrl.PPO(ev.make_env(task_, MiniGridCategorical), seed=seed_, **overrides), MiniGridCategorical

    agents._python_model = model_with_overrides
    with tempfile.TemporaryDirectory() as work:
        res = agents.run_python(task, a.seed, steps, Path(work))
    cmd = " ".join(["scripts/tune_minigrid.py", a.task, str(a.seed), *a.overrides])
    if a.steps != "reduced":
        cmd += f" --steps {a.steps}"
    line = {
        "task": task.name,
        "seed": a.seed,
        "overrides": overrides,
        "steps": res["env_steps"],
        "eval_mean": res["eval_mean"],
        "eval_std": res["eval_std"],
        "eval_episodes": res["eval_episodes"],
        "wall_s": res["wall_s"],
        "train_s": res["train_s"],
        "trees": res["trees"],
        "curve": res["curve"],
        "command": cmd,
        "boostrl": getattr(boostrl, "__version__", "?"),
        "python": platform.python_version(),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps({k: line[k] for k in ("task", "seed", "overrides", "eval_mean", "eval_std", "wall_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
