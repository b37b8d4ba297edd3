"""The machinery that builds and publishes the book (not part of the `utils` package)."""
