"""Reflex states: AuthState (the session) and one substate per page."""
