"""The tools an agent may call: each a name, a description, a JSON schema for its arguments
(checked before every call) and a function whose result is said as words.

The same definitions serve the tool agent (which routes a request to one of them) and the LLM
agent (which offers them to the model as OpenAI-style function tools).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from microturn.agent import clock, knowledge, units
from microturn.agent.calculator import CalcError, calculate
from microturn.agent.speech import say_number


class ToolError(ValueError):
    """A tool call that cannot give a result: unknown tool, bad arguments, or the tool refused."""


@dataclass(frozen=True)
class Later:
    """A result due `delay_s` after the delegation (a timer going off)."""

    delay_s: float
    text: str


@dataclass(frozen=True)
class ToolOutput:
    """What a tool gives: `text` said now, and results due later."""

    text: str
    later: tuple[Later, ...] = ()


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict  # JSON Schema (draft 2020-12) of the arguments object
    fn: Callable[..., ToolOutput] = field(repr=False)

    def openai(self) -> dict:
        """The tool as an OpenAI chat-completions function tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.schema,
            },
        }


def _obj(props: dict, required: list[str]) -> dict:
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _calculator(expression: str) -> ToolOutput:
    try:
        return ToolOutput(say_number(calculate(expression)))
    except (CalcError, ValueError) as e:
        raise ToolError(f"calculator: {e}") from None


def _clock(what: str = "time") -> ToolOutput:
    return ToolOutput(clock.say_time(datetime.now().astimezone(), what))


def _timer(seconds: float, label: str = "") -> ToolOutput:
    now, delay, done = clock.timer(seconds, label)
    return ToolOutput(now, (Later(delay, done),))


def _convert(value: float, **kw: str) -> ToolOutput:
    try:
        r = units.convert(value, kw["from"], kw["to"])
    except units.UnitError as e:
        raise ToolError(f"convert: {e}") from None
    return ToolOutput(f"{say_number(r)} {units.spoken(r, kw['to'])}")


def _lookup(query: str) -> ToolOutput:
    try:
        return ToolOutput(knowledge.search(query, k=1)[0].answer)
    except knowledge.KnowledgeError as e:
        raise ToolError(f"lookup: {e}") from None


TOOLS = {
    t.name: t
    for t in (
        Tool(
            "calculator",
            "Evaluate an arithmetic expression of numbers and + - * / // % ** and parentheses.",
            _obj(
                {"expression": {"type": "string", "minLength": 1, "maxLength": 200}}, ["expression"]
            ),
            _calculator,
        ),
        Tool(
            "clock",
            "The current local time, date or day of the week.",
            _obj({"what": {"type": "string", "enum": ["time", "date", "day"]}}, []),
            _clock,
        ),
        Tool(
            "timer",
            "Start a timer; its end is announced when it goes off.",
            _obj(
                {
                    "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
                    "label": {"type": "string", "maxLength": 60},
                },
                ["seconds"],
            ),
            _timer,
        ),
        Tool(
            "convert",
            "Convert a quantity between units (length, mass, time, volume, temperature, money).",
            _obj(
                {
                    "value": {"type": "number"},
                    "from": {"type": "string", "minLength": 1, "maxLength": 40},
                    "to": {"type": "string", "minLength": 1, "maxLength": 40},
                },
                ["value", "from", "to"],
            ),
            _convert,
        ),
        Tool(
            "lookup",
            "Look a fact up in the local knowledge base (heights, lengths, distances, science).",
            _obj({"query": {"type": "string", "minLength": 1, "maxLength": 200}}, ["query"]),
            _lookup,
        ),
    )
}


def call(name: str, args: object, toolbox: dict[str, Tool] | None = None) -> ToolOutput:
    """Validate `args` against the schema of tool `name` (of `toolbox`, default TOOLS), then
    call it; ToolError otherwise."""
    import jsonschema

    toolbox = TOOLS if toolbox is None else toolbox
    tool = toolbox.get(name)
    if tool is None:
        raise ToolError(f"no tool named {name!r}; known: {sorted(toolbox)}")
    try:
        jsonschema.validate(args, tool.schema, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as e:
        raise ToolError(f"{name}: bad arguments: {e.message}") from None
    return tool.fn(**args)
