"""Access reviews: what agents actually used, and what that recommends.

The pure core of reviews: usage records (``usage.py``) and, built on them, the
recommendations a review campaign's items carry. No storage, service or web imports.
"""
