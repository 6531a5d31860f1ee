"""The serving API: recommendations and trending products from published artifacts.

Run it with ``intellishop serve api`` (``uvicorn serving.app:create_app --factory``).
"""
