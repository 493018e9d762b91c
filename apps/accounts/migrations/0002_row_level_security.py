from django.db import migrations

from apps.accounts.supabase import enable_rls_everywhere


def enable(apps, schema_editor):
    enable_rls_everywhere(schema_editor)


class Migration(migrations.Migration):
    # After every table this project creates so far; later tables are covered by the post_migrate hook.
    dependencies = [
        ("accounts", "0001_initial"),
        ("orders", "0003_execution_realized_pnl"),
        ("marketdata", "0002_bars_watchlist_subscriptions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("sessions", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]
    operations = [migrations.RunPython(enable, migrations.RunPython.noop)]
