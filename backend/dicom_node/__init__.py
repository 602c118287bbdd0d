"""The DICOM node: a C-STORE receiver a PACS sends studies to (issue 16).

Run as its own process, ``python -m backend.dicom_node``. Each frontal chest film (CR/DX) it
receives becomes a case through the same ingest as an upload (backend.cases.service.create_case),
owned by the configured service account. Modules: statuses (what the sender is answered),
screen (the header checks made before any pixel is read), size_guard (the per-instance byte
limit, enforced while the data arrives), admission (at most N associations at once), ingest
(instance -> case), server (the AE: allowlist, handlers), account (the service account) and dev
(its part in `make up`).
"""
