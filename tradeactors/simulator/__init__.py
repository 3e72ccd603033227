"""An exchange simulator speaking Binance spot's public market-data protocol on loopback.

Written from Binance's published protocol (never from the service's parser) so that it can catch the parser's
mistakes. See ``docs/simulator.md``.
"""
from .client import SimulatorClient, spawn_simulator
from .server import Simulator
from .cli import main

__all__ = ["Simulator", "SimulatorClient", "spawn_simulator", "main"]
