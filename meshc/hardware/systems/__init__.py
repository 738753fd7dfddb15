"""Built-in system presets (package data): one YAML file per system of chips, numbers cited."""
