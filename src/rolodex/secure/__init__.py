"""Secure: encryption at rest, access control, consent and GDPR access and erasure."""
