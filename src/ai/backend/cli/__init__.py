"""The root `backend.ai` command."""
