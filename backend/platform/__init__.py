"""Cross-domain plumbing: database engine and sessions, time, ids."""
