"""timebank: a double-entry ledger of volunteer service hours and points."""

__version__ = "0.1.0"
