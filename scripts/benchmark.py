#!/usr/bin/env python3
"""The learning-quality benchmark: boostrl against stable-baselines3's PPO
(MLP, rl-zoo3 settings) on the GBRL paper's suites, one JSON per run.

    scripts/benchmark.py SUITE [--seeds 0 1 2] [--budget reduced|paper|N]
        [--agent boostrl|sb3|both|random] [--tasks T ...] [--jobs 1]
        [--out results/benchmark]
    scripts/benchmark.py --report [--budget reduced]   # docs/RESULTS.md + docs/img/bench-*.svg
    scripts/benchmark.py --budgets                     # the budget table

SUITE: classic, minigrid or atari-ram. Each run is a worker process
(brlbench.worker) that writes OUT/SUITE/TASK/AGENT-sSEED-STEPS.json when
it has finished; a run whose file holds a finished run is skipped, any
other (never started, crashed, killed) is run again. The random agent's
runs (the normalised score's 0) come along with boostrl/sb3 runs unless
--no-random. Interpreters: boostrl and random runs use this Python (it
needs boostrl and the suite's envs: .venv-bench, `scripts/setup.sh
--bench`), sb3 runs .venv-sb3's (`scripts/setup.sh --sb3`); native envs
run the `boostrl` command ($BRL_CLI or build/boostrl).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from brlbench import store  # noqa: E402
from brlbench.tasks import BY_NAME, SUITES, budget_steps, budget_table, suite_tasks  # noqa: E402


def plan(suite: str, tasks: list[str] | None, agents: list[str], seeds: list[int], budget) -> list[tuple]:
    """The runs, in order: (task, agent, seed, steps); agent-major, then
    seed, then task, so that early seeds of every task finish first."""
    chosen = suite_tasks(suite)
    if tasks:
        unknown = [t for t in tasks if t not in {x.name for x in chosen}]
        if unknown:
            raise SystemExit(f"benchmark: {', '.join(unknown)} not in suite {suite}: "
                             f"use {', '.join(x.name for x in chosen)}")  # fmt: skip
        chosen = [t for t in chosen if t.name in tasks]
    out = []
    for a in agents:
        for s in seeds:
            for t in chosen:
                out.append((t, a, s, 0 if a == "random" else budget_steps(t, budget)))
    return out


def interpreter(agent: str, args) -> str:
    return args.sb3_python if agent == "sb3" else args.python


def run_one(t, agent, seed, steps, args) -> tuple[str, dict | None, float]:
    path = store.run_path(args.out, t.suite, t.name, agent, seed, steps)
    if store.load_complete(path) is not None:
        return "skipped (finished)", store.load_complete(path), 0.0
    work = Path(args.work) / t.suite / t.name / f"{agent}-s{seed}-{steps}"
    work.mkdir(parents=True, exist_ok=True)
    py = interpreter(agent, args)
    if not os.access(py, os.X_OK):
        return f"FAILED: no interpreter {py} (scripts/setup.sh --sb3 / --bench)", None, 0.0
    cmd = [py, "-m", "brlbench.worker", "--task", t.name, "--agent", agent, "--seed", str(seed),
           "--steps", str(steps), "--out", str(path), "--work", str(work)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    with open(work / "log.txt", "w") as log:
        rc = subprocess.run(cmd, cwd=str(HERE), env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    dt = time.perf_counter() - t0
    res = store.load_complete(path)
    if rc != 0 or res is None:
        tail = (work / "log.txt").read_text(errors="replace").strip().splitlines()[-3:]
        return f"FAILED (rc {rc}; {work / 'log.txt'}): {' | '.join(tail)}", None, dt
    return "done", res, dt


def run_all(runs, args) -> int:
    n, failed = len(runs), 0

    def line(i, t, agent, seed, steps, status, res, dt):
        desc = f"[{i}/{n}] {t.name} {agent} seed {seed} {steps:,} steps"
        if res is not None:
            desc += f": eval {res['eval_mean']:.2f} +- {res['eval_std']:.2f}, {res['env_steps']:,} steps"
            desc += f", {res['wall_s']:.1f} s"
        print(f"{desc} - {status}" + (f" in {dt:.1f} s" if status == "done" else ""), flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = [pool.submit(run_one, *r, args) for r in runs]
        for i, (r, f) in enumerate(zip(runs, futs), 1):
            status, res, dt = f.result()
            failed += status.startswith("FAILED")
            line(i, *r, status, res, dt)
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmark.py", description=__doc__.split("\n\n")[0])
    p.add_argument("suite", nargs="?", choices=SUITES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--budget", default="reduced", help="paper, reduced or env steps per run")
    p.add_argument("--agent", default="both", choices=["boostrl", "sb3", "both", "random"])
    p.add_argument("--tasks", nargs="+")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "benchmark")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "benchmark",
                   help="scratch directories of the runs (model files, logs)")  # fmt: skip
    p.add_argument("--no-random", action="store_true", help="skip the random-policy reference runs")
    p.add_argument("--python", default=sys.executable, help="interpreter of boostrl and random runs")
    p.add_argument("--sb3-python", default=str(ROOT / ".venv-sb3" / "bin" / "python"))
    p.add_argument("--report", action="store_true", help="regenerate docs/RESULTS.md's tables and curves")
    p.add_argument("--results-md", type=Path, default=ROOT / "docs" / "RESULTS.md")
    p.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
    p.add_argument("--budgets", action="store_true", help="print the budget table")
    a = p.parse_args(argv)
    # Absolute: the workers run in scripts/ (a relative --out would land there).
    a.out, a.work = a.out.resolve(), a.work.resolve()
    if a.budget not in ("paper", "reduced"):
        try:
            budget_steps(next(iter(BY_NAME.values())), a.budget)
        except ValueError as e:
            p.error(str(e))
    if a.budgets:
        print(budget_table())
        return 0
    if a.report:
        from brlbench import report

        cmd = f"scripts/benchmark.py --report --budget {a.budget}"
        for path in report.write(a.results_md, a.img, store.all_results(a.out), a.budget, cmd):
            print(f"wrote {path}")
        return 0
    if a.suite is None:
        p.error("give a SUITE (classic, minigrid, atari-ram), --report or --budgets")
    agents = {"both": ["boostrl", "sb3"]}.get(a.agent, [a.agent])
    if not a.no_random and a.agent != "random":
        agents = ["random"] + agents
    return run_all(plan(a.suite, a.tasks, agents, a.seeds, a.budget), a)


if __name__ == "__main__":
    sys.exit(main())
