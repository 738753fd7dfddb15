"""Built-in hardware presets (package data): one YAML file per machine, numbers cited."""
