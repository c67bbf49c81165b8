from django.db import migrations

# Minutes in Redis per UW stream kind. Option trades are millions a day: one hour hot, the lake
# keeps the rest. Flow alerts and market tide are small: a day.
HOT_WINDOWS = {"option_trade": 60, "flow_alert": 1440, "market_agg": 1440}


def create_policies(apps, schema_editor):
    policy = apps.get_model("storage", "RetentionPolicy")
    for data_type, minutes in HOT_WINDOWS.items():
        policy.objects.get_or_create(data_type=data_type, defaults={"hot_window_minutes": minutes})


class Migration(migrations.Migration):
    dependencies = [("storage", "0004_retention_categories_from_registry")]

    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]
