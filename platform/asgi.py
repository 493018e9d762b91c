"""ASGI entry point: `python -m daphne platform.asgi:application` from the repository root.

HTTP goes to Django; WebSockets to the worker link (token in the Authorization header, no Origin
check because workers are not browsers) or to the dashboard (session + Origin checked).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from apps.orders.dashboard_consumer import DashboardConsumer  # noqa: E402
from apps.orders.worker_consumer import WorkerConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                # Each route wraps its own middleware: nesting wrapped routers breaks path() matching.
                path("ws/worker/", WorkerConsumer.as_asgi()),
                path("ws/dashboard/", AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi()))),
            ]
        ),
    }
)
