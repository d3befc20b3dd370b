"""nbval settings: compare text/plain only; HTML renderings and stderr differ by library version."""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr", "image/png", "application/vnd.jupyter.widget-view+json")
