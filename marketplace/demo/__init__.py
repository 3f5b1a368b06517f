"""The demo: data for `make run`, and the development server that serves it."""
