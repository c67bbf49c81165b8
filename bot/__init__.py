"""The Discord bot process (`python manage.py run_bot`): cogs that call services and selectors.

`apps/` never imports it.
"""
