"""One module per page; each exposes `page()` and is registered in portal/portal.py."""
