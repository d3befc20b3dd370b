"""outlet-lens: compare how news outlets frame the same story.

One module per concern: ``corpus`` (loading, cleaning, provenance), ``segment``
(paragraphs and sentences), ``quotes``, ``terms``, ``sentiment``, ``framing``,
``report`` and ``pipeline`` (streaming and Dask).
"""

__version__ = "0.1.0"
