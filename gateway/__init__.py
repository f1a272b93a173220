"""The gateway: the FastAPI service through which suppliers, core enterprises, banks and auditors work.

``gateway.main:app`` is the ASGI application; ``gateway.main.create_app(settings)`` builds one
from explicit settings (the tests do). See docs/gateway.md.
"""
