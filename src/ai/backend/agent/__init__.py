"""The Backend.AI agent: turns the manager's requests into containers on one compute node."""

__version__ = "23.09.0"
