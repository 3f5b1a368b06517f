"""The partner API over HTTP: signed requests, validation, the catalogue and its OpenAPI."""
