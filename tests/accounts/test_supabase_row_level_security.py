"""On Postgres, Supabase's anon/authenticated roles read nothing from our tables; Django keeps working."""

from __future__ import annotations

import pytest
from django.core import checks
from django.db import connection

from apps.accounts.supabase import tables_without_rls
from apps.orders import services
from tests.support import skip_or_fail

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("Row Level Security needs PostgreSQL (DATABASE_URL)")


def test_every_table_has_rls_and_the_check_passes(postgres) -> None:
    assert tables_without_rls() == []
    assert [e for e in checks.run_checks(databases=["default"]) if e.id == "accounts.E001"] == []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.rls_probe (id int)")
        try:
            errors = [e for e in checks.run_checks(databases=["default"]) if e.id == "accounts.E001"]
            assert errors and "rls_probe" in errors[0].msg
        finally:
            cursor.execute("DROP TABLE public.rls_probe")


def test_supabase_roles_read_zero_rows_while_django_works(postgres, paper_trader, symbols, market_always) -> None:
    services.submit_order(user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=70_000)
    with connection.cursor() as cursor:
        for role in ("anon", "authenticated"):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {role} NOLOGIN")
            # What Supabase grants these roles on public by default.
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}; GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        assert "orders" in tables
        for role in ("anon", "authenticated"):
            cursor.execute(f"SET ROLE {role}")
            try:
                for table in tables:
                    cursor.execute(f'SELECT count(*) FROM public."{table}"')
                    assert cursor.fetchone()[0] == 0, (role, table)
            finally:
                cursor.execute("RESET ROLE")
        cursor.execute("SELECT count(*) FROM orders")
        assert cursor.fetchone()[0] == 1
