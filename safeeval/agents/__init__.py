"""Agents that act: stateful simulated environments declared as data, and the episode loop.

- `paths`: paths into a JSON state and the predicate language of utility and security checks;
- `environment`: tools with declared effects (read, append, set, delete) on an episode's state;
- `episode`: the multi-step loop, the engine's driver for tasks of kind `agent`;
- `scores`: utility without and under attack, attack success, inconclusive share (a task metric);
- `scripted`: scripted policies (obedient, careful, idle) for tests and a loopback endpoint.

The judge is `safeeval.judges.agent` (agent-outcome). Nothing here imports the engine.
"""
