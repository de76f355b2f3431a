"""Bounded reading of the files users hand us: YAML scenarios, JSON personas, TOML and INI configs.

Modules: :mod:`.limits` (``Limits``, ``InputProblem``), :mod:`.text` (``read_text``, ``decode_utf8``),
:mod:`.tree` (``check_tree``, ``json_path``), :mod:`.json_toml` (``load_json``, ``load_toml``),
:mod:`.json_lines` (``json_key_lines``: the line of a path in JSON text, for messages),
:mod:`.yaml_loader` (``load_yaml``, ``yaml_node_line``: the line of a path in YAML, for messages).

Every reader here either returns plain data or raises :class:`InputProblem`, which says what is
wrong and where (line, column, or a path inside the document such as ``persona.occupation``). The
callers (scenario, persona and config loaders) turn it into their own
:class:`~tinytroupe.errors.TinyTroupeError` naming the file. Nothing a file contains can make these
readers raise anything else, run for long, or grow memory far beyond the file's size.

Limits (:class:`Limits`), chosen to be far above what a hand-written or generated file needs:

=====================  ==========  ==========  ==========
limit                  scenario    persona     config
=====================  ==========  ==========  ==========
file size              512 KiB     16 MiB      1 MiB
nesting depth          64          64          64
items in a list/map    10,000      100,000     10,000
characters in a text   100,000     1,000,000   100,000
values in total (*)    100,000     2,000,000   200,000
YAML aliases used      1,000       --          --
digits in an integer   100         100         100
=====================  ==========  ==========  ==========

(*) for YAML, counted with every alias expanded: an alias repeats its anchor's whole content, so a
1 KB file of nested aliases can stand for billions of values (the "billion laughs" bomb).

Also refused: bytes that are not UTF-8 (the message gives line and column), duplicate keys in a
YAML mapping or JSON object (both would silently lose a value), YAML tags other than the plain
JSON-like ones plus timestamps (``!!binary``, ``!!set``, ``!!omap``, ``!!python/...``), aliases that
refer to a node containing themselves, and the non-finite numbers ``.inf``/``.nan``/``Infinity``/
``NaN`` (JSON cannot store them, so they would break every later save or checkpoint).

Example:
    >>> load_json('{"a": [1, 2]}', PERSONA_LIMITS)
    {'a': [1, 2]}
    >>> try:
    ...     load_json('{"a": {"b": NaN}}', PERSONA_LIMITS)
    ... except InputProblem as problem:
    ...     print(problem.where, "-", problem.reason.split(":")[0])
    a.b - NaN is not allowed
"""

from tinytroupe.safe_load.json_lines import json_key_lines
from tinytroupe.safe_load.json_toml import load_json, load_toml
from tinytroupe.safe_load.limits import CONFIG_LIMITS, PERSONA_LIMITS, SCENARIO_LIMITS, InputProblem, Limits
from tinytroupe.safe_load.text import decode_utf8, read_text
from tinytroupe.safe_load.tree import check_tree, json_path, non_finite_message
from tinytroupe.safe_load.yaml_loader import load_yaml, yaml_node_line

__all__ = [
    "CONFIG_LIMITS",
    "PERSONA_LIMITS",
    "SCENARIO_LIMITS",
    "InputProblem",
    "Limits",
    "check_tree",
    "decode_utf8",
    "json_key_lines",
    "json_path",
    "load_json",
    "load_toml",
    "load_yaml",
    "non_finite_message",
    "read_text",
    "yaml_node_line",
]
