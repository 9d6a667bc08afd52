"""Contribution reports: each school's progress toward the 100% digital-material target.

Layers: periods (syntax, local bounds, deadlines), rules (the measure of each school year),
cells (what a school must cover), facts (approval intervals kept from the audit trail) and
figures (the province, unit and school figures computed in a fixed number of queries). The
services in repository.services.reports check permissions and call these.
"""
