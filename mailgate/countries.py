"""IP address → ISO 3166-1 country code, offline.

The data ships with the ``geoip2fast`` package (built from public registry data); a
``geoip2fast`` .dat file built from MaxMind's GeoLite2 CSVs can be given instead.
"""

from __future__ import annotations

from functools import cache

from geoip2fast import GeoIP2Fast


@cache
def _database(path: str | None) -> GeoIP2Fast:
    return GeoIP2Fast(geoip2fast_data_file=path or "", verbose=False)


def country_of(ip: str, data_file: str | None = None) -> str | None:
    result = _database(data_file).lookup(ip)
    code = str(getattr(result, "country_code", "") or "")
    return code if len(code) == 2 and code.isalpha() else None
