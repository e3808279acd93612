"""The chain head row, and triggers that refuse UPDATE and DELETE on audit records."""

from django.db import migrations


def forwards(apps, schema_editor):
    from wangge.audit.guard import install_guard

    apps.get_model("audit", "AuditHead").objects.get_or_create(pk=1)
    install_guard(schema_editor.connection)


def backwards(apps, schema_editor):
    from wangge.audit.guard import remove_guard

    remove_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
