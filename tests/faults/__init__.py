"""The fault suite of issue 9: a 50-agent survey through the real public path against a faulty server."""
