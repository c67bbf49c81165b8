# APIToken and ControlAction now belong to apps.accounts (accounts/0001_initial took over their
# state and tables). Here they leave this app's state, and their content types follow them, so
# permissions granted on them and admin log entries keep pointing at the same models.

from django.db import migrations

MODELS = ("apitoken", "controlaction")


def _relabel(apps, old, new):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        # A content type already made for the new label (by a migrate run that stopped half way)
        # wins; the old one is then left for `remove_stale_contenttypes`.
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    _relabel(apps, "api", "accounts")


def backwards(apps, schema_editor):
    _relabel(apps, "accounts", "api")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ControlAction"),
                migrations.DeleteModel(name="APIToken"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
