# atqbo on the official Airflow image: the pinned requirements plus atqbo installed as a provider.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/atqbo/requirements.txt
RUN pip install --no-cache-dir -r /opt/atqbo/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/atqbo/
COPY --chown=airflow:root plugins /opt/atqbo/plugins
COPY --chown=airflow:root sandbox /opt/atqbo/sandbox
RUN pip install --no-cache-dir --no-deps -e /opt/atqbo
ENV PYTHONPATH=/opt/atqbo
