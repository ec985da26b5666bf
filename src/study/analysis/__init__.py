"""Answers to the research questions: plain DataFrames in, result objects with uncertainty out.

One module per question. Nothing here touches the database; the tables come from
:mod:`study.tables`.
"""
