"""MedSegText command line."""
