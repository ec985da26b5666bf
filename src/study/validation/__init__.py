"""Validation harness: is what the report prints what its intervals claim?

For every scenario (:mod:`study.validation.scenarios`: the report's default study, a panel, a
null study, and the scenarios that break an estimator's assumptions) and every seed, the
harness simulates a study with known truth, builds its analysis tables, runs every registered
result function of :mod:`study.estimands` (the very functions the report prints from) and
compares each printed estimate with the truth (:mod:`study.validation.truths`). It writes bias,
coverage and their Monte Carlo standard errors to docs/validation.md
(``python -m study.validation`` or ``bench/validate``; seeds run in parallel on all cores).
"""
