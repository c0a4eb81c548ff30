"""Producers of evidence for stage 2's policy rules."""
