"""The mode defaults from the user's document, stored so admins can edit them (same numbers as apps/risk/limits.py)."""

from django.db import migrations

# Frozen here on purpose: a migration must create the same rows whatever the code says later.
DEFAULTS = {
    "paper": {
        "max_order_amount": 10_000_000,
        "max_position_count": 10,
        "daily_loss_limit": 500_000,
        "max_order_quantity": 100_000,
        "duplicate_window_s": 3,
        "max_orders_per_minute": 100,
    },
    "real": {
        "capital": 1_000_000,
        "max_position_amount": 100_000,
        "daily_loss_limit": 50_000,
        "max_order_quantity": 10_000,
        "fat_finger_pct": 5,
        "duplicate_window_s": 3,
        "max_orders_per_minute": 30,
    },
}


def create(apps, schema_editor):
    limit_model = apps.get_model("risk", "RiskLimit")
    for mode, values in DEFAULTS.items():
        limit_model.objects.get_or_create(mode=mode, user=None, defaults={**values, "note": "사용자 문서의 기본값 (Phase 1 모의투자 / Phase 2 소액 실전)"})


def remove(apps, schema_editor):
    apps.get_model("risk", "RiskLimit").objects.filter(user=None).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
