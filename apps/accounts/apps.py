from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from apps.accounts import supabase  # noqa: F401 - importing registers the RLS system check

        # Tables added by any later migration get RLS too, the moment `migrate` finishes.
        post_migrate.connect(_enable_rls, dispatch_uid="accounts.enable_rls")


def _enable_rls(using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from apps.accounts.supabase import enable_rls_everywhere

    connection = connections[using]
    with connection.schema_editor() as editor:
        enable_rls_everywhere(editor)
