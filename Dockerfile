# atqbo on the official Airflow image (BEY-06): the runtime pins only (requirements.txt: no test or lint
# tools, no third-party API clients; those are requirements-test.txt and requirements-clients.txt, never
# installed here), then atqbo installed as a provider, the sandbox, and the deployment scripts.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/atqbo/requirements.txt
RUN pip install --no-cache-dir -r /opt/atqbo/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/atqbo/
COPY --chown=airflow:root plugins /opt/atqbo/plugins
COPY --chown=airflow:root dags /opt/atqbo/dags
COPY --chown=airflow:root sandbox /opt/atqbo/sandbox
COPY --chown=airflow:root deploy/airflow_settings.py /opt/atqbo/deploy/airflow_settings.py
COPY --chown=airflow:root scripts/prepare_databases.py scripts/configure_local_airflow.py /opt/atqbo/scripts/
RUN pip install --no-cache-dir --no-deps -e /opt/atqbo
ENV PYTHONPATH=/opt/atqbo
