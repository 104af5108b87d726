"""Images and documents in a message: intake of uploads, what the model is sent, serving."""
