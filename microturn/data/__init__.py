"""Synthetic conversation data: the language the data engine speaks."""
