"""Analysis tables derived from events: ties, the weekly metrics panel, job leads, introductions.

Pure pandas: events and contacts DataFrames in (as :meth:`study.Study.events` and
:meth:`study.Study.contacts` give them, or anyone's data in the same columns), tables out.
"""
