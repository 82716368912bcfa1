"""One JSON file per run: results/benchmark/SUITE/TASK/AGENT-sSEED-STEPS.json.

A run's file is written once, whole, when the run has finished (a
temporary file renamed over it), and carries "complete": true. A file that
is missing, unreadable, cut short or not complete is a run still to do:
the runner redoes it. Files of other budgets live beside it (the step
count is in the name), so a change of budget never mixes results."""

from __future__ import annotations

import json
import os
from pathlib import Path

AGENTS = ("boostrl", "sb3", "random")


def run_path(root: Path, suite: str, task: str, agent: str, seed: int, steps: int) -> Path:
    return Path(root) / suite / task / f"{agent}-s{seed}-{steps}.json"


def load_complete(path: Path) -> dict | None:
    """The run's result if its file holds a finished run, else None."""
    try:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        return None
    return r if isinstance(r, dict) and r.get("complete") is True else None


def write_result(path: Path, result: dict) -> None:
    """Writes a finished run's result atomically (never a half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(dict(result, complete=True), f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def all_results(root: Path) -> list[dict]:
    """Every finished run under root, in a fixed order."""
    out = []
    for p in sorted(Path(root).glob("*/*/*.json")):
        r = load_complete(p)
        if r is not None:
            out.append(r)
    return out
