"""A demo Ollama for `make standin`: `python -m tests.ollama_standin --port 11434`."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from .server import OllamaStandin

_DEMO_REPLY = """Here is a short answer from the **stand-in**, so you can watch streaming work.

Ollama streams one token at a time; the site renders the Markdown as it arrives, including
lists, `inline code` and fenced blocks:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

That is all: no model was harmed in the making of this reply."""

_DEMO_THINKING = "The user wants a demo. I will show a paragraph, a code block and a closing line."


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.ollama_standin",
        description="Run the Ollama stand-in in the foreground.",
    )
    parser.add_argument("--port", type=int, default=11434)
    args = parser.parse_args(argv)
    standin = OllamaStandin()
    standin.add_model("llama3.2:latest")
    standin.add_model(
        "qwen3:8b",
        family="qwen3",
        parameter_size="8.2B",
        size=5_225_376_047,
        capabilities=("completion", "thinking"),
        context_length=40960,
    )
    standin.script_chat(
        _DEMO_REPLY, thinking=_DEMO_THINKING, first_token_delay=0.3, token_delay=0.03
    )
    standin.script_generate("A chat with the stand-in", delay=0.3)
    # Four layers times 40 steps, 60 ms apart: about ten seconds, like a small real pull.
    standin.script_pull(steps_per_layer=40, step_delay=0.06)
    standin.start(args.port)
    print(f"Ollama stand-in listening on {standin.url} (Ctrl+C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
