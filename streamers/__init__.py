"""Streamer processes, one package per outside feed (`python manage.py run_streamer NAME`).

They may import `apps.*` services and selectors; `apps/` never imports them.
"""
