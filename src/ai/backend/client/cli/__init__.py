"""The `backend.ai` client commands (click)."""
