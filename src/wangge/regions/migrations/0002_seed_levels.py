from django.db import migrations

LEVELS = [
    (1, "省", "province"),
    (2, "市", "city"),
    (3, "县(区)", "county / district"),
    (4, "乡镇(街道)", "township / street"),
    (5, "社区(村)", "community / village"),
    (6, "网格", "grid"),
]


def seed(apps, schema_editor):
    LevelName = apps.get_model("regions", "LevelName")
    for level, zh, en in LEVELS:
        LevelName.objects.get_or_create(level=level, defaults={"name_zh": zh, "name_en": en})
    apps.get_model("regions", "TreeRevision").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("regions", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
