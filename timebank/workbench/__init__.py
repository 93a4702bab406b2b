"""Workbenches (工作台): what waits for each role, and the programme at a glance."""
