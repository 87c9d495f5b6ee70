"""`safeeval cache info|clear`: the shared response and verdict cache."""

from __future__ import annotations

from typing import Optional

import typer

from safeeval.cli.common import out, print_json, print_table
from safeeval.engine.cache import Cache

cache_app = typer.Typer(help="The shared cache: answers, verdicts, embeddings, converted models and cards "
                        "(SAFEEVAL_CACHE_DIR, else $XDG_CACHE_HOME/safeeval, else ~/.cache/safeeval).",
                        no_args_is_help=True)


@cache_app.command("info")
def cache_info(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Where the cache is, its size, and how many answers and verdicts it holds per model and judge."""
    with Cache() as cache:
        info = cache.info()
    if as_json:
        print_json(info)
        return
    out.print(f"cache: {info['path']}\nsize: {info['bytes'] / 1e6:.1f} MB\n"
              f"responses: {info['responses']}\nverdicts: {info['verdicts']}\n"
              f"converted models: {len(info['converted_models'])} "
              f"({sum(info['converted_models'].values()) / 1e6:.0f} MB)\n"
              f"embeddings: {info['embeddings']}\ncalibration cards: {info['cards']}", highlight=False)
    print_table("responses per model", [{"model": k, "responses": v} for k, v in info["models"].items()])
    print_table("verdicts per judge", [{"judge": k, "verdicts": v} for k, v in info["judges"].items()])


@cache_app.command("clear")
def cache_clear(model: Optional[str] = typer.Option(None, "--model", help="Only this model's answers "
                                                    "(its cache id, as `cache info` lists it).")) -> None:
    """Delete cached answers, verdicts, converted models and embeddings (or one model's answers).
    Calibration cards are measurements and stay."""
    with Cache() as cache:
        removed = cache.clear(model)
        path = cache.path
    out.print(f"removed {removed} entries from {path}", highlight=False)
