"""The suites, their tasks and per-task budgets, and the references of the
normalised score (random = 0, best = 1).

Budgets: "paper" is the GBRL paper's budget (../shared/REFERENCE.md: 1M
classic control, 1.5M LunarLander, 1M MiniGrid, 10M Fetch/FourRooms/PutNear
and Atari-RAM). "reduced" is what a developer session on the project's
2-core machine can finish for both agents and three seeds, the neural
baseline being the slower side: stable-baselines3's PPO trained at 60-400
env steps per second here on a loaded machine (MountainCarContinuous with
the zoo's 1 env x 8 steps x 10 epochs the slowest), boostrl's native runs
at 10-100x that. Both agents get the same budget. LunarLander's reduced
budget is its paper budget (1.5M): the target is measured there and a run
of either agent fits in a session.

Best references: the maximum return where the task has one (CartPole 500,
MiniGrid 1), else the usual "solved" level of REFERENCE.md. Atari-RAM has
none there: its best is the best mean final return of any agent in the
results (stated as such in the report). Random references are measured by
the runner (`--agent random`), never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str  # the short name used in files and tables
    suite: str
    env_id: str  # the Gymnasium id (ALE: with obs_type="ram")
    kind: str  # "native" (boostrl's C envs), "gym", "minigrid", "atari"
    paper_steps: int
    reduced_steps: int
    best: float | None  # the normalised score's 1 (None: best run)
    best_source: str
    eval_episodes: int = 100  # final evaluation
    curve_episodes: int = 100  # each learning-curve evaluation
    curve_points: int = 10
    max_episode_steps: int | None = None  # an episode cap (env steps) for training and evaluation


def _classic(name, paper, reduced, best, src, kind="native"):
    return Task(name, "classic", name, kind, paper, reduced, best, src)


_MG_SHORT = ("DoorKey-5x5", "Empty-Random-5x5", "GoToDoor-5x5", "KeyCorridorS3R1", "RedBlueDoors-6x6", "Unlock")
_MG_LONG = ("Fetch-5x5-N2", "FourRooms", "PutNear-6x6-N2")
# Atari episodes end at 18,000 frames (4,500 steps at ALE v5's frameskip
# 4): five minutes of play, the evaluation cap of Mnih et al. 2015 (Nature,
# DQN). ALE v5's own cap, 108,000 frames (27,000 steps), lets a
# deterministic policy that never launches the ball (Breakout) play 27,000
# idle steps an episode on each of the 16 evaluation copies: 864,000 env
# steps for one 20-episode evaluation, ~9 minutes at the ~1,600 env
# steps/s measured here, and ten such evaluations a run. Both agents get
# the cap, in training and evaluation (evaluation.make_env).
ATARI_MAX_EPISODE_STEPS = 4_500
_ATARI = (
    "Alien", "Amidar", "Asteroids", "Breakout", "Gopher",
    "Kangaroo", "Krull", "MsPacman", "Pong", "SpaceInvaders",
)  # fmt: skip


def _minigrid(short, long_):
    out = []
    for n in sorted(short + long_):
        paper, reduced = (10_000_000, 1_000_000) if n in long_ else (1_000_000, 300_000)
        out.append(
            Task(f"MiniGrid-{n}-v0", "minigrid", f"MiniGrid-{n}-v0", "minigrid", paper, reduced, 1.0,
                 "maximum return", curve_episodes=20)
        )  # fmt: skip
    return out


def _atari():
    return [
        Task(f"{g}-ram", "atari-ram", f"ALE/{g}-v5", "atari", 10_000_000, 1_000_000, None,
             "best mean final return of any agent here", eval_episodes=20, curve_episodes=5,
             max_episode_steps=ATARI_MAX_EPISODE_STEPS)
        for g in _ATARI
    ]  # fmt: skip


TASKS: list[Task] = [
    _classic("CartPole-v1", 1_000_000, 100_000, 500.0, "maximum return"),
    _classic("Acrobot-v1", 1_000_000, 100_000, -85.0, "solved level (about -85)"),
    _classic("MountainCar-v0", 1_000_000, 200_000, -110.0, "solved level"),
    _classic("MountainCarContinuous-v0", 1_000_000, 100_000, 90.0, "solved level"),
    _classic("Pendulum-v1", 1_000_000, 100_000, -200.0, "solved level (about -200)"),
    _classic("LunarLander-v3", 1_500_000, 1_500_000, 200.0, "solved level", kind="gym"),
    *_minigrid(_MG_SHORT, _MG_LONG),
    *_atari(),
]
BY_NAME = {t.name: t for t in TASKS}
SUITES = ("classic", "minigrid", "atari-ram")

# The paper's published normalised PPO scores (REFERENCE.md, read off its
# figure); "classic" is the paper's "continuous control" group.
PAPER = {
    "classic": {"GBRL": 0.86, "NN": 0.88},
    "minigrid": {"GBRL": 0.94, "NN": 0.68},
    "atari-ram": {"GBRL": 0.57, "NN": 0.75},
}


def suite_tasks(suite: str) -> list[Task]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}: use one of {', '.join(SUITES)}")
    return [t for t in TASKS if t.suite == suite]


def budget_steps(task: Task, budget: str | int) -> int:
    """Env steps of `task` under `budget`: "paper", "reduced" or a number."""
    if budget == "paper":
        return task.paper_steps
    if budget == "reduced":
        return task.reduced_steps
    n = int(budget)
    if n <= 0:
        raise ValueError(f"budget {budget!r}: give paper, reduced or a positive step count")
    return n


def budget_table() -> str:
    """The budgets as a Markdown table (docs/RESULTS.md, --budgets)."""
    rows = ["| suite | task | paper budget | reduced budget | best reference (score 1) |", "|---|---|---|---|---|"]
    for t in TASKS:
        best = "best run" if t.best is None else f"{t.best:g} ({t.best_source})"
        rows.append(f"| {t.suite} | {t.name} | {t.paper_steps:,} | {t.reduced_steps:,} | {best} |")
    return "\n".join(rows)
