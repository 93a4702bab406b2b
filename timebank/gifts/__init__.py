"""Hours given to family members and donated to the community pool, and who may spend hours at all."""
