"""Coming back to conversations: the history list, managing them (rename, pin, archive, delete),
and the read-only review."""
