"""atqbo: Apache Airflow DAGs that move an MSP's billing from Autotask PSA to QuickBooks Online.

This package is also a small Airflow provider: ``get_provider_info`` (entry point
``apache_airflow_provider``) makes its connection types appear in the Airflow UI.
"""

__version__ = "0.1.0"


def get_provider_info() -> dict:
    from atqbo.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
