"""Assistants: named presets of a model, a system prompt, options and starter prompts, shared by
admins or personal, that a new chat can start from."""
