# API tokens and control-action audit rows moved here from apps.api. The tables stay where
# api/0001_initial created them (db_table), so only Django's model state moves: nothing is
# created, copied or dropped, on a fresh database or on one that already holds tokens.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="APIToken",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(help_text="What the token is for, e.g. 'Sierra Chart bridge'.", max_length=100)),
                        ("prefix", models.CharField(db_index=True, help_text="The secret's first characters, to tell tokens apart.", max_length=8)),
                        ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("last_used", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_tokens", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "API token",
                        "ordering": ["-created"],
                        "db_table": "api_apitoken",
                    },
                ),
                migrations.CreateModel(
                    name="ControlAction",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("action", models.CharField(max_length=50)),
                        ("params", models.JSONField(default=dict)),
                        ("outcome", models.CharField(choices=[("ok", "Done"), ("failed", "Failed"), ("denied", "Denied (not staff)")], max_length=10)),
                        ("detail", models.JSONField(blank=True, help_text="The result, or the error.", null=True)),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("token", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.apitoken")),
                        ("user", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["-created"],
                        "db_table": "api_controlaction",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
