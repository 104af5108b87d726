"""Chatting: sending a turn, the reply's generation, its frames and rendering, the chat socket and
pages, the model catalog and fair use."""
