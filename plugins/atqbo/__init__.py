"""atqbo: Apache Airflow DAGs that move an MSP's billing from Autotask PSA to QuickBooks Online.

This package is also a small Airflow provider: ``get_provider_info`` (entry point
``apache_airflow_provider``) makes its connection types appear in the Airflow UI.
"""

from atqbo.version import VERSION as __version__

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict:
    from atqbo.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
