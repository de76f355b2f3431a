"""Prices of models, in US dollars per million tokens: what turns token counts into a cost.

A :class:`PriceTable` maps model names to a :class:`ModelPrice` (input and output $ per 1M tokens) and
says how old it is (``as_of``) and where it came from. :data:`DEFAULT_PRICES` is a small table of
OpenAI list prices with its date; a user's own table comes from a TOML or JSON file
(:func:`load_price_table`, ``tinytroupe run --prices FILE`` or ``[Budget] PRICES_FILE``) and is laid
over the default one. A model the table does not know has no cost: :meth:`PriceTable.cost` returns
None ("unknown"), never a guess. Models that cost nothing by nature (the scripted demo model, the
embedded local model) are priced 0.

A price file (TOML; JSON has the same shape)::

    as_of = "2025-06-01"
    [models."gpt-4.1-mini"]
    input = 0.40     # $ per 1M prompt tokens
    output = 1.60    # $ per 1M completion tokens

Example:
    >>> table = DEFAULT_PRICES
    >>> round(table.cost("gpt-4.1-mini", prompt_tokens=1_000_000, completion_tokens=500_000), 2)
    1.2
    >>> table.cost("gpt-4.1-mini-2025-04-14", 1_000_000, 0)  # a dated snapshot has its model's price
    0.4
    >>> table.cost("my-finetune", 1000, 1000) is None
    True
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tinytroupe.errors import ConfigError
from tinytroupe.safe_load import CONFIG_LIMITS, InputProblem, json_key_lines, load_json, load_toml, read_text

#: a dated snapshot name, ``gpt-4.1-mini-2025-04-14``: priced as its model
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")


class ModelPrice(BaseModel):
    """A model's price: US dollars per million prompt (``input``) and completion (``output``) tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # strict: a true or a "1.5" in a price file is a mistake, not a price of $1 or $1.5
    input: float = Field(ge=0, strict=True, description="$ per 1M prompt tokens")
    output: float = Field(ge=0, strict=True, description="$ per 1M completion tokens")


