"""The benchmark runner's pieces (scripts/benchmark.py): the task table
(tasks), the result files (store), one run in a worker process (worker),
the agents (agents: boostrl, random; sb3_agent: stable-baselines3), the
evaluation protocol (evaluation) and the report (report, svg)."""
