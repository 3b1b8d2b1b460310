"""The Backend.AI agent: turns the manager's requests into containers on one compute node."""
