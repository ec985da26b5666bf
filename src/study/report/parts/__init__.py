"""The report's section functions, one module per part (registered in
:data:`study.report.sections.SECTIONS` on import). Each calls tested analyses of
:mod:`study.analysis` on the notebook's tables (``ctx.ties``, ``ctx.timeline``, ``ctx.leads``,
``ctx.panel``, ``ctx.introductions``) and appends words, tables and figures."""

from study.report.parts import (  # noqa: F401
    job_search,
    overview,
    reputation,
    second_degree,
    sustainability,
)
