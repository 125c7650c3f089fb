"""Mail as the domain reads it: parse, header scan, clean, classify (all pure)."""
