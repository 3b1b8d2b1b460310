"""High-level API function classes; use them through a session (`session.ComputeSession`)."""
