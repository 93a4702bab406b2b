"""The audit log: who changed which person, role or token, when, and what changed."""
