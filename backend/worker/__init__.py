"""The arq worker process: its settings (backend.worker.settings) collect the domains' jobs
(backend.cases.jobs, backend.pacs_outbox.jobs); no job lives here."""
