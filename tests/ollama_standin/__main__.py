"""`python -m tests.ollama_standin --port N`: the demo Ollama for `make standin`."""

from .server import main

main()
