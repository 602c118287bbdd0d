"""MedSegText portal: a Reflex client of the backend API (it never opens the database or S3)."""
