"""REST handlers, one module per resource family.

Each module defines `routes` (an aiohttp RouteTableDef) and may define
`lifecycle(app) -> AsyncIterator[None]`, added to the app's cleanup contexts after the root
context exists (for background tasks, event handlers, ...). server.API_MODULES lists them.
"""
