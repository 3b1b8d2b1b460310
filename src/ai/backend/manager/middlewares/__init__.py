"""The request pipeline, outermost first: problem+json errors, method override and API
version, authentication, rate limiting, then the route handler."""

from .auth import auth_middleware
from .dispatch import dispatch_middleware
from .exceptions import exception_middleware
from .ratelimit import add_rate_limit_headers, ratelimit_middleware
from .version import api_version_middleware

# The order matters: see the module docstring.
MIDDLEWARES = [
    exception_middleware,
    api_version_middleware,
    auth_middleware,
    ratelimit_middleware,
    dispatch_middleware,
]

__all__ = ["MIDDLEWARES", "add_rate_limit_headers"]
