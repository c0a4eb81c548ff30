"""IP address → ISO 3166-1 country code, offline.

The data ships with the ``geoip2fast`` package (built from public registry data); a
``geoip2fast`` .dat file built from MaxMind's GeoLite2 CSVs can be given instead.
"""

from __future__ import annotations

import threading

from geoip2fast import GeoIP2Fast

_databases: dict[str, GeoIP2Fast] = {}
_reading = threading.Lock()


def load(data_file: str | None = None) -> GeoIP2Fast:
    """The database, read once per process (70 ms of CPU): the SMTP front reads it before it
    listens, and look-ups that come first at the same time wait for one read, not one each."""
    path = data_file or ""
    found = _databases.get(path)
    if found is None:
        with _reading:
            found = _databases.get(path)
            if found is None:
                found = _databases[path] = GeoIP2Fast(geoip2fast_data_file=path, verbose=False)
    return found


def country_of(ip: str, data_file: str | None = None) -> str | None:
    result = load(data_file).lookup(ip)
    code = str(getattr(result, "country_code", "") or "")
    return code if len(code) == 2 and code.isalpha() else None
