"""Account numbers move from a clear column to a Fernet token, a keyed digest (lookups, uniqueness) and the last four digits."""

from django.db import migrations, models

from apps.accounts import crypto


def encrypt_numbers(apps, schema_editor):
    for account in apps.get_model("accounts", "BrokerAccount").objects.all():
        number = account.account_number
        account.number_token, account.number_digest, account.number_last4 = crypto.encrypt(number), crypto.digest(number), number[-4:]
        account.save(update_fields=["number_token", "number_digest", "number_last4"])


def decrypt_numbers(apps, schema_editor):
    for account in apps.get_model("accounts", "BrokerAccount").objects.all():
        account.account_number = crypto.open_account_number(account.number_token)
        account.save(update_fields=["account_number"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_permission_change_gate_note")]

    operations = [
        migrations.AddField("brokeraccount", "number_token", models.TextField(default="", editable=False), preserve_default=False),
        migrations.AddField("brokeraccount", "number_digest", models.CharField(max_length=64, null=True, editable=False)),
        migrations.AddField("brokeraccount", "number_last4", models.CharField(max_length=4, default="", editable=False), preserve_default=False),
        migrations.RunPython(encrypt_numbers, decrypt_numbers),
        migrations.AlterField("brokeraccount", "account_number", models.CharField(max_length=11, null=True)),
        migrations.RemoveField("brokeraccount", "account_number"),
        migrations.AlterField("brokeraccount", "number_digest", models.CharField(max_length=64, unique=True, editable=False)),
    ]
