"""Organisations: the district > street > community > team tree, and its policies."""
