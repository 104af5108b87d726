"""The models page and its actions over HTTP, against the Ollama stand-in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chatsite.library.models import AuditEntry, Pull

INDEX = reverse("library:index")
HTMX = {"HX-Request": "true"}


def test_the_page_shows_ollamas_version_and_the_installed_models(admin_client, ollama):
    ollama.add_model(
        "qwen3:8b",
        family="qwen3",
        parameter_size="8.2B",
        quantization_level="Q4_K_M",
        size=5_225_376_047,
    )
    page = admin_client.get(INDEX).content.decode()

    assert "Ollama 0.33.0" in page
    assert ollama.url in page
    for text in (
        "llama3.2:latest",
        "qwen3:8b",
        "qwen3",
        "8.2B",
        "Q4_K_M",
        "4.9\xa0GB",
        "1.9\xa0GB",
    ):
        assert text in page
    assert "ago</time>" in page  # last modified
    assert reverse("library:details", args=["qwen3:8b"]) in page
    assert reverse("library:delete", args=["qwen3:8b"]) in page
    assert 'ws-connect="/ws/manage/models/"' in page


def test_the_page_shows_loaded_models_with_memory_unload_time_and_an_unload_button(
    admin_client, ollama
):
    ollama.load_model("llama3.2:latest", size_vram=1_000_000_000, keep_alive_seconds=240)
    page = admin_client.get(INDEX).content.decode()

    loaded = page[page.index('id="loaded-models-') :]
    assert "llama3.2:latest" in loaded
    assert "1.9\xa0GB" in loaded and "50% on GPU" in loaded
    assert "in 3\xa0minutes" in loaded or "in 4\xa0minutes" in loaded
    assert ">Unload</button>" in loaded


def test_a_model_kept_loaded_forever_has_no_unload_time(admin_client, ollama):
    ollama.load_model("llama3.2:latest", keep_alive_seconds=-1)
    assert "stays loaded" in admin_client.get(INDEX).content.decode()


def test_the_page_says_when_ollama_is_unreachable(admin_client, settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    page = admin_client.get(INDEX).content.decode()
    assert "Unreachable" in page
    assert "Ollama is not reachable at http://127.0.0.1:9" in page


def test_details_show_what_ollama_knows_about_a_model(admin_client, ollama):
    ollama.add_model(
        "coder:7b",
        capabilities=("completion", "tools", "insert"),
        context_length=32768,
        parameters="temperature                    0.2",
        template="{{ .System }} <|user|>{{ .Prompt }}",
        license="Apache License 2.0",
    )
    url = reverse("library:details", args=["coder:7b"])
    page = admin_client.get(url).content.decode()
    panel = admin_client.get(url, headers=HTMX).content.decode()

    for text in ("tools", "insert", "32768", "temperature", "Apache License 2.0", "Modelfile"):
        assert text in page
    assert "&lt;|user|&gt;" in page  # the template is shown as text, escaped
    assert "<html" in page and "<html" not in panel
    assert panel.startswith('<section id="model-details"')
    assert "Apache License 2.0" in panel


def test_details_of_a_model_that_is_not_installed_say_so(admin_client, ollama):
    response = admin_client.get(reverse("library:details", args=["ghost:latest"]))
    assert response.status_code == 404
    assert "Model &#x27;ghost:latest&#x27; is not installed" in response.content.decode()


def test_an_invalid_name_is_refused_without_asking_ollama(admin_client, ollama):
    response = admin_client.post(reverse("library:pull"), {"name": "bad name!"})
    htmx = admin_client.post(reverse("library:pull"), {"name": "llama3.2:"}, headers=HTMX)

    assert response.status_code == 400
    assert "is not a valid Ollama model name" in response.content.decode()
    assert htmx.status_code == 200
    assert "is not a valid Ollama model name" in htmx.content.decode()
    assert 'id="pull-form"' in htmx.content.decode()
    assert ollama.requests_to("/api/pull") == []
    assert not Pull.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_delete_confirmation_names_the_model_and_its_size(admin_client, ollama):
    page = admin_client.get(reverse("library:delete", args=["llama3.2:latest"])).content.decode()
    assert "Delete llama3.2:latest?" in page
    assert "1.9\xa0GB" in page
    assert ollama.requests_to("/api/delete") == []


def test_deleting_a_model_removes_it_and_is_audited(admin_client, admin_user, ollama):
    response = admin_client.post(reverse("library:delete", args=["llama3.2:latest"]), follow=True)

    page = response.content.decode()
    assert "Deleted llama3.2:latest (1.9\xa0GB freed)." in page
    assert "No models are installed" in page
    assert ollama.requests_to("/api/delete")[0].body == {"model": "llama3.2:latest"}
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.model_name, entry.outcome) == (
        admin_user,
        "delete",
        "llama3.2:latest",
        "succeeded",
    )
    assert entry.detail == "1.9\xa0GB freed"


def test_deleting_a_model_ollama_does_not_have_shows_its_404_clearly(admin_client, ollama):
    response = admin_client.post(reverse("library:delete", args=["ghost:latest"]), headers=HTMX)

    notice = response.content.decode()
    assert 'id="library-notice"' in notice and 'class="error"' in notice
    assert "Ollama has no model by that name" in notice
    assert "model &#x27;ghost:latest&#x27; not found" in notice
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == ("delete", "failed")
    assert "not found" in entry.detail


def test_unloading_sends_keep_alive_zero_and_is_audited(admin_client, admin_user, ollama):
    ollama.load_model("llama3.2:latest")
    response = admin_client.post(
        reverse("library:unload"), {"name": "llama3.2:latest"}, headers=HTMX
    )

    # The reply is the notice itself (the form targets it), not an out-of-band part: a socket
    # frame may have replaced the form by the time the reply arrives.
    assert response.content.decode().startswith('<p id="library-notice" class="notice"')
    assert "hx-swap-oob" not in response.content.decode()
    assert "Unloaded llama3.2:latest from memory." in response.content.decode()
    page = admin_client.get(INDEX).content.decode()
    request = ollama.requests_to("/api/chat")[0]
    assert request.body == {"model": "llama3.2:latest", "messages": [], "keep_alive": 0}
    assert "No model is loaded" in page
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (admin_user, "unload", "succeeded")


def test_unloading_a_model_that_is_not_installed_fails_with_ollamas_reason(admin_client, ollama):
    response = admin_client.post(reverse("library:unload"), {"name": "ghost"}, follow=True)
    assert "Could not unload ghost" in response.content.decode()
    assert AuditEntry.objects.get().outcome == "failed"


def test_the_audit_log_is_on_the_page_latest_first(admin_client, admin_user, ollama):
    for name in ("first:latest", "second:latest"):
        AuditEntry.objects.create(
            actor=admin_user, actor_name="ada", action="delete", model_name=name, outcome="failed"
        )
    page = admin_client.get(INDEX).content.decode()
    log = page[page.index('id="audit-log"') :]
    assert log.index("second:latest") < log.index("first:latest")


def test_a_pull_left_running_by_a_dead_process_shows_as_interrupted(
    admin_client, admin_user, ollama
):
    Pull.objects.create(name="stale:latest", started_by=admin_user, lease_expires_at=None)
    page = admin_client.get(INDEX).content.decode()

    assert "The pull was interrupted" in page
    assert Pull.objects.get().state == "failed"
    assert AuditEntry.objects.get().outcome == "failed"


ACTIONS = [
    ("get", reverse("library:index")),
    ("get", reverse("library:details", args=["llama3.2:latest"])),
    ("get", reverse("library:delete", args=["llama3.2:latest"])),
    ("post", reverse("library:delete", args=["llama3.2:latest"])),
    ("post", reverse("library:pull")),
    ("post", reverse("library:unload")),
    ("post", reverse("library:cancel_pull", args=["6f1c1b0e-4a8e-4a47-9a64-0d1f6c2b9b11"])),
]


@pytest.mark.parametrize(("method", "url"), ACTIONS)
def test_a_member_gets_403_on_every_library_page(alice_client, ollama, method, url):
    response = getattr(alice_client, method)(url, {"name": "llama3.2:latest"})
    assert response.status_code == 403
    assert ollama.requests == []
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("method", "url"), ACTIONS)
def test_a_visitor_is_sent_to_sign_in_from_every_library_page(client, db, ollama, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_actions_refuse_get(admin_client, ollama):
    for name in ("library:pull", "library:unload"):
        assert admin_client.get(reverse(name)).status_code == 405
