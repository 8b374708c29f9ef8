"""Slow, obviously-correct reference parses that fast importers are checked against."""
