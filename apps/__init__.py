"""Django apps, one per domain. Apps import `apps.core`, never the other way round."""
