"""MedSegText backend: Litestar API, arq worker, AWS adapters."""
