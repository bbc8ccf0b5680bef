"""The execution API and the governed OpenAI-compatible gateway (``python launch.py api``).

A FastAPI application on the same settings, database and services as the app: every call is
authenticated by an API token (``security.identity.tokens``) and goes through the same
permission checks and the same governed pipeline. ``api.app`` builds the application,
``api.auth`` turns a bearer token into a principal (with its limits), ``api.errors`` maps the
project's error family to JSON, ``api.routes`` holds the execution API and ``api.gateway`` the
OpenAI-compatible endpoint.
"""
