"""Tables and learning curves of the benchmark's results, and their place
in docs/RESULTS.md (between markers; the hand-written sections stay).

Normalised score (the GBRL paper's): (return - random) / (best - random)
per task, with `random` the mean final return of the uniformly random
agent measured here and `best` the task's reference (tasks.Task.best; the
best agent's mean where the task has none). Not clipped: a task solved
beyond its reference scores above 1. A suite's score is the mean over the
tasks that both boostrl and SB3 have finished (so both are compared on
the same tasks); tasks not run yet are listed as such."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .svg import line_plot
from .tasks import PAPER, SUITES, TASKS, budget_steps

AGENTS_SHOWN = ("boostrl", "sb3")
LABEL = {"boostrl": "boostrl", "sb3": "SB3-MLP", "random": "random"}
SUMMARY = ("<!-- benchmark:summary:begin -->", "<!-- benchmark:summary:end -->")
DETAIL = ("<!-- benchmark:tasks:begin -->", "<!-- benchmark:tasks:end -->")


def normalise(value: float, random: float, best: float) -> float:
    """The paper's normalised score: random -> 0, best -> 1."""
    if best == random:
        raise ValueError(f"best ({best}) equals random ({random}): no normalised score")
    return (value - random) / (best - random)


def group(results: list[dict], budget) -> dict:
    """{(task, agent): [runs sorted by seed]} of the runs at `budget`
    (random runs: any; they do not train)."""
    want = {t.name: budget_steps(t, budget) for t in TASKS}
    out: dict = {}
    for r in results:
        t = r.get("task")
        if t not in want:
            continue
        if r["agent"] != "random" and r["budget_steps"] != want[t]:
            continue
        out.setdefault((t, r["agent"]), []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r["seed"])
    return out


def task_refs(g: dict, task) -> tuple[float | None, float | None, str]:
    """(random, best, where best comes from) of task; None where unknown."""
    rnd = g.get((task.name, "random"))
    random = float(np.mean([r["eval_mean"] for r in rnd])) if rnd else None
    if task.best is not None:
        return random, task.best, task.best_source
    means = [np.mean([r["eval_mean"] for r in g[(task.name, a)]]) for a in AGENTS_SHOWN if (task.name, a) in g]
    return random, (float(max(means)) if means else None), task.best_source


def _norm(v, random, best):
    if v is None or random is None or best is None or best == random:
        return None
    return normalise(v, random, best)


def _f(v, nd=2):
    return "-" if v is None else f"{v:,.{nd}f}"


def task_stats(g: dict, task, agent: str) -> dict | None:
    runs = g.get((task.name, agent))
    if not runs:
        return None
    random, best, _ = task_refs(g, task)
    means = [r["eval_mean"] for r in runs]
    m = float(np.mean(means))
    reach = []
    for r in runs:
        hit = next((p for p in r["curve"] if (_norm(p["mean"], random, best) or -1e9) >= 0.9), None)
        reach.append(hit)
    hits = [h for h in reach if h is not None]
    return {
        "seeds": [r["seed"] for r in runs],
        "mean": m,
        "spread": float(np.std(means)),
        "per_seed": means,
        "norm": _norm(m, random, best),
        "steps": float(np.mean([r["env_steps"] for r in runs])),
        "wall": float(np.mean([r["wall_s"] for r in runs])),
        "train": float(np.mean([r["train_s"] for r in runs])),
        "trees": None if runs[0].get("trees") is None else float(np.mean([r["trees"] for r in runs])),
        "params": runs[0].get("parameters"),
        "reach": (len(hits), len(runs), float(np.mean([h["train_s"] for h in hits])) if hits else None),
    }


