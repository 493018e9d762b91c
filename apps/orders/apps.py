from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "apps.orders"
    label = "orders"

    def ready(self) -> None:
        # Binds @shared_task to the project's Celery app in every process that loads Django (Daphne included),
        # so .delay() uses the configured broker rather than Celery's default.
        import platform.celery  # noqa: F401
