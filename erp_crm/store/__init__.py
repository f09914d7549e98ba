"""The way into the overlay database: the `Overlay` object, its locks, the change feed and driver-level helpers."""
