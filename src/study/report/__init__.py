"""Periodic reports: run the notebooks with Papermill (:mod:`.run`), render one PDF
(:mod:`.render`), in the language of :mod:`.i18n`, from the sections of :mod:`.sections`."""
