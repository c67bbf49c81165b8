from __future__ import annotations

from apps.storage.importers import depth_import
from apps.storage.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import depth from CSV or Parquet (columns ts, side, price, size; optional symbol, op) into the lake."
    noun = "depth rows"
    importer = staticmethod(depth_import)
