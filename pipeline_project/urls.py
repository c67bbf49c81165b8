from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from apps.core import views as core_views
from apps.monitoring import views as monitoring_views
from apps.monitoring.collectors import collectors_register

admin.site.site_header = "data-pipeline"
admin.site.site_title = "data-pipeline admin"
admin.site.index_title = "Configuration, schedules and audit"

urlpatterns = [
    path("", include("apps.dashboard.urls")),
    # Tokens and the control audit moved from the api app to accounts: old admin links still land.
    re_path(
        r"^admin/api/(?P<rest>(?:apitoken|controlaction)/.*)$",
        RedirectView.as_view(url="/admin/accounts/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("api/", include("apps.api.urls")),
    path("health/live", monitoring_views.health_live, name="health-live"),
    path("health/ready", monitoring_views.health_ready, name="health-ready"),
    path("health/detailed", monitoring_views.health_detailed, name="health-detailed"),
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
]

# Workers expose no metrics: the web's /metrics reads what they leave in Redis and the lake.
collectors_register()
