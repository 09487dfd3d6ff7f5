"""JSON schemas, one file per stream, named ``<stream name>.json``."""
