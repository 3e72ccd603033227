"""An exchange simulator speaking Binance spot's public market-data protocol on loopback.

Written from Binance's published protocol (never from the service's parser) so that it can catch the parser's
mistakes. See ``docs/simulator.md``.
"""
from .cli import main
from .client import SimulatorClient, spawn_simulator
from .server import Simulator

__all__ = ["Simulator", "SimulatorClient", "main", "spawn_simulator"]
