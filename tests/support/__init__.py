"""Helpers the tests share: plain functions and constants; the fixtures stay in conftest.py."""
