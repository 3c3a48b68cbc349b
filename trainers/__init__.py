"""trainers stage."""
