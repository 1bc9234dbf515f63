"""The records claude-mem makes: observations and request summaries.

Contract: plain frozen dataclasses, standard library only, no I/O. Every
compressor back-end (heuristic or LLM) produces these; the store persists
them; the context renderer and search read them back as the same shapes.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

# The observation types a compressor may emit. Anything else is mapped to
# "change" by the parsers so one odd word from a model never loses a record.
OBSERVATION_TYPES = ("bugfix", "feature", "refactor", "change", "discovery", "decision")


@dataclass(frozen=True)
class Observation:
    """One thing worth remembering about a piece of work."""

    type: str
    title: str
    subtitle: str = ""
    facts: tuple[str, ...] = ()
    narrative: str = ""
    concepts: tuple[str, ...] = ()
    files_read: tuple[str, ...] = ()
    files_modified: tuple[str, ...] = ()
    # Filled by the worker, not by compressors:
    tool_name: str = ""
    tool_use_id: str = ""


# ``observation_of``'s template: every field in order, with its default (None for the two
# without one, which it requires). A field given a ``default_factory`` one day (a fresh
# object per instance) cannot come from a shared template: then every call takes the
# constructor (``_TEMPLATE_HOLDS``).
_OBSERVATION_TEMPLATE = {f.name: (None if f.default is MISSING else f.default)
                         for f in fields(Observation)}
_TEMPLATE_HOLDS = all(f.default_factory is MISSING for f in fields(Observation))


def observation_of(values: dict) -> Observation:
    """``Observation(**values)`` at a fraction of its cost (the heuristic makes one per tool
    event; a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``):
    the fields go straight into the instance's ``__dict__``, where ``__init__`` puts them,
    defaults first. Anything the constructor would refuse (a key that is not a field, no
    ``type`` or ``title``) goes to the constructor, which raises."""
    if (not _TEMPLATE_HOLDS or not values.keys() <= _OBSERVATION_TEMPLATE.keys()
            or "type" not in values or "title" not in values):
        return Observation(**values)
    obs = object.__new__(Observation)
    stored = obs.__dict__
    stored.update(_OBSERVATION_TEMPLATE)
    stored.update(values)
    return obs


@dataclass(frozen=True)
class Summary:
    """What one request (one user prompt) asked for and what came of it."""

    request: str
    investigated: str = ""
    learned: str = ""
    completed: str = ""
    next_steps: str = ""
    notes: str = ""
    files_read: tuple[str, ...] = ()
    files_edited: tuple[str, ...] = ()


@dataclass(frozen=True)
class Produced:
    """What a compressor returned for a piece of work, and who made it."""

    observations: tuple[Observation, ...] = ()
    summary: Summary | None = None
    generated_by: str = "heuristic"
    warnings: tuple[str, ...] = field(default=())
