"""See README.md, "Layout"."""
