"""HTTP plumbing shared by every domain: errors, authentication, guards, request ids, logs."""
