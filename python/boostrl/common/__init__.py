"""stable-baselines3's import paths: ``boostrl.common.evaluation``,
``env_util``, ``vec_env`` and ``callbacks`` hold what
``stable_baselines3.common.<same>`` does, so that an SB3 script runs with
its imports renamed (docs/FROM_SB3.md)."""
