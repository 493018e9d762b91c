"""Supabase exposes the `public` schema through its REST API; every table we create must deny that path.

Row Level Security with no policy means default-deny for the `anon` and `authenticated` roles, while
Django, connecting as the tables' owner, is unaffected. Enabled by a migration, re-checked at start-up.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.db import connection

TABLES_WITHOUT_RLS = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
ORDER BY c.relname
"""


def enable_rls_everywhere(schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(TABLES_WITHOUT_RLS)
        for (table,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE public."{table}" ENABLE ROW LEVEL SECURITY')


def tables_without_rls() -> list[str]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(TABLES_WITHOUT_RLS)
        return [row[0] for row in cursor.fetchall()]


@register("database")
def check_row_level_security(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Fails when a table in `public` lacks RLS (a new migration added one): run `manage.py migrate`."""
    try:
        missing = tables_without_rls()
    except Exception:  # no database reachable: other checks report that
        return []
    return (
        [
            Error(
                f"Row Level Security is off for {', '.join(missing)}",
                hint="Supabase's REST API would expose these tables to the anon role; `python manage.py migrate` enables RLS on every table.",
                id="accounts.E001",
            )
        ]
        if missing
        else []
    )
