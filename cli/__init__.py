"""simgate's command-line client: the API's operations for engineers at a terminal and for scripts."""


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from shared.api import API_VERSION

    try:
        installed = version("simgate")
    except PackageNotFoundError:
        installed = "(not installed)"
    return f"simgate {installed} (API {API_VERSION})"
