"""chatsite.ollama.errors: one hierarchy, and which error an unsuccessful HTTP answer stands for."""

from __future__ import annotations

from chatsite.ollama.errors import (
    ModelNotFound,
    OllamaError,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
    status_error,
)

HOST = "http://127.0.0.1:11434"


def test_every_error_is_an_ollama_error():
    for error in (
        OllamaUnreachable,
        OllamaTimeout,
        ModelNotFound,
        OllamaResponseError,
        OllamaStreamError,
    ):
        assert issubclass(error, OllamaError)


def test_ollamas_404_about_a_model_is_model_not_found_with_its_message():
    body = b'{"error":"model \'mistral:latest\' not found"}'
    error = status_error(host=HOST, status=404, body=body, reason="Not Found", model="mistral")
    assert isinstance(error, ModelNotFound)
    assert (error.status, error.model) == (404, "mistral")
    assert error.message == "model 'mistral:latest' not found"
    assert str(error) == f"Model 'mistral' is not installed on Ollama at {HOST}"


def test_a_404_for_no_particular_model_is_a_response_error():
    body = b'{"error":"not found"}'
    error = status_error(host=HOST, status=404, body=body, reason="Not Found", model=None)
    assert type(error) is OllamaResponseError
    assert str(error) == f"Ollama at {HOST} answered 404: not found"


def test_a_body_that_is_not_ollamas_error_gives_its_first_200_characters():
    body = b"<html>" + b"x" * 300 + b"</html>"
    error = status_error(host=HOST, status=502, body=body, reason="Bad Gateway", model="m")
    assert type(error) is OllamaResponseError
    assert (error.status, error.message) == (502, body.decode()[:200])


def test_an_empty_body_gives_the_reason_phrase_or_says_there_was_none():
    error = status_error(host=HOST, status=503, body=b"", reason="Service Unavailable", model=None)
    assert error.message == "Service Unavailable"
    assert status_error(host=HOST, status=599, body=b"", reason="", model=None).message == (
        "no reason given"
    )
