"""Loaders for public benchmarks, one module per family; importing registers them.

`load_rows(spec)` reads a public task's rows through its registered source;
the sources (`tasks.sources.source`) and their readers live below this
package, so nothing there imports it back.

Each loader reads a benchmark's file unchanged and yields rows in the shape
`loader.row_to_sample` understands (`id`, `prompt`, `subcategory`, `choices`,
`answer`, `violation_answers`, `system`, `tools`, `forbidden`, ...), keeping
the original columns alongside so nothing is lost.
"""

from safeeval.tasks.public import (  # noqa: F401  (imports register the sources)
    agentharm,
    anthropic_hh,
    choice,
    cyberseceval,
    harmbench,
    prompts,
    trustllm,
)

from safeeval.errors import UnknownNameError  # noqa: E402
from safeeval.schema import TaskSpec  # noqa: E402
from safeeval.tasks.sources import SOURCES, RowIter, resolve_data_path  # noqa: E402


def available_sources() -> dict[str, str]:
    """Source name -> Hugging Face dataset id, for listings and docs."""
    return {name: hub for name, (hub, _) in sorted(SOURCES.items())}


def load_rows(spec: TaskSpec) -> RowIter:
    """Rows of the task's public source, read from its local copy."""
    if spec.source not in SOURCES:
        raise UnknownNameError("source", str(spec.source), list(SOURCES))
    hub_id, fn = SOURCES[spec.source]
    return fn(spec, resolve_data_path(spec, hub_id))
