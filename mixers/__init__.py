"""mixers stage."""
