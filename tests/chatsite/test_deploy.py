"""Production settings pass Django's deployment checklist."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.site_process import clean_environment, run_manage

CHECK_DEPLOY = ("check", "--deploy", "--fail-level", "WARNING")


def test_check_deploy_passes_with_the_production_settings(tmp_path: Path):
    production = clean_environment(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="chat.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://chat.example.com",
        DJANGO_HTTPS="true",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_HSTS_PRELOAD="true",
        DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://chatsite@127.0.0.1:5432/chatsite",
        REDIS_URL="redis://127.0.0.1:6379/0",
        OLLAMA_HOSTS="http://10.0.0.5:11434,http://10.0.0.6:11434",
    )
    result = run_manage(production, *CHECK_DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_site_left_on_plain_http(tmp_path: Path):
    plain = clean_environment(
        DATA_DIR=str(tmp_path), DJANGO_HTTPS="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(50)
    )
    result = run_manage(plain, *CHECK_DEPLOY)
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr + result.stdout
