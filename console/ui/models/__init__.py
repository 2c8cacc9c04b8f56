"""Table models: one thin `RecordTableModel` per table (see `base`)."""
