"""Build: the book's Sphinx extension (validation first, data-aware execution cache, parallel
pre-execution, results JSON, publishing hooks) and the Sphinx-free input fingerprints.

Enabled in ``_config.yml`` as ``nkreport.build``; Sphinx is imported only when Sphinx calls
:func:`setup`, so ``nkreport status`` and the fingerprints never load it.
"""


def setup(app):
    from .extension import setup as setup_extension

    return setup_extension(app)
