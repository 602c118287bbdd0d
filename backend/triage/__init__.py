"""Triage: how urgently a case needs a reviewer, computed by one policy (backend.triage.policy)."""
