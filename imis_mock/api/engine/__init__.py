"""The business-object engine: one implementation of the standard route set for every entity.

A request goes api/routes.py (the URL) -> engine/resource.py (the operation) -> the catalog
entry (imis_mock/api/catalog/) for data and hooks. Nothing in this package names an entity.
"""
