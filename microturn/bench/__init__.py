"""The interactivity benchmark: scenarios, systems, the scorer and the report."""
