"""Ship the default weights of the governance index as version 1 (data/default_weights.json).

The demo and a fresh deployment need nothing more; administrators change the weights on
/evaluation/weights/, each change a new version.
"""

import json
from pathlib import Path

from django.db import migrations

DEFAULTS = Path(__file__).resolve().parent.parent / "data" / "default_weights.json"


def load(apps, schema_editor):
    WeightSet = apps.get_model("evaluation", "WeightSet")
    if WeightSet.objects.exists():
        return
    data = json.loads(DEFAULTS.read_text(encoding="utf-8"))
    WeightSet.objects.create(version=1, spec={"dimensions": data["dimensions"]},
                             note=data.get("note", ""))


def unload(apps, schema_editor):
    apps.get_model("evaluation", "WeightSet").objects.filter(version=1,
                                                             created_by=None).delete()


class Migration(migrations.Migration):

    dependencies = [("evaluation", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