def summary_table(g: dict, budget) -> str:
    rows = [
        "| suite | tasks compared | runs (boostrl / SB3-MLP) | boostrl score | SB3-MLP score | env steps per run | "
        "boostrl wall time | SB3-MLP wall time | paper GBRL | paper NN |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for suite in SUITES:
        tasks = [t for t in TASKS if t.suite == suite]
        both = [t for t in tasks if all(task_stats(g, t, a) for a in AGENTS_SHOWN) and task_refs(g, t)[0] is not None]
        missing = [t.name for t in tasks if t not in both]
        p = PAPER[suite]
        if not both:
            ran = {a: sum(1 for t in tasks if task_stats(g, t, a)) for a in AGENTS_SHOWN}
            what = ", ".join(f"{LABEL[a]}: {n} task{'s' * (n != 1)}" for a, n in ran.items())
            what = what if any(ran.values()) else "not run yet"
            rows.append(f"| {suite} | 0 of {len(tasks)} ({what}) | - | - | - | - | - | - | {p['GBRL']} | {p['NN']} |")
            if any(ran.values()):
                notes.append(f"{suite}: no task run by both agents yet (no score compared); the runs so far are in "
                             f"the task table below.")  # fmt: skip
            continue
        score, wall, runs = {}, {}, {}
        for a in AGENTS_SHOWN:
            st = [task_stats(g, t, a) for t in both]
            score[a] = float(np.mean([s["norm"] for s in st]))
            wall[a] = sum(s["wall"] for s in st)
            runs[a] = sum(len(s["seeds"]) for s in st)
        steps = sorted({budget_steps(t, budget) for t in both})
        srange = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}-{steps[-1]:,}"
        rows.append(
            f"| {suite} | {len(both)} of {len(tasks)} | {runs['boostrl']} / {runs['sb3']} | {score['boostrl']:.2f} | "
            f"{score['sb3']:.2f} | {srange} | "
            f"{wall['boostrl']:,.0f} s | {wall['sb3']:,.0f} s | {p['GBRL']} | {p['NN']} |"
        )
        if missing:
            notes.append(f"{suite}: not yet run for both agents: {', '.join(missing)}.")
    text = "\n".join(rows)
    text += (
        "\n\nScores are normalised per task (random policy 0, task reference 1; see the task table) "
        "and averaged over the tasks both agents finished (per task: the mean over the seeds finished, "
        "seeds 0-2 where all ran; the task table lists them); wall time is the sum over those "
        "tasks of the mean time of one run (training and evaluations). The paper's numbers are its "
        "published PPO scores (its \"continuous control\" group for classic)."
    )
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def task_table(g: dict, suite: str, ran_only: bool = False) -> str:
    """The per-task rows of `suite`; ran_only: leave out the tasks that
    have no run in g rather than list them as not run yet."""
    rows = [
        "| task | agent | seeds | final eval (mean over seeds +- spread) | per seed | normalised | env steps | "
        "wall s | train s | trees / parameters | first >= 0.9 normalised (seeds, mean train s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in (t for t in TASKS if t.suite == suite):
        random, best, src = task_refs(g, t)
        any_run = False
        for a in AGENTS_SHOWN:
            s = task_stats(g, t, a)
            if s is None:
                continue
            any_run = True
            size = f"{s['trees']:,.0f} trees" if s["trees"] is not None else (
                f"{s['params']:,} params" if s["params"] else "-")  # fmt: skip
            k, n, ts = s["reach"]
            reach = f"{k}/{n}" + (f", {ts:,.1f}" if ts is not None else "")
            # Two decimals below 10 (MiniGrid's 0-1 returns: 0.96 is not 1.0).
            per = " / ".join(f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}" for v in s["per_seed"])
            rows.append(
                f"| {t.name} | {LABEL[a]} | {','.join(map(str, s['seeds']))} | {s['mean']:.2f} +- {s['spread']:.2f} | "
                f"{per} | {_f(s['norm'])} | {s['steps']:,.0f} | {s['wall']:,.1f} | {s['train']:,.1f} | {size} | {reach} |"
            )
        if not any_run:
            if not ran_only:
                rows.append(f"| {t.name} | - | - | not run yet | | | | | | | |")
        else:
            rows.append(f"| | random = {_f(random)}, best = {_f(best, 1)} ({src}) | | | | | | | | | |")
    return "\n".join(rows)


def curve_svg(g: dict, task) -> str | None:
    series = {}
    for a in AGENTS_SHOWN:
        runs = g.get((task.name, a))
        if not runs or not runs[0]["curve"]:
            continue
        n = min(len(r["curve"]) for r in runs)
        series[LABEL[a]] = [
            (float(np.mean([r["curve"][i]["steps"] for r in runs])), float(np.mean([r["curve"][i]["mean"] for r in runs])))
            for i in range(n)
        ]
    if not series:
        return None
    random, best, _ = task_refs(g, task)
    h = {}
    if random is not None:
        h["random"] = random
    if best is not None and task.best is not None:
        h["best"] = best
    return line_plot(f"{task.name}: eval return, mean over seeds", series, h, "env steps", "return")


def replace_between(text: str, markers: tuple[str, str], body: str, where: str) -> str:
    """text with the part between markers replaced by body; without the
    markers, the block is put after the first heading (where="top") or at
    the end (where="end")."""
    block = f"{markers[0]}\n{body.strip()}\n{markers[1]}"
    pat = re.compile(re.escape(markers[0]) + ".*?" + re.escape(markers[1]), re.S)
    if pat.search(text):
        return pat.sub(lambda _: block, text, count=1)
    if where == "top":
        lines = text.split("\n")
        i = next((k for k, s in enumerate(lines) if s.startswith("# ")), -1)
        return "\n".join(lines[: i + 1] + ["", block] + lines[i + 1 :])
    return text.rstrip("\n") + "\n\n" + block + "\n"


def paper_budget_part(results: list[dict], budget) -> list[str]:
    """Markdown lines of the runs at the paper's budget of the tasks whose
    report budget is smaller (the issue's MiniGrid and LunarLander targets
    are stated at the paper's budget); [] where there are none."""
    if budget == "paper":
        return []
    g = group(results, "paper")
    smaller = {t.name for t in TASKS if budget_steps(t, budget) < t.paper_steps}
    g = {k: v for k, v in g.items() if k[0] in smaller or k[1] == "random"}
    parts = []
    for suite in SUITES:
        names = {t.name for t in TASKS if t.suite == suite} & smaller
        if not any(k[0] in names and k[1] != "random" for k in g):
            continue
        parts += [f"#### {suite}", "", task_table(g, suite, ran_only=True), ""]
    if not parts:
        return []
    head = ["### Runs at the paper's budget", "",
            "The tasks whose budget above is below the paper's, where runs at the paper's budget exist "
            "(`--budget paper`); same columns and protocol.", ""]  # fmt: skip
    return head + parts


def render(results: list[dict], budget, command: str) -> tuple[str, str, dict[str, str]]:
    """(summary Markdown, per-task Markdown, {svg file name: svg})."""
    g = group(results, budget)
    summary = "## Benchmark summary: boostrl vs stable-baselines3 (PPO)\n\n" + summary_table(g, budget)
    summary += f"\n\nGenerated by `{command}` from results/benchmark/ (details: \"Benchmark runs\" below)."
    parts = ["## Benchmark runs", "", f"Budget: `{budget}` (steps per task in the budget table below). "
             "Each row: seeds 0-2 unless stated, deterministic policy evaluated over the task's episodes "
             "on 16 env copies seeded seed + 10^9.", ""]  # fmt: skip
    svgs = {}
    for suite in SUITES:
        parts += [f"### {suite}", "", task_table(g, suite), ""]
        for t in (t for t in TASKS if t.suite == suite):
            s = curve_svg(g, t)
            if s is not None:
                name = f"bench-{t.name}.svg"
                svgs[name] = s
                parts.append(f"![{t.name} learning curves](img/{name})")
        parts.append("")
    parts += paper_budget_part(results, budget)
    from .tasks import budget_table

    parts += ["### Budgets", "", budget_table(), ""]
    return summary, "\n".join(parts), svgs


def write(results_md: Path, img_dir: Path, results: list[dict], budget, command: str) -> list[Path]:
    summary, detail, svgs = render(results, budget, command)
    text = results_md.read_text(encoding="utf-8") if results_md.exists() else "# Training results\n"
    text = replace_between(text, SUMMARY, summary, "top")
    text = replace_between(text, DETAIL, detail, "end")
    results_md.write_text(text, encoding="utf-8")
    img_dir.mkdir(parents=True, exist_ok=True)
    written = [results_md]
    for name, s in sorted(svgs.items()):
        (img_dir / name).write_text(s, encoding="utf-8")
        written.append(img_dir / name)
    return written
