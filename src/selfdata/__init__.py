"""selfdata: your own data warehouse and notebook lab.

Ingest the exports your devices and companies give you into one local DuckDB
vault, analyse them, and render reports. The library comes first; the
`selfdata` command is a thin layer over it.

Example:
    >>> import selfdata
    >>> con = selfdata.open_vault()  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from selfdata.errors import SelfdataError

if TYPE_CHECKING:
    from selfdata.vault import open_vault

__version__ = "0.1.0"
__all__ = ["SelfdataError", "__version__", "open_vault"]


def __getattr__(name: str) -> object:
    # `open_vault` loads DuckDB on first use: the command line imports this
    # package for its version, and `selfdata --help` should not wait for DuckDB.
    if name == "open_vault":
        from selfdata.vault import open_vault

        return open_vault
    raise AttributeError(f"module 'selfdata' has no attribute {name!r}")
