"""The benchmark runner's pieces (scripts/benchmark.py, scripts/brlbench):
score normalisation, the budget table, resumption of finished and partial
runs, and the report generated from result files. Tiny budgets on
CartPole only (no torch, ale-py or box2d needed)."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import benchmark  # noqa: E402
from brlbench import report, store, tasks  # noqa: E402


# --- normalisation -----------------------------------------------------------


def test_normalise_maps_random_to_0_and_best_to_1():
    assert report.normalise(22.0, 22.0, 500.0) == 0.0
    assert report.normalise(500.0, 22.0, 500.0) == 1.0
    assert report.normalise(261.0, 22.0, 500.0) == pytest.approx(0.5)
    # Negative returns (Pendulum): random -1200, best -200.
    assert report.normalise(-700.0, -1200.0, -200.0) == pytest.approx(0.5)
    # Not clipped: beyond the reference scores above 1, below random under 0.
    assert report.normalise(-100.0, -1200.0, -200.0) == pytest.approx(1.1)
    assert report.normalise(-1300.0, -1200.0, -200.0) == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="best"):
        report.normalise(1.0, 5.0, 5.0)


# --- budgets -----------------------------------------------------------------


def test_budget_table_matches_the_paper_and_fits():
    by_suite = {s: tasks.suite_tasks(s) for s in tasks.SUITES}
    assert [len(by_suite[s]) for s in tasks.SUITES] == [6, 9, 10]
    paper = {t.name: t.paper_steps for t in tasks.TASKS}
    assert paper["CartPole-v1"] == 1_000_000 and paper["LunarLander-v3"] == 1_500_000
    for t in by_suite["minigrid"]:
        long_ = any(k in t.name for k in ("Fetch", "FourRooms", "PutNear"))
        assert t.paper_steps == (10_000_000 if long_ else 1_000_000), t.name
    assert all(t.paper_steps == 10_000_000 for t in by_suite["atari-ram"])
    for t in tasks.TASKS:
        assert 0 < t.reduced_steps <= t.paper_steps, t.name
        assert t.best is not None or t.suite == "atari-ram", t.name
        assert tasks.budget_steps(t, "paper") == t.paper_steps
        assert tasks.budget_steps(t, "reduced") == t.reduced_steps
        assert tasks.budget_steps(t, "5000") == 5000
    for bad in ("0", "-3", "lots"):
        with pytest.raises(ValueError):
            tasks.budget_steps(tasks.TASKS[0], bad)
    table = tasks.budget_table().splitlines()
    assert len(table) == 2 + len(tasks.TASKS)
    assert "| classic | CartPole-v1 | 1,000,000 | 100,000 | 500 (maximum return) |" in table
    with pytest.raises(ValueError, match="unknown suite"):
        tasks.suite_tasks("mujoco")


def test_plan_orders_agents_then_seeds_and_checks_task_names():
    runs = benchmark.plan("classic", ["Acrobot-v1", "CartPole-v1"], ["random", "boostrl"], [0, 1], "reduced")
    got = [(t.name, a, s, n) for t, a, s, n in runs]
    assert got[:2] == [("CartPole-v1", "random", 0, 0), ("Acrobot-v1", "random", 0, 0)]
    assert got[4:6] == [("CartPole-v1", "boostrl", 0, 100_000), ("Acrobot-v1", "boostrl", 0, 100_000)]
    assert len(got) == 8
    with pytest.raises(SystemExit, match="not in suite"):
        benchmark.plan("classic", ["MiniGrid-FourRooms-v0"], ["boostrl"], [0], "reduced")


# --- resumption --------------------------------------------------------------


def _random_run(tmp_path, capsys):
    rc = benchmark.main(
        ["classic", "--tasks", "CartPole-v1", "--agent", "random", "--seeds", "0",
         "--out", str(tmp_path / "res"), "--work", str(tmp_path / "work")]
    )  # fmt: skip
    return rc, capsys.readouterr().out


def test_finished_run_is_skipped_and_partial_run_redone(tmp_path, capsys):
    rc, out = _random_run(tmp_path, capsys)
    assert rc == 0 and "- done" in out, out
    path = store.run_path(tmp_path / "res", "classic", "CartPole-v1", "random", 0, 0)
    first = json.loads(path.read_text())
    assert first["complete"] is True and first["task"] == "CartPole-v1" and first["eval_episodes"] == 100
    assert 8 < first["eval_mean"] < 50  # a random CartPole policy

    # A finished run is not run again: a marked value survives.
    path.write_text(json.dumps(dict(first, eval_mean=12345.0)))
    rc, out = _random_run(tmp_path, capsys)
    assert rc == 0 and "skipped (finished)" in out, out
    assert json.loads(path.read_text())["eval_mean"] == 12345.0

    # A file cut short (a run killed while writing) and one not complete are redone.
    for partial in ('{"task": "CartPole-v1", "eval_mea', json.dumps(dict(first, complete=False, eval_mean=-1.0))):
        path.write_text(partial)
        assert store.load_complete(path) is None
        rc, out = _random_run(tmp_path, capsys)
        assert rc == 0 and "- done" in out, out
        again = json.loads(path.read_text())
        assert again["complete"] is True and again["eval_mean"] == first["eval_mean"]  # same seed, same episodes


def test_relative_out_and_work_are_taken_from_the_current_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = benchmark.main(["classic", "--tasks", "CartPole-v1", "--agent", "random", "--seeds", "0",
                         "--out", "res", "--work", "work"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "- done" in out, out
    assert store.load_complete(store.run_path(tmp_path / "res", "classic", "CartPole-v1", "random", 0, 0))
    assert (tmp_path / "work" / "classic" / "CartPole-v1" / "random-s0-0" / "log.txt").exists()


def test_failed_run_leaves_no_result(tmp_path, capsys):
    rc = benchmark.main(
        ["classic", "--tasks", "CartPole-v1", "--agent", "sb3", "--no-random", "--seeds", "0", "--budget", "64",
         "--sb3-python", str(tmp_path / "no-such-python"), "--out", str(tmp_path / "res"),
         "--work", str(tmp_path / "work")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1 and "FAILED" in out and "no interpreter" in out, out
    assert store.all_results(tmp_path / "res") == []


def test_boostrl_native_path_records_curve(tmp_path):
    from brlbench import agents

    task = tasks.Task("CartPole-v1", "classic", "CartPole-v1", "native", 1, 1, 500.0, "max",
                      eval_episodes=16, curve_episodes=16, curve_points=2)  # fmt: skip
    try:
        agents.boostrl_cli()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    r = agents.run_native(task, 0, 2048, tmp_path / "native")
    assert r["env_steps"] == 2048 and r["eval_episodes"] == 16 and r["trees"] > 0
    assert [p["steps"] for p in r["curve"]] == [1024, 2048]
    assert r["curve"][-1]["mean"] == pytest.approx(r["eval_mean"], abs=1e-3)


def test_boostrl_python_path_records_curve(tmp_path):
    pytest.importorskip("boostrl")
    from brlbench import agents

    pytask = tasks.Task("CartPole-v1", "classic", "CartPole-v1", "gym", 1, 1, 500.0, "max",
                        eval_episodes=16, curve_episodes=4, curve_points=2)  # fmt: skip
    p = agents.run_python(pytask, 0, 2048, tmp_path / "python")
    assert p["env_steps"] == 2048 and p["eval_episodes"] == 16 and p["trees"] > 0
    assert [c["steps"] for c in p["curve"]] == [1024, 2048]  # mid-run point, then the final evaluation
    assert p["train_s"] <= p["wall_s"]


# --- env construction --------------------------------------------------------


def test_atari_episodes_are_capped_in_every_agents_envs(monkeypatch):
    import inspect
    import types

    from brlbench import agents, evaluation, sb3_agent

    # 18,000 frames (4,500 steps at frameskip 4), not ALE v5's 27,000 steps.
    assert tasks.ATARI_MAX_EPISODE_STEPS == 4_500
    for t in tasks.suite_tasks("atari-ram"):
        assert t.max_episode_steps == 4_500, t.name
        assert evaluation.make_kwargs(t) == {"obs_type": "ram", "max_episode_steps": 4_500}, t.name
    for t in tasks.suite_tasks("classic") + tasks.suite_tasks("minigrid"):
        assert evaluation.make_kwargs(t) == {}, t.name  # their own registered limits

    # make_env hands them to gym.make (no ROM needed: gym.make recorded).
    gym = pytest.importorskip("gymnasium")
    calls = []
    monkeypatch.setattr(gym, "make", lambda env_id, **kw: calls.append((env_id, kw)) or "ENV")
    monkeypatch.setattr(gym, "register_envs", lambda mod: None, raising=False)
    try:
        import ale_py  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "ale_py", types.ModuleType("ale_py"))
    breakout = tasks.BY_NAME["Breakout-ram"]
    assert evaluation.make_env(breakout, lambda e: ("wrapped", e)) == ("wrapped", "ENV")
    assert calls == [("ALE/Breakout-v5", {"obs_type": "ram", "max_episode_steps": 4_500})]

    # Every agent, training and evaluation, builds its envs through make_env
    # (make_vec calls it): none calls gym.make itself.
    for mod in (agents, sb3_agent):
        src = inspect.getsource(mod)
        assert "gym.make(" not in src and "gymnasium.make(" not in src, mod.__name__
        assert "ev.make_env(" in src or "ev.make_vec(" in src, mod.__name__
    assert "ev.make_env(task, wrapper)" in inspect.getsource(sb3_agent.run_sb3)  # SB3's training envs


def test_atari_episode_is_truncated_at_the_cap():
    pytest.importorskip("ale_py")
    from brlbench import evaluation

    # Breakout with NOOP never launches the ball: without a cap the episode
    # would run to ALE v5's 27,000 steps.
    env = evaluation.make_env(tasks.BY_NAME["Breakout-ram"])
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (128,)
        for step in range(1, 27_001):
            _, _, term, trunc, _ = env.step(0)
            if term or trunc:
                break
    finally:
        env.close()
    assert (step, term, trunc) == (4_500, False, True)


# --- report --------------------------------------------------------------------


def _fixture(root: Path) -> None:
    """Result files of CartPole (both agents, seeds 0-2) and Acrobot (boostrl only)."""

    def put(task, agent, seed, steps, mean, curve, **kw):
        t = tasks.BY_NAME[task]
        r = {"task": task, "suite": t.suite, "agent": agent, "seed": seed, "budget_steps": steps,
             "env_steps": steps, "wall_s": 10.0 + seed, "train_s": 8.0 + seed, "eval_mean": mean,
             "eval_std": 1.0, "eval_episodes": 100, "curve": curve, "trees": None, **kw}  # fmt: skip
        store.write_result(store.run_path(root, t.suite, task, agent, seed, steps), r)

    for s in range(3):
        put("CartPole-v1", "random", s, 0, 20.0 + s, [])
        put("CartPole-v1", "boostrl", s, 100_000, 500.0,
            [{"steps": 50_000, "train_s": 0.2, "mean": 400.0}, {"steps": 100_000, "train_s": 0.4, "mean": 500.0}],
            trees=1600)  # fmt: skip
        put("CartPole-v1", "sb3", s, 100_000, [200.0, 260.0, 320.0][s],
            [{"steps": 50_000, "train_s": 30.0, "mean": 480.0 if s == 0 else 100.0},
             {"steps": 100_000, "train_s": 60.0, "mean": [200.0, 260.0, 320.0][s]}],
            parameters=9155)  # fmt: skip
        put("Acrobot-v1", "boostrl", s, 100_000, -90.0, [{"steps": 100_000, "train_s": 3.0, "mean": -90.0}])
    # Another budget's run and a partial file: neither may enter the tables.
    put("CartPole-v1", "sb3", 0, 5_000, 9999.0, [])
    bad = store.run_path(root, "classic", "CartPole-v1", "sb3", 5, 100_000)
    bad.write_text('{"task": "CartPole-v1", "agent": "sb3", "eval_mea')


def test_report_tables_from_fixture_results(tmp_path):
    _fixture(tmp_path / "res")
    results = store.all_results(tmp_path / "res")
    assert len(results) == 13
    summary, detail, svgs = report.render(results, "reduced", "CMD")
    # CartPole: random 21, boostrl 500 -> 1.00, sb3 260 -> (260-21)/(500-21).
    row = next(s for s in summary.splitlines() if s.startswith("| classic"))
    assert row.startswith(f"| classic | 1 of 6 | 3 / 3 | 1.00 | {(260 - 21) / (500 - 21):.2f} | 100,000 |"), row
    assert "| 0.86 | 0.88 |" in row  # the paper's GBRL and NN
    assert "| minigrid | 0 of 9 (not run yet) |" in summary
    assert "Acrobot-v1" in summary and "not yet run for both agents" in summary
    assert "9999" not in summary + detail  # another budget
    assert "| CartPole-v1 | boostrl | 0,1,2 | 500.00 +- 0.00 | 500.0 / 500.0 / 500.0 | 1.00 |" in detail
    assert "| CartPole-v1 | SB3-MLP | 0,1,2 | 260.00 +- 48.99 |" in detail
    assert "9,155 params" in detail and "1,600 trees" in detail
    # First curve point >= 0.9 normalised: boostrl all seeds at 0.4 s (400 is
    # 0.79), sb3 seed 0 only, at 30 s.
    assert "| 3/3, 0.4 |" in detail and "| 1/3, 30.0 |" in detail
    assert "| MiniGrid-DoorKey-5x5-v0 | - | - | not run yet |" in detail
    assert "random = 21.00, best = 500.0 (maximum return)" in detail
    assert sorted(svgs) == ["bench-Acrobot-v1.svg", "bench-CartPole-v1.svg"]
    ET.fromstring(svgs["bench-CartPole-v1.svg"])  # well-formed
    assert report.render(list(reversed(results)), "reduced", "CMD") == (summary, detail, svgs)


def test_report_per_seed_keeps_two_decimals_of_small_returns():
    def run(agent, seed, mean):
        return {"task": "MiniGrid-DoorKey-5x5-v0", "suite": "minigrid", "agent": agent, "seed": seed,
                "budget_steps": 0 if agent == "random" else 300_000, "env_steps": 300_000, "wall_s": 1.0,
                "train_s": 1.0, "eval_mean": mean, "eval_std": 0.0, "eval_episodes": 100, "curve": [],
                "trees": 10}  # fmt: skip

    summary, detail, _ = report.render([run("random", 0, 0.02), run("boostrl", 0, 0.96), run("boostrl", 1, 0.5)],
                                       "reduced", "CMD")  # fmt: skip
    assert "| MiniGrid-DoorKey-5x5-v0 | boostrl | 0,1 | 0.73 +- 0.23 | 0.96 / 0.50 |" in detail, detail
    # One agent's runs only: the summary says so rather than "not run yet".
    assert "| minigrid | 0 of 9 (boostrl: 1 task, SB3-MLP: 0 tasks) | - |" in summary, summary
    assert "minigrid: no task run by both agents yet" in summary
    assert "| classic | 0 of 6 (not run yet) |" in summary


def test_report_writes_between_markers_and_keeps_hand_written_text(tmp_path):
    _fixture(tmp_path / "res")
    md = tmp_path / "RESULTS.md"
    md.write_text("# Training results\n\nIntro kept.\n\n## PPO\n\nHand-written table.\n")
    argv = ["--report", "--out", str(tmp_path / "res"), "--results-md", str(md), "--img", str(tmp_path / "img")]
    assert benchmark.main(argv) == 0
    text = md.read_text()
    assert text.index("# Training results") < text.index(report.SUMMARY[0]) < text.index("Intro kept.")
    assert text.index("Hand-written table.") < text.index(report.DETAIL[0])
    assert text.count(report.SUMMARY[0]) == 1 and text.count(report.DETAIL[0]) == 1
    svg = (tmp_path / "img" / "bench-CartPole-v1.svg").read_bytes()
    # Again, with one more run: the blocks are replaced, not added, and the
    # output is the same bytes for the same results.
    assert benchmark.main(argv) == 0
    assert md.read_text() == text and (tmp_path / "img" / "bench-CartPole-v1.svg").read_bytes() == svg
    os.remove(store.run_path(tmp_path / "res", "classic", "Acrobot-v1", "boostrl", 2, 100_000))
    assert benchmark.main(argv) == 0
    again = md.read_text()
    assert again != text and again.count(report.SUMMARY[0]) == 1 and "Hand-written table." in again
    assert "| Acrobot-v1 | boostrl | 0,1 |" in again


# --- tuning runs (scripts/tune_task.py) ------------------------------------


def test_tune_task_quick_records_overrides_and_curve(tmp_path):
    pytest.importorskip("boostrl")
    pytest.importorskip("minigrid")
    import tune_task

    out = tmp_path / "t.jsonl"
    args = ["--quick", "--steps", "8192", "Empty-Random-5x5", "100", "ent_coef=0.25", "n_epochs=2", "--out", str(out)]
    assert tune_task.main(args) == 0
    assert tune_task.main(args[:5] + ["--out", str(out)]) == 0  # the preset as is: a second line
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first["overrides"] == {"ent_coef": "0.25", "n_epochs": "2"} and second["overrides"] == {}
    assert first["steps"] == 8192 and [c["steps"] for c in first["curve"]] == [4096, 8192]
    assert 0.0 <= first["train_rew_mean"] <= 1.0 and first["trees"] > 0
    assert first["command"] == "scripts/tune_task.py --quick Empty-Random-5x5 100 ent_coef=0.25 n_epochs=2 --steps 8192"
    # The overrides reached the model: 2 epochs of 8 minibatches a rollout against the preset's 20.
    assert first["trees"] < second["trees"]


def test_tune_task_takes_any_benchmark_task(tmp_path):
    pytest.importorskip("boostrl")
    import tune_task

    out = tmp_path / "t.jsonl"
    assert tune_task.main(["--quick", "--steps", "4096", "CartPole-v1", "100", "n_steps=128", "--out", str(out)]) == 0
    line = json.loads(out.read_text())
    # The preset's 16 envs x 128 steps (the override) a rollout: two rollouts.
    assert line["task"] == "CartPole-v1" and [c["steps"] for c in line["curve"]] == [2048, 4096]
    assert line["train_rew_mean"] > 0 and line["overrides"] == {"n_steps": "128"}


@pytest.mark.parametrize(
    "argv, message",
    [(["Unlock", "2"], "tune on seeds >= 100"), (["Nope", "100"], "unknown task"), (["Unlock", "100", "ent_coef"], "use KEY=VALUE"),
     (["CartPole-v1", "100", "--atari-ram", "bits"], "--atari-ram is for Atari tasks")],
)
def test_tune_task_refuses_reported_seeds_unknown_tasks_and_bad_overrides(argv, message):
    import tune_task

    with pytest.raises(SystemExit) as e:
        tune_task.main(argv)
    assert message in str(e.value)


def test_report_lists_paper_budget_runs_apart():
    def run(task, agent, seed, steps, mean):
        return {"task": task, "suite": "minigrid", "agent": agent, "seed": seed, "budget_steps": steps,
                "env_steps": steps, "wall_s": 1.0, "train_s": 1.0, "eval_mean": mean, "eval_std": 0.0,
                "eval_episodes": 100, "curve": [{"steps": steps, "train_s": 1.0, "mean": mean}], "trees": 10}  # fmt: skip

    unlock = "MiniGrid-Unlock-v0"
    results = [run(unlock, "random", 0, 0, 0.0), run(unlock, "boostrl", 0, 300_000, 0.31),
               run(unlock, "boostrl", 0, 1_000_000, 0.92), run(unlock, "boostrl", 1, 1_000_000, 0.94)]  # fmt: skip
    _, detail, _ = report.render(results, "reduced", "CMD")
    main, paper = detail.split("### Runs at the paper's budget")
    assert "| MiniGrid-Unlock-v0 | boostrl | 0 | 0.31 +- 0.00 |" in main and "0.92" not in main
    assert "| MiniGrid-Unlock-v0 | boostrl | 0,1 | 0.93 +- 0.01 | 0.92 / 0.94 | 0.93 |" in paper, paper
    assert "| 2/2, 1.0 |" in paper  # both seeds reach 0.9 at their one curve point
    assert "not run yet" not in paper.split("### Budgets")[0] and "#### classic" not in paper
    # Reported at the paper's budget, there is no second section; without
    # paper-budget runs neither.
    assert "### Runs at the paper's budget" not in report.render(results, "paper", "CMD")[1]
    assert "### Runs at the paper's budget" not in report.render(results[:2], "reduced", "CMD")[1]
