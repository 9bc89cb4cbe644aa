"""Compliance reports: framework controls, live figures from the audit log, findings and
the evidence bundle that lets an auditor check the cited records offline.

Pure: the service gathers the audit records and builds the bundle; this package maps
them to controls and renders the report (JSON, Markdown, or one self-contained HTML file).
"""
