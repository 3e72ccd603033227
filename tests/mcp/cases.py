"""Every bad argument of every tool, derived from the parameter table: for each tool and parameter, values just
outside its range, of the wrong type, missing when required; with the words the error must contain (the
parameter's name and its range or form)."""

from __future__ import annotations

from typing import NamedTuple

from tradeactors.mcp.catalog import TOOLS, Tool
from tradeactors.parameters import Parameter


class Bad(NamedTuple):
    tool: Tool
    arguments: dict
    field: str
    expect: str
    """A fragment of the message: the range (1..168, (0, 1]) or the form (> 0, T:a, 2-20 letters)."""

    def __str__(self) -> str:
        return f"{self.tool.name}({self.arguments})"


def valid(tool: Tool) -> dict:
    """Arguments every check accepts (whether the service has data for them does not matter here)."""
    values = {"symbol": "BTCUSDT", "start": 0, "end": 1}
    return {p.name: values[p.name] for p in tool.parameters if p.required}


def _values(p: Parameter) -> list[tuple[object, str]]:
    if p.kind == "int":
        span = f"{p.low}..{p.high}"
        return [(p.low - 1, span), (p.high + 1, span), ("abc", span), (2.5, span), (True, span), ([1], span)]
    if p.kind == "float":
        left, right = "(" if p.low_open else "[", ")" if p.high_open else "]"
        span = f"{left}{p.low:g}, {p.high:g}{right}"
        below = p.low if p.low_open else p.low - 0.5
        above = p.high if p.high_open else p.high + 0.5
        return [(below, span), (above, span), ("x", span), (False, span)]
    if p.kind == "decimal":
        return [("0", "> 0"), ("-1", "> 0"), ("abc", "> 0"), (0, "> 0"), ("1e3", "> 0")]
    if p.kind == "symbol":
        return [("b", "2-20 letters"), ("BTC-USDT", "2-20 letters"), ("", "is required"), ("x" * 21, "2-20")]
    if p.kind == "cursor":
        return [("abc", "T:a"), ("1:2:3", "T:a"), (-1, "T:a")]
    raise AssertionError(p.kind)


def bad_arguments() -> list[Bad]:
    cases = []
    for tool in TOOLS:
        for p in tool.parameters:
            for value, expect in _values(p):
                cases.append(Bad(tool, {**valid(tool), p.name: value}, p.name, expect))
            if p.required:
                arguments = valid(tool)
                del arguments[p.name]
                cases.append(Bad(tool, arguments, p.name, "is required"))
        cases.append(Bad(tool, {**valid(tool), "bogus": 1}, "bogus", "is not a parameter"))
    return cases
