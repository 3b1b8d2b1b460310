"""The manager-facing and client-facing HTTP APIs."""
