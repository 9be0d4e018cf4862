"""Live emotions in a browser: python scripts/serve.py [model_file=fast|accurate|<file>] [host=127.0.0.1 port=8000]"""

from fer.commands import serve

if __name__ == "__main__":
    serve()
