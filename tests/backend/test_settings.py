import pytest

from backend.settings import DEV_SECRET, SettingsError, load_settings


@pytest.mark.parametrize("secret", [None, DEV_SECRET, "", "short-secret"])
def test_production_refuses_default_empty_or_short_secrets(monkeypatch, secret):
    monkeypatch.setenv("MEDSEGTEXT_ENVIRONMENT", "production")
    if secret is None:
        monkeypatch.delenv("MEDSEGTEXT_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("MEDSEGTEXT_SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="MEDSEGTEXT_SECRET_KEY"):
        load_settings()


def test_production_accepts_a_real_secret_and_reads_typed_values(monkeypatch):
    monkeypatch.setenv("MEDSEGTEXT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEDSEGTEXT_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MEDSEGTEXT_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("MEDSEGTEXT_COOKIE_SECURE", "true")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/x")
    s = load_settings()
    assert s.max_upload_bytes == 1234 and s.cookie_secure is True
    assert s.database_url == "postgresql+asyncpg://db/x"


def test_development_allows_the_default_secret(monkeypatch):
    monkeypatch.delenv("MEDSEGTEXT_ENVIRONMENT", raising=False)
    monkeypatch.delenv("MEDSEGTEXT_SECRET_KEY", raising=False)
    assert load_settings().secret_key == DEV_SECRET
