"""`python -m ai.backend.kernel`: the container's entrypoint (see runner.main)."""

from .runner import main

main()
