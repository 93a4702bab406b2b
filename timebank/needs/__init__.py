"""Residents' needs and the order loop 点单—派单—接单—评单, with the resources and service projects lists."""
