"""The audit log beyond its table: chain verification, signed exports, streaming to sinks."""
