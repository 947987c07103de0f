"""What a person edits: the layout, its files and validation, edit commands, events, incidents, demo halls."""
