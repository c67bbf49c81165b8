from __future__ import annotations

from apps.storage.importers import ticks_import
from apps.storage.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import trades from CSV or Parquet (columns ts, price, size; optional symbol, side, seq) into the lake."
    noun = "trades"
    importer = staticmethod(ticks_import)
