from django.db import migrations


def create_policies(apps, schema_editor):
    policy = apps.get_model("storage", "RetentionPolicy")
    for data_type in ("trades", "quotes", "depth"):
        policy.objects.get_or_create(data_type=data_type)


class Migration(migrations.Migration):
    dependencies = [("storage", "0001_initial")]
    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]