class PriceTable(BaseModel):
    """Prices by model name, with their date (``as_of``) and origin (``source``).

    Example:
        >>> t = PriceTable(as_of="2025-01-01", models={"m": ModelPrice(input=1.0, output=2.0)})
        >>> t.cost("m", 500_000, 250_000), t.price("other")
        (1.0, None)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: str = Field(description="when these prices were read off the providers' pages")
    source: str = "built-in table"
    models: dict[str, ModelPrice] = Field(default_factory=dict)
    #: what a call answered through a batch API costs, as a share of the list price (OpenAI's and Azure's
    #: Batch API: half)
    batch_discount: float = Field(default=0.5, ge=0, le=1, strict=True, allow_inf_nan=False)

    def price(self, model: str | None) -> ModelPrice | None:
        """The price of ``model`` (a dated snapshot falls back to its model's name), or None."""
        if not model:
            return None
        found = self.models.get(model)
        if found is None and _DATED.search(model):
            found = self.models.get(_DATED.sub("", model))
        return found

    def cost(self, model: str | None, prompt_tokens: int, completion_tokens: int, *,
             batched: bool = False) -> float | None:
        """What the tokens cost in US dollars with ``model``'s price (``batched``: answered through a batch
        API, at ``batch_discount`` of it); None when the model has none.

        Example:
            >>> t = PriceTable(as_of="2025-01-01", models={"m": ModelPrice(input=1.0, output=2.0)})
            >>> t.cost("m", 1_000_000, 0), t.cost("m", 1_000_000, 0, batched=True)
            (1.0, 0.5)
        """
        p = self.price(model)
        if p is None:
            return None
        cost = (prompt_tokens * p.input + completion_tokens * p.output) / 1_000_000
        return cost * self.batch_discount if batched else cost

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s prices laid over it (``other``'s date and source win)."""
        discount = other.batch_discount if "batch_discount" in other.model_fields_set else self.batch_discount
        return PriceTable(as_of=other.as_of, source=other.source, models={**self.models, **other.models},
                          batch_discount=discount)


#: OpenAI's list prices (standard tier, no cached-input discount) as published on 2025-06-01, plus the
#: models that cost nothing by nature. Check them against the provider's page before trusting a
#: figure; give your own with ``--prices FILE``.
DEFAULT_PRICES = PriceTable(
    as_of="2025-06-01",
    source="built-in table (OpenAI list prices, standard tier)",
    models={
        "gpt-4.1": ModelPrice(input=2.00, output=8.00),
        "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
        "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40),
        "gpt-4o": ModelPrice(input=2.50, output=10.00),
        "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
        # no provider bills these: the scripted demo model and the scripted test backend
        "demo": ModelPrice(input=0.0, output=0.0),
        "scripted": ModelPrice(input=0.0, output=0.0),
    },
)


def usage_cost(by_model: dict[str, dict[str, int]], prices: PriceTable) -> float | None:
    """What the paid tokens of a ledger's ``by_model`` rows cost; None when a model with tokens has no price.

    Example:
        >>> usage_cost({"gpt-4.1-mini": {"prompt_tokens": 1_000_000, "completion_tokens": 0}}, DEFAULT_PRICES)
        0.4
        >>> usage_cost({"mystery": {"prompt_tokens": 10, "completion_tokens": 0}}, DEFAULT_PRICES) is None
        True
    """
    total = 0.0
    for model, row in by_model.items():
        prompt, completion = int(row.get("prompt_tokens", 0)), int(row.get("completion_tokens", 0))
        if not prompt and not completion:
            continue  # only cache hits or failures: nothing was paid
        # the part answered through a batch API is billed at the table's batch_discount
        batch_prompt = int(row.get("batch_prompt_tokens", 0))
        batch_completion = int(row.get("batch_completion_tokens", 0))
        live = prices.cost(model, prompt - batch_prompt, completion - batch_completion)
        batch = prices.cost(model, batch_prompt, batch_completion, batched=True)
        if live is None or batch is None:
            return None
        total += live + batch
    return round(total, 6)


def load_price_table(path: str | Path, *, base: PriceTable | None = DEFAULT_PRICES) -> PriceTable:
    """The price table in a TOML or JSON file, laid over ``base`` (None: the file's prices alone).

    Raises:
        ConfigError: the file is missing, unreadable, not TOML/JSON, or a price is missing or not a
            number >= 0; the message names the file, the line where known and the field.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "prices.toml"
        >>> _ = f.write_text('as_of = "2025-07-01"\\n[models.my-model]\\ninput = 1.0\\noutput = 3.0\\n')
        >>> t = load_price_table(f)
        >>> t.cost("my-model", 1_000_000, 0), t.price("gpt-4.1-mini") is not None, t.as_of
        (1.0, True, '2025-07-01')
    """
    p = Path(path)
    try:
        text = read_text(p, CONFIG_LIMITS)
        data = load_toml(text, CONFIG_LIMITS) if p.suffix.lower() == ".toml" else load_json(text, CONFIG_LIMITS)
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such price file; give a TOML or JSON file with [models.<name>] input and "
                          "output prices ($ per 1M tokens)", source=str(p)) from None
    except InputProblem as problem:
        line = f":{problem.line}" if problem.line else ""
        raise ConfigError(f"{p}{line}: {problem.reason}", source=str(p), line=problem.line) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the price file ({exc.strerror or exc})", source=str(p)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a price file holds a table with 'as_of' and 'models', not a "
                          f"{type(data).__name__}", source=str(p))
    data = {"source": str(p), **data}
    try:
        table = PriceTable.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field = ".".join(map(str, loc))
        at = _line_of(text, loc, json=p.suffix.lower() != ".toml")
        where = f"{p}:{at}" if at else str(p)
        raise ConfigError(f"{where}: {field}: {err['msg']} (got {err.get('input')!r:.60}); each model needs "
                          "'input' and 'output' in $ per 1M tokens, and the table an 'as_of' date",
                          source=str(p), key=field, line=at) from None
    return base.merged(table) if base is not None else table


def _line_of(text: str, loc: tuple[int | str, ...], *, json: bool) -> int | None:
    """The line of a field for messages: exact in JSON; in TOML the field's line in its model's table, else
    the line naming the model (best effort)."""
    if json:
        return json_key_lines(text, [loc]).get(loc)
    names = [str(part) for part in loc if part != "models"]
    if not names:
        return None
    lines = text.splitlines()
    key = r'(?:"{0}"|\'{0}\'|{0})'.format(re.escape(names[0]))
    header = re.compile(rf"^\s*\[\s*models\s*\.\s*{key}\s*\]")
    start = next((n for n, line in enumerate(lines, 1) if header.match(line)), None)
    if start is None:  # an inline table, a dotted key or a top-level field: the first line that names it
        named = re.compile(rf"^\s*(?:models\s*\.\s*)?{key}\s*[=.]")
        return next((n for n, line in enumerate(lines, 1) if named.match(line)), None)
    if len(names) > 1:
        field = re.compile(rf"^\s*{re.escape(names[1])}\s*=")
        for number in range(start + 1, len(lines) + 1):
            if lines[number - 1].lstrip().startswith("["):
                break  # the next table: the field is not in this one
            if field.match(lines[number - 1]):
                return number
    return start


__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable", "load_price_table", "usage_cost"]
