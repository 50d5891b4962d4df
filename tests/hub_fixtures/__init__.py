"""Test data for the fake Hugging Face Hub: real GGUF headers and repos named as on the Hub."""
