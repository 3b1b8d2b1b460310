"""Code shared by the manager, the agent, the storage proxy and the client."""
