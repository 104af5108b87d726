"""The site settings' model rules as admins set them: the default model, and all models or a
chosen list for members; embedding models are not offered."""

from __future__ import annotations

from django.urls import reverse

from chatsite.accounts.models import SiteSettings

URL = "/manage/settings/"


def test_the_settings_page_offers_the_chat_models_only(admin_client, ollama):
    ollama.add_model("nomic-embed-text", capabilities=("embedding",))
    page = admin_client.get(reverse("accounts:site_settings")).content.decode()
    assert 'value="llama3.2:latest"' in page
    assert "nomic-embed-text" not in page


def test_an_admin_restricts_members_to_chosen_models_with_a_default(admin_client, ollama):
    ollama.add_model("qwen3:8b")
    response = admin_client.post(
        URL,
        {
            "signup_mode": "approval",
            "default_model": "qwen3:8b",
            "restrict_member_models": "True",
            "member_models": ["qwen3:8b"],
        },
        follow=True,
    )
    assert "Members may use only 1 models." in response.content.decode()
    site = SiteSettings.load()
    assert (site.restrict_member_models, site.member_models) == (True, ["qwen3:8b"])
    assert site.default_model == "qwen3:8b"

    admin_client.post(URL, {"signup_mode": "approval", "restrict_member_models": "False"})
    assert SiteSettings.load().restrict_member_models is False


def test_restricting_to_no_model_or_a_default_members_may_not_use_is_refused(admin_client, ollama):
    ollama.add_model("qwen3:8b")
    nothing = admin_client.post(URL, {"signup_mode": "approval", "restrict_member_models": "True"})
    assert "Choose at least one model members may use" in nothing.content.decode()
    hidden_default = admin_client.post(
        URL,
        {
            "signup_mode": "approval",
            "restrict_member_models": "True",
            "member_models": ["qwen3:8b"],
            "default_model": "llama3.2:latest",
        },
    )
    assert "Members may not use llama3.2:latest" in hidden_default.content.decode()
    assert SiteSettings.load().restrict_member_models is False


def test_chosen_models_survive_a_save_while_ollama_is_down(admin_client, settings):
    SiteSettings.objects.update_or_create(
        pk=1, defaults={"restrict_member_models": True, "member_models": ["qwen3:8b"]}
    )
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    page = admin_client.get(URL).content.decode()
    assert "Ollama is not reachable" in page and 'value="qwen3:8b"' in page
    admin_client.post(
        URL,
        {"signup_mode": "open", "restrict_member_models": "True", "member_models": ["qwen3:8b"]},
    )
    assert SiteSettings.load().member_models == ["qwen3:8b"]


def test_members_cannot_open_the_settings(alice_client):
    assert alice_client.get(URL).status_code == 403
