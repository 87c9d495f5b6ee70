"""Attack transforms: rewrite a sample's messages to try to get past refusals.

An attack is a small plugin: a subclass of `Attack` with a `name`. It applies
to samples of tasks marked `attackable: true`. A record carries its attack's
name, and summaries report the attack success rate per attack.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import ClassVar

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.schema import Message, Sample

ATTACKS: dict[str, type[Attack]] = {}


class Attack:
    """Base class: override `transform` to return the messages to send."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            ATTACKS[cls.name] = cls

    def transform(self, sample: Sample, rng: random.Random) -> list[Message]:
        raise NotImplementedError

    def apply(self, sample: Sample, seed: int) -> list[Message]:
        """The attacked messages; deterministic for a given sample and seed."""
        rng = random.Random(f"{seed}:{self.name}:{sample.task}:{sample.id}")
        return self.transform(sample, rng)


def last_user_index(messages: list[Message]) -> int:
    """Index of the last user message; attacks rewrite that one and keep the rest."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return i
    raise ValueError("the sample has no user message to attack")


def last_user_text(sample: Sample) -> str:
    """The text an attack transforms: the sample's last user message."""
    return sample.messages[last_user_index(sample.messages)].content


def replace_last_user(sample: Sample, text: str, before: list[Message] | None = None) -> list[Message]:
    """The sample's messages with the last user turn replaced by `text`.

    `before` are extra turns (e.g. a staged conversation) inserted just ahead of
    it; the system prompt and earlier turns are kept as they were.
    """
    index = last_user_index(sample.messages)
    head = [m.model_copy() for m in sample.messages[:index]]
    tail = [m.model_copy() for m in sample.messages[index + 1:]]
    return head + list(before or []) + [Message(role="user", content=text)] + tail


class TemplateAttack(Attack):
    """An attack that wraps the request in one of a few templates, chosen by the seed.

    Templates use `{request}`; a subclass may set `codec` (or override
    `encode`) to transform the request first (base64, rot13...).
    """

    templates: ClassVar[tuple[str, ...]] = ()
    codec: ClassVar[Callable[[str], str] | None] = None

    def encode(self, text: str, rng: random.Random) -> str:
        codec = type(self).codec
        return codec(text) if codec else text

    def transform(self, sample: Sample, rng: random.Random) -> list[Message]:
        template = rng.choice(self.templates)
        payload = self.encode(last_user_text(sample), rng)
        return replace_last_user(sample, template.replace("{request}", payload))


class NoAttack(Attack):
    name = "none"
    description = "The sample as written."

    def apply(self, sample: Sample, seed: int) -> list[Message]:
        return list(sample.messages)  # no randomness needed: skip building a seeded RNG

    def transform(self, sample: Sample, rng: random.Random) -> list[Message]:
        return list(sample.messages)


_LOADED: list[bool] = []


def _load_builtin() -> None:
    """Register the built-in attacks and those of installed plugins, once.

    Importing a module registers its Attack subclasses. A plugin package adds
    attacks through the `safeeval.attacks` entry-point group, naming a module
    or an `Attack` subclass: `[project.entry-points."safeeval.attacks"]
    my_attack = "my_pkg.attacks:MyAttack"`.
    """
    if _LOADED:
        return
    import importlib
    import pkgutil
    from importlib import metadata

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    for ep in metadata.entry_points(group="safeeval.attacks"):
        try:
            loaded = ep.load()  # a module registers its classes on import; a class registers itself
        except Exception as exc:  # a broken plugin names itself in one line
            raise SafeevalError(f"attack plugin '{ep.name}' ({ep.value}) failed to load: {exc}") from None
        if isinstance(loaded, type) and issubclass(loaded, Attack) and not loaded.name:
            raise SafeevalError(f"attack plugin '{ep.name}' ({ep.value}): the class has no `name`")
    _LOADED.append(True)


def select_attacks(spec: str) -> list[str]:
    """Parse `--attacks` ('none', 'all', or 'a,b'); 'none' always comes first."""
    _load_builtin()
    names = [n.strip() for n in spec.split(",") if n.strip()] or ["none"]
    if "all" in names:
        return ["none"] + sorted(n for n in ATTACKS if n != "none")
    for n in names:
        if n not in ATTACKS:
            raise UnknownNameError("attack", n, list(ATTACKS) + ["all"])
    return ["none"] + [n for n in dict.fromkeys(names) if n != "none"]


def get_attack(name: str) -> Attack:
    _load_builtin()
    if name not in ATTACKS:
        raise UnknownNameError("attack", name, list(ATTACKS))
    return ATTACKS[name]()
