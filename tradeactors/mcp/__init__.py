"""``tradeactors mcp``: the analytics as Model Context Protocol tools for assistants (docs/mcp.md).

A client of the running service's HTTP API, so that one service serves any number of assistants and this process
holds no data: ``catalog`` lists the tools and checks their arguments with the API's own parameter table,
``answers`` turns the service's answers into tool results (and its errors into messages an assistant can relay),
``upstream`` calls the service, ``server`` serves the tools over stdio or streamable HTTP, ``cli`` is the command
line. Inside this package ``mcp`` is the SDK: imports of our own modules are absolute.
"""
