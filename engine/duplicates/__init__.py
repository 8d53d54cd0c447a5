"""Duplicate and near-duplicate files, in tiers (exact, duplicate, similar), per kind of file. Read-only:
anyseek never deletes or moves a user's file; it reports what a script can act on."""

from anyseek.engine.duplicates.finder import DuplicateFinder, DuplicateRules
from anyseek.engine.duplicates.records import DuplicateGroup, DuplicateItem, DuplicateReport, Tier

__all__ = ["DuplicateFinder", "DuplicateGroup", "DuplicateItem", "DuplicateReport", "DuplicateRules", "Tier"]
