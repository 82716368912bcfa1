"""One benchmark run in its own process (the runner starts it with the
agent's interpreter: .venv-sb3's for sb3). Writes the run's JSON only once
the run has finished, so a crash or a kill leaves no result and the runner
redoes the run.

    python -m brlbench.worker --task T --agent A --seed S --steps N --out FILE --work DIR
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

from . import store
from .tasks import BY_NAME


def run(task_name: str, agent: str, seed: int, steps: int, work: Path) -> dict:
    task = BY_NAME[task_name]
    work.mkdir(parents=True, exist_ok=True)
    if agent == "sb3":
        from .sb3_agent import run_sb3 as fn
    elif agent == "boostrl":
        from .agents import run_boostrl as fn
    elif agent == "random":
        from .agents import run_random as fn
    else:
        raise ValueError(f"unknown agent {agent!r}: use one of {', '.join(store.AGENTS)}")
    res = fn(task, seed, steps, work)
    return {
        "task": task.name,
        "suite": task.suite,
        "env_id": task.env_id,
        "agent": agent,
        "seed": seed,
        "budget_steps": steps,
        **res,
        "python": platform.python_version(),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="brlbench.worker")
    p.add_argument("--task", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args(argv)
    result = run(a.task, a.agent, a.seed, a.steps, Path(a.work))
    store.write_result(Path(a.out), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
