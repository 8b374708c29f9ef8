"""selfdata: your own data warehouse and notebook lab.

Ingest the exports your devices and companies give you into one local DuckDB
vault, analyse them, and render reports. The library comes first; the
`selfdata` command is a thin layer over it.

Example:
    >>> import selfdata
    >>> con = selfdata.open_vault()  # doctest: +SKIP
"""

__version__ = "0.1.0"

from selfdata.errors import SelfdataError
from selfdata.vault import open_vault

__all__ = ["SelfdataError", "__version__", "open_vault"]
